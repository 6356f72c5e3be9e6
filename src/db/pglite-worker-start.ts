import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

// Starting the embedded database's worker (pglite-worker.ts). A new worker compiles PGlite's
// WebAssembly and loads its modules at once, then waits for the message that says which data
// directory to open (pglite-database.ts sends it). server.ts starts one as its second
// statement, before the service's own modules load, so that work overlaps theirs
// (docs/design.md, "Start-up: the PGlite template"). This module imports nothing heavy.

/**
 * The worker beside this module: dist's .js as it is; from the sources (npm start, the
 * tests) the .ts through tsx, registered inside the worker, since Node 20 passes neither
 * `--import tsx` nor loader hooks on to worker threads.
 */
function startWorker(data: PgliteWorkerData = {}): Worker {
  const self = fileURLToPath(import.meta.url);
  const ext = path.extname(self);
  const url = new URL(`./pglite-worker${ext}`, import.meta.url);
  if (ext !== '.ts') return new Worker(url, { workerData: data });
  // tsx's `./esm/api` export for import (its require variant cannot register from here).
  const tsxDir = path.dirname(createRequire(import.meta.url).resolve('tsx/package.json'));
  const tsx = pathToFileURL(path.join(tsxDir, 'dist/esm/api/index.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData: data });
}

/** What a worker is told as it starts (its `workerData`). */
export interface PgliteWorkerData {
  /**
   * V8 flags the worker sets before PGlite's WebAssembly compiles (server.ts's; the harness,
   * in its caller's process, sets none). Set there rather than before the worker starts:
   * a worker started after V8's flags changed took 30 ms longer to boot here (52 → 84 ms,
   * idle machine; V8 checks its code caches, Node's built-in ones among them, against its
   * flags).
   */
  v8Flags?: string;
}

let early: { worker: Worker; failed: boolean } | undefined;
/** What the server's workers are given (the early one's, for one that replaces it). */
let serverData: PgliteWorkerData = {};

/**
 * Starts a worker now when the environment does not name a PostgreSQL server (`.env` is
 * read later: a DATABASE_URL there costs this worker's start-up, which is then stopped).
 */
export function startPgliteWorkerEarly(env: NodeJS.ProcessEnv = process.env, data: PgliteWorkerData = {}): void {
  serverData = data;
  const url = env.DATABASE_URL;
  if (early || (url !== undefined && url !== '' && url !== 'memory://')) return;
  const started = { worker: startWorker(data), failed: false };
  started.worker.on('error', () => {
    started.failed = true;
  });
  started.worker.on('exit', () => {
    started.failed = true;
  });
  started.worker.unref();
  early = started;
}

/** The early worker if it is still well (once), else a new one. */
export function takePgliteWorker(): Worker {
  const taken = early;
  early = undefined;
  if (taken && !taken.failed) return taken.worker;
  if (taken) void taken.worker.terminate();
  return startWorker(serverData);
}

/** The database is PostgreSQL after all: the early worker stops. */
export function dropEarlyPgliteWorker(): void {
  const taken = early;
  early = undefined;
  if (taken) void taken.worker.terminate();
}
