import type { Queryable } from '../../db/database.js';
import { type KeyState, refusedStates } from '../keys/key-state.js';
import { counterChange, purgeDue, scopeCount } from '../keys/keys.repo.js';
import type { KeyLookup } from '../keys/resolver.js';
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

export interface CreatedAlias {
  /** The key the lookup found, whether or not the alias was inserted. */
  keyId: string;
  state: KeyState;
  inserted: boolean;
  /** The scope's alias count after the insert, when a quota is kept (else null). */
  total: number | null;
}

/**
 * CreateAlias in one statement: the key (locked FOR SHARE, so a concurrent
 * ScheduleKeyDeletion waits and the state checked holds), the insert, which only happens
 * when the caller may (`allowed`), the key's state does not refuse it and the name is free,
 * and the count. Undefined when the lookup finds no key. With a quota, run it in a
 * transaction and roll back when `total` is over.
 */
export async function createAliasInOneStatement(
  q: Queryable,
  lookup: KeyLookup,
  name: string,
  allowed: boolean,
  quota: number,
): Promise<CreatedAlias | undefined> {
  const { rows } = await q.query<CreatedAlias>(
    `WITH target AS (${lookup.sql}),
     ins AS (
       INSERT INTO aliases (account_id, region, alias_name, key_id, created_at, updated_at)
       SELECT $1, $2, $5, target.id, $4, $4 FROM target
        WHERE $6::boolean AND NOT (target.state = ANY($7::text[]))
       ON CONFLICT (account_id, region, alias_name) DO NOTHING
       RETURNING 1
     ),
     counted AS (${counterChange('alias_count', quota, 1, 'ins')})
     SELECT target.id AS "keyId", target.state, EXISTS (SELECT 1 FROM ins) AS inserted,
            (SELECT total FROM counted) AS total
       FROM target`,
    [...lookup.params, name, allowed, refusedStates('CreateAlias')],
  );
  return rows[0];
}

/**
 * Re-points the alias from `from` to the key of `target` (locked FOR SHARE) in one
 * statement, unless the alias has meanwhile moved or gone, or the key has meanwhile come
 * to a state that refuses UpdateAlias or changed its usage: false then, and the caller
 * looks again.
 */
export async function repointAliasIfUnchanged(
  q: Queryable,
  target: KeyLookup,
  name: string,
  from: string,
  keyUsage: string,
): Promise<boolean> {
  const { rows } = await q.query(
    `WITH target AS (${target.sql})
     UPDATE aliases a SET key_id = target.id, updated_at = $4
       FROM target
      WHERE a.account_id = $1 AND a.region = $2 AND a.alias_name = $5 AND a.key_id = $6
        AND NOT (target.state = ANY($7::text[])) AND target.key_usage = $8
     RETURNING 1`,
    [...target.params, name, from, refusedStates('UpdateAlias'), keyUsage],
  );
  return rows.length === 1;
}

/** Deletes the alias and counts it, unless it no longer points at `keyId`: false then. */
export async function deleteAliasIfUnchanged(
  q: Queryable,
  scope: Scope,
  name: string,
  keyId: string,
  quota: number,
): Promise<boolean> {
  const { rows } = await q.query<{ deleted: boolean }>(
    `WITH gone AS (
       DELETE FROM aliases WHERE account_id = $1 AND region = $2 AND alias_name = $3 AND key_id = $4 RETURNING 1
     ),
     counted AS (${counterChange('alias_count', quota, -1, 'gone')})
     SELECT EXISTS (SELECT 1 FROM gone) AS deleted`,
    [scope.accountId, scope.region, name, keyId],
  );
  return rows[0]?.deleted === true;
}

/** One page in byte order, with the scope's alias count kept by the counter rows. */
export async function listAliases(
  q: Queryable,
  scope: Scope,
  limit: number,
  offset: number,
  now: Date,
): Promise<{ total: number; rows: AliasRow[]; purgeDue: boolean }> {
  const { rows } = await q.query<{ total: number; purge_due: boolean; alias_name: string | null; key_id: string }>(
    `SELECT t.total, t.purge_due, p.alias_name, p.key_id
       FROM (SELECT ${scopeCount('alias_count')} AS total, ${purgeDue(5)} AS purge_due) t
       LEFT JOIN LATERAL (
         SELECT alias_name, key_id FROM aliases WHERE account_id = $1 AND region = $2
          ORDER BY alias_name LIMIT $3 OFFSET $4
       ) p ON true`,
    [scope.accountId, scope.region, limit, offset, now],
  );
  return { total: rows[0]?.total ?? 0, purgeDue: rows[0]?.purge_due ?? false, rows: pageRows(rows) };
}

/**
 * One page of the aliases of a key, their count and the key's state, in one statement;
 * undefined when `target` (a lookup by key id, so $3 is the id) finds no key. A live key's
 * aliases are all live: no purge is needed.
 */
export async function listAliasesOfKey(
  q: Queryable,
  target: KeyLookup,
  limit: number,
  offset: number,
): Promise<{ state: KeyState; total: number; rows: AliasRow[] } | undefined> {
  const { rows } = await q.query<{ state: KeyState; total: number; alias_name: string | null; key_id: string }>(
    `WITH target AS (${target.sql})
     SELECT target.state, t.total, p.alias_name, p.key_id
       FROM target,
            (SELECT count(*)::int AS total FROM aliases WHERE account_id = $1 AND region = $2 AND key_id = $3) t
       LEFT JOIN LATERAL (
         SELECT alias_name, key_id FROM aliases WHERE account_id = $1 AND region = $2 AND key_id = $3
          ORDER BY alias_name LIMIT $5 OFFSET $6
       ) p ON true`,
    [...target.params, limit, offset],
  );
  const first = rows[0];
  if (!first) return undefined;
  return { state: first.state, total: first.total, rows: pageRows(rows) };
}

function pageRows(rows: Array<{ alias_name: string | null; key_id: string }>): AliasRow[] {
  return rows.flatMap((r) => (r.alias_name === null ? [] : [{ alias_name: r.alias_name, key_id: r.key_id }]));
}
