import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { type Database, type Queryable, type QueryResult, type StatementText, toStatement } from './database.js';
import { deserializeError, type WorkerReply, type WorkerRequest, type WorkerStart } from './pglite-protocol.js';
import { takePgliteWorker } from './pglite-worker-start.js';
import { tightenDataDir, tightenUmask } from './private-dir.js';

// The embedded database, in a worker thread of its own (pglite-worker.ts runs
// pglite-engine.ts): PGlite runs each statement synchronously in WebAssembly, which on
// the event loop left HTTP, signatures and logging to take turns with the database on one
// core. PGlite has one connection: a transaction holds it from BEGIN to COMMIT or ROLLBACK
// and every other statement waits, as PGlite's own transaction() makes them wait
// (docs/design.md, "PGlite in a worker").

type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * One worker and the requests it has not answered yet. Requests made in one turn of the
 * event loop go to the worker in one message, and it answers them in one (a message each
 * way per statement was ~6% of each thread's time under load).
 */
class WorkerClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private outbox: WorkerRequest[] = [];
  private readonly textIds = new Map<string, number>();
  private failure: Error | undefined;

  constructor(private readonly worker: Worker) {
    worker.on('message', (replies: WorkerReply[]) => {
      for (const reply of replies) this.settle(reply);
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`the embedded database's worker stopped (exit code ${code})`)));
    worker.unref(); // kept alive only while a request waits (see wait)
  }

  private settle(reply: WorkerReply): void {
    const waiter = this.pending.get(reply.id);
    if (!waiter) return;
    this.pending.delete(reply.id);
    if (this.pending.size === 0) this.worker.unref();
    if (reply.error) waiter.reject(deserializeError(reply.error));
    else waiter.resolve(reply.result);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.pending.values()) waiter.reject(this.failure);
    this.pending.clear();
  }

  /** Says which data directory to open: the first message a worker gets (pglite-worker.ts). */
  open(start: WorkerStart): void {
    this.worker.postMessage(start);
  }

  /** Waits for the worker's start-up report (request 0). */
  ready(): Promise<unknown> {
    return this.wait(0);
  }

  call<T>(request: Request): Promise<T> {
    const id = this.nextId++;
    const answer = this.wait<T>(id);
    if (this.outbox.push({ ...request, id } as WorkerRequest) === 1) setImmediate(() => this.flush());
    return answer;
  }

  /** A statement: its text the first time, its id after (pglite-protocol.ts). */
  query<T>(text: string, values: readonly unknown[], tx: number | undefined, generic: boolean): Promise<T> {
    let textId = this.textIds.get(text);
    const first = textId === undefined;
    if (textId === undefined) {
      textId = this.textIds.size + 1;
      this.textIds.set(text, textId);
    }
    return this.call<T>({
      op: 'query',
      textId,
      values,
      ...(first ? { text } : {}),
      ...(generic ? { generic: true as const } : {}),
      ...(tx === undefined ? {} : { tx }),
    });
  }

  private flush(): void {
    const batch = this.outbox;
    this.outbox = [];
    if (!this.failure) this.worker.postMessage(batch);
  }

  private wait<T>(id: number): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.pending.size === 0) this.worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  async terminate(): Promise<void> {
    await this.worker.terminate();
  }
}

/** A failed request's error gets the stack of the code that sent it (not the message handler's). */
async function withCallerStack<T>(answer: Promise<T>): Promise<T> {
  try {
    return await answer;
  } catch (err) {
    if (err instanceof Error) Error.captureStackTrace(err, withCallerStack);
    throw err;
  }
}

function queryable(client: WorkerClient, tx?: number): Queryable {
  const inTx = tx === undefined ? {} : { tx };
  return {
    query<R>(sql: StatementText, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const { text, values, plan } = toStatement(sql, params);
      return withCallerStack(client.query<QueryResult<R>>(text, values, tx, plan === 'generic'));
    },
    async exec(sql: string): Promise<void> {
      await withCallerStack(client.call({ op: 'exec', text: sql, ...inTx }));
    },
  };
}

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

/** Data directories this process has locked (the lock file names a pid, which a container reuses). */
const heldDataDirs = new Set<string>();
/** How to stop the worker that creates a new database in a data directory (leaveDataDirEarly). */
const workersCreating = new Map<string, () => void>();

/**
 * Beside `pgdata` while this process creates a new database there (initdb or a template copy,
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
  // The worker may be copying the template into pgdata: it is stopped first, and a removal
  // that meets a file written meanwhile is tried again (retries of a few hundred ms).
  workersCreating.get(dir)?.();
  fs.rmSync(path.join(dir, 'pgdata'), { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
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

/** The embedded database. */
export interface PgliteDatabase extends Database {
  /** The new database is complete (created and migrated): drops the CREATING_MARKER, sets `created`. */
  markCreated(): void;
  created: boolean;
}

/**
 * dataDir undefined means memory://: PGlite's in-memory file system, nothing on disk.
 * `template`: a stopped, migrated data directory's pgdata (pglite-template.ts), copied in
 * when the data directory has no database yet (memory://: read into memory).
 */
export async function createPgliteDatabase(
  dataDir: string | undefined,
  options: { template?: string } = {},
): Promise<PgliteDatabase> {
  tightenUmask(); // its files 0600 whatever the umask (private-dir.ts)
  let unlock: () => void = () => {};
  const marker = dataDir === undefined ? undefined : path.join(dataDir, CREATING_MARKER);
  let client: WorkerClient;
  try {
    let start: WorkerStart = options.template ? { template: options.template } : {};
    let creating: string | undefined;
    if (dataDir !== undefined && marker !== undefined) {
      const pgdata = path.join(dataDir, 'pgdata');
      unlock = lockDataDir(dataDir);
      // Under the lock: a half-created database is removed; a new one is marked until complete.
      if (fs.existsSync(marker)) fs.rmSync(pgdata, { recursive: true, force: true });
      else if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) fs.writeFileSync(marker, '', { mode: 0o600 });
      creating = fs.existsSync(marker) ? path.resolve(dataDir) : undefined;
      const template = creating ? options.template : undefined;
      if (template) fs.rmSync(pgdata, { recursive: true, force: true });
      start = { pgdata, ...(template ? { template } : {}) };
    }
    client = new WorkerClient(takePgliteWorker());
    const started = client;
    if (creating) workersCreating.set(creating, () => void started.terminate());
    client.open(start);
    try {
      await client.ready();
    } catch (err) {
      await client.terminate();
      throw err;
    } finally {
      if (creating) workersCreating.delete(creating);
    }
    if (dataDir !== undefined) tightenDataDir(dataDir);
  } catch (err) {
    unlock();
    throw err;
  }
  const base = queryable(client);
  let closed = false;
  const db: PgliteDatabase = {
    kind: 'pglite',
    created: false,
    query: base.query,
    queryRelaxed: base.query,
    exec: base.exec,
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const tx = await client.call<number>({ op: 'begin' });
      let result: T;
      try {
        result = await fn(queryable(client, tx));
      } catch (err) {
        await client.call({ op: 'rollback', tx });
        throw err;
      }
      await client.call({ op: 'commit', tx }); // ends the transaction whatever it answers
      return result;
    },
    async ping() {
      await base.query('SELECT 1');
    },
    stats() {
      return { total: 1, idle: 1, waiting: 0 };
    },
    markCreated() {
      if (marker !== undefined) fs.rmSync(marker, { force: true });
      db.created = true;
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await client.call({ op: 'close' });
        await client.terminate();
      } finally {
        if (dataDir !== undefined) tightenDataDir(dataDir);
        unlock();
      }
    },
  };
  return db;
}
