import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMigrations } from '../../../src/db/migrate.js';
import {
  buildTemplate,
  defaultTemplateCacheDir,
  openPgliteFromTemplate,
  templateName,
} from '../../../src/db/pglite-template.js';

// A template must never serve a database whose schema differs from the migrations: a
// changed migration is another template, and a template that does not hold exactly the
// migrations is thrown away and rebuilt. memory:// keeps nothing once closed.

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
const mode = (p: string) => fs.statSync(p).mode & 0o777;

describe('the PGlite template', () => {
  const cacheDir = tempDir('kms-tmpl-');
  const noPackaged = tempDir('kms-tmpl-none-'); // no build's template: the cache is what is tested
  const migrations = readMigrations();
  const open = (o: Partial<Parameters<typeof openPgliteFromTemplate>[0]> = {}) =>
    openPgliteFromTemplate({ dataDir: undefined, cacheDir, packagedDir: noPackaged, migrations, ...o });

  it('is built in the cache on a first start, named by the migrations, and copied by every later start', async () => {
    const first = await open();
    expect(first.source).toBe('template');
    expect(await recorded(first.db)).toEqual(expected(migrations));
    await first.db.close();
    expect(fs.readdirSync(cacheDir)).toEqual([templateName(migrations)]);

    const second = await open();
    expect(second.source).toBe('template');
    expect(second.applied).toEqual([]);
    await second.db.exec('CREATE TABLE only_in_this_copy (id int)');
    await second.db.close();
    const third = await open();
    expect((await third.db.query("SELECT to_regclass('only_in_this_copy') AS t")).rows).toEqual([{ t: null }]);
    await third.db.close();
  }, 120_000);

  it('is rebuilt when a migration changes, and a template of other migrations under its name is thrown away', async () => {
    const last = migrations.at(-1);
    if (!last) throw new Error('no migrations');
    const changedSql = `${last.sql}\nCREATE TABLE template_probe (id int);\n`;
    const changed = [...migrations.slice(0, -1), { ...last, sql: changedSql, checksum: `${last.checksum}-changed` }];
    expect(templateName(changed)).not.toBe(templateName(migrations));

    // A stale template under the new name (as if the name had failed to change): refused by the row check.
    fs.cpSync(path.join(cacheDir, templateName(migrations)), path.join(cacheDir, templateName(changed)), {
      recursive: true,
    });
    const opened = await open({ migrations: changed });
    expect(opened.source).toBe('built');
    expect(await recorded(opened.db)).toEqual(expected(changed));
    expect((await opened.db.query("SELECT to_regclass('template_probe') AS t")).rows).toEqual([
      { t: 'template_probe' },
    ]);
    await opened.db.close();
    expect(fs.existsSync(path.join(cacheDir, templateName(changed)))).toBe(false);

    const again = await open({ migrations: changed });
    expect(again.source).toBe('template');
    expect(await recorded(again.db)).toEqual(expected(changed));
    await again.db.close();
  }, 180_000);

  it('fills a new data directory (private modes), and a restart resumes that directory', async () => {
    const dataDir = tempDir('kms-tmpl-data-');
    const first = await open({ dataDir });
    expect(first.source).toBe('template');
    await first.db.exec('CREATE TABLE kept (id int); INSERT INTO kept VALUES (42);');
    await first.db.close();
    expect(fs.existsSync(path.join(dataDir, 'pgdata.creating'))).toBe(false);
    expect(mode(path.join(dataDir, 'pgdata'))).toBe(0o700);
    expect(mode(path.join(dataDir, 'pgdata', 'PG_VERSION'))).toBe(0o600);

    const second = await open({ dataDir });
    expect(second.source).toBe('existing');
    expect((await second.db.query('SELECT id FROM kept')).rows).toEqual([{ id: 42 }]);
    expect(await recorded(second.db)).toEqual(expected(migrations));
    await second.db.close();
  }, 120_000);

  it("takes the build's template first: readable by every user there, private in the copy", async () => {
    const packaged = tempDir('kms-tmpl-packaged-');
    const built = await buildTemplate(packaged, migrations, { shared: true });
    expect(mode(path.join(built, 'pgdata'))).toBe(0o755);
    expect(mode(path.join(built, 'pgdata', 'PG_VERSION'))).toBe(0o644);
    const emptyCache = tempDir('kms-tmpl-empty-cache-');
    const dataDir = tempDir('kms-tmpl-data2-');
    const opened = await open({ dataDir, packagedDir: packaged, cacheDir: emptyCache });
    expect(opened.source).toBe('template');
    await opened.db.close();
    expect(fs.readdirSync(emptyCache)).toEqual([]); // nothing built
    expect(mode(path.join(dataDir, 'pgdata', 'PG_VERSION'))).toBe(0o600);
  }, 120_000);

  it('builds in place, serving the same schema, when the cache folder cannot be written', async () => {
    const blocked = path.join(tempDir('kms-tmpl-ro-'), 'a-file');
    fs.writeFileSync(blocked, 'not a folder');
    const opened = await open({ cacheDir: blocked });
    expect(opened.source).toBe('built');
    expect(await recorded(opened.db)).toEqual(expected(migrations));
    await opened.db.close();
  }, 120_000);

  it('memory:// opens a copy of the template in memory: nothing written to disk, each open its own', async () => {
    // Before, memory:// had a folder `kms-emulator-memory-<pid>-…` in the OS temp folder.
    const emulatorTmp = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('kms-emulator-memory'));
    const tmpBefore = emulatorTmp();
    const opened = await open();
    expect(opened.source).toBe('template');
    expect(opened.db.created).toBe(true);
    expect(await recorded(opened.db)).toEqual(expected(migrations));
    await opened.db.exec('CREATE TABLE only_in_memory (id int)');
    await opened.db.query('INSERT INTO only_in_memory SELECT generate_series(1, 5000)');
    expect((await opened.db.query<{ n: number }>('SELECT count(*)::int AS n FROM only_in_memory')).rows).toEqual([
      { n: 5000 },
    ]);
    expect(emulatorTmp()).toEqual(tmpBefore);
    await opened.db.close();
    const next = await open();
    expect((await next.db.query("SELECT to_regclass('only_in_memory') AS t")).rows).toEqual([{ t: null }]);
    await next.db.close();
  }, 120_000);

  it('is cached in the user cache, or in a per-user temp folder when that cannot be written', () => {
    const cache = tempDir('kms-xdg-');
    expect(defaultTemplateCacheDir({ XDG_CACHE_HOME: cache })).toBe(path.join(cache, 'kms-emulator'));
    const notADir = path.join(cache, 'file');
    fs.writeFileSync(notADir, '');
    expect(defaultTemplateCacheDir({ XDG_CACHE_HOME: notADir })).toBe(
      path.join(os.tmpdir(), `kms-emulator-cache-${process.getuid?.() ?? 'user'}`),
    );
  });
});
