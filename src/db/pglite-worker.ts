import { parentPort, workerData } from 'node:worker_threads';
import { type EngineOptions, PgliteEngine } from './pglite-engine.js';
import type { WorkerReply, WorkerRequest, WorkerStart } from './pglite-protocol.js';
import { serializeError } from './pglite-protocol.js';

// The thread that owns the embedded database (pglite-database.ts starts it). PGlite runs
// every statement synchronously inside WebAssembly; here it does so beside the service's
// event loop instead of on it. Requests are answered by id; a failed one carries the
// database error's fields (SQLSTATE and the rest), which the service's side turns back
// into an error for the one error mapper.

const port = parentPort;
if (!port) throw new Error('pglite-worker.ts runs as a worker thread');

const start = workerData as WorkerStart;
const options: EngineOptions = {
  ...(start.pgdata ? { pgdata: start.pgdata } : {}),
  ...(start.loadDataDir ? { loadDataDir: new Blob([start.loadDataDir]) } : {}),
};

/** Statement texts by the id the service gave them (pglite-protocol.ts). */
const texts = new Map<number, string>();

// Answers go back together: those of one batch of requests in one message.
let outbox: WorkerReply[] = [];
let transfers: ArrayBuffer[] = [];

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []) {
  if (outbox.push(message) === 1) setImmediate(flush);
  transfers.push(...transfer);
}

function flush() {
  const batch = outbox;
  const transfer = transfers;
  outbox = [];
  transfers = [];
  port!.postMessage(batch, transfer);
}

async function answer(engine: PgliteEngine, request: WorkerRequest): Promise<void> {
  const { id } = request;
  try {
    switch (request.op) {
      case 'query': {
        if (request.text !== undefined) texts.set(request.textId, request.text);
        const text = texts.get(request.textId);
        if (text === undefined) throw new Error(`unknown statement text ${request.textId}`);
        reply({ id, result: await engine.query(text, request.values, request.tx) });
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
      case 'dump': {
        const tar = await (await engine.dump()).arrayBuffer();
        reply({ id, result: tar }, [tar]);
        return;
      }
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

try {
  const engine = await PgliteEngine.open(options);
  port.on('message', (requests: WorkerRequest[]) => {
    for (const request of requests) void answer(engine, request);
  });
  reply({ id: 0, result: 'ready' });
} catch (err) {
  reply({ id: 0, error: serializeError(err) });
}
