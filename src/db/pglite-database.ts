import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { type Database, type Queryable, type QueryResult, type StatementText, toStatement } from './database.js';
import { tightenDataDir, tightenUmask } from './private-dir.js';

// The embedded database. PGlite has one connection: a BEGIN sent through query() would
// swallow other requests' statements, so transactions go through PGlite's own
// transaction(), which queues every other query until it ends.

interface PgliteLike {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  exec(sql: string): Promise<unknown>;
}

function wrap(db: PgliteLike): Queryable {
  return {
    async query<R>(sql: StatementText, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const { text, values } = toStatement(sql, params);
      const res = await db.query<R>(text, values as unknown[]);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    },
    async exec(sql: string): Promise<void> {
      await db.exec(sql);
    },
  };
}

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

/** Data directories this process has locked (the lock file names a pid, which a container reuses). */
const heldDataDirs = new Set<string>();

/**
 * Beside `pgdata` while this process creates a new database there (initdb or a snapshot,
 * then the migrations). A start that finds it knows an earlier first start stopped
 * halfway (SIGKILL, a crash) and creates the database again; a stop during the first start
 * may leave at once (see `leaveDataDirEarly`).
 */
export const CREATING_MARKER = 'pgdata.creating';

/**
 * What a stop during start-up may do with this data directory. True: the process may
 * exit now, because it has not locked the directory, or has locked it only to create a
 * new database there, which is removed here with the marker and the lock (the directory is
 * as it was before the start). False: it has an existing database open or opening, which
 * must be closed cleanly (an unclean stop can leave PGlite unable to reopen it).
 */
export function leaveDataDirEarly(dataDir: string): boolean {
  const dir = path.resolve(dataDir);
  if (!heldDataDirs.has(dir)) return true;
  if (!fs.existsSync(path.join(dir, CREATING_MARKER))) return false;
  fs.rmSync(path.join(dir, 'pgdata'), { recursive: true, force: true });
  fs.rmSync(path.join(dir, CREATING_MARKER), { force: true });
  fs.rmSync(path.join(dir, 'kms-emulator.lock'), { force: true });
  heldDataDirs.delete(dir);
  return true;
}

/**
 * Two processes must never open one PGlite directory (it corrupts the data). The lock
 * file names its owner as `pid@hostname`. A lock of this host whose process is gone is
 * stale and taken over; a lock of another host (in Docker: another container, where the
 * service is pid 1 too) is never taken over, since its process cannot be seen from here.
 */
export function lockDataDir(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lockPath = path.join(dir, 'kms-emulator.lock');
  const me = `${process.pid}@${os.hostname()}`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      fs.writeFileSync(lockPath, me, { flag: 'wx', mode: 0o600 });
      heldDataDirs.add(path.resolve(dir));
      return () => {
        heldDataDirs.delete(path.resolve(dir));
        try {
          if (fs.readFileSync(lockPath, 'utf8') === me) fs.unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = fs.readFileSync(lockPath, 'utf8').trim();
      const [pidText = '', host = os.hostname()] = owner.split('@');
      const pid = Number.parseInt(pidText, 10);
      if (host !== os.hostname()) {
        throw new DataDirInUseError(
          `The data directory ${dir} is locked by process ${pidText} on host ${host}. ` +
            `If that host (or container) is gone for good, delete ${lockPath}; else point KMS_DATA_DIR elsewhere.`,
        );
      }
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new DataDirInUseError(
          `The data directory ${dir} is in use by another process (pid ${pid}). ` +
            'Stop it, or point KMS_DATA_DIR at another directory.',
        );
      }
      fs.rmSync(lockPath, { force: true }); // stale: its owner is gone
    }
  }
  throw new DataDirInUseError(`Could not lock the data directory ${dir}.`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The embedded database, which can also write its data directory out as a snapshot. */
export interface PgliteDatabase extends Database {
  /** A gzipped tar of the data directory (see pglite-snapshot.ts). */
  dumpDataDir(): Promise<Blob>;
  /** The new database is complete (created and migrated): drops the CREATING_MARKER. */
  markCreated(): void;
}

/** dataDir undefined means in-memory. loadDataDir starts a new database from a snapshot. */
export async function createPgliteDatabase(
  dataDir: string | undefined,
  options: { loadDataDir?: Blob } = {},
): Promise<PgliteDatabase> {
  if (dataDir) tightenUmask(); // its files 0600 whatever the umask (private-dir.ts)
  const unlock = dataDir ? lockDataDir(dataDir) : () => {};
  const marker = dataDir ? path.join(dataDir, CREATING_MARKER) : undefined;
  let db: PGlite;
  try {
    if (dataDir && marker) {
      // Under the lock: a half-created database is removed; a new one is marked until complete.
      const pgdata = path.join(dataDir, 'pgdata');
      if (fs.existsSync(marker)) fs.rmSync(pgdata, { recursive: true, force: true });
      else if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) fs.writeFileSync(marker, '', { mode: 0o600 });
    }
    // 16 MB of shared buffers instead of 128: ~100 MiB less RSS (docs/design.md, start-up).
    const pgOptions = { ...options, startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'] };
    db = dataDir ? new PGlite(path.join(dataDir, 'pgdata'), pgOptions) : new PGlite(pgOptions);
    await db.waitReady;
    if (dataDir) tightenDataDir(dataDir);
  } catch (err) {
    unlock();
    throw err;
  }
  const base = wrap(db as unknown as PgliteLike);
  let closed = false;
  return {
    kind: 'pglite',
    query: base.query,
    queryRelaxed: base.query,
    exec: base.exec,
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      return db.transaction((tx) => fn(wrap(tx as unknown as PgliteLike)));
    },
    async ping() {
      await base.query('SELECT 1');
    },
    stats() {
      return { total: 1, idle: 1, waiting: 0 };
    },
    async dumpDataDir() {
      return db.dumpDataDir('gzip');
    },
    markCreated() {
      if (marker) fs.rmSync(marker, { force: true });
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await db.close();
      } finally {
        if (dataDir) tightenDataDir(dataDir);
        unlock();
      }
    },
  };
}
