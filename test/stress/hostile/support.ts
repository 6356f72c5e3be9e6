import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect } from 'vitest';
import { catalog, type ErrorCode } from '../../../src/errors.js';
import { type TestApp, uniqueAccount, uniqueRegion, useTestApp } from '../../helpers/test-app.js';
import {
  basicAuthorization,
  envelopeProblem,
  type Pairs,
  parseRaw,
  send,
  sendRaw,
  signedRpc,
  type WireRequest,
  type WireResponse,
} from '../support/wire.js';
import { MARKER } from './values.js';

// Hostile input on every route of both faces, by face and kind:
//   generated.test.ts  fast-check requests on every route (routes.ts) of both faces
//   rpc.test.ts, rest.test.ts  hand-picked requests on each face
//   http.test.ts       malformed HTTP, absolute-form targets, no Host header
//   storage.test.ts    values the database cannot store
//   limits.test.ts     body, parameter and URL limits, the request timeout
// values.ts holds the hostile values; this file what every one of them shares.
//
// A hostile request must fail: the answer must be the contract's error envelope with a
// 4xx status (the status the catalog gives its code on that face), within a per-request
// timeout, never echoing the input; and the account's rows (keys, versions, aliases,
// counters) must not change.
//
// useHostileApp() gives a file its own app (its own database, account and region),
// listening on a real port, with fixtures: an enabled key with an alias and a ciphertext,
// a second key (disabled), and a key in the account's default region.

export const BODY_LIMIT = 1024;
/** Object.prototype before any hostile input: each file checks it is unchanged at its end. */
export const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

export interface Fixtures {
  keyId: string;
  keyArn: string;
  alias: string;
  aliasArn: string;
  blob: string;
}

export async function listen(app: TestApp) {
  await app.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.app.server.address() as AddressInfo;
  return { host: '127.0.0.1', port: addr.port };
}

/** Why an answer breaks the contract for a request that must fail, or undefined. */
export function refusalProblem(req: WireRequest, res: WireResponse): string | undefined {
  if (res.status < 400 || res.status > 499) return `expected a 4xx, got ${res.status}`;
  if (req.method === 'HEAD') return undefined;
  const problem = envelopeProblem(res);
  if (problem) return `not the error envelope (${problem})`;
  const code = res.json.Code as string;
  if (!Object.hasOwn(catalog, code)) return `unknown code ${code}`;
  const path = req.path.split('?', 1)[0];
  const status = path === '/' ? catalog[code as ErrorCode].rpcStatus : catalog[code as ErrorCode].restStatus;
  if (res.status !== status) return `status ${res.status} is not the catalog's ${status} for ${code}`;
  if (res.text.includes(MARKER)) return 'the answer echoes the input';
  return undefined;
}

const describeRequest = (req: WireRequest) =>
  `${req.method} ${req.path.slice(0, 240)}${req.path.length > 240 ? '...' : ''}` +
  ` headers: ${JSON.stringify(req.headers ?? {}).slice(0, 200)}` +
  (req.body === undefined ? '' : ` body(${req.headers?.['content-type'] ?? '-'}): ${String(req.body).slice(0, 160)}`);

/**
 * Contract violations, one example (the shortest) per kind, so one run reports every
 * distinct problem instead of stopping at the first.
 */
export class Problems {
  readonly byKind = new Map<
    string,
    { why: string; example: string; answer: string; count: number; where: Set<string> }
  >();
  add(kind: string, where: string, why: string, req: WireRequest, answer: string) {
    const example = describeRequest(req);
    const seen = this.byKind.get(kind);
    if (!seen) this.byKind.set(kind, { why, example, answer: answer.slice(0, 300), count: 1, where: new Set([where]) });
    else {
      seen.count++;
      seen.where.add(where);
      if (example.length < seen.example.length) Object.assign(seen, { example, answer: answer.slice(0, 300) });
    }
  }
  report(): string {
    return [...this.byKind.entries()]
      .map(
        ([kind, p]) =>
          `- ${kind} (${p.count}x, on ${[...p.where].slice(0, 8).join(', ')}): ${p.why}\n` +
          `    shortest request: ${p.example}\n    answer: ${p.answer}`,
      )
      .join('\n');
  }
}

