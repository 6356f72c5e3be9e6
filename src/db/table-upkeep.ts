import type { Database } from './database.js';

// VACUUM and ANALYZE, done by the service itself (the upkeep's vacuum-analyze job), since
// autovacuum may be off and PGlite has none: without statistics the planner chooses scans
// of whole regions, and counter rows updated in place bloat. Measurements: docs/design.md.

const TABLES = ['keys', 'key_versions', 'aliases', 'scopes', 'scope_counter_stripes', 'nonces'];
const LOCK_ID = 720_160_121; // one instance decides at a time; the others skip the round

/**
 * Vacuums and analyzes the tables that grew by a fifth (in pages) since they were last
 * vacuumed or analyzed, and those that hold rows but have no statistics at all (never
 * analyzed, or only counted by CREATE INDEX). Answers the tables done (none when another
 * instance holds the round). One catalog query when there is nothing to do.
 */
export async function tidyTables(db: Database): Promise<string[]> {
  const names = await db.transaction(async (tx) => {
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
    return rows.map((r) => r.name).filter((name) => TABLES.includes(name));
  });
  // VACUUM cannot run in a transaction. One table a statement, each well within the
  // statement timeout at this service's sizes: ANALYZE reads a bounded sample, and VACUUM
  // skips the pages that hold no dead rows.
  for (const name of names) await db.exec(`VACUUM (ANALYZE) ${name}`);
  return names;
}

/** WAL written since the last checkpoint past which the upkeep checkpoints PGlite. */
export const CHECKPOINT_WAL_BYTES = 32 * 1024 * 1024;

/**
 * PGlite runs PostgreSQL in single-user mode, where nothing checkpoints until it stops:
 * the WAL grew without bound (200 MB of it for 800,000 small inserts), on disk in a data
 * directory, in the process's memory for memory://, and a crash would replay all of it at
 * the next start. Checkpoints when more than CHECKPOINT_WAL_BYTES were written since the
 * last one; answers whether it did. PostgreSQL servers have their own checkpointer.
 */
export async function checkpointIfWalGrew(db: Database): Promise<boolean> {
  const { rows } = await db.query<{ grew: boolean }>(
    `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), checkpoint_lsn) > $1 AS grew FROM pg_control_checkpoint()`,
    [CHECKPOINT_WAL_BYTES],
  );
  if (rows[0]?.grew !== true) return false;
  await db.exec('CHECKPOINT');
  return true;
}
