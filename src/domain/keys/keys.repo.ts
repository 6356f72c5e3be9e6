import type { Database, Queryable } from '../../db/database.js';
import type { Scope } from '../scope.js';
import type { KeyState } from './key-state.js';

// Parameterized SQL over a Queryable, so every function joins the caller's transaction.
// Time always comes from the service's clock as a parameter, never the database's now().

export interface KeyRow {
  account_id: string;
  region: string;
  id: string;
  state: KeyState;
  key_spec: string;
  key_usage: string;
  origin: string;
  protection_level: string;
  description: string;
  creator: string;
  creation_date: Date;
  delete_date: Date | null;
  primary_key_version: string | null;
  last_rotation_date: Date | null;
}

export const KEY_COLUMNS =
  'k.account_id, k.region, k.id, k.state, k.key_spec, k.key_usage, k.origin, k.protection_level, k.description, ' +
  'k.creator, k.creation_date, k.delete_date, k.primary_key_version, k.last_rotation_date';

/** A key whose deletion date has passed is gone, even before the purge reaches it. */
export const KEY_IS_LIVE = '(k.delete_date IS NULL OR k.delete_date > $NOW)';

export function liveFilter(nowParam: number): string {
  return KEY_IS_LIVE.replace('$NOW', `$${nowParam}`);
}

/** SQL: the scope ($1, $2) holds a key whose deletion date ($nowParam) has passed. */
export const purgeDue = (nowParam: number) =>
  `EXISTS (SELECT 1 FROM keys
            WHERE account_id = $1 AND region = $2 AND delete_date IS NOT NULL AND delete_date <= $${nowParam})`;

/**
 * A read whose answer counts rows of the scope (a list page and its total): it reports in
 * the same statement whether a purge is due; if so, the scope is purged and read again.
 */
export async function readPurged<T extends { purgeDue: boolean }>(
  db: Database,
  scope: Scope,
  now: Date,
  read: () => Promise<T>,
): Promise<T> {
  const first = await read();
  if (!first.purgeDue) return first;
  await db.transaction((tx) => purgeExpired(tx, scope, now));
  return read();
}

/**
 * Deletes the keys of this scope whose pending window has passed, their versions and
 * their aliases, and keeps the scope's counters exact. Run it in a transaction: it locks
 * the keys in one statement, then deletes and counts in the next.
 */
export async function purgeExpired(q: Queryable, scope: Scope, now: Date): Promise<number> {
  // The keys past their date, locked, in a statement of their own. It is also the probe
  // of the common case, nothing to purge: one look at the partial index. Locking inside the
  // delete statement instead would be wrong: one that waited for a concurrent CreateAlias
  // on such a key would not see the alias it made, and the cascade would delete that alias
  // uncounted. The next statement (READ COMMITTED) sees it.
  const locked = await q.query<{ id: string }>(
    `SELECT id FROM keys
      WHERE account_id = $1 AND region = $2 AND delete_date IS NOT NULL AND delete_date <= $3
      FOR UPDATE`,
    [scope.accountId, scope.region, now],
  );
  if (locked.rows.length === 0) return 0;
  const { rows } = await q.query<{ keys: number }>(
    `WITH gone_aliases AS (
       DELETE FROM aliases WHERE account_id = $1 AND region = $2 AND key_id = ANY($3::text[]) RETURNING 1
     ), gone_keys AS (
       DELETE FROM keys WHERE account_id = $1 AND region = $2 AND id = ANY($3::text[]) RETURNING 1
     ), counted AS (
       INSERT INTO scopes AS s (account_id, region, key_count, alias_count)
       VALUES ($1, $2, -(SELECT count(*) FROM gone_keys)::int, -(SELECT count(*) FROM gone_aliases)::int)
       ON CONFLICT (account_id, region) DO UPDATE
          SET key_count = s.key_count + EXCLUDED.key_count, alias_count = s.alias_count + EXCLUDED.alias_count
       RETURNING 1
     )
     SELECT (SELECT count(*) FROM gone_keys)::int AS keys`,
    [scope.accountId, scope.region, locked.rows.map((r) => r.id)],
  );
  return rows[0]?.keys ?? 0;
}

/** Scopes that hold at least one key past its deletion date (for the sweeper). */
export async function scopesWithExpiredKeys(q: Queryable, now: Date): Promise<Scope[]> {
  const { rows } = await q.query<{ account_id: string; region: string }>(
    'SELECT DISTINCT account_id, region FROM keys WHERE delete_date IS NOT NULL AND delete_date <= $1',
    [now],
  );
  return rows.map((r) => ({ accountId: r.account_id, region: r.region }));
}

export type CounterColumn = 'key_count' | 'alias_count';

/** The scope's count: its scopes row plus its stripe rows (see migration 002). */
export const scopeCount = (column: CounterColumn) =>
  `coalesce((SELECT ${column} FROM scopes WHERE account_id = $1 AND region = $2), 0) +
   coalesce((SELECT sum(${column})::int FROM scope_counter_stripes WHERE account_id = $1 AND region = $2), 0)`;

/**
 * The one counter change: a data-modifying statement (for a CTE) that counts each row of
 * `source` as `by` in the scope of $1 and $2, returning the new `total` with a quota and
 * NULL without one. With a quota, the upsert locks the scope's counter row until commit,
 * so racing creates can never pass it; the caller rolls back when the total is over.
 * Without one, the count goes to a random stripe row, so creates in one region do not
 * queue behind one lock.
 */
