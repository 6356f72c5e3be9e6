import { randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import { loadOrCreateMasterKeyFile, masterKeyFingerprint, parseMasterKey } from './master-key.js';

export class MasterKeyError extends Error {
  override name = 'MasterKeyError';
}

/**
 * The master key that wraps all key material: KMS_MASTER_KEY when set; for the embedded
 * database a key generated into KMS_DATA_DIR; for memory:// one held in memory only.
 * The database keeps its fingerprint, so a wrong key stops start-up instead of making
 * every stored key unreadable.
 */
export async function resolveMasterKey(config: Config, db: Database): Promise<Buffer> {
  let key: Buffer;
  if (config.masterKey !== undefined) {
    try {
      key = parseMasterKey(config.masterKey);
    } catch {
      throw new MasterKeyError('KMS_MASTER_KEY must be the Base64 of exactly 32 bytes.');
    }
  } else if (config.databaseUrl === undefined) {
    key = loadOrCreateMasterKeyFile(path.resolve(config.dataDir));
  } else if (config.databaseUrl === 'memory://') {
    key = randomBytes(32);
  } else {
    throw new MasterKeyError(
      'KMS_MASTER_KEY is required with DATABASE_URL (Base64 of 32 bytes, e.g. `openssl rand -base64 32`). ' +
        'Every instance sharing the database must use the same key.',
    );
  }
  const fingerprint = masterKeyFingerprint(key);
  await db.query("INSERT INTO meta (name, value) VALUES ('master_key_fingerprint', $1) ON CONFLICT DO NOTHING", [
    fingerprint,
  ]);
  const { rows } = await db.query<{ value: string }>("SELECT value FROM meta WHERE name = 'master_key_fingerprint'");
  const stored = Buffer.from(rows[0]?.value ?? '', 'utf8');
  const mine = Buffer.from(fingerprint, 'utf8');
  if (stored.length !== mine.length || !timingSafeEqual(stored, mine)) {
    throw new MasterKeyError(
      'The master key does not match the one this database was created with (KMS_MASTER_KEY or the key file in ' +
        'KMS_DATA_DIR). Start with the original key.',
    );
  }
  return key;
}
