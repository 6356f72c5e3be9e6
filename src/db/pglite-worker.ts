import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import type { DataDirFiles, PgliteEngine } from './pglite-engine.js';
import type { WorkerReply, WorkerRequest, WorkerStart } from './pglite-protocol.js';
import { serializeError } from './pglite-protocol.js';
import type { PgliteWorkerData } from './pglite-worker-start.js';

// The thread that owns the embedded database (pglite-database.ts starts it). PGlite runs
// every statement synchronously inside WebAssembly; here it does so beside the service's
// event loop instead of on it. Requests are answered by id; a failed one carries the
// database error's fields (SQLSTATE and the rest), which the service's side turns back
// into an error for the one error mapper.

const port = parentPort;
if (!port) throw new Error('pglite-worker.ts runs as a worker thread');

// The server's V8 flags (server.ts), now that this thread has booted and before PGlite's
// WebAssembly compiles: pglite-worker-start.ts says why here.
const { v8Flags } = (workerData ?? {}) as PgliteWorkerData;
if (v8Flags) setFlagsFromString(v8Flags);

// First, before anything else loads: PGlite's WebAssembly (9 MB) compiles and its file
// bundle is read while the template is read or copied and the engine's modules load,
// instead of after (docs/design.md, "Start-up: the PGlite template"). The files are read
// synchronously: the process's I/O threads are busy loading the service's modules, and a
// read queued behind those finished 100–200 ms later. Should the files not be where
// PGlite's package keeps them, PGlite loads them itself.
const pgliteDir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
function readNow(file: string): ArrayBuffer | undefined {
  try {
    const b = fs.readFileSync(path.join(pgliteDir, file));
    const whole = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;
    return (whole ? b.buffer : b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)) as ArrayBuffer;
  } catch {
    return undefined;
  }
}
const wasmBytes = readNow('pglite.wasm');
const wasmModule = wasmBytes ? WebAssembly.compile(wasmBytes).catch(() => undefined) : Promise.resolve(undefined);
const fsBundle = readNow('pglite.data');

// PGlite's own modules load while the service decides which directory to open.
const engineModule = import('./pglite-engine.js');
engineModule.catch(() => {}); // awaited below, where a failure is reported

/** A copy of a data directory, its files copied concurrently (faster than fs.cpSync, which copies one at a time). */
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

/**
 * A data directory's folders and files, read for the in-memory file system (~10 MB for a
 * template). Synchronously: this thread has nothing else to do, and the process's I/O
 * threads are busy with the service's module loading meanwhile (async reads queued behind
 * those took 200 ms, these 30–40).
 */
function readTree(root: string, tree: DataDirFiles = { dirs: [], files: [] }, rel = ''): DataDirFiles {
  for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const name = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) {
      tree.dirs.push(name);
      readTree(root, tree, name);
    } else {
      tree.files.push([name, fs.readFileSync(path.join(root, name))]);
    }
  }
  return tree;
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

/** memory:// reads the template; a new data directory gets a copy of it. */
async function prepare({ pgdata, template }: WorkerStart): Promise<DataDirFiles | undefined> {
  if (template === undefined) return undefined;
  if (pgdata === undefined) return readTree(template);
  await copyTree(template, pgdata);
  return undefined;
}

try {
  const [{ PgliteEngine }, files] = await Promise.all([engineModule, prepare(start)]);
  const engine = await PgliteEngine.open({
    pgdata: start.pgdata,
    files,
    wasmModule: await wasmModule,
    fsBundle,
  });
  port.on('message', (requests: WorkerRequest[]) => {
    for (const request of requests) void answer(engine, request);
  });
  reply({ id: 0, result: 'ready' });
} catch (err) {
  reply({ id: 0, error: serializeError(err) });
}
