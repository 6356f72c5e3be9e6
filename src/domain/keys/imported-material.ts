import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Queryable } from '../../db/database.js';
import { type SqlFragment, sql, statement } from '../../db/sql.js';
import { KmsError } from '../../errors.js';
import type { WrappingAlgorithm, WrappingKeySpec } from '../crypto/import-wrapping.js';
import { unwrapKeyMaterial, wrapKeyMaterial } from '../crypto/master-key.js';
import type { Scope } from '../scope.js';
import { asBuffer } from './key-material.js';
import { KEY_COLUMNS, type KeyRow } from './key-rows.js';

// Imported key material (spec section 17): the import tokens, the material's fingerprint,
// and the one statement that takes material away (DeleteKeyMaterial, and expiry at
// resolution and in the upkeep).

/** How long a token answers ExpiredImportToken after it expired, before the upkeep drops it. */
export const TOKEN_KEPT_AFTER_EXPIRY_MS = 7 * 24 * 3600 * 1000;
export const TOKEN_LIFETIME_MS = 24 * 3600 * 1000;

// Part of the stored format: changing it makes every stored fingerprint disagree.
const FINGERPRINT_LABEL = 'kms-emulator imported material fingerprint v1';

/**
 * An HMAC-SHA256 of the material under a key derived from the master key, bound to the
 * key id: it tells the same material from other material without revealing either.
 */
export function materialFingerprint(masterKey: Buffer, keyId: string, material: Buffer): Buffer {
  const fingerprintKey = createHmac('sha256', masterKey).update(FINGERPRINT_LABEL, 'utf8').digest();
  return createHmac('sha256', fingerprintKey).update(`${keyId}\0`, 'utf8').update(material).digest();
}

export const sameFingerprint = (stored: Uint8Array, computed: Buffer): boolean =>
  stored.length === computed.length && timingSafeEqual(asBuffer(stored), computed);

/** Which keys lose their material: one key (DeleteKeyMaterial), or those whose material expired. */
type Removal = { keyId: string; scope: Scope } | { expiredAt: Date; scope?: Scope; keyId?: string };

/**
 * Takes the material away, in one statement: the key waits for an import again (a key
 * pending deletion keeps its state and date), its expiry goes, its version keeps its id
 * and loses its material. Answers how many keys lost material.
 */
export async function removeMaterial(q: Queryable, which: Removal): Promise<number> {
  const where: SqlFragment[] = [sql`k.has_material`, sql`k.origin = 'EXTERNAL'`];
  if (which.scope) where.push(sql`k.account_id = ${which.scope.accountId} AND k.region = ${which.scope.region}`);
  if (which.keyId !== undefined) where.push(sql`k.id = ${which.keyId}`);
  if ('expiredAt' in which) where.push(sql`k.material_expire_time <= ${which.expiredAt}`);
  const condition = where.reduce((a, b) => sql`${a} AND ${b}`);
  const { rows } = await q.query<{ n: number }>(
    statement(
      'material.remove',
      sql`WITH gone AS (
            UPDATE keys AS k SET has_material = false, material_expire_time = NULL,
                   state = CASE WHEN k.state = 'PendingDeletion' THEN k.state ELSE 'PendingImport' END
             WHERE ${condition}
             RETURNING k.account_id, k.region, k.id
          ), versions AS (
            UPDATE key_versions v SET wrapped_material = NULL FROM gone
             WHERE v.account_id = gone.account_id AND v.region = gone.region AND v.key_id = gone.id
             RETURNING 1
          )
          SELECT (SELECT count(*) FROM gone)::int AS n`,
    ),
  );
  return rows[0]?.n ?? 0;
}

/** Step 9 of the three import operations: only a key of Origin EXTERNAL takes them (spec 17). */
export const notExternalRefusal = (key: Pick<KeyRow, 'origin'>): KmsError | undefined =>
  key.origin === 'EXTERNAL' ? undefined : new KmsError('Unsupported.Origin');

/** The material of a key has expired by `now` (its removal is then due). */
export const materialExpired = (key: Pick<KeyRow, 'material_expire_time'>, now: Date): boolean =>
  key.material_expire_time !== null && key.material_expire_time.getTime() <= now.getTime();

// ---------------------------------------------------------------------------------------
// Import tokens

export interface ImportToken {
  token: string;
  key_id: string;
  wrapping_key_spec: WrappingKeySpec;
  wrapping_algorithm: WrappingAlgorithm;
  wrapped_private_key: Uint8Array;
  expires_at: Date;
}

const tokenAad = (token: string) => `import-token/${token}`;

/**
 * Stores a token for a live key of the scope; false when the key is gone (deleted since it
 * was resolved), in which case nothing is stored.
 */
