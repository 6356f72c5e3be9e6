import type { Queryable } from '../db/database.js';
import { sql, statement } from '../db/sql.js';

// Which regions hold keys or aliases, read from the scope counters (migrations 001 and 002:
// a scope's count is its scopes row plus its stripes), never by scanning the tables.

/** The regions where the account holds a key or an alias, in byte order. */
export async function accountRegionsWithData(db: Queryable, accountId: string): Promise<string[]> {
  const { rows } = await db.query<{ region: string }>(
    statement(
      'account-regions-with-data',
      sql`SELECT region FROM (
            SELECT region, key_count + alias_count AS n FROM scopes WHERE account_id = ${accountId}
            UNION ALL
            SELECT region, key_count + alias_count FROM scope_counter_stripes WHERE account_id = ${accountId}
          ) c GROUP BY region HAVING sum(n) > 0 ORDER BY region COLLATE "C"`,
    ),
  );
  return rows.map((r) => r.region);
}

/** Every region where some account holds a key or an alias, in byte order (start-up only). */
export async function regionsHoldingData(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ region: string }>(
    statement(
      'regions-holding-data',
      sql`SELECT region FROM (
            SELECT account_id, region, key_count + alias_count AS n FROM scopes
            UNION ALL
            SELECT account_id, region, key_count + alias_count FROM scope_counter_stripes
          ) c GROUP BY account_id, region HAVING sum(n) > 0
          ORDER BY region COLLATE "C"`,
    ),
  );
  return [...new Set(rows.map((r) => r.region))];
}
