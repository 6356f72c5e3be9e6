import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { type Migration, migrate, readMigrations } from './migrate.js';
import { CREATING_MARKER, createPgliteDatabase, type PgliteDatabase } from './pglite-database.js';

// A new PGlite database is initdb plus the migrations: 4–9 s and ~750 MiB here. Started
// from a snapshot of that data directory (gzipped tar, ~4.5 MB) it takes a third of the
// time and half the memory. The snapshot's name is a hash of PGlite's version and every
// migration's name and checksum, so a changed migration is a different file and is built
// anew; a loaded snapshot is also checked row by row against the migrations before it is
// used, so a snapshot whose schema differs from them is never served (docs/design.md).
//
// Where it lives: the user's cache ($XDG_CACHE_HOME or ~/.cache, kms-emulator/), else a
// per-user folder in the OS temp folder. Not the install folder (it may be read-only) and
// not KMS_DATA_DIR (memory:// has none, and each data directory would build its own).
// The first start with a new set of migrations builds the database the slow way and
// saves the snapshot from it; a cache that cannot be written costs speed, never
// correctness.

const require = createRequire(import.meta.url);

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

/** The snapshot's identity: PGlite's version and each migration's name and checksum. */
export function snapshotKey(migrations: readonly Migration[]): string {
  const hash = createHash('sha256').update(`pglite ${pgliteVersion()}\n`);
  for (const m of migrations) hash.update(`${m.version} ${m.checksum}\n`);
  return hash.digest('hex').slice(0, 24);
}

/** The user's cache if it can be written (a container's home may not be), else a per-user temp folder. */
export function defaultSnapshotDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = os.homedir();
  const cache = env.XDG_CACHE_HOME || (home ? path.join(home, '.cache') : '');
  if (cache) {
    const dir = path.join(cache, 'kms-emulator');
    try {
      fs.mkdirSync(dir, { recursive: true });
      fs.accessSync(dir, fs.constants.W_OK);
      return dir;
    } catch {
      // fall through
    }
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return path.join(os.tmpdir(), `kms-emulator-cache-${uid}`);
}

export interface SnapshotOptions {
  /** undefined: in memory. */
  dataDir: string | undefined;
  migrations?: readonly Migration[];
  cacheDir?: string;
  logger?: Pick<Logger, 'info' | 'warn' | 'debug'>;
}

export interface OpenedPglite {
  db: PgliteDatabase;
  /** Migrations applied by this start (none when the snapshot or the directory had them). */
  applied: string[];
  /** 'snapshot': started from it; 'built': built the slow way (and saved one); 'existing': a data directory in use. */
  source: 'snapshot' | 'built' | 'existing';
}

/** A migrated PGlite database, started from the snapshot when that is possible. */
export async function openPgliteFromSnapshot(options: SnapshotOptions): Promise<OpenedPglite> {
  const migrations = options.migrations ?? readMigrations();
  const cacheDir = options.cacheDir ?? defaultSnapshotDir();
  const file = path.join(cacheDir, `pglite-${snapshotKey(migrations)}.tar.gz`);
  const { dataDir, logger } = options;
  const pgdata = dataDir === undefined ? undefined : path.join(dataDir, 'pgdata');

  if (dataDir !== undefined && fs.existsSync(path.join(dataDir, CREATING_MARKER))) {
    logger?.warn({ dataDir }, 'an earlier first start stopped before the database was complete; creating it again');
  } else if (pgdata !== undefined && fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
    return { db: await migrated(await createPgliteDatabase(dataDir), migrations), applied: [], source: 'existing' };
  }

  const snapshot = await readSnapshot(file);
  if (snapshot !== undefined) {
    const db = await createPgliteDatabase(dataDir, { loadDataDir: snapshot }).catch((err: unknown) => {
      logger?.warn({ err, snapshot: file }, 'the database snapshot could not be loaded; building the database');
      return undefined;
    });
    if (db !== undefined) {
      if (await matchesMigrations(db, migrations)) {
        const ready = await migrated(db, migrations);
        ready.markCreated();
        return { db: ready, applied: [], source: 'snapshot' };
      }
      logger?.warn({ snapshot: file }, 'the database snapshot does not match the migrations; building the database');
      await db.close();
    }
    fs.rmSync(file, { force: true });
    if (pgdata !== undefined) fs.rmSync(pgdata, { recursive: true, force: true });
  }

  const db = await createPgliteDatabase(dataDir);
  try {
    const applied = await migrate(db, [...migrations]);
    await saveSnapshot(db, file, logger);
    db.markCreated();
    return { db, applied, source: 'built' };
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

async function migrated(db: PgliteDatabase, migrations: readonly Migration[]): Promise<PgliteDatabase> {
  try {
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

async function readSnapshot(file: string): Promise<Blob | undefined> {
  try {
    return new Blob([await fs.promises.readFile(file)]);
  } catch {
    return undefined;
  }
}

/** Written to a temporary name and renamed, so a reader never sees half a file. */
async function saveSnapshot(db: PgliteDatabase, file: string, logger: SnapshotOptions['logger']): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const blob = await db.dumpDataDir();
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(tmp, Buffer.from(await blob.arrayBuffer()));
    fs.renameSync(tmp, file);
    logger?.debug({ snapshot: file }, 'database snapshot saved for the next start');
  } catch (err) {
    try {
      fs.rmSync(tmp, { force: true });
    } catch {
      // nothing was written
    }
    logger?.warn({ err, snapshot: file }, 'could not save the database snapshot (the next start will be slow too)');
  }
}
