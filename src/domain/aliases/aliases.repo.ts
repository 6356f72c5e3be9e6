import type { Queryable } from '../../db/database.js';
import { scopeCount } from '../keys/keys.repo.js';
import type { Scope } from '../scope.js';

export interface AliasRow {
  alias_name: string;
  key_id: string;
}

/** Inserts unless the name exists; false means "already exists" (the primary key decides). */
export async function insertAlias(q: Queryable, scope: Scope, name: string, keyId: string, now: Date) {
  const { rows } = await q.query(
    `INSERT INTO aliases (account_id, region, alias_name, key_id, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $5)
     ON CONFLICT (account_id, region, alias_name) DO NOTHING
     RETURNING 1`,
    [scope.accountId, scope.region, name, keyId, now],
  );
  return rows.length === 1;
}

/** The alias and the key it points at, locked for the caller's transaction. */
export async function findAliasForUpdate(q: Queryable, scope: Scope, name: string): Promise<AliasRow | undefined> {
  const { rows } = await q.query<AliasRow>(
    `SELECT alias_name, key_id FROM aliases
      WHERE account_id = $1 AND region = $2 AND alias_name = $3
      FOR UPDATE`,
    [scope.accountId, scope.region, name],
  );
  return rows[0];
}

export async function findAlias(q: Queryable, scope: Scope, name: string): Promise<AliasRow | undefined> {
  const { rows } = await q.query<AliasRow>(
    'SELECT alias_name, key_id FROM aliases WHERE account_id = $1 AND region = $2 AND alias_name = $3',
    [scope.accountId, scope.region, name],
  );
  return rows[0];
}

export async function repointAlias(q: Queryable, scope: Scope, name: string, keyId: string, now: Date) {
  await q.query(
    `UPDATE aliases SET key_id = $4, updated_at = $5
      WHERE account_id = $1 AND region = $2 AND alias_name = $3`,
    [scope.accountId, scope.region, name, keyId, now],
  );
}

export async function deleteAlias(q: Queryable, scope: Scope, name: string): Promise<boolean> {
  const { rows } = await q.query(
    'DELETE FROM aliases WHERE account_id = $1 AND region = $2 AND alias_name = $3 RETURNING 1',
    [scope.accountId, scope.region, name],
  );
  return rows.length === 1;
}

/** One page in byte order, with the scope's alias count kept by the counter row. */
export async function listAliases(
  q: Queryable,
  scope: Scope,
  limit: number,
  offset: number,
): Promise<{ total: number; rows: AliasRow[] }> {
  const { rows } = await q.query<{ total: number; alias_name: string | null; key_id: string }>(
    `SELECT t.total, p.alias_name, p.key_id
       FROM (SELECT ${scopeCount('alias_count')} AS total) t
       LEFT JOIN LATERAL (
         SELECT alias_name, key_id FROM aliases WHERE account_id = $1 AND region = $2
          ORDER BY alias_name LIMIT $3 OFFSET $4
       ) p ON true`,
    [scope.accountId, scope.region, limit, offset],
  );
  return { total: rows[0]?.total ?? 0, rows: pageRows(rows) };
}

export async function listAliasesByKey(
  q: Queryable,
  scope: Scope,
  keyId: string,
  limit: number,
  offset: number,
): Promise<{ total: number; rows: AliasRow[] }> {
  const { rows } = await q.query<{ total: number; alias_name: string | null; key_id: string }>(
    `SELECT t.total, p.alias_name, p.key_id
       FROM (SELECT count(*)::int AS total FROM aliases WHERE account_id = $1 AND region = $2 AND key_id = $3) t
       LEFT JOIN LATERAL (
         SELECT alias_name, key_id FROM aliases WHERE account_id = $1 AND region = $2 AND key_id = $3
          ORDER BY alias_name LIMIT $4 OFFSET $5
       ) p ON true`,
    [scope.accountId, scope.region, keyId, limit, offset],
  );
  return { total: rows[0]?.total ?? 0, rows: pageRows(rows) };
}

function pageRows(rows: Array<{ alias_name: string | null; key_id: string }>): AliasRow[] {
  return rows.flatMap((r) => (r.alias_name === null ? [] : [{ alias_name: r.alias_name, key_id: r.key_id }]));
}
