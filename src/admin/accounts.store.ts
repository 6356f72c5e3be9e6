import { randomBytes, randomInt } from 'node:crypto';
import { type Database, sqlState, UNIQUE_VIOLATION } from '../db/database.js';
import { sql, statement } from '../db/sql.js';
import { unwrapKeyMaterial, wrapKeyMaterial } from '../domain/crypto/master-key.js';
import type { Principal } from '../domain/iam/identities.js';

// Accounts made by POST /_emulator/accounts (spec 21.2): one root access key each, stored
// in the database (so they survive a restart and every instance sharing it sees them),
// the secret wrapped under the master key and bound to its access key id.

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomText(length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) text += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return text;
}

export function newAccessKeyId(): string {
  return `LTAI${randomText(20)}`;
}

export function newAccountId(): string {
  // 16 digits, never starting with 0 (as Alibaba's), and apart from the default 1234567890123456.
  return `${1 + randomInt(9)}${Array.from(randomBytes(15), (b) => String(b % 10)).join('')}`;
}

const aad = (accessKeyId: string) => `access-key/${accessKeyId}`;

export interface NewAccount {
  accountId: string;
  accessKeyId: string;
  accessKeySecret: string;
}

/** Stores an account and its root key; answers undefined when the account id is already stored. */
export async function storeAccount(
  db: Database,
  masterKey: Buffer,
  accountId: string,
): Promise<NewAccount | undefined> {
  const accessKeyId = newAccessKeyId();
  const accessKeySecret = randomText(30);
  const wrapped = wrapKeyMaterial(masterKey, Buffer.from(accessKeySecret, 'utf8'), aad(accessKeyId));
  try {
    const { rows } = await db.query(
      statement(
        'admin.account.create',
        sql`WITH account AS (
              INSERT INTO admin_accounts (account_id, created_at) VALUES (${accountId}, now())
              ON CONFLICT (account_id) DO NOTHING RETURNING account_id)
            INSERT INTO admin_access_keys (access_key_id, account_id, wrapped_secret)
            SELECT ${accessKeyId}, account_id, ${wrapped} FROM account RETURNING access_key_id`,
      ),
    );
    return rows.length === 0 ? undefined : { accountId, accessKeyId, accessKeySecret };
  } catch (err) {
    if (sqlState(err) === UNIQUE_VIOLATION) return undefined;
    throw err;
  }
}

/** A stored access key with its secret and principal (a root key), or undefined. */
export async function findStoredKey(
  db: Database,
  masterKey: Buffer,
  accessKeyId: string,
): Promise<{ secret: string; principal: Principal } | undefined> {
  const { rows } = await db.query<{ account_id: string; wrapped_secret: Buffer }>(
    statement(
      'admin.access-key.find',
      sql`SELECT account_id, wrapped_secret FROM admin_access_keys WHERE access_key_id = ${accessKeyId}`,
    ),
  );
  const row = rows[0];
  if (!row) return undefined;
  const secret = unwrapKeyMaterial(masterKey, Buffer.from(row.wrapped_secret), aad(accessKeyId)).toString('utf8');
  return { secret, principal: { accountId: row.account_id, kind: 'root', policies: [], accessKeyId } };
}

/** Whether an account id is stored. */
export async function accountStored(db: Database, accountId: string): Promise<boolean> {
  const { rows } = await db.query(
    statement('admin.account.exists', sql`SELECT 1 FROM admin_accounts WHERE account_id = ${accountId}`),
  );
  return rows.length > 0;
}

/**
 * Stored account and access key ids that the identities also name: start-up stops on any
 * (spec 21.2), since one id would then mean two things.
 */
export async function storedConflicts(
  db: Database,
  identities: { accountIds: readonly string[]; accessKeyIds: readonly string[] },
): Promise<string[]> {
  const { rows } = await db.query<{ what: string; id: string }>(
    statement(
      'admin.conflicts',
      sql`SELECT 'account' AS what, account_id AS id FROM admin_accounts WHERE account_id = ANY(${identities.accountIds})
          UNION ALL
          SELECT 'access key' AS what, access_key_id AS id FROM admin_access_keys WHERE access_key_id = ANY(${identities.accessKeyIds})
          ORDER BY 1, 2`,
    ),
  );
  return rows.map((r) => `${r.what} ${r.id}`);
}