export async function insertImportToken(
  q: Queryable,
  masterKey: Buffer,
  scope: Scope,
  t: Omit<ImportToken, 'wrapped_private_key'> & { privateKey: Buffer },
): Promise<boolean> {
  const wrapped = wrapKeyMaterial(masterKey, t.privateKey, tokenAad(t.token));
  const { rowCount } = await q.query(
    statement(
      'import-token.insert',
      sql`INSERT INTO import_tokens (token, account_id, region, key_id, wrapping_key_spec, wrapping_algorithm,
                                     wrapped_private_key, expires_at)
          SELECT ${t.token}, k.account_id, k.region, k.id, ${t.wrapping_key_spec}, ${t.wrapping_algorithm},
                 ${wrapped}, ${t.expires_at}
            FROM keys k WHERE k.account_id = ${scope.accountId} AND k.region = ${scope.region} AND k.id = ${t.key_id}`,
    ),
  );
  return rowCount === 1;
}

/** The token, when it exists in the scope (whatever key it was issued for). */
export async function findImportToken(q: Queryable, scope: Scope, token: string): Promise<ImportToken | undefined> {
  const { rows } = await q.query<ImportToken>(
    statement(
      'import-token.find',
      sql`SELECT token, key_id, wrapping_key_spec, wrapping_algorithm, wrapped_private_key, expires_at
            FROM import_tokens
           WHERE token = ${token} AND account_id = ${scope.accountId} AND region = ${scope.region}`,
    ),
  );
  return rows[0];
}

/** Runs `use` with the token's clear private key and wipes it afterwards. */
export function withTokenPrivateKey<T>(masterKey: Buffer, t: ImportToken, use: (privateKey: Buffer) => T): T {
  const privateKey = unwrapKeyMaterial(masterKey, asBuffer(t.wrapped_private_key), tokenAad(t.token));
  try {
    return use(privateKey);
  } finally {
    privateKey.fill(0);
  }
}

/** Drops the tokens that expired more than 7 days before `now`; answers how many. */
export async function dropOldImportTokens(q: Queryable, now: Date): Promise<number> {
  const { rowCount } = await q.query(
    statement(
      'import-token.drop-old',
      sql`DELETE FROM import_tokens WHERE expires_at <= ${new Date(now.getTime() - TOKEN_KEPT_AFTER_EXPIRY_MS)}`,
    ),
  );
  return rowCount;
}

// ---------------------------------------------------------------------------------------
// The import itself

export interface MaterialImport {
  keyId: string;
  /** The key's version: the existing one on a re-import, a new id on the first. */
  versionId: string;
  firstImport: boolean;
  wrappedMaterial: Buffer;
  fingerprint: Buffer;
  expireTime: Date | null;
  now: Date;
}

/**
 * Stores imported material: the first import makes the key's only version (the primary)
 * and sets LastRotationDate; a re-import puts the material back into that version. A key
 * waiting for material becomes Enabled; Enabled and Disabled keys keep their state.
 */
export async function storeImportedMaterial(q: Queryable, scope: Scope, m: MaterialImport): Promise<KeyRow> {
  const { accountId, region } = scope;
  const version = m.firstImport
    ? sql`INSERT INTO key_versions (account_id, region, key_id, id, wrapped_material, creation_date)
          VALUES (${accountId}, ${region}, ${m.keyId}, ${m.versionId}, ${m.wrappedMaterial}, ${m.now})
          RETURNING 1`
    : sql`UPDATE key_versions SET wrapped_material = ${m.wrappedMaterial}
           WHERE account_id = ${accountId} AND region = ${region} AND key_id = ${m.keyId} AND id = ${m.versionId}
          RETURNING 1`;
  const { rows } = await q.query<KeyRow>(
    statement(
      'material.store',
      sql`WITH version AS (${version})
          UPDATE keys AS k SET has_material = true, material_expire_time = ${m.expireTime},
                 material_fingerprint = ${m.fingerprint},
                 state = CASE WHEN k.state = 'PendingImport' THEN 'Enabled' ELSE k.state END,
                 primary_key_version = coalesce(k.primary_key_version, ${m.versionId}),
                 last_rotation_date = coalesce(k.last_rotation_date, ${m.now}::timestamptz)
           WHERE k.account_id = ${accountId} AND k.region = ${region} AND k.id = ${m.keyId}
             AND EXISTS (SELECT 1 FROM version)
          RETURNING ${KEY_COLUMNS}`,
    ),
  );
  const row = rows[0];
  if (!row) throw new Error(`key ${m.keyId}: its version ${m.versionId} was not stored`);
  return row;
}

/** The key's stored fingerprint (null before its first import). Read under the caller's lock. */
export async function storedFingerprint(q: Queryable, scope: Scope, keyId: string): Promise<Uint8Array | null> {
  const { rows } = await q.query<{ material_fingerprint: Uint8Array | null }>(
    statement(
      'material.fingerprint',
      sql`SELECT material_fingerprint FROM keys
           WHERE account_id = ${scope.accountId} AND region = ${scope.region} AND id = ${keyId}`,
    ),
  );
  return rows[0]?.material_fingerprint ?? null;
}

/** Records the fingerprint of material given otherwise than by an import (the seed file). */
export async function setMaterialFingerprint(q: Queryable, scope: Scope, keyId: string, fingerprint: Buffer) {
  await q.query(
    statement(
      'material.set-fingerprint',
      sql`UPDATE keys SET material_fingerprint = ${fingerprint}
           WHERE account_id = ${scope.accountId} AND region = ${scope.region} AND id = ${keyId}`,
    ),
  );
}
