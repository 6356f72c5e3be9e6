import type { Database } from './database.js';

// Planner statistics, kept by the service itself. Without them the planner guesses that
// any region holds a handful of rows, and for a page of ListAliases it reads and sorts
// every alias of the region instead of walking the primary key. PostgreSQL gathers them
// only through autovacuum, which may be off (it is on the machine the benchmark runs on)
// and wakes once a minute; PGlite, a single-user server, never does.

const TABLES = ['keys', 'key_versions', 'aliases', 'scopes', 'scope_counter_stripes', 'nonces'];
const LOCK_ID = 720_160_121; // one instance at a time; the others skip the round

/**
 * Analyzes the tables that grew by a fifth (in pages) since their statistics were last
 * counted, and those that hold rows but have no statistics at all (never analyzed, or only
 * counted by CREATE INDEX). Answers the tables analyzed (none when another instance holds
 * the round). One catalog query when there is nothing to do.
 */
export async function refreshPlannerStatistics(db: Database): Promise<string[]> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ name: string }>(
      `SELECT t.name
         FROM unnest($1::text[]) AS t(name)
         JOIN pg_class c ON c.oid = to_regclass(t.name)
        WHERE pg_try_advisory_xact_lock($2)
          AND (pg_relation_size(c.oid) / current_setting('block_size')::int >= c.relpages * 1.2 + 1
               OR (c.reltuples <> 0 AND pg_relation_size(c.oid) > 0
                   AND NOT EXISTS (SELECT 1 FROM pg_stats s
                                    WHERE s.schemaname = current_schema() AND s.tablename = t.name)))`,
      [TABLES, LOCK_ID],
    );
    const names = rows.map((r) => r.name).filter((name) => TABLES.includes(name));
    // One table a statement, each within the statement timeout; ANALYZE reads a bounded
    // sample (30,000 rows), whatever the table's size.
    for (const name of names) await tx.exec(`ANALYZE ${name}`);
    return names;
  });
}