export function counterChange(column: CounterColumn, quota: number, by: 1 | -1, source: string): string {
  return quota === 0
    ? `INSERT INTO scope_counter_stripes AS c (account_id, region, stripe, ${column})
       SELECT $1, $2, floor(random() * 16)::smallint, ${by} FROM ${source}
       ON CONFLICT (account_id, region, stripe) DO UPDATE SET ${column} = c.${column} + EXCLUDED.${column}
       RETURNING NULL::int AS total`
    : `INSERT INTO scopes AS s (account_id, region, ${column})
       SELECT $1, $2, ${by} FROM ${source}
       ON CONFLICT (account_id, region) DO UPDATE SET ${column} = s.${column} + EXCLUDED.${column}
       RETURNING s.${column} +
         coalesce((SELECT sum(${column})::int FROM scope_counter_stripes WHERE account_id = $1 AND region = $2), 0)
         AS total`;
}

/** Counts one more key in the scope, unless the quota (0 = none) is passed: then false. */
export async function reserveQuota(q: Queryable, scope: Scope, column: CounterColumn, quota: number): Promise<boolean> {
  const { rows } = await q.query<{ total: number | null }>(
    `WITH one AS (SELECT 1), counted AS (${counterChange(column, quota, 1, 'one')}) SELECT total FROM counted`,
    [scope.accountId, scope.region],
  );
  return quota === 0 || (rows[0]?.total ?? Number.POSITIVE_INFINITY) <= quota;
}

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
}

export async function insertKey(q: Queryable, scope: Scope, k: NewKey): Promise<KeyRow> {
  const { rows } = await q.query<KeyRow>(
    `INSERT INTO keys AS k (account_id, region, id, state, key_spec, key_usage, origin, protection_level,
                            description, creator, creation_date, primary_key_version, last_rotation_date)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, CASE WHEN $12::text IS NULL THEN NULL ELSE $11::timestamptz END)
     RETURNING ${KEY_COLUMNS}`,
    [
      scope.accountId,
      scope.region,
      k.id,
      k.state,
      k.keySpec,
      k.keyUsage,
      k.origin,
      k.protectionLevel,
      k.description,
      k.creator,
      k.creationDate,
      k.primaryKeyVersion,
    ],
  );
  return rows[0]!;
}

export async function insertKeyVersion(
  q: Queryable,
  scope: Scope,
  v: { keyId: string; id: string; wrappedMaterial: Buffer; creationDate: Date },
): Promise<void> {
  await q.query(
    `INSERT INTO key_versions (account_id, region, key_id, id, wrapped_material, creation_date)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [scope.accountId, scope.region, v.keyId, v.id, v.wrappedMaterial, v.creationDate],
  );
}

export async function listKeys(
  q: Queryable,
  scope: Scope,
  limit: number,
  offset: number,
  now: Date,
): Promise<{ total: number; ids: string[]; purgeDue: boolean }> {
  const { rows } = await q.query<{ total: number; purge_due: boolean; id: string | null }>(
    `SELECT t.total, t.purge_due, p.id
       FROM (SELECT ${scopeCount('key_count')} AS total, ${purgeDue(5)} AS purge_due) t
       LEFT JOIN LATERAL (
         SELECT id FROM keys WHERE account_id = $1 AND region = $2
          ORDER BY creation_date, id LIMIT $3 OFFSET $4
       ) p ON true`,
    [scope.accountId, scope.region, limit, offset, now],
  );
  return {
    total: rows[0]?.total ?? 0,
    purgeDue: rows[0]?.purge_due ?? false,
    ids: rows.flatMap((r) => (r.id === null ? [] : [r.id])),
  };
}

export async function updateKey(
  q: Queryable,
  scope: Scope,
  keyId: string,
  changes: { state?: KeyState; deleteDate?: Date | null; description?: string },
): Promise<KeyRow> {
  const { rows } = await q.query<KeyRow>(
    `UPDATE keys AS k SET
        state = coalesce($4, k.state),
        delete_date = CASE WHEN $5::boolean THEN $6::timestamptz ELSE k.delete_date END,
        description = coalesce($7, k.description)
      WHERE k.account_id = $1 AND k.region = $2 AND k.id = $3
      RETURNING ${KEY_COLUMNS}`,
    [
      scope.accountId,
      scope.region,
      keyId,
      changes.state ?? null,
      changes.deleteDate !== undefined,
      changes.deleteDate ?? null,
      changes.description ?? null,
    ],
  );
  return rows[0]!;
}

export interface KeyVersionRow extends KeyRow {
  version_id: string;
  /** pg returns a Buffer, PGlite a Uint8Array. */
  wrapped_material: Uint8Array;
}

/**
 * The key version a ciphertext names, with its (live) key: Decrypt has no key parameter.
 * Only the caller's scope is searched, so a blob of another account or region, or of a
 * purged key, finds nothing.
 */
export async function findKeyVersion(
  q: Queryable,
  scope: Scope,
  keyId: string,
  versionId: string,
  now: Date,
): Promise<KeyVersionRow | undefined> {
  const { rows } = await q.query<KeyVersionRow>(
    `SELECT ${KEY_COLUMNS}, v.id AS version_id, v.wrapped_material
       FROM key_versions v
       JOIN keys k ON k.account_id = v.account_id AND k.region = v.region AND k.id = v.key_id
      WHERE v.account_id = $1 AND v.region = $2 AND v.id = $3 AND v.key_id = $4 AND ${liveFilter(5)}`,
    [scope.accountId, scope.region, versionId, keyId, now],
  );
  return rows[0];
}
