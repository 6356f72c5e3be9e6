import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import type { PgliteEngine } from './pglite-engine.js';
import type { WorkerReply, WorkerRequest, WorkerStart } from './pglite-protocol.js';
import { serializeError } from './pglite-protocol.js';

// The thread that owns the embedded database (pglite-database.ts starts it). PGlite runs
// every statement synchronously inside WebAssembly; here it does so beside the service's
// event loop instead of on it. Requests are answered by id; a failed one carries the
// database error's fields (SQLSTATE and the rest), which the service's side turns back
// into an error for the one error mapper.

const port = parentPort;
if (!port) throw new Error('pglite-worker.ts runs as a worker thread');

// First, before anything else loads: PGlite's WebAssembly (9 MB) compiles and its file
// bundle is read while the template is copied and the engine's modules load, instead of
// after (docs/design.md, "Start-up: the PGlite template"). Should the files not be where
// PGlite's package keeps them, PGlite loads them itself.
const pgliteDir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
const wasmModule = fs.promises
  .readFile(path.join(pgliteDir, 'pglite.wasm'))
  .then((bytes) => WebAssembly.compile(bytes))
  .catch(() => undefined);
const fsBundle = fs.promises
  .readFile(path.join(pgliteDir, 'pglite.data'))
  .then((bytes) => new Blob([bytes]))
  .catch(() => undefined);

/** A copy of a data directory, its files copied concurrently (~100 ms for a template's 40 MB; fs.cpSync took 200–300). */
async function copyTree(from: string, to: string): Promise<void> {
  await fs.promises.mkdir(to, { recursive: true, mode: 0o700 });
  const entries = await fs.promises.readdir(from, { withFileTypes: true });
  await Promise.all(
    entries.map((e) =>
      e.isDirectory()
        ? copyTree(path.join(from, e.name), path.join(to, e.name))
        : fs.promises.copyFile(path.join(from, e.name), path.join(to, e.name)),
    ),
  );
}

/** Statement texts by the id the service gave them (pglite-protocol.ts). */
const texts = new Map<number, string>();

// Answers go back together: those of one batch of requests in one message.
let outbox: WorkerReply[] = [];

function reply(message: WorkerReply) {
  if (outbox.push(message) === 1) setImmediate(flush);
}

function flush() {
  const batch = outbox;
  outbox = [];
  port!.postMessage(batch);
}

async function answer(engine: PgliteEngine, request: WorkerRequest): Promise<void> {
  const { id } = request;
  try {
    switch (request.op) {
      case 'query': {
        if (request.text !== undefined) texts.set(request.textId, request.text);
        const text = texts.get(request.textId);
        if (text === undefined) throw new Error(`unknown statement text ${request.textId}`);
        reply({ id, result: await engine.query(text, request.values, request.tx, request.generic === true) });
        return;
      }
      case 'exec':
        await engine.exec(request.text, request.tx);
        break;
      case 'begin':
        reply({ id, result: await engine.begin() });
        return;
      case 'commit':
        await engine.commit(request.tx);
        break;
      case 'rollback':
        await engine.rollback(request.tx);
        break;
      case 'close':
        await engine.close();
        reply({ id, result: null });
        setImmediate(() => port!.close()); // after the answer has gone
        return;
    }
    reply({ id, result: null });
  } catch (err) {
    reply({ id, error: serializeError(err) });
  }
}

// The first message says which data directory to open (pglite-database.ts).
const start = await new Promise<WorkerStart>((resolve) => port.once('message', resolve));

try {
  const [{ PgliteEngine }] = await Promise.all([
    import('./pglite-engine.js'),
    start.template ? copyTree(start.template, start.pgdata) : undefined,
  ]);
  const engine = await PgliteEngine.open({
    pgdata: start.pgdata,
    wasmModule: await wasmModule,
    fsBundle: await fsBundle,
  });
  port.on('message', (requests: WorkerRequest[]) => {
    for (const request of requests) void answer(engine, request);
  });
  reply({ id: 0, result: 'ready' });
} catch (err) {
  reply({ id: 0, error: serializeError(err) });
}
