import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { type Migration, migrate, readMigrations } from './migrate.js';
import { CREATING_MARKER, createPgliteDatabase, type PgliteDatabase } from './pglite-database.js';

// A new PGlite database is initdb plus the migrations: 4–9 s and ~750 MiB here. A new
// database is instead a copy of a template: a migrated data directory, stopped cleanly,
// which PGlite opens like any other (0.6–0.9 s, ~160 MiB). The template's name is a hash
// of PGlite's version and every migration's name and checksum, so a changed migration
// means another template, built anew; a copy is also checked row by row against the
// migrations before it is used, so a template whose schema differs from them is never
// served (docs/design.md, "Start-up: the PGlite template").
//
// Where templates live, in the order they are looked for:
// - beside dist/, made by `npm run build` (`pglite-template/`, read-only: shipped in the
//   npm package and the container image, so a first start there copies it too);
// - the user's cache ($XDG_CACHE_HOME or ~/.cache, kms-emulator/), else a per-user folder
//   in the OS temp folder, where a start that finds none builds one. A cache that cannot
//   be written costs speed (the database is built in place), never correctness.

const require = createRequire(import.meta.url);

/** Templates for other migrations kept in the cache beside the current one. */
const KEEP_OTHER_TEMPLATES = 2;

function pgliteVersion(): string {
  let dir = path.dirname(require.resolve('@electric-sql/pglite'));
  for (let i = 0; i < 5; i++) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === '@electric-sql/pglite') return pkg.version ?? 'unknown';
    }
    dir = path.dirname(dir);
  }
  return 'unknown';
}

/** How a template is made (buildTemplate); a change here means new templates. 2: without template0/1. */
const TEMPLATE_FORMAT = 2;

/** The template's identity: its format, PGlite's version and each migration's name and checksum. */
export function templateKey(migrations: readonly Migration[]): string {
  const hash = createHash('sha256').update(`format ${TEMPLATE_FORMAT}\npglite ${pgliteVersion()}\n`);
  for (const m of migrations) hash.update(`${m.version} ${m.checksum}\n`);
  return hash.digest('hex').slice(0, 24);
}

/** The template folder's name for these migrations. */
export function templateName(migrations: readonly Migration[]): string {
  return `pglite-${templateKey(migrations)}`;
}

/** Where `npm run build` puts the template: the package's root (beside dist/ and src/). */
export function packagedTemplateDir(): string {
  return fileURLToPath(new URL('../../pglite-template', import.meta.url));
}

/** The user's cache if it can be written (a container's home may not be), else a per-user temp folder. */
export function defaultTemplateCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = os.homedir();
  const cache = env.XDG_CACHE_HOME || (home ? path.join(home, '.cache') : '');
  if (cache) {
    const dir = path.join(cache, 'kms-emulator');
    if (writable(dir)) return dir;
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return path.join(os.tmpdir(), `kms-emulator-cache-${uid}`);
}

