// The load generator: a process of its own (forked by bench/run.ts), so the client never
// shares an event loop with the server it measures. It receives scenarios over IPC, drives
// each with autocannon and answers with its figures.
//
// A scenario is a request template plus variables that change per request (a unique alias
// name, the next name of a list, a key alternating between two). Every request is built
// afresh in autocannon's setupRequest, so each signed RPC request carries its own nonce and
// timestamp, as an SDK's would.

import { createRequire } from 'node:module';
import autocannon from 'autocannon';
import { signV1 } from '../src/http/auth/signature.js';
import type { LoadResult, Scenario, VarSpec } from './lib/scenario.js';

// moto_server (Werkzeug) closes the connection after every response. autocannon then writes
// the next request into the closing socket and waits until its timeout; its reconnectRate
// option reconnects properly but drops the response it reconnects after, uncounted
// (autocannon 9.0.0, lib/httpClient.js, kOnMessageComplete). This patch counts that
// response before the reconnect, exactly as the normal path does.
{
  const require = createRequire(import.meta.url);
  type Queue = { terminateRequest(): unknown; lastTerminated?: unknown };
  type Pending = {
    req: unknown;
    bytes: number;
    body: string;
    duration: number;
    headers: { statusCode: number; headers: string[] };
  };
  const QueueClass = require('autocannon/lib/pipelinedRequestsQueue.js') as { prototype: Queue };
  const ClientClass = require('autocannon/lib/httpClient.js') as { prototype: Record<string, unknown> };
  const terminate = QueueClass.prototype.terminateRequest;
  QueueClass.prototype.terminateRequest = function (this: Queue) {
    this.lastTerminated = terminate.call(this);
    return this.lastTerminated;
  };
  const reset = ClientClass.prototype._resetConnection as (this: unknown) => void;
  ClientClass.prototype._resetConnection = function (this: {
    destroyed: boolean;
    rate: number;
    pipelinedRequests: Queue;
    requestIterator: { recordBody(req: unknown, status: number, body: string, headers: string[]): void };
    emit(event: string, ...args: unknown[]): void;
  }) {
    const resp = this.pipelinedRequests.lastTerminated as Pending | undefined;
    this.pipelinedRequests.lastTerminated = undefined;
    if (resp && !this.destroyed) {
      this.requestIterator.recordBody(resp.req, resp.headers.statusCode, resp.body, resp.headers.headers);
      this.emit('response', resp.headers.statusCode, resp.bytes, resp.duration, this.rate);
    }
    reset.call(this);
  };
}

type Vars = Record<string, string>;

/** One variable's value for the n-th request of the scenario. */
function variableValue(spec: VarSpec, n: number): string {
  switch (spec.type) {
    case 'sequence':
      return `${spec.prefix}${n}`;
    case 'list':
      // Past the end of the list is a request that will fail, and be counted as an error.
      return spec.values[n] ?? `${spec.values[0] ?? ''}-exhausted-${n}`;
    case 'cycle':
      return spec.values[n % spec.values.length]!;
    case 'alternate':
      // Sweeps the list of names once per value, so every request is a real change.
      return spec.values[Math.floor(n / spec.every) % spec.values.length]!;
    case 'random':
      return `${spec.prefix}${String(Math.floor(Math.random() * spec.count)).padStart(spec.pad, '0')}`;
  }
}

const PLACEHOLDER = /\{\{(\w+)(:url)?\}\}/g;

function fill(template: string, vars: Vars): string {
  return template.replace(PLACEHOLDER, (_m, name: string, url?: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`no variable ${name}`);
    return url ? encodeURIComponent(v) : v;
  });
}

function buildRequest(s: Scenario, vars: Vars): autocannon.RequestParams {
  const host = `${s.host}:${s.port}`;
  const r = s.request;
  if (r.kind === 'rpc-v1') {
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.params)) params[k] = fill(v, vars);
    const signed = signV1({ accessKeyId: r.accessKeyId, secret: r.secret, params, method: 'GET', host });
    return { method: 'GET', path: signed.url, headers: { host } };
  }
  const headers: Record<string, string> = { host, ...r.headers };
  const req: autocannon.RequestParams = { method: r.method, path: fill(r.path, vars), headers };
  if (r.body !== undefined) req.body = fill(r.body, vars);
  return req;
}

/** Exact percentiles (nearest rank) of latencies in milliseconds. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!;
}

async function runScenario(s: Scenario): Promise<LoadResult> {
  let counter = 0;
  const created: string[] = [];
  const samples: string[] = [];
  // Own latency record: autocannon's histogram keeps whole milliseconds, too coarse here.
  let latencies = new Float64Array(1 << 16);
  let ok = 0;
  const statuses: Record<string, number> = {};

  const request: autocannon.Request = {
    setupRequest: (_req, context) => {
      const n = counter++;
      const vars: Vars = {};
      for (const [name, spec] of Object.entries(s.vars ?? {})) vars[name] = variableValue(spec, n);
      context.vars = vars;
      return buildRequest(s, vars);
    },
    onResponse: (status, body, context) => {
      if (status >= 200 && status < 300) {
        if (s.collect) created.push((context.vars as Vars)[s.collect]!);
      } else if (samples.length < 3) {
        samples.push(`${status} ${body.slice(0, 300)}`);
      }
    },
  };

  const started = process.hrtime.bigint();
  const instance = autocannon({
    url: `http://${s.host}:${s.port}`,
    connections: s.connections,
    pipelining: 1,
    timeout: 10,
    ...(s.amount !== undefined ? { amount: s.amount } : { duration: s.durationSec }),
    ...(s.reconnectEachRequest ? { reconnectRate: 1 } : {}),
    requests: [request],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status < 200 || status >= 300) return;
    if (ok === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[ok++] = ms;
  });
  // With a request count, the duration is still a bound.
  const cap = s.amount !== undefined ? setTimeout(() => instance.stop(), s.durationSec * 1000) : undefined;
  const result = await instance;
  if (cap) clearTimeout(cap);
  const elapsedSec = Number(process.hrtime.bigint() - started) / 1e9;

  const sorted = latencies.slice(0, ok).sort();
  const responses = Object.values(statuses).reduce((a, b) => a + b, 0);
  const seconds = result.duration > 0 ? result.duration : elapsedSec;
  return {
    name: s.name,
    seconds,
    requestsPerSec: ok / seconds,
    responses,
    ok,
    non2xx: responses - ok,
    socketErrors: result.errors,
    timeouts: result.timeouts,
    errors: responses - ok + result.errors,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    statuses,
    samples,
    created: s.collect ? created : undefined,
  };
}

type Message = { type: 'run'; id: number; scenario: Scenario } | { type: 'exit' };

process.on('message', (msg: Message) => {
  if (msg.type === 'exit') process.exit(0);
  runScenario(msg.scenario).then(
    (result) => process.send!({ type: 'result', id: msg.id, result }),
    (err: unknown) => process.send!({ type: 'error', id: msg.id, message: (err as Error)?.stack ?? String(err) }),
  );
});
// The orchestrator going away takes this process with it.
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
