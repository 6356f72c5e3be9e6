import type { Queryable } from '../db/database.js';
import { raw, type SqlFragment, sql, statement } from '../db/sql.js';
import { errorWithReason } from '../errors.js';
import type { Scope } from './scope.js';

// How many keys and aliases a scope holds, kept by counter rows (migrations 001 and 002)
// so that quotas and list totals never count the tables. A scope's count is its `scopes`
// row plus its 16 stripe rows: with a quota, changes go to the `scopes` row, whose lock
// serialises racing creates; without one, to a random stripe, so creates do not queue
// behind one lock (docs/design.md, "Counters").

export type CounterColumn = 'key_count' | 'alias_count';

/** SQL: the scope's current count. */
export function scopeCount(scope: Scope, column: CounterColumn): SqlFragment {
  const c = raw(column);
  const { accountId, region } = scope;
  return sql`(coalesce((SELECT ${c} FROM scopes WHERE account_id = ${accountId} AND region = ${region}), 0) +
    coalesce((SELECT sum(${c})::int FROM scope_counter_stripes WHERE account_id = ${accountId} AND region = ${region}), 0))`;
}

/**
 * SQL for a CTE: counts each row of the CTE `source` as `by` in the scope. Returns `total`,
 * the scope's count after the change, when a quota is kept (the caller rolls back when it
 * is over), and NULL without one.
 */
export function countRows(
  scope: Scope,
  column: CounterColumn,
  quota: number,
  by: 1 | -1,
  source: 'ins' | 'gone' | 'one',
): SqlFragment {
  const c = raw(column);
  const from = raw(source);
  const { accountId, region } = scope;
  if (quota === 0) {
    return sql`INSERT INTO scope_counter_stripes AS c (account_id, region, stripe, ${c})
       SELECT ${accountId}, ${region}, floor(random() * 16)::smallint, ${raw(String(by))} FROM ${from}
       ON CONFLICT (account_id, region, stripe) DO UPDATE SET ${c} = c.${c} + EXCLUDED.${c}
       RETURNING NULL::int AS total`;
  }
  return sql`INSERT INTO scopes AS s (account_id, region, ${c})
       SELECT ${accountId}, ${region}, ${raw(String(by))} FROM ${from}
       ON CONFLICT (account_id, region) DO UPDATE SET ${c} = s.${c} + EXCLUDED.${c}
       RETURNING s.${c} +
         coalesce((SELECT sum(${c})::int FROM scope_counter_stripes WHERE account_id = ${accountId} AND region = ${region}), 0)
         AS total`;
}

/**
 * SQL for a CTE: adds counts of many rows at once to the scope's `scopes` row (the purge's
 * deletions, the benchmark's bulk inserts). Each count is a fragment such as
 * `-(SELECT count(*) FROM gone)::int`.
 */
export function addToCounts(scope: Scope, counts: { keys: SqlFragment; aliases: SqlFragment }): SqlFragment {
  return sql`INSERT INTO scopes AS s (account_id, region, key_count, alias_count)
       VALUES (${scope.accountId}, ${scope.region}, ${counts.keys}, ${counts.aliases})
       ON CONFLICT (account_id, region) DO UPDATE
          SET key_count = s.key_count + EXCLUDED.key_count, alias_count = s.alias_count + EXCLUDED.alias_count
       RETURNING 1`;
}

/** Counts one more in the scope; answers the count after it (null without a quota). */
export async function countOneMore(
  q: Queryable,
  scope: Scope,
  column: CounterColumn,
  quota: number,
): Promise<number | null> {
  const { rows } = await q.query<{ total: number | null }>(
    statement(
      `count-one-more.${column}`,
      sql`WITH one AS (SELECT 1), counted AS (${countRows(scope, column, quota, 1, 'one')}) SELECT total FROM counted`,
    ),
  );
  return rows[0]?.total ?? null;
}

/**
 * Creates the scope's counter row if needed and locks it until commit: concurrent seeds of
 * one scope run one after the other, and CreateKey/CreateAlias there wait for the seed.
 */
export async function lockScope(q: Queryable, scope: Scope): Promise<void> {
  await q.query(
    statement(
      'scope.lock',
      sql`INSERT INTO scopes (account_id, region) VALUES (${scope.accountId}, ${scope.region})
          ON CONFLICT (account_id, region) DO UPDATE SET key_count = scopes.key_count`,
    ),
  );
}

/** Whether a count is within a quota (0 = none). */
export const withinQuota = (total: number | null, quota: number) =>
  quota === 0 || (total ?? Number.POSITIVE_INFINITY) <= quota;

/** The setting that sets each quota, named by the refusal so the reader knows what raises it. */
const QUOTA_SETTINGS = { keys: 'KMS_KEY_QUOTA', aliases: 'KMS_ALIAS_QUOTA' } as const;

/** Rejected.LimitExceeded, saying which quota and which setting raises it. */
export const quotaRefusal = (what: keyof typeof QUOTA_SETTINGS, quota: number) =>
  errorWithReason(
    'Rejected.LimitExceeded',
    `the ${what === 'keys' ? 'key' : 'alias'} quota of ${quota} per account and region is reached; ${QUOTA_SETTINGS[what]} raises it (0: no limit)`,
  );
