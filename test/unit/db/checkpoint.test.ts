import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/database.js';
import { openPgliteFromTemplate } from '../../../src/db/pglite-template.js';
import { CHECKPOINT_WAL_BYTES, checkpointIfWalGrew } from '../../../src/db/table-upkeep.js';

// PGlite's PostgreSQL runs in single-user mode, where nothing checkpoints until it stops:
// the upkeep's `checkpoint` job (test/unit/upkeep.test.ts) bounds the WAL (memory:// keeps
// it in the process).

const walSinceCheckpoint = async (db: Database) =>
  Number(
    (
      await db.query<{ bytes: string }>(
        'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), checkpoint_lsn)::bigint::text AS bytes FROM pg_control_checkpoint()',
      )
    ).rows[0]?.bytes,
  );

describe('the checkpoint upkeep (PGlite)', () => {
  let db: Database;
  beforeAll(async () => {
    db = (await openPgliteFromTemplate({ dataDir: undefined })).db;
  }, 120_000);
  afterAll(async () => {
    await db?.close();
  });

  it('checkpoints once more than its bound of WAL was written, and not before', async () => {
    expect(await checkpointIfWalGrew(db)).toBe(false);
    await db.exec('CREATE TABLE wal_filler (id int, pad text)');
    while ((await walSinceCheckpoint(db)) <= CHECKPOINT_WAL_BYTES) {
      await db.exec("INSERT INTO wal_filler SELECT g, repeat('x', 400) FROM generate_series(1, 20000) g");
    }
    // Single-user mode did not checkpoint by itself past max_wal_size.
    expect(await walSinceCheckpoint(db)).toBeGreaterThan(CHECKPOINT_WAL_BYTES);

    expect(await checkpointIfWalGrew(db)).toBe(true);
    expect(await walSinceCheckpoint(db)).toBeLessThan(1024 * 1024);
    const { rows } = await db.query<{ segments: number }>('SELECT count(*)::int AS segments FROM pg_ls_waldir()');
    expect(rows[0]?.segments).toBeLessThanOrEqual(3); // the old segments are gone (wal_recycle=off)
    expect(await checkpointIfWalGrew(db)).toBe(false);
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM wal_filler')).rows[0]?.n).toBeGreaterThan(0);
  }, 120_000);
});
