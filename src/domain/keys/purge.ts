import type { Database, Queryable } from '../../db/database.js';
import { type SqlFragment, sql, statement } from '../../db/sql.js';
import type { Scope } from '../scope.js';
import { addToCounts } from '../scope-counters.js';

// Keys whose pending window has passed are deleted with their versions and aliases, and
// the scope's counters are kept exact. Reads already treat such keys as gone (keyIsLive);
// the purge only frees their names and their place in the quotas.

/** SQL: the scope holds a key whose deletion date has passed. */
export const purgeIsDue = (scope: Scope, now: Date): SqlFragment =>
  sql`EXISTS (SELECT 1 FROM keys WHERE account_id = ${scope.accountId} AND region = ${scope.region}
                 AND delete_date IS NOT NULL AND delete_date <= ${now})`;

/**
 * Deletes the keys of this scope whose pending window has passed, their versions and
 * their aliases. Run it in a transaction: it locks the keys in one statement, then deletes
 * and counts in the next (see docs/design.md, "The purge").
 */
export async function purgeExpired(q: Queryable, scope: Scope, now: Date): Promise<number> {
  const { accountId, region } = scope;
  const locked = await q.query<{ id: string }>(
    statement(
      'purge.lock-expired',
      sql`SELECT id FROM keys
           WHERE account_id = ${accountId} AND region = ${region} AND delete_date IS NOT NULL AND delete_date <= ${now}
           FOR UPDATE`,
    ),
  );
  if (locked.rows.length === 0) return 0;
  const ids = locked.rows.map((r) => r.id);
  const { rows } = await q.query<{ keys: number }>(
    statement(
      'purge.delete',
      sql`WITH gone_aliases AS (
            DELETE FROM aliases WHERE account_id = ${accountId} AND region = ${region} AND key_id = ANY(${ids}::text[])
            RETURNING 1
          ), gone_keys AS (
            DELETE FROM keys WHERE account_id = ${accountId} AND region = ${region} AND id = ANY(${ids}::text[])
            RETURNING 1
          ), counted AS (${addToCounts(scope, {
            keys: sql`-(SELECT count(*) FROM gone_keys)::int`,
            aliases: sql`-(SELECT count(*) FROM gone_aliases)::int`,
          })})
          SELECT (SELECT count(*) FROM gone_keys)::int AS keys`,
    ),
  );
  return rows[0]?.keys ?? 0;
}

/** Purges the scope in a transaction of its own; true when anything went. */
export async function purgeScope(db: Database, scope: Scope, now: Date): Promise<boolean> {
  return (await db.transaction((tx) => purgeExpired(tx, scope, now))) > 0;
}

/**
 * Runs a read that counts rows of the scope (a list page and its total) and reports in
 * the same statement whether a purge is due; if it is, purges and reads again.
 */
export async function readAfterPurgeIfDue<T extends { purgeDue: boolean }>(
  db: Database,
  scope: Scope,
  now: Date,
  read: () => Promise<T>,
): Promise<T> {
  const first = await read();
  if (!first.purgeDue) return first;
  await purgeScope(db, scope, now);
  return read();
}

/** Scopes that hold at least one key past its deletion date (for the upkeep). */
export async function scopesWithExpiredKeys(q: Queryable, now: Date): Promise<Scope[]> {
  const { rows } = await q.query<{ account_id: string; region: string }>(
    statement(
      'purge.expired-scopes',
      sql`SELECT DISTINCT account_id, region FROM keys WHERE delete_date IS NOT NULL AND delete_date <= ${now}`,
    ),
  );
  return rows.map((r) => ({ accountId: r.account_id, region: r.region }));
}
