import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMigrations } from '../../../src/db/migrate.js';
import { defaultSnapshotDir, openPgliteFromSnapshot, snapshotKey } from '../../../src/db/pglite-snapshot.js';

// The snapshot must never serve a database whose schema differs from the migrations: a
// changed migration is a new snapshot, and a snapshot file that does not hold exactly the
// migrations is thrown away and rebuilt.

const dirs: string[] = [];
function tempDir(prefix: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function recorded(db: { query: (s: string) => Promise<{ rows: unknown[] }> }) {
  return (await db.query('SELECT version, checksum FROM schema_migrations ORDER BY version')).rows;
}
const expected = (ms: ReturnType<typeof readMigrations>) =>
  ms.map((m) => ({ version: m.version, checksum: m.checksum }));

describe('the PGlite snapshot', () => {
  const cacheDir = tempDir('kms-snap-');
  const migrations = readMigrations();

  it('is built on a first start, saved under the migrations key, and used on the next start', async () => {
    const first = await openPgliteFromSnapshot({ dataDir: undefined, cacheDir, migrations });
    expect(first.source).toBe('built');
    expect(first.applied).toEqual(migrations.map((m) => m.version));
    await first.db.close();
    expect(fs.readdirSync(cacheDir)).toEqual([`pglite-${snapshotKey(migrations)}.tar.gz`]);

    const second = await openPgliteFromSnapshot({ dataDir: undefined, cacheDir, migrations });
    expect(second.source).toBe('snapshot');
    expect(second.applied).toEqual([]);
    expect(await recorded(second.db)).toEqual(expected(migrations));
    await second.db.close();
  }, 120_000);

  it('is rebuilt when a migration changes, and a snapshot of other migrations under its name is thrown away', async () => {
    const last = migrations.at(-1);
    if (!last) throw new Error('no migrations');
    const changedSql = `${last.sql}\nCREATE TABLE snapshot_probe (id int);\n`;
    const changed = [...migrations.slice(0, -1), { ...last, sql: changedSql, checksum: `${last.checksum}-changed` }];
    expect(snapshotKey(changed)).not.toBe(snapshotKey(migrations));

    // A stale file under the new key (as if the key had failed to change): refused by the row check.
    const stale = path.join(cacheDir, `pglite-${snapshotKey(migrations)}.tar.gz`);
    const target = path.join(cacheDir, `pglite-${snapshotKey(changed)}.tar.gz`);
    fs.copyFileSync(stale, target);

    const opened = await openPgliteFromSnapshot({ dataDir: undefined, cacheDir, migrations: changed });
    expect(opened.source).toBe('built');
    expect(await recorded(opened.db)).toEqual(expected(changed));
    expect((await opened.db.query("SELECT to_regclass('snapshot_probe') AS t")).rows).toEqual([
      { t: 'snapshot_probe' },
    ]);
    await opened.db.close();

    const again = await openPgliteFromSnapshot({ dataDir: undefined, cacheDir, migrations: changed });
    expect(again.source).toBe('snapshot');
    expect(await recorded(again.db)).toEqual(expected(changed));
    await again.db.close();
  }, 180_000);

  it('seeds a new data directory from the snapshot, and a restart resumes that directory', async () => {
    const dataDir = tempDir('kms-snap-data-');
    if (!fs.existsSync(path.join(cacheDir, `pglite-${snapshotKey(migrations)}.tar.gz`))) {
      await (await openPgliteFromSnapshot({ dataDir: undefined, cacheDir, migrations })).db.close(); // run alone
    }
    const first = await openPgliteFromSnapshot({ dataDir, cacheDir, migrations });
    expect(first.source).toBe('snapshot');
    await first.db.exec('CREATE TABLE kept (id int); INSERT INTO kept VALUES (42);');
    await first.db.close();

    const second = await openPgliteFromSnapshot({ dataDir, cacheDir, migrations });
    expect(second.source).toBe('existing');
    expect((await second.db.query('SELECT id FROM kept')).rows).toEqual([{ id: 42 }]);
    expect(await recorded(second.db)).toEqual(expected(migrations));
    await second.db.close();
  }, 120_000);

  it('builds anyway, serving the same schema, when the cache folder cannot be written', async () => {
    const blocked = path.join(tempDir('kms-snap-ro-'), 'a-file');
    fs.writeFileSync(blocked, 'not a folder');
    const opened = await openPgliteFromSnapshot({ dataDir: undefined, cacheDir: blocked, migrations });
    expect(opened.source).toBe('built');
    expect(await recorded(opened.db)).toEqual(expected(migrations));
    await opened.db.close();
  }, 120_000);

  it('is cached in the user cache, or in a per-user temp folder when that cannot be written', () => {
    const cache = tempDir('kms-xdg-');
    expect(defaultSnapshotDir({ XDG_CACHE_HOME: cache })).toBe(path.join(cache, 'kms-emulator'));
    const notADir = path.join(cache, 'file');
    fs.writeFileSync(notADir, '');
    expect(defaultSnapshotDir({ XDG_CACHE_HOME: notADir })).toBe(
      path.join(os.tmpdir(), `kms-emulator-cache-${process.getuid?.() ?? 'user'}`),
    );
  });
});