/** A hand-picked request that must fail: an HTTP request, or raw bytes on a socket. */
export type Case = { name: string; req: WireRequest } | { name: string; raw: string | Buffer };

export const rpcCase = (name: string, pairs: Pairs, opts: Parameters<typeof signedRpc>[1] = {}): Case => ({
  name,
  req: signedRpc(pairs, opts),
});
export const basicHeader = () => `Authorization: ${basicAuthorization()}\r\n`;

/**
 * Registers, for the calling file, its own app and fixtures (beforeAll) and the check that
 * Object.prototype was not polluted (afterAll: each file runs in a process of its own).
 * Returns the file's harness; `base` and `fx` are filled in before the tests run.
 */
export function useHostileApp(label: string) {
  const account = uniqueAccount();
  const region = uniqueRegion();
  const t = useTestApp({ KMS_ACCOUNT_ID: account, KMS_BODY_LIMIT_BYTES: String(BODY_LIMIT), LOG_LEVEL: 'warn' });
  const base = { host: '127.0.0.1', port: 0 };
  const fx: Fixtures = { keyId: '', keyArn: '', alias: 'alias/hostile-a', aliasArn: '', blob: '' };
  let tried = 0;
  /** The account's rows as the last request left them (each request is compared with its own "before"). */
  let baseline = '';

  /** A REST request in the file's region with the dev credentials (JSON when a body is given). */
  const rest = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): WireRequest => ({
    method,
    path: `${path}${path.includes('?') ? '&' : '?'}RegionId=${region}`,
    headers: {
      authorization: basicAuthorization(),
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

  /** The first pairs of an RPC request for `name` in the file's region. */
  const action = (name: string): Pairs => [
    ['Action', name],
    ['Version', '2016-01-20'],
    ['RegionId', region],
  ];

  /** A REST POST of the body text as given, under the given content type. */
  const jsonPost = (name: string, path: string, body: string, contentType = 'application/json'): Case => ({
    name,
    req: { ...rest('POST', path), headers: { authorization: basicAuthorization(), 'content-type': contentType }, body },
  });

  beforeAll(async () => {
    Object.assign(base, await listen(t));
    const key = await send(base, rest('POST', '/v1/keys', {}));
    expect(key.status).toBe(201);
    fx.keyId = key.json.KeyMetadata.KeyId;
    fx.keyArn = key.json.KeyMetadata.Arn;
    fx.aliasArn = `acs:kms:${region}:${account}:${fx.alias}`;
    expect((await send(base, rest('POST', '/v1/aliases', { AliasName: fx.alias, KeyId: fx.keyId }))).status).toBe(201);
    const enc = await send(base, rest('POST', `/v1/keys/${fx.keyId}/encrypt`, { Plaintext: 'aGVsbG8=' }));
    expect(enc.status).toBe(200);
    fx.blob = enc.json.CiphertextBlob;
    // A second key, disabled, and a key in the default region of the account.
    const second = await send(base, rest('POST', '/v1/keys', { Description: 'second' }));
    expect((await send(base, rest('POST', `/v1/keys/${second.json.KeyMetadata.KeyId}/disable`))).status).toBe(200);
    const dflt = await send(base, { ...rest('POST', '/v1/keys', {}), path: '/v1/keys' });
    expect(dflt.status).toBe(201);
  });

  afterAll(() => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_NAMES);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    console.log(`hostile (${label}): ${tried} inputs tried`);
  });

  /** Every row the account owns, in a stable order: nothing a failing request may change. */
  async function snapshot(): Promise<string> {
    const q = async (sql: string) => (await t.db.query(sql, [account])).rows;
    return JSON.stringify({
      keys: await q(
        `SELECT region, id, state, key_spec, key_usage, origin, description, delete_date, primary_key_version
           FROM keys WHERE account_id = $1 ORDER BY region, id`,
      ),
      versions: await q('SELECT region, key_id, id FROM key_versions WHERE account_id = $1 ORDER BY region, id'),
      aliases: await q(
        'SELECT region, alias_name, key_id, updated_at FROM aliases WHERE account_id = $1 ORDER BY region, alias_name',
      ),
      scopes: await q('SELECT region, key_count, alias_count FROM scopes WHERE account_id = $1 ORDER BY region'),
      stripes: await q(
        'SELECT region, stripe, key_count, alias_count FROM scope_counter_stripes WHERE account_id = $1 ORDER BY region, stripe',
      ),
    });
  }

  /**
   * Sends a request that must fail and checks the answer and the database. A contract
   * violation (a success included) is recorded; a hang, a lost connection or a changed
   * database throws at once.
   */
  async function expectRefusedUnchanged(req: WireRequest, problems: Problems, where: string, kind?: string) {
    tried++;
    const before = baseline || (await snapshot());
    let res: WireResponse;
    try {
      res = await send(base, req, 5000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n  request: ${describeRequest(req)}`);
    }
    const why = refusalProblem(req, res);
    const code = (res.json?.Code ?? res.json?.code ?? String(res.status)) as string;
    const after = await snapshot();
    baseline = after;
    if (after !== before) {
      throw new Error(
        `the database changed after a request that must fail (${res.status} ${code}): ${describeRequest(req)}\n` +
          `  answer: ${res.text.slice(0, 300)}\n  changed: ${snapshotDiff(before, after)}`,
      );
    }
    if (why) problems.add(kind ?? `${res.status} ${code}`, where, why, req, res.text);
    return { res, code };
  }

  /** Sends every case, records each contract violation, fails listing them all. */
  async function refuseAll(cases: Case[]) {
    baseline = await snapshot();
    const problems = new Problems();
    for (const c of cases) {
      if ('req' in c) {
        await expectRefusedUnchanged(c.req, problems, c.name, c.name);
        continue;
      }
      tried++;
      const raw = await sendRaw(base, c.raw, { timeoutMs: 5000 });
      const line = String(c.raw).split('\r\n', 1)[0]!.slice(0, 200);
      if (raw.timedOut) throw new Error(`${c.name}: no complete answer within 5 s to ${line}`);
      const res = parseRaw(raw);
      const req: WireRequest = { method: line.split(' ')[0] ?? '', path: line.split(' ')[1] ?? '/' };
      const why = refusalProblem(req, res);
      if (why) problems.add(c.name, c.name, why, { ...req, path: line }, `${res.status} ${res.text}`);
      const after = await snapshot();
      if (after !== baseline) throw new Error(`the database changed after ${c.name}: ${snapshotDiff(baseline, after)}`);
    }
    expect(problems.byKind.size, `contract violations:\n${problems.report()}`).toBe(0);
  }

  return {
    t,
    account,
    region,
    base,
    fx,
    rest,
    action,
    jsonPost,
    expectRefusedUnchanged,
    refuseAll,
    /** Takes the account's rows as the baseline the next request is compared with. */
    async takeBaseline() {
      baseline = await snapshot();
    },
    /** Counts inputs sent outside expectRefusedUnchanged and refuseAll, for the report at the end. */
    count(n = 1) {
      tried += n;
    },
    get tried() {
      return tried;
    },
  };
}

export type HostileApp = ReturnType<typeof useHostileApp>;

/** The rows that differ between two snapshots, for the failure message. */
function snapshotDiff(before: string, after: string): string {
  const a = JSON.parse(before) as Record<string, unknown[]>;
  const b = JSON.parse(after) as Record<string, unknown[]>;
  const out: string[] = [];
  for (const table of Object.keys(a)) {
    const was = new Set(a[table]!.map((r) => JSON.stringify(r)));
    const now = new Set(b[table]!.map((r) => JSON.stringify(r)));
    for (const r of was) if (!now.has(r)) out.push(`${table} - ${r}`);
    for (const r of now) if (!was.has(r)) out.push(`${table} + ${r}`);
  }
  return out.join('; ').slice(0, 1500);
}
