// What the orchestrator (bench/run.ts) sends the load generator (bench/load.ts) and what
// comes back. Plain data: it crosses a process boundary.

/** A value that changes with the request number n. */
export type VarSpec =
  /** prefix + n: unique names. */
  | { type: 'sequence'; prefix: string }
  /** values[n]: each name of a list once (DeleteAlias). */
  | { type: 'list'; values: string[] }
  /** values[n % length]. */
  | { type: 'cycle'; values: string[] }
  /** values[floor(n / every) % length]: a key that changes each time a list of names is swept. */
  | { type: 'alternate'; values: string[]; every: number }
  /** prefix + a random number below count, zero-padded to pad digits. */
  | { type: 'random'; prefix: string; count: number; pad: number };

export type RequestTemplate =
  /** An RPC request, every parameter in the query, signed with signature V1. */
  | { kind: 'rpc-v1'; accessKeyId: string; secret: string; params: Record<string, string> }
  /** Any other HTTP request; `{{var}}` in path and body is replaced, `{{var:url}}` URL-encoded. */
  | { kind: 'http'; method: string; path: string; headers: Record<string, string>; body?: string };

export interface Scenario {
  name: string;
  host: string;
  port: number;
  connections: number;
  /** Seconds of load; with `amount`, an upper bound. */
  durationSec: number;
  /** Requests in all, when the scenario consumes a finite list. */
  amount?: number;
  /** Open a new connection for every request (moto_server closes each one). */
  reconnectEachRequest?: boolean;
  request: RequestTemplate;
  vars?: Record<string, VarSpec>;
  /** Report the values of this variable for the requests answered 2xx (names created). */
  collect?: string;
}

export interface LoadResult {
  name: string;
  seconds: number;
  /** 2xx responses per second. */
  requestsPerSec: number;
  responses: number;
  ok: number;
  non2xx: number;
  socketErrors: number;
  timeouts: number;
  /** non-2xx responses plus socket errors and timeouts. */
  errors: number;
  /** Milliseconds, over 2xx responses. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  statuses: Record<string, number>;
  /** A few non-2xx answers, for the report. */
  samples: string[];
  created?: string[];
}