function writable(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

export interface TemplateOptions {
  /** undefined: memory:// */
  dataDir: string | undefined;
  migrations?: readonly Migration[];
  cacheDir?: string;
  /** Where the build's template is looked for (default: packagedTemplateDir()). */
  packagedDir?: string;
  logger?: Pick<Logger, 'info' | 'warn' | 'debug'>;
}

export interface OpenedPglite {
  db: PgliteDatabase;
  /** Migrations applied by this start (none when the template or the directory had them). */
  applied: string[];
  /**
   * 'template': a copy of the build's or the cache's template; 'built': initdb and the
   * migrations in place (no template could be used); 'existing': a data directory in use.
   */
  source: 'template' | 'built' | 'existing';
}

/** A migrated PGlite database, copied from a template when that is possible. */
export async function openPgliteFromTemplate(options: TemplateOptions): Promise<OpenedPglite> {
  const migrations = options.migrations ?? readMigrations();
  const { dataDir, logger } = options;

  if (dataDir !== undefined && fs.existsSync(path.join(dataDir, CREATING_MARKER))) {
    logger?.warn({ dataDir }, 'an earlier first start stopped before the database was complete; creating it again');
  } else if (dataDir !== undefined && fs.existsSync(path.join(dataDir, 'pgdata', 'PG_VERSION'))) {
    return { db: await migrated(await createPgliteDatabase(dataDir), migrations), applied: [], source: 'existing' };
  }

  const template = await findTemplate(migrations, options);
  if (template !== undefined) {
    const db = await createPgliteDatabase(dataDir, { template: template.pgdata }).catch((err: unknown) => {
      logger?.warn(
        { err, template: template.pgdata },
        'the database template could not be opened; building the database',
      );
      return undefined;
    });
    if (db !== undefined) {
      // Exactly the migrations, so migrate() would have nothing to do.
      if (await matchesMigrations(db, migrations)) {
        db.markCreated();
        return { db, applied: [], source: 'template' };
      }
      logger?.warn(
        { template: template.pgdata },
        'the database template does not match the migrations; building the database',
      );
      await db.close();
    }
    if (template.inCache) fs.rmSync(path.dirname(template.pgdata), { recursive: true, force: true });
  }

  const db = await createPgliteDatabase(dataDir); // a marker left by the attempt above: started afresh
  try {
    const applied = await migrate(db, [...migrations]);
    db.markCreated();
    return { db, applied, source: 'built' };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

/** The build's template, else the cache's, else one built in the cache now (undefined if it cannot be). */
async function findTemplate(
  migrations: readonly Migration[],
  options: TemplateOptions,
): Promise<{ pgdata: string; inCache: boolean } | undefined> {
  const name = templateName(migrations);
  const packaged = path.join(options.packagedDir ?? packagedTemplateDir(), name, 'pgdata');
  if (fs.existsSync(path.join(packaged, 'PG_VERSION'))) return { pgdata: packaged, inCache: false };
  const cacheDir = options.cacheDir ?? defaultTemplateCacheDir();
  const cached = path.join(cacheDir, name, 'pgdata');
  if (fs.existsSync(path.join(cached, 'PG_VERSION'))) return { pgdata: cached, inCache: true };
  if (!writable(cacheDir)) {
    options.logger?.warn({ cacheDir }, 'the template cache cannot be written: the database is built in place (slow)');
    return undefined;
  }
  try {
    await buildTemplate(cacheDir, migrations, { logger: options.logger });
    return { pgdata: cached, inCache: true };
  } catch (err) {
    options.logger?.warn({ err, cacheDir }, 'could not build the database template: the database is built in place');
    return undefined;
  }
}

/**
 * Builds the template for these migrations in `parentDir` (initdb, the migrations, a clean
 * stop) under a temporary name and renames it into place, so a reader never sees half of
 * one; when another process got there first, its template is kept. `shared`: readable by
 * every user (the build's template, read by the image's unprivileged user).
 */
export async function buildTemplate(
  parentDir: string,
  migrations: readonly Migration[],
  options: { shared?: boolean; logger?: TemplateOptions['logger'] } = {},
): Promise<string> {
  const name = templateName(migrations);
  const final = path.join(parentDir, name);
  fs.mkdirSync(parentDir, { recursive: true, mode: 0o700 });
  pruneTemplates(parentDir, name);
  const work = fs.mkdtempSync(path.join(parentDir, `.${name}-building-`));
  try {
    const db = await createPgliteDatabase(work);
    try {
      await migrate(db, [...migrations]);
      await dropTemplateDatabases(db);
      db.markCreated();
    } finally {
      await db.close();
    }
    if (options.shared) shareTree(work);
    try {
      fs.renameSync(work, final);
    } catch (err) {
      if (!fs.existsSync(path.join(final, 'pgdata', 'PG_VERSION'))) throw err;
    }
    options.logger?.debug({ template: final }, 'database template saved for the next starts');
    return final;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * initdb's template0 and template1: a third of a template's files and 14 of its 39 MB, which
 * every new database would copy (~150 ms of a start here). The service uses the `postgres`
 * database only and creates none, which is all these two are for.
 */
async function dropTemplateDatabases(db: PgliteDatabase): Promise<void> {
  for (const name of ['template0', 'template1']) {
    await db.exec(`ALTER DATABASE ${name} IS_TEMPLATE false`);
    await db.exec(`DROP DATABASE ${name}`);
  }
}

/**
 * Drops what an older version left (gzipped snapshots), builds that stopped more than an
 * hour ago, and all but the newest KEEP_OTHER_TEMPLATES templates of other migrations.
 */
function pruneTemplates(parentDir: string, keep: string): void {
  const others: Array<{ p: string; mtime: number }> = [];
  for (const entry of fs.readdirSync(parentDir)) {
    const p = path.join(parentDir, entry);
    try {
      const { mtimeMs } = fs.statSync(p);
      if (/^pglite-\w+\.tar\.gz$/.test(entry)) fs.rmSync(p, { force: true });
      else if (entry.startsWith('.pglite-') && Date.now() - mtimeMs > 3_600_000)
        fs.rmSync(p, { recursive: true, force: true });
      else if (entry.startsWith('pglite-') && entry !== keep) others.push({ p, mtime: mtimeMs });
    } catch {
      // removed meanwhile by another start
    }
  }
  others.sort((a, b) => b.mtime - a.mtime);
  for (const { p } of others.slice(KEEP_OTHER_TEMPLATES)) fs.rmSync(p, { recursive: true, force: true });
}

/** Directories 0755, files 0644 (the data directory a copy becomes is tightened again). */
function shareTree(dir: string): void {
  fs.chmodSync(dir, 0o755);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) shareTree(p);
    else fs.chmodSync(p, 0o644);
  }
}

async function migrated(db: PgliteDatabase, migrations: readonly Migration[]): Promise<PgliteDatabase> {
  try {
    // The usual restart: one read instead of migrate()'s transaction, lock and DDL (PGlite
    // has one connection: nobody else can be migrating it).
    if (await matchesMigrations(db, migrations)) return db;
    await migrate(db, [...migrations]); // applies what is pending; refuses a changed migration
    return db;
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

/** Exactly the migrations, by name and checksum: nothing missing, nothing more, nothing changed. */
async function matchesMigrations(db: PgliteDatabase, migrations: readonly Migration[]): Promise<boolean> {
  try {
    const { rows } = await db.query<{ version: string; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations ORDER BY version',
    );
    const want = [...migrations].sort((a, b) => a.version.localeCompare(b.version));
    return (
      rows.length === want.length &&
      rows.every((r, i) => r.version === want[i]?.version && r.checksum === want[i]?.checksum)
    );
  } catch {
    return false;
  }
}
