import type { Queryable } from '../../db/database.js';
import { sql, statement } from '../../db/sql.js';
import type { Scope } from '../scope.js';
import { KEY_COLUMNS, type KeyRow, keyIsLive } from './key-rows.js';
import type { KeyState } from './key-state.js';
import { upkeepResolvedKey } from './key-upkeep.js';

// The statements that write keys and versions, and the version lookup of Decrypt, shared
// by the operations, the seed and the benchmark set-up.

export interface NewKey {
  id: string;
  state: KeyState;
  keySpec: string;
  keyUsage: string;
  origin: string;
  protectionLevel: string;
  description: string;
  creator: string;
  creationDate: Date;
  primaryKeyVersion: string | null;
  /** The automatic rotation policy's interval (spec 15.3); null or absent: off. */
  rotationIntervalS?: number | null;
  /** The first version's CreationDate (LastRotationDate); null when the key has no version yet. */
  lastRotationDate?: Date | null;
  /** False for a key that waits for imported material (no version yet). */
  hasMaterial?: boolean;
}

export async function insertKey(q: Queryable, scope: Scope, k: NewKey): Promise<KeyRow> {
  const { rows } = await q.query<KeyRow>(
    statement(
      'key.insert',
      sql`INSERT INTO keys AS k (account_id, region, id, state, key_spec, key_usage, origin, protection_level,
                                 description, creator, creation_date, primary_key_version, last_rotation_date,
                                 has_material, rotation_interval_s, next_rotation_date)
          VALUES (${scope.accountId}, ${scope.region}, ${k.id}, ${k.state}, ${k.keySpec}, ${k.keyUsage}, ${k.origin},
                  ${k.protectionLevel}, ${k.description}, ${k.creator}, ${k.creationDate}, ${k.primaryKeyVersion},
                  CASE WHEN ${k.lastRotationDate !== undefined}::boolean THEN ${k.lastRotationDate ?? null}::timestamptz
                       WHEN ${k.primaryKeyVersion}::text IS NULL THEN NULL ELSE ${k.creationDate}::timestamptz END,
                  ${k.hasMaterial ?? k.primaryKeyVersion !== null}::boolean,
                  ${k.rotationIntervalS ?? null}::integer,
                  ${k.creationDate}::timestamptz + make_interval(secs => ${k.rotationIntervalS ?? null}::integer))
          RETURNING ${KEY_COLUMNS}`,
    ),
  );
  return rows[0]!;
}

export async function insertKeyVersion(
  q: Queryable,
  scope: Scope,
  v: { keyId: string; id: string; wrappedMaterial: Buffer; creationDate: Date; publicKey?: Buffer | null },
): Promise<void> {
  await q.query(
    statement(
      'key-version.insert',
      sql`INSERT INTO key_versions (account_id, region, key_id, id, wrapped_material, creation_date, public_key)
          VALUES (${scope.accountId}, ${scope.region}, ${v.keyId}, ${v.id}, ${v.wrappedMaterial}, ${v.creationDate},
                  ${v.publicKey ?? null}::bytea)`,
    ),
  );
}

export interface KeyChange {
  state?: KeyState;
  deleteDate?: Date | null;
  description?: string;
  deletionProtection?: { enabled: boolean; description: string };
  /** The automatic rotation policy: its interval in seconds, or null to turn it off. */
  rotationIntervalS?: number | null;
}

export async function updateKey(q: Queryable, scope: Scope, keyId: string, change: KeyChange): Promise<KeyRow> {
  const { rows } = await q.query<KeyRow>(
    statement(
      'key.update',
      sql`UPDATE keys AS k SET
             state = coalesce(${change.state ?? null}, k.state),
             delete_date = CASE WHEN ${change.deleteDate !== undefined}::boolean
                                THEN ${change.deleteDate ?? null}::timestamptz ELSE k.delete_date END,
             description = coalesce(${change.description ?? null}, k.description),
             deletion_protection = coalesce(${change.deletionProtection?.enabled ?? null}::boolean, k.deletion_protection),
             deletion_protection_description =
               coalesce(${change.deletionProtection?.description ?? null}, k.deletion_protection_description),
             rotation_interval_s = CASE WHEN ${change.rotationIntervalS !== undefined}::boolean
                                        THEN ${change.rotationIntervalS ?? null}::integer ELSE k.rotation_interval_s END,
             next_rotation_date = CASE WHEN ${change.rotationIntervalS !== undefined}::boolean
                                       THEN k.last_rotation_date
                                            + make_interval(secs => ${change.rotationIntervalS ?? null}::integer)
                                       ELSE k.next_rotation_date END
           WHERE k.account_id = ${scope.accountId} AND k.region = ${scope.region} AND k.id = ${keyId}
           RETURNING ${KEY_COLUMNS}`,
    ),
  );
  return rows[0]!;
}

export interface KeyVersionRow extends KeyRow {
  version_id: string;
  /** Null once imported material was deleted or expired (the key is then not Enabled). */
  wrapped_material: Uint8Array | null;
}

/**
 * The key version a ciphertext names, with its (live) key. Only the caller's scope is
 * searched, so a blob of another account or region, or of a purged key, finds nothing.
 */
export async function findKeyVersion(
  q: Queryable,
  scope: Scope,
  keyId: string,
  versionId: string,
  now: Date,
): Promise<KeyVersionRow | undefined> {
  const find = statement(
    'key-version.find',
    sql`SELECT ${KEY_COLUMNS}, v.id AS version_id, v.wrapped_material
          FROM key_versions v
          JOIN keys k ON k.account_id = v.account_id AND k.region = v.region AND k.id = v.key_id
         WHERE v.account_id = ${scope.accountId} AND v.region = ${scope.region} AND v.id = ${versionId}
           AND v.key_id = ${keyId} AND ${keyIsLive(now)}`,
  );
  // As the resolver: read again once after the upkeep of what fell due (material expiry).
  for (let read = 1; ; read++) {
    const found = (await q.query<KeyVersionRow>(find)).rows[0];
    if (!found || read === 2 || !(await upkeepResolvedKey(q, found, now))) return found;
  }
}
