import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { catalog, type ErrorCode } from '../../src/errors.js';
import { RPC_ACTIONS } from '../../src/operations/registry.js';
import { makeApp, type TestApp, uniqueAccount, uniqueRegion, useTestApp } from '../helpers/test-app.js';
import {
  basicAuthorization,
  encodePairs,
  encodeSegment,
  envelopeProblem,
  type Pairs,
  parseRaw,
  send,
  sendRaw,
  signedRpc,
  type WireRequest,
  type WireResponse,
} from './support/wire.js';

// Hostile input on every route of both faces: random and hand-picked parameters (wrong
// types, huge values, empty strings, unicode and control characters, NUL bytes, SQL and
// path metacharacters, duplicates, missing parameters, invalid JSON, wrong content
// types, oversized and deep bodies, prototype-pollution keys). Every request here must
// fail; the answer must be the contract's error envelope with a 4xx status (the status
// the catalog gives its code on that face), within a per-request timeout, never echoing
// the input; and the account's rows (keys, versions, aliases, counters) must not change.

const ACCOUNT = uniqueAccount();
const REGION = uniqueRegion();
const BODY_LIMIT = 1024;
const NUM_RUNS = Number(process.env.STRESS_HOSTILE_RUNS ?? 1000);
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();
/** Put into hostile values; an error message must never echo it. */
const MARKER = 'Zq7Xmark';

const t = useTestApp({
  KMS_ACCOUNT_ID: ACCOUNT,
  KMS_BODY_LIMIT_BYTES: String(BODY_LIMIT),
  LOG_LEVEL: 'warn',
});

let base: { host: string; port: number };
const fx = { keyId: '', keyArn: '', alias: 'alias/hostile-a', aliasArn: '', blob: '' };
let tried = 0;

async function listen(app: TestApp) {
  await app.app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.app.server.address() as AddressInfo;
  return { host: '127.0.0.1', port: addr.port };
}

const rest = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): WireRequest => ({
  method,
  path: `${path}${path.includes('?') ? '&' : '?'}RegionId=${REGION}`,
  headers: {
    authorization: basicAuthorization(),
    ...(body !== undefined && { 'content-type': 'application/json' }),
    ...headers,
  },
  body: body === undefined ? undefined : JSON.stringify(body),
});

beforeAll(async () => {
  base = await listen(t);
  const key = await send(base, rest('POST', '/v1/keys', {}));
  expect(key.status).toBe(201);
  fx.keyId = key.json.KeyMetadata.KeyId;
  fx.keyArn = key.json.KeyMetadata.Arn;
  fx.aliasArn = `acs:kms:${REGION}:${ACCOUNT}:${fx.alias}`;
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

/** Every row the account owns, in a stable order: nothing a failing request may change. */
async function snapshot(): Promise<string> {
  const q = async (sql: string) => (await t.db.query(sql, [ACCOUNT])).rows;
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

/** Why an answer breaks the contract for a request that must fail, or undefined. */
function refusalProblem(req: WireRequest, res: WireResponse): string | undefined {
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
class Problems {
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

/** The account's rows as the last request left them (each request is compared with its own "before"). */
let baseline = '';

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

// ---------------------------------------------------------------------------------------
// Hostile values

const NASTY = [
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0001\u001f\u007f',
  '\r\n',
  '\t',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-1',
  '-0',
  '+5',
  '1e3',
  '0x10',
  '1.5',
  ' 5',
  '5 ',
  '٣', // an Arabic-Indic digit
  '９', // a fullwidth digit
  '99999999999',
  '2147483648',
  '18446744073709551616',
  "' OR '1'='1",
  "'; DROP TABLE aliases; --",
  '"; DELETE FROM keys; --',
  '\\',
  '/',
  '//',
  '../',
  '../../etc/passwd',
  '..%2F..%2F',
  '%00',
  '%',
  '%zz',
  '%E0%A4%A',
  'alias/',
  'alias/../x',
  'alias/./x',
  'alias/a\u0000',
  'alias/acs-x',
  'ALIAS/a',
  'acs:kms:::',
  'acs:kms:cn-x:1:key/',
  'acs:kms:*:*:key/*',
  'key/*',
  '*',
  '?',
  '%s%s%s',
  `$${'{'}7*7}`, // a template-injection probe
  '{{7*7}}',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '{"__proto__":{"polluted":"yes"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '[]',
  '{}',
  '[{}]',
  '{"a":{"b":"c"}}',
  '\u202eevil',
  '\ufeff',
  '\u200b',
  '\ud800',
  '\udfff',
  '\ud83d\ude00',
  'e\u0301',
  'Ω≈ç√∫',
  '𝕂𝕄𝕊',
];

const huge = fc.constantFrom('a'.repeat(300), 'x'.repeat(3000), '9'.repeat(64), `alias/${'z'.repeat(5000)}`);
const marked = fc.string({ maxLength: 10 }).map((s) => `${s}${MARKER}${s}`);
const chars = fc.constantFrom(
  ...'\u0000\u0001\u001f\u007f\n\r\t %/\\\'"`;:<>&?#=+.*_-~aZ09\u00e9\u200b\ufeff\ud800\udfff'.split(''),
);

/** A hostile string: random, control characters, metacharacters, huge, or a hand-picked one. */
const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: chars, maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: chars, maxLength: 20 }).map((s) => `alias/${s}`) },
  { weight: 1, arbitrary: huge },
  { weight: 2, arbitrary: marked },
);

const deep = (depth: number, leaf: unknown): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
};

/** A hostile JSON value for a REST body field. */
const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }), // NaN and Infinity serialize as null
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(0, -1, 1.5, 2 ** 53, -(2 ** 31), 1e308),
  fc.array(hostileString, { maxLength: 3 }),
  fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
  fc.nat(60).map((d) => deep(d, MARKER)),
);

const ALIAS_SYNTAX = /^alias\/[A-Za-z0-9_/-]{1,255}$/;
const REGION_SYNTAX = /^[a-z]{2,}(-[a-z0-9]+)+$/;
const DIGITS = /^[0-9]{1,10}$/;
const STRICT_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const intIn = (min: number, max: number) => (v: unknown) =>
  typeof v === 'number'
    ? Number.isInteger(v) && v >= min && v <= max
    : typeof v === 'string' && DIGITS.test(v) && Number(v) >= min && Number(v) <= max;
const isContextObject = (v: unknown): boolean => {
  if (typeof v === 'string') {
    try {
      return isContextObject(JSON.parse(v));
    } catch {
      return false;
    }
  }
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.entries(v).every(([k, x]) => k !== '' && typeof x === 'string')
  );
};

type Face = 'rpc' | 'rest';
type Where = 'path' | 'query' | 'body';

interface Param {
  name: string;
  required: boolean;
  /** REST only: where the parameter travels. */
  where?: Where;
  valid: fc.Arbitrary<unknown>;
  /** Values that make the request fail whatever the other parameters are. */
  invalid: (face: Face, where: Where | 'rpc') => fc.Arbitrary<unknown>;
}

/** RPC values are strings; a REST body takes any JSON; the REST query and path take strings. */
const anyFor = (where: Where | 'rpc') => (where === 'body' ? hostileJson : hostileString);
const failing = (
  where: Where | 'rpc',
  isValid: (v: unknown) => boolean,
  extra: unknown[] = [],
  more: fc.Arbitrary<unknown>[] = [],
) =>
  fc.oneof(
    anyFor(where).filter((v) => v !== '' && v !== null && v !== undefined && !isValid(v)),
    ...(extra.length ? [fc.constantFrom(...extra)] : []),
    ...more.map((arb) => arb.filter((v) => !isValid(v))),
  );

/** Alias names and alias ARNs made of hostile characters (NUL, quotes, slashes...). */
const hostileAliasRefs = (): fc.Arbitrary<unknown>[] => [
  fc.string({ unit: chars, minLength: 1, maxLength: 20 }).map((s) => `alias/${s}`),
  fc.string({ unit: chars, minLength: 1, maxLength: 20 }).map((s) => `acs:kms:${REGION}:${ACCOUNT}:alias/${s}`),
];

function keyOnly(name = 'KeyId', where: Where = 'body'): Param {
  return {
    name,
    required: true,
    where,
    valid: fc.constantFrom(fx.keyId, fx.keyArn),
    // Never the fixture's key; an alias here is Unsupported.Alias.
    invalid: (_f, w) =>
      failing(w, (v) => v === fx.keyId || v === fx.keyArn, [fx.alias, fx.aliasArn, fx.keyId.toUpperCase()]),
  };
}

function anyKey(where: Where = 'body'): Param {
  return {
    name: 'KeyId',
    required: true,
    where,
    valid: fc.constantFrom(fx.keyId, fx.keyArn, fx.alias, fx.aliasArn),
    invalid: (_f, w) =>
      failing(
        w,
        (v) => [fx.keyId, fx.keyArn, fx.alias, fx.aliasArn].includes(v as string),
        ['alias/none', 'alias/acs'],
        hostileAliasRefs(),
      ),
  };
}

const pageParam = (name: string, min: number, max: number): Param => ({
  name,
  required: false,
  where: 'query',
  valid: fc.integer({ min: Math.max(min, 1), max: Math.min(max, 5) }).map(String),
  invalid: (_f, w) => failing(w, intIn(min, max), ['-1', '1e1', String(max + 1), '0x1', '01.0']),
});

const enumParam = (name: string, allowed: string[], required = false, where: Where = 'body'): Param => ({
  name,
  required,
  where,
  valid: fc.constantFrom(...allowed),
  invalid: (_f, w) => failing(w, (v) => allowed.includes(v as string)),
});

/** A parameter the service does not implement: only absent (or `false`) passes. */
const unsupported = (name: string, off?: string): Param => ({
  name,
  required: false,
  where: 'body',
  valid: off ? fc.constant(off) : fc.constant(undefined),
  invalid: (_f, w) => failing(w, (v) => v === off || v === false, ['true', '1', 'on']),
});

const contextParam: Param = {
  name: 'EncryptionContext',
  required: false,
  where: 'body',
  valid: fc.constantFrom('{}', '{"purpose":"test"}'),
  invalid: (_f, w) => failing(w, isContextObject, ['[]', 'null', '{"a":1}', '{"":"x"}', '{"a":{"b":"c"}}', '{']),
};

const descriptionParam = (required: boolean): Param => ({
  name: 'Description',
  required,
  where: 'body',
  valid: fc.constantFrom('a description', 'ümlaut ✓'),
  invalid: (_f, w) =>
    w === 'body'
      ? fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }), fc.constant({ a: 'b' }))
      : fc.constantFrom('d'.repeat(8193), `${MARKER}${'d'.repeat(8200)}`),
});

interface Route {
  face: Face;
  /** RPC: the Action; REST: "METHOD /path/:Param". */
  name: string;
  params: Param[];
}

function routes(): Route[] {
  const createKey = [
    enumParam('KeySpec', ['Aliyun_AES_256']),
    enumParam('KeyUsage', ['ENCRYPT/DECRYPT']),
    enumParam('Origin', ['Aliyun_KMS', 'EXTERNAL']),
    enumParam('ProtectionLevel', ['SOFTWARE']),
    descriptionParam(false),
    unsupported('EnableAutomaticRotation', 'false'),
    unsupported('RotationInterval'),
    unsupported('Tags'),
    unsupported('Policy'),
    unsupported('DKMSInstanceId'),
    unsupported('DryRun', 'false'),
  ];
  const days: Param = {
    name: 'PendingWindowInDays',
    required: true,
    where: 'body',
    valid: fc.constantFrom('7', '30', 366),
    invalid: (_f, w) => failing(w, intIn(7, 366), ['6', '367', '0', '-7', '7.0', '1e1']),
  };
  const plaintext: Param = {
    name: 'Plaintext',
    required: true,
    where: 'body',
    valid: fc.constantFrom('aGVsbG8=', 'AA=='),
    invalid: (_f, w) =>
      failing(w, (v) => typeof v === 'string' && STRICT_B64.test(v) && v.length <= 8192, ['QR==', 'aGVsbG8', '====']),
  };
  const blob: Param = {
    name: 'CiphertextBlob',
    required: true,
    where: 'body',
    valid: fc.constant(fx.blob),
    invalid: (_f, w) => failing(w, (v) => v === fx.blob, ['AAAA', Buffer.alloc(64).toString('base64')]),
  };
  const dataKey = [
    anyKey(),
    enumParam('KeySpec', ['AES_256', 'AES_128']),
    {
      name: 'NumberOfBytes',
      required: false,
      where: 'body' as Where,
      valid: fc.constantFrom('16', 32),
      invalid: (_f: Face, w: Where | 'rpc') => failing(w, intIn(1, 1024), ['0', '1025', '-1', '16.5']),
    },
    contextParam,
    unsupported('DryRun', 'false'),
  ];
  const aliasNew: Param = {
    name: 'AliasName',
    required: true,
    where: 'body',
    valid: fc.constantFrom('alias/hostile-new', fx.alias),
    invalid: (_f, w) =>
      failing(w, (v) => typeof v === 'string' && ALIAS_SYNTAX.test(v) && !v.startsWith('alias/acs'), [
        'alias/acs-x',
        `alias/${'n'.repeat(256)}`,
      ]),
  };
  const aliasName = (where: Where): Param => ({
    name: 'AliasName',
    required: true,
    where,
    valid: fc.constant(fx.alias),
    invalid: (_f, w) => failing(w, (v) => v === fx.alias, ['alias/zz-none', 'alias/acs-x']),
  });
  const keysPage = [
    pageParam('PageNumber', 1, 2_147_483_647),
    pageParam('PageSize', 1, 100),
    { ...unsupported('Filters'), where: 'query' as Where },
  ];
  const aliasPage = [pageParam('PageNumber', 1, 2_147_483_647), pageParam('PageSize', 0, 100)];

  const rpc: Record<string, Param[]> = {
    CreateKey: createKey,
    DescribeKey: [anyKey()],
    ListKeys: keysPage,
    UpdateKeyDescription: [keyOnly(), descriptionParam(true)],
    EnableKey: [keyOnly()],
    DisableKey: [keyOnly()],
    ScheduleKeyDeletion: [keyOnly(), days],
    CancelKeyDeletion: [keyOnly()],
    CreateAlias: [aliasNew, keyOnly()],
    UpdateAlias: [aliasName('body'), keyOnly()],
    DeleteAlias: [aliasName('body')],
    ListAliases: aliasPage,
    ListAliasesByKeyId: [keyOnly(), ...aliasPage],
    Encrypt: [anyKey(), plaintext, contextParam, unsupported('DryRun', 'false')],
    Decrypt: [blob, contextParam, unsupported('DryRun', 'false')],
    GenerateDataKey: dataKey,
    GenerateDataKeyWithoutPlaintext: dataKey,
  };
  const list: Route[] = [];
  // Every action the RPC face knows; one that lands without a table entry here still gets
  // the face-level poisons (so the fuzzing never silently skips it).
  for (const action of [...RPC_ACTIONS.keys()]) list.push({ face: 'rpc', name: action, params: rpc[action] ?? [] });
  const body = (ps: Param[]) => ps.map((p) => ({ ...p, where: 'body' as Where }));
  list.push(
    { face: 'rest', name: 'POST /v1/keys', params: body(createKey) },
    { face: 'rest', name: 'GET /v1/keys', params: keysPage },
    { face: 'rest', name: 'GET /v1/keys/:KeyId', params: [anyKey('path')] },
    { face: 'rest', name: 'PATCH /v1/keys/:KeyId', params: [keyOnly('KeyId', 'path'), descriptionParam(true)] },
    { face: 'rest', name: 'POST /v1/keys/:KeyId/enable', params: [keyOnly('KeyId', 'path')] },
    { face: 'rest', name: 'POST /v1/keys/:KeyId/disable', params: [keyOnly('KeyId', 'path')] },
    { face: 'rest', name: 'POST /v1/keys/:KeyId/cancel-deletion', params: [keyOnly('KeyId', 'path')] },
    { face: 'rest', name: 'POST /v1/keys/:KeyId/schedule-deletion', params: [keyOnly('KeyId', 'path'), days] },
    { face: 'rest', name: 'GET /v1/keys/:KeyId/aliases', params: [keyOnly('KeyId', 'path'), ...aliasPage] },
    {
      face: 'rest',
      name: 'POST /v1/keys/:KeyId/encrypt',
      params: [anyKey('path'), plaintext, contextParam, unsupported('DryRun', 'false')],
    },
    {
      face: 'rest',
      name: 'POST /v1/keys/:KeyId/generate-data-key',
      params: [
        anyKey('path'),
        ...dataKey.slice(1),
        { ...enumParam('plaintext', ['true', 'false']), where: 'query' as Where },
      ],
    },
    { face: 'rest', name: 'POST /v1/decrypt', params: [blob, contextParam, unsupported('DryRun', 'false')] },
    { face: 'rest', name: 'POST /v1/aliases', params: [aliasNew, keyOnly()] },
    { face: 'rest', name: 'GET /v1/aliases', params: aliasPage },
    { face: 'rest', name: 'GET /v1/aliases/:AliasName', params: [aliasName('path')] },
    { face: 'rest', name: 'PUT /v1/aliases/:AliasName', params: [aliasName('path'), keyOnly()] },
    { face: 'rest', name: 'DELETE /v1/aliases/:AliasName', params: [aliasName('path')] },
  );
  return list;
}

// ---------------------------------------------------------------------------------------
// Poisons: each makes the request fail whatever the other parameters hold.

type Poison =
  | { kind: 'invalid'; param: string; value: unknown }
  | { kind: 'missing'; param: string }
  | { kind: 'action'; value: string }
  | { kind: 'version'; value: string | undefined }
  | { kind: 'duplicate'; index: number; value: string }
  | { kind: 'tamper'; index: number }
  | { kind: 'clock'; skewMs: number }
  | { kind: 'unknownKey' }
  | { kind: 'unsigned' }
  | { kind: 'region'; value: string | string[] }
  | { kind: 'noAuth' }
  | { kind: 'wrongSecret' }
  | { kind: 'badAuthHeader'; value: string }
  | { kind: 'bodyNotObject'; body: string }
  | { kind: 'badJson'; body: string }
  | { kind: 'oversize' }
  | { kind: 'contentType'; value: string };

const headerSafe = fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, ''));

function poisonArb(route: Route): fc.Arbitrary<Poison> {
  const method = route.name.split(' ')[0]!;
  const carriesBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method);
  const options: fc.Arbitrary<Poison>[] = [];
  for (const p of route.params) {
    const where = route.face === 'rpc' ? 'rpc' : p.where!;
    options.push(
      p.invalid(route.face, where).map((value) => ({ kind: 'invalid' as const, param: p.name, value })),
      p.invalid(route.face, where).map((value) => ({ kind: 'invalid' as const, param: p.name, value })),
    );
    if (p.required && (route.face === 'rpc' || p.where !== 'path')) {
      options.push(fc.constant({ kind: 'missing' as const, param: p.name }));
    }
  }
  const region = fc.oneof(
    hostileString.filter((s) => s !== '' && !REGION_SYNTAX.test(s)),
    fc.constant<string[]>([REGION, REGION]),
  );
  if (route.face === 'rpc') {
    options.push(
      hostileString.filter((s) => !RPC_ACTIONS.has(s)).map((value) => ({ kind: 'action' as const, value })),
      fc
        .option(hostileString.filter((s) => s !== '2016-01-20'))
        .map((v) => ({ kind: 'version' as const, value: v ?? undefined })),
      fc.record({ kind: fc.constant('duplicate' as const), index: fc.nat(20), value: hostileString }),
      fc.record({ kind: fc.constant('tamper' as const), index: fc.nat(20) }),
      fc.constantFrom(-3_600_000, 3_600_000, -86_400_000 * 400).map((skewMs) => ({ kind: 'clock' as const, skewMs })),
      fc.constant({ kind: 'unknownKey' as const }),
      fc.constant({ kind: 'unsigned' as const }),
      region.filter((v) => typeof v === 'string').map((value) => ({ kind: 'region' as const, value })),
    );
  } else {
    options.push(
      region.map((value) => ({ kind: 'region' as const, value })),
      fc.constant({ kind: 'noAuth' as const }),
      fc.constant({ kind: 'wrongSecret' as const }),
      headerSafe.map((value) => ({ kind: 'badAuthHeader' as const, value })),
    );
    if (carriesBody) {
      options.push(
        fc
          .oneof(
            // (A JSON null body counts as no body on routes that declare one: not a poison.)
            fc.constantFrom('[]', '[1,2]', '"text"', '42', 'true', '[{"KeyId":"x"}]'),
            hostileJson.filter((v) => typeof v !== 'object' || Array.isArray(v)).map((v) => JSON.stringify(v)),
          )
          .map((body) => ({ kind: 'bodyNotObject' as const, body })),
        fc
          .constantFrom(
            '{',
            '{"a":}',
            "{'a':1}",
            '{"a":1}garbage',
            'NaN',
            '{"a":1,}',
            '\u0000',
            '{"__proto__":{"polluted":"yes"}}',
            '{"constructor":{"prototype":{"polluted":"yes"}}}',
            `{"a":"${MARKER}`,
            `${'['.repeat(500)}${']'.repeat(499)}`,
          )
          .map((body) => ({ kind: 'badJson' as const, body })),
        fc.constant({ kind: 'oversize' as const }),
        fc
          .constantFrom(
            'text/plain',
            'application/xml',
            'multipart/form-data; boundary=x',
            'application/octet-stream',
            'application/x-www-form-urlencoded',
            'application/jsonx',
            'json',
            '*/*',
          )
          .map((value) => ({ kind: 'contentType' as const, value })),
      );
    }
  }
  return fc.oneof(...options);
}

interface Generated {
  route: Route;
  values: Record<string, unknown>;
  extras: Array<[string, string]>;
  poison: Poison;
  placement: 'get' | 'postQuery' | 'postForm' | 'postSplit';
}

const JUNK_NAMES = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'keyid',
  'KEYID',
  'aliasname',
  'Key Id',
  'a[b]',
  'a.b',
  '',
  '\u0000',
  'X-Forwarded-For',
  'Format',
  'SignatureType',
];
const extraName = fc.oneof(
  fc.constantFrom(...JUNK_NAMES),
  fc.string({ unit: 'grapheme-ascii', maxLength: 12 }).map((s) => `X${s}`),
);

function generatedArb(route: Route): fc.Arbitrary<Generated> {
  const valueArbs: Record<string, fc.Arbitrary<unknown>> = {};
  for (const p of route.params) {
    const where = route.face === 'rpc' ? 'rpc' : p.where!;
    valueArbs[p.name] = fc.oneof(
      { weight: 3, arbitrary: p.valid },
      { weight: p.required ? 0 : 1, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: anyFor(where) },
    );
  }
  return fc.record({
    route: fc.constant(route),
    values: fc.record(valueArbs),
    extras: fc.array(fc.tuple(extraName, hostileString), { maxLength: 3 }),
    poison: poisonArb(route),
    placement: fc.constantFrom('get', 'postQuery', 'postForm', 'postSplit'),
  });
}

const str = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));

function buildRpc(g: Generated): WireRequest {
  const values = { ...g.values };
  const p = g.poison;
  if (p.kind === 'invalid') values[p.param] = p.value;
  if (p.kind === 'missing') delete values[p.param];
  const pairs: Pairs = [];
  if (p.kind === 'action') pairs.push(['Action', p.value]);
  else pairs.push(['Action', g.route.name]);
  if (p.kind === 'version') {
    if (p.value !== undefined) pairs.push(['Version', p.value]);
  } else pairs.push(['Version', '2016-01-20']);
  pairs.push(['RegionId', p.kind === 'region' ? str(p.value) : REGION]);
  for (const [name, v] of Object.entries(values)) {
    if (v === undefined) continue;
    // An array on the RPC face is the same name given several times.
    if (Array.isArray(v) && v.length > 0) for (const x of v) pairs.push([name, str(x)]);
    else pairs.push([name, str(v)]);
  }
  for (const [name, v] of g.extras) pairs.push([name, v]);
  if (p.kind === 'duplicate') {
    const [name] = pairs[p.index % pairs.length]!;
    pairs.push([name, p.value]);
  }
  const method = g.placement === 'get' ? 'GET' : 'POST';
  const inForm =
    g.placement === 'postForm'
      ? () => true
      : g.placement === 'postSplit'
        ? (_n: string, i: number) => i % 2 === 0
        : undefined;
  if (p.kind === 'unsigned') {
    return { method, path: `/?${encodePairs(pairs)}` };
  }
  const req = signedRpc(pairs, {
    method,
    inForm,
    timestamp: p.kind === 'clock' ? new Date(Date.now() + p.skewMs) : undefined,
    credentials: p.kind === 'unknownKey' ? { accessKeyId: `NoSuch${MARKER}`, secret: 'x' } : undefined,
  });
  if (p.kind === 'tamper') {
    // Change one signed value after signing: the signature no longer matches.
    const target = req.body && p.index % 2 === 0 ? 'body' : 'path';
    if (target === 'body') req.body = `${req.body}&Tampered=1`;
    else req.path = `${req.path}&Tampered=1`;
  }
  return req;
}

function buildRest(g: Generated): WireRequest {
  const [method, template] = g.route.name.split(' ') as [string, string];
  const values = { ...g.values };
  const p = g.poison;
  if (p.kind === 'invalid') values[p.param] = p.value;
  if (p.kind === 'missing') delete values[p.param];
  const byName = new Map(g.route.params.map((x) => [x.name, x]));
  let path = template;
  const query: Pairs = [];
  const body: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(values)) {
    const where = byName.get(name)!.where!;
    if (where === 'path') path = path.replace(`:${name}`, encodeSegment(str(v ?? '')));
    else if (v === undefined) continue;
    else if (where === 'query') {
      if (Array.isArray(v)) for (const x of v) query.push([name, str(x)]);
      else query.push([name, str(v)]);
    } else body[name] = v;
  }
  for (const [name, v] of g.extras) query.push([name, v]);
  if (p.kind === 'region') {
    for (const r of Array.isArray(p.value) ? p.value : [p.value]) query.push(['RegionId', r]);
  } else query.push(['RegionId', REGION]);
  const headers: Record<string, string> = {};
  if (p.kind === 'wrongSecret')
    headers.authorization = basicAuthorization({ accessKeyId: 'LTAI5tKmsEmulatorDevKey', secret: `wrong${MARKER}` });
  else if (p.kind === 'badAuthHeader') headers.authorization = p.value;
  else if (p.kind !== 'noAuth') headers.authorization = basicAuthorization();
  const carriesBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method);
  let text: string | undefined;
  if (p.kind === 'bodyNotObject' || p.kind === 'badJson') text = p.body;
  else if (p.kind === 'oversize') text = JSON.stringify({ ...body, Padding: `${MARKER}${'p'.repeat(BODY_LIMIT)}` });
  else if (carriesBody && (Object.keys(body).length > 0 || p.kind === 'contentType')) text = JSON.stringify(body);
  if (text !== undefined) headers['content-type'] = p.kind === 'contentType' ? p.value : 'application/json';
  return { method, path: `${path}?${encodePairs(query)}`, headers, body: text };
}

// ---------------------------------------------------------------------------------------

describe('hostile input: generated', () => {
  it('every generated hostile request on every route of both faces is refused with the envelope, changing nothing', async () => {
    const all = routes();
    for (const r of all.filter((x) => x.face === 'rest')) {
      const [method, url] = r.name.split(' ') as [string, string];
      expect(t.app.hasRoute({ method: method as 'GET', url }), r.name).toBe(true);
      // A GET or DELETE carries no body: its parameters must travel in the path or the query.
      if (method === 'GET' || method === 'DELETE') for (const p of r.params) expect(p.where, r.name).not.toBe('body');
    }
    baseline = await snapshot();
    const started = Date.now();
    const start = tried;
    const codes = new Map<string, number>();
    const problems = new Problems();
    await fc.assert(
      fc.asyncProperty(fc.oneof(...all.map(generatedArb)), async (g) => {
        const req = g.route.face === 'rpc' ? buildRpc(g) : buildRest(g);
        const { code } = await expectRefusedUnchanged(req, problems, `${g.route.name} [${g.poison.kind}]`);
        codes.set(code, (codes.get(code) ?? 0) + 1);
      }),
      {
        numRuns: NUM_RUNS,
        seed: process.env.STRESS_HOSTILE_SEED ? Number(process.env.STRESS_HOSTILE_SEED) : undefined,
        plugins: [fc.interruptAfterTimeLimit(150_000, { failOnInterrupt: true })],
      },
    );
    console.log(
      `hostile (generated): ${tried - start} inputs over ${all.length} routes in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `codes: ${[...codes.entries()].map(([k, v]) => `${k}=${v}`).join(' ')}`,
    );
    expect(problems.byKind.size, `contract violations:\n${problems.report()}`).toBe(0);
  }, 240_000);
});

// ---------------------------------------------------------------------------------------
// Hand-picked cases

type Case = { name: string; req: WireRequest } | { name: string; raw: string | Buffer };

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

const rpcCase = (name: string, pairs: Pairs, opts: Parameters<typeof signedRpc>[1] = {}): Case => ({
  name,
  req: signedRpc(pairs, opts),
});
const action = (name: string): Pairs => [
  ['Action', name],
  ['Version', '2016-01-20'],
  ['RegionId', REGION],
];
const jsonPost = (name: string, path: string, body: string, contentType = 'application/json'): Case => ({
  name,
  req: { ...rest('POST', path), headers: { authorization: basicAuthorization(), 'content-type': contentType }, body },
});
const basicHeader = () => `Authorization: ${basicAuthorization()}\r\n`;

describe('hostile input: hand-picked, RPC face', () => {
  it('odd actions, versions, duplicates, encodings, methods and bodies are refused with the envelope', async () => {
    const cases: Case[] = [
      { name: 'no parameters at all', req: { method: 'GET', path: '/' } },
      { name: 'no parameters, POST', req: { method: 'POST', path: '/' } },
    ];
    for (const a of [
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'createkey',
      'CreateKey ',
      ' CreateKey',
      'CreateKey\u0000',
      '../CreateKey',
      'ListAliases;DROP TABLE aliases',
      `${MARKER}Action`,
    ]) {
      cases.push(
        rpcCase(`Action ${JSON.stringify(a)}`, [
          ['Action', a],
          ['Version', '2016-01-20'],
        ]),
      );
    }
    for (const v of ['2016-01-20 ', '2016-1-20', '2017-01-20', '2016-01-20\u0000', `${MARKER}`]) {
      cases.push(
        rpcCase(`Version ${JSON.stringify(v)}`, [
          ['Action', 'ListKeys'],
          ['Version', v],
        ]),
      );
    }
    cases.push(
      rpcCase('no Version', [['Action', 'ListKeys']]),
      rpcCase('Action twice', [...action('ListKeys'), ['Action', 'CreateKey']]),
      rpcCase('KeyId twice', [...action('DescribeKey'), ['KeyId', fx.keyId], ['KeyId', fx.keyId]]),
      rpcCase('RegionId twice', [...action('ListKeys'), ['RegionId', REGION]]),
      rpcCase('same name in query and form', [...action('ListAliases'), ['PageSize', '3'], ['PageSize', '3']], {
        method: 'POST',
        inForm: (_n, i) => i === 8,
      }),
      rpcCase('CreateAlias, reserved name', [
        ...action('CreateAlias'),
        ['AliasName', 'alias/acs-x'],
        ['KeyId', fx.keyId],
      ]),
      rpcCase('CreateAlias, SQL in the name', [
        ...action('CreateAlias'),
        ['AliasName', "alias/x' OR '1'='1"],
        ['KeyId', fx.keyId],
      ]),
      rpcCase('CreateAlias, KeyId an SQL fragment', [
        ...action('CreateAlias'),
        ['AliasName', 'alias/sql'],
        ['KeyId', "' OR 1=1 --"],
      ]),
      rpcCase('DescribeKey, SQL in an alias', [...action('DescribeKey'), ['KeyId', "alias/x' OR '1'='1"]]),
      rpcCase('DescribeKey, LIKE wildcards', [...action('DescribeKey'), ['KeyId', 'alias/%']]),
      rpcCase('DescribeKey, ARN of another account', [
        ...action('DescribeKey'),
        ['KeyId', `acs:kms:${REGION}:1234567890123456:key/${fx.keyId}`],
      ]),
      rpcCase('DescribeKey, ARN wildcard', [...action('DescribeKey'), ['KeyId', 'acs:kms:*:*:key/*']]),
      rpcCase('DeleteAlias, path traversal', [...action('DeleteAlias'), ['AliasName', 'alias/../hostile-a']]),
      rpcCase('UpdateAlias to an alias', [...action('UpdateAlias'), ['AliasName', fx.alias], ['KeyId', fx.alias]]),
      rpcCase('ScheduleKeyDeletion 6 days', [
        ...action('ScheduleKeyDeletion'),
        ['KeyId', fx.keyId],
        ['PendingWindowInDays', '6'],
      ]),
      rpcCase('ScheduleKeyDeletion 1e1 days', [
        ...action('ScheduleKeyDeletion'),
        ['KeyId', fx.keyId],
        ['PendingWindowInDays', '1e1'],
      ]),
      rpcCase('ScheduleKeyDeletion fullwidth digits', [
        ...action('ScheduleKeyDeletion'),
        ['KeyId', fx.keyId],
        ['PendingWindowInDays', '３０'],
      ]),
      rpcCase('ListAliases PageSize 101', [...action('ListAliases'), ['PageSize', '101']]),
      rpcCase('ListAliases PageNumber 2^31', [...action('ListAliases'), ['PageNumber', '2147483648']]),
      rpcCase('ListKeys PageSize 0', [...action('ListKeys'), ['PageSize', '0']]),
      rpcCase('CreateKey with Tags', [...action('CreateKey'), ['Tags', '[{"TagKey":"a","TagValue":"b"}]']]),
      rpcCase('CreateKey ProtectionLevel HSM', [...action('CreateKey'), ['ProtectionLevel', 'HSM']]),
      rpcCase('CreateKey KeySpec RSA_2048', [...action('CreateKey'), ['KeySpec', 'RSA_2048']]),
      rpcCase('CreateKey Description 8193', [...action('CreateKey'), ['Description', 'd'.repeat(8193)]]),
      rpcCase('Encrypt, plaintext not Base64', [
        ...action('Encrypt'),
        ['KeyId', fx.keyId],
        ['Plaintext', 'not base64!'],
      ]),
      rpcCase('Encrypt, both context forms', [
        ...action('Encrypt'),
        ['KeyId', fx.keyId],
        ['Plaintext', 'aGk='],
        ['EncryptionContext', '{"a":"b"}'],
        ['EncryptionContext.a', 'b'],
      ]),
      rpcCase('Encrypt, context with __proto__', [
        ...action('Encrypt'),
        ['KeyId', fx.keyId],
        ['Plaintext', 'aGk='],
        ['EncryptionContext', '{"__proto__":{"polluted":"yes"},"a":1}'],
      ]),
      rpcCase('Decrypt, blob of zeros', [
        ...action('Decrypt'),
        ['CiphertextBlob', Buffer.alloc(80).toString('base64')],
      ]),
      rpcCase('Decrypt, blob with another context', [
        ...action('Decrypt'),
        ['CiphertextBlob', fx.blob],
        ['EncryptionContext', '{"a":"b"}'],
      ]),
      rpcCase('GenerateDataKey 1025 bytes', [
        ...action('GenerateDataKey'),
        ['KeyId', fx.keyId],
        ['NumberOfBytes', '1025'],
      ]),
      rpcCase('RegionId with NUL', [
        ['Action', 'ListKeys'],
        ['Version', '2016-01-20'],
        ['RegionId', 'cn-hangzhou\u0000'],
      ]),
      rpcCase('RegionId path traversal', [
        ['Action', 'ListKeys'],
        ['Version', '2016-01-20'],
        ['RegionId', '../cn-x'],
      ]),
      rpcCase('expired timestamp', action('ListKeys'), { timestamp: new Date(Date.now() - 16 * 60_000) }),
      rpcCase('unknown access key', action('ListKeys'), { credentials: { accessKeyId: MARKER, secret: 'x' } }),
      rpcCase('wrong secret', action('ListKeys'), {
        credentials: { accessKeyId: 'LTAI5tKmsEmulatorDevKey', secret: `${MARKER}` },
      }),
    );
    const signedList = signedRpc(action('ListKeys'));
    cases.push(
      { name: 'Signature twice', req: { ...signedList, path: `${signedList.path}&Signature=AAAA` } },
      { name: 'query with a bad escape', req: { method: 'GET', path: '/?Action=%zz&Version=2016-01-20' } },
      { name: 'query of a lone %', req: { method: 'GET', path: '/?%' } },
      { name: 'query with truncated UTF-8', req: { method: 'GET', path: '/?a=%E0%A4%A&b=%FF' } },
      { name: 'query with NUL', req: { method: 'GET', path: '/?Action=ListKeys%00&Version=2016-01-20' } },
      { name: 'query with bracket names', req: { method: 'GET', path: '/?Action[]=ListKeys&__proto__[x]=1' } },
    );
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      cases.push({ name: `${method} /`, req: { ...signedRpc(action('ListKeys')), method } });
    }
    for (const [type, body] of [
      ['text/plain', 'Action=CreateKey&Version=2016-01-20'],
      ['application/xml', '<Action>CreateKey</Action>'],
      [
        'multipart/form-data; boundary=x',
        '--x\r\nContent-Disposition: form-data; name="Action"\r\n\r\nCreateKey\r\n--x--',
      ],
      ['application/octet-stream', '\u0000\u0001'],
      ['application/x-www-form-urlencoded', '%zz=%&&&==&a=%E0%A4%A'],
      ['application/x-www-form-urlencoded', `a=${'x'.repeat(BODY_LIMIT + 1)}`],
      ['application/json', '{"Action":"CreateKey","Version":"2016-01-20"}'],
      ['application/json', '{'],
    ] as const) {
      cases.push({
        name: `POST / ${type} ${body.slice(0, 20)}`,
        req: { method: 'POST', path: '/', headers: { 'content-type': type }, body },
      });
    }
    await refuseAll(cases);
  }, 60_000);

  it('a JSON array body on the RPC face is refused as a contract error, not an internal failure', async () => {
    // The form parser's output is an array of pairs; a JSON array body looks the same to
    // the RPC route and to the V1 verifier, which then iterate its items as pairs.
    const cases: Case[] = [];
    for (const body of ['[1,2]', '[null]', '[[1]]', '["Action"]', '[["Action","CreateKey"]]']) {
      cases.push(
        {
          name: `unsigned JSON ${body}`,
          req: { method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body },
        },
        {
          name: `signed JSON ${body}`,
          req: {
            ...signedRpc(action('ListKeys'), { method: 'POST' }),
            headers: { 'content-type': 'application/json' },
            body,
          },
        },
      );
    }
    await refuseAll(cases);
  });
});

describe('hostile input: hand-picked, REST face', () => {
  it('odd paths, bodies, types, content types and credentials are refused with the envelope', async () => {
    const create = JSON.stringify({ AliasName: 'alias/traversal', KeyId: fx.keyId });
    const cases: Case[] = [
      // A valid CreateAlias body behind a path that must not be normalized into /v1/aliases.
      jsonPost('POST /v1/keys/../aliases', '/v1/keys/../aliases', create),
      jsonPost('POST /v1/keys/..%2F..%2Fv1%2Faliases', '/v1/keys/..%2F..%2Fv1%2Faliases', create),
      jsonPost('POST /v1/./aliases', '/v1/./aliases', create),
      jsonPost('POST /v1//aliases', '/v1//aliases', create),
      jsonPost('POST /V1/ALIASES', '/V1/ALIASES', create),
      jsonPost('POST /v1/aliases/', '/v1/aliases/', create),
      jsonPost('POST /v1/aliases%00', '/v1/aliases%00', create),
      { name: 'GET /v1', req: rest('GET', '/v1') },
      { name: 'GET /v2/keys', req: rest('GET', '/v2/keys') },
      { name: 'GET /v1/keys/x/y/z', req: rest('GET', '/v1/keys/x/y/z') },
      { name: 'PATCH /v1/aliases', req: rest('PATCH', '/v1/aliases', {}) },
      { name: 'DELETE /v1/keys', req: rest('DELETE', '/v1/keys') },
      { name: 'DELETE /v1/aliases/', req: rest('DELETE', '/v1/aliases/') },
      { name: 'GET /v1/keys/%00', req: rest('GET', '/v1/keys/%00') },
      { name: 'GET key id + NUL', req: rest('GET', `/v1/keys/${fx.keyId}%00`) },
      { name: 'POST enable key id + NUL', req: rest('POST', `/v1/keys/${fx.keyId}%00/enable`) },
      { name: 'GET alias with NUL (read one alias)', req: rest('GET', '/v1/aliases/alias%2Fa%00b') },
      { name: 'DELETE alias with SQL', req: rest('DELETE', `/v1/aliases/${encodeSegment("alias/a' OR '1'='1")}`) },
      { name: 'GET key by alias with SQL', req: rest('GET', `/v1/keys/${encodeSegment("alias/x' OR '1'='1")}`) },
      { name: 'GET key by SQL', req: rest('GET', `/v1/keys/${encodeSegment("' OR 1=1 --")}`) },
      {
        name: 'GET key by ARN of another account',
        req: rest('GET', `/v1/keys/${encodeSegment(`acs:kms:${REGION}:1234567890123456:key/${fx.keyId}`)}`),
      },
      { name: 'GET aliases, RegionId twice', req: rest('GET', `/v1/aliases?RegionId=${REGION}`) },
      {
        name: 'GET aliases, RegionId with quote',
        req: { ...rest('GET', '/v1/aliases'), path: "/v1/aliases?RegionId=cn-hangzhou'--" },
      },
      {
        name: 'GET aliases, RegionId NUL',
        req: { ...rest('GET', '/v1/aliases'), path: '/v1/aliases?RegionId=cn-hangzhou%00' },
      },
      { name: 'GET aliases, RegionId ../', req: { ...rest('GET', '/v1/aliases'), path: '/v1/aliases?RegionId=..%2F' } },
      { name: 'GET aliases, PageSize twice', req: rest('GET', '/v1/aliases?PageSize=1&PageSize=2') },
      {
        name: 'GET aliases, PageSize SQL',
        req: rest('GET', `/v1/aliases?PageSize=${encodeSegment('1; DROP TABLE aliases')}`),
      },
      { name: 'GET aliases, PageSize -1', req: rest('GET', '/v1/aliases?PageSize=-1') },
      { name: 'GET keys, Filters', req: rest('GET', '/v1/keys?Filters=%5B%5D') },
      { name: 'no credentials', req: { method: 'GET', path: `/v1/keys?RegionId=${REGION}` } },
      { name: 'Basic without value', req: { ...rest('GET', '/v1/keys'), headers: { authorization: 'Basic' } } },
      {
        name: 'Basic with three parts',
        req: {
          ...rest('GET', '/v1/keys'),
          headers: { authorization: `Basic ${Buffer.from('a:b:c').toString('base64')}` },
        },
      },
      { name: 'Basic not Base64', req: { ...rest('GET', '/v1/keys'), headers: { authorization: 'Basic %%%%' } } },
      { name: 'Bearer token', req: { ...rest('GET', '/v1/keys'), headers: { authorization: `Bearer ${MARKER}` } } },
      {
        name: 'ACS3 garbage',
        req: { ...rest('GET', '/v1/keys'), headers: { authorization: 'ACS3-HMAC-SHA256 garbage' } },
      },
    ];
    const aliases = '/v1/aliases';
    for (const [name, body] of [
      ['empty body', ''],
      ['invalid JSON', '{'],
      ['trailing garbage', '{"a":1}garbage'],
      ['single quotes', "{'AliasName':'alias/x'}"],
      ['NaN', 'NaN'],
      ['array', '[]'],
      ['string', '"alias/x"'],
      ['number', '1'],
      ['true', 'true'],
      ['__proto__', `{"__proto__":{"polluted":"yes"},"AliasName":"alias/p","KeyId":"${fx.keyId}"}`],
      [
        'constructor.prototype',
        `{"constructor":{"prototype":{"polluted":"yes"}},"AliasName":"alias/p","KeyId":"${fx.keyId}"}`,
      ],
      ['deep array', `${'['.repeat(500)}${']'.repeat(500)}`],
      ['deep object', `{"AliasName":"alias/d","KeyId":${'{"a":'.repeat(150)}1${'}'.repeat(150)}}`],
      ['AliasName a number', JSON.stringify({ AliasName: 123, KeyId: fx.keyId })],
      ['AliasName an array', JSON.stringify({ AliasName: ['alias/arr'], KeyId: fx.keyId })],
      ['AliasName an object', JSON.stringify({ AliasName: { name: 'alias/obj' }, KeyId: fx.keyId })],
      ['AliasName true', JSON.stringify({ AliasName: true, KeyId: fx.keyId })],
      ['AliasName with NUL', JSON.stringify({ AliasName: 'alias/a\u0000b', KeyId: fx.keyId })],
      ['AliasName with newline', JSON.stringify({ AliasName: 'alias/a\nb', KeyId: fx.keyId })],
      ['AliasName unicode', JSON.stringify({ AliasName: 'alias/caf\u00e9', KeyId: fx.keyId })],
      ['AliasName right-to-left', JSON.stringify({ AliasName: 'alias/\u202eevil', KeyId: fx.keyId })],
      ['KeyId a number', JSON.stringify({ AliasName: 'alias/n', KeyId: 123 })],
      ['KeyId an array of the real id', JSON.stringify({ AliasName: 'alias/n', KeyId: [fx.keyId] })],
      ['KeyId nested', JSON.stringify({ AliasName: 'alias/n', KeyId: { KeyId: fx.keyId } })],
      ['KeyId with NUL', JSON.stringify({ AliasName: 'alias/n', KeyId: `${fx.keyId}\u0000` })],
      ['KeyId upper case', JSON.stringify({ AliasName: 'alias/n', KeyId: fx.keyId.toUpperCase() })],
      ['oversized', JSON.stringify({ AliasName: 'alias/big', KeyId: fx.keyId, Pad: 'p'.repeat(BODY_LIMIT) })],
    ] as const) {
      cases.push(jsonPost(`POST /v1/aliases: ${name}`, aliases, body));
    }
    for (const type of [
      'text/plain',
      'application/xml',
      'application/x-www-form-urlencoded',
      'application/jsonx',
      'multipart/form-data; boundary=x',
    ]) {
      cases.push(
        jsonPost(
          `POST /v1/aliases as ${type}`,
          aliases,
          JSON.stringify({ AliasName: 'alias/ct', KeyId: fx.keyId }),
          type,
        ),
      );
    }
    cases.push({
      name: 'POST /v1/aliases without a content type',
      req: { ...rest('POST', aliases), body: JSON.stringify({ AliasName: 'alias/ct', KeyId: fx.keyId }) },
    });
    const schedule = `/v1/keys/${fx.keyId}/schedule-deletion`;
    for (const days of ['"1e1"', '7.5', '-7', 'true', '[]', '{}', '"\uff17"', '1e308', '"7 "', '"+7"', '6', '367']) {
      cases.push(
        jsonPost(`schedule-deletion PendingWindowInDays ${days}`, schedule, `{"PendingWindowInDays":${days}}`),
      );
    }
    for (const body of [
      '{"Description":5}',
      '{"Description":["a"]}',
      '{"Description":{"a":"b"}}',
      '{}',
      '{"Description":null}',
    ]) {
      cases.push({
        name: `PATCH description ${body}`,
        req: {
          ...rest('PATCH', `/v1/keys/${fx.keyId}`),
          headers: { authorization: basicAuthorization(), 'content-type': 'application/json' },
          body,
        },
      });
    }
    cases.push(
      jsonPost(
        'encrypt, context an array',
        `/v1/keys/${fx.keyId}/encrypt`,
        '{"Plaintext":"aGk=","EncryptionContext":["a"]}',
      ),
      jsonPost(
        'encrypt, context nested',
        `/v1/keys/${fx.keyId}/encrypt`,
        '{"Plaintext":"aGk=","EncryptionContext":{"a":{"b":"c"}}}',
      ),
      jsonPost('encrypt, plaintext a number', `/v1/keys/${fx.keyId}/encrypt`, '{"Plaintext":12}'),
      jsonPost('generate-data-key, plaintext=maybe', `/v1/keys/${fx.keyId}/generate-data-key?plaintext=maybe`, '{}'),
      jsonPost(
        'generate-data-key, NumberOfBytes "16.0"',
        `/v1/keys/${fx.keyId}/generate-data-key`,
        '{"NumberOfBytes":"16.0"}',
      ),
      jsonPost('decrypt, blob an object', '/v1/decrypt', '{"CiphertextBlob":{"a":1}}'),
      jsonPost(
        'decrypt, blob of another context',
        '/v1/decrypt',
        JSON.stringify({ CiphertextBlob: fx.blob, EncryptionContext: { a: 'b' } }),
      ),
    );
    await refuseAll(cases);
  }, 60_000);

  it('framework errors (bad percent-encoding, an overlong path parameter) answer with the envelope', async () => {
    await refuseAll([
      { name: 'alias path with %FF', req: rest('GET', '/v1/aliases/%FF') },
      { name: 'alias path with %zz', req: rest('DELETE', '/v1/aliases/%zz') },
      { name: 'key path with truncated UTF-8', req: rest('POST', '/v1/keys/%E0%A4%A/enable') },
      { name: 'key path with an encoded lone surrogate', req: rest('GET', '/v1/keys/alias%2F%ED%A0%80') },
      { name: 'key path parameter of 2049 characters', req: rest('GET', `/v1/keys/${'k'.repeat(2049)}`) },
      {
        name: 'alias path parameter of 5000 characters',
        req: rest('DELETE', `/v1/aliases/alias%2F${'a'.repeat(5000)}`),
      },
    ]);
  });
});

describe('hostile input: malformed HTTP', () => {
  it('requests the HTTP parser or the router refuse still get the envelope', async () => {
    const host = `Host: 127.0.0.1\r\n`;
    await refuseAll([
      { name: 'header overflow (70 KiB URL)', raw: `GET /?a=${'x'.repeat(70_000)} HTTP/1.1\r\n${host}\r\n` },
      { name: 'NUL in a header value', raw: `GET / HTTP/1.1\r\n${host}X-A: a\u0000b\r\n\r\n` },
      { name: 'Content-Length not a number', raw: `POST / HTTP/1.1\r\n${host}Content-Length: abc\r\n\r\n` },
      {
        name: 'Content-Length and chunked',
        raw: `POST /v1/keys HTTP/1.1\r\n${host}${basicHeader()}Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      },
      {
        name: 'chunked body over the limit',
        raw: `POST /v1/keys HTTP/1.1\r\n${host}${basicHeader()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n${'{'.padEnd(2048, ' ')}\r\n0\r\n\r\n`,
      },
      { name: 'not HTTP at all', raw: 'GARBAGE\r\n\r\n' },
      { name: 'TRACE /', raw: `TRACE / HTTP/1.1\r\n${host}\r\n` },
      { name: 'PROPFIND /v1/keys', raw: `PROPFIND /v1/keys HTTP/1.1\r\n${host}${basicHeader()}\r\n` },
      { name: 'OPTIONS *', raw: `OPTIONS * HTTP/1.1\r\n${host}\r\n` },
      { name: 'relative request target', raw: `GET v1/keys HTTP/1.1\r\n${host}${basicHeader()}\r\n` },
    ]);
  });

  it('an absolute-form request target (GET http://host/v1/keys) is authenticated and answered like its path', async () => {
    // The router matches the path of an absolute-form target; the REST authentication
    // hook must not be skipped for it (today the handler then fails on a missing caller).
    await refuseAll([
      {
        name: 'absolute-form REST target, no credentials',
        raw: `GET http://evil.example/v1/keys?RegionId=${REGION} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
      },
      {
        name: 'absolute-form REST target, wrong secret',
        raw: `GET http://evil.example/v1/keys HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ${Buffer.from('LTAI5tKmsEmulatorDevKey:wrong').toString('base64')}\r\n\r\n`,
      },
      {
        name: 'absolute-form REST create, no credentials',
        raw: `POST http://evil.example/v1/aliases?RegionId=${REGION} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
      },
    ]);
  });

  it('the HTTP/1.1 request without a Host header gets the envelope', async () => {
    await refuseAll([{ name: 'no Host header', raw: `GET /v1/keys HTTP/1.1\r\n${basicHeader()}\r\n` }]);
  });
});

describe('hostile input: values the database cannot store', () => {
  // PostgreSQL text cannot hold NUL. A value that reaches SQL with one must be refused
  // (or stored faithfully), never an InternalFailure.
  const cases = (): Array<{ name: string; req: WireRequest }> => [
    { name: 'REST DescribeKey by an alias with NUL', req: rest('GET', '/v1/keys/alias%2Fa%00b') },
    {
      name: 'REST DescribeKey by an alias ARN with NUL',
      req: rest('GET', `/v1/keys/${encodeSegment(`acs:kms:${REGION}:${ACCOUNT}:alias/a\u0000`)}`),
    },
    {
      name: 'RPC DescribeKey by an alias with NUL',
      req: signedRpc([...action('DescribeKey'), ['KeyId', 'alias/a\u0000b']]),
    },
    {
      name: 'RPC Encrypt by an alias with NUL',
      req: signedRpc([...action('Encrypt'), ['KeyId', 'alias/\u0000'], ['Plaintext', 'aGk=']]),
    },
    {
      name: 'RPC GenerateDataKey by an alias with NUL',
      req: signedRpc([...action('GenerateDataKey'), ['KeyId', 'alias/\u0000']]),
    },
    {
      name: 'REST encrypt by an alias with NUL',
      req: {
        ...rest('POST', '/v1/keys/alias%2F%00/encrypt'),
        headers: { authorization: basicAuthorization(), 'content-type': 'application/json' },
        body: '{"Plaintext":"aGk="}',
      },
    },
  ];

  it('an alias with a NUL byte is not found (404), not an internal failure', async () => {
    await refuseAll(cases());
  });

  it('a Description with a NUL byte is refused or kept exactly, never an internal failure', async () => {
    const problems: string[] = [];
    const attempts: Array<[string, WireRequest, string]> = [
      [
        'RPC UpdateKeyDescription',
        signedRpc([...action('UpdateKeyDescription'), ['KeyId', fx.keyId], ['Description', 'a\u0000b']]),
        fx.keyId,
      ],
      [
        'REST PATCH',
        {
          ...rest('PATCH', `/v1/keys/${fx.keyId}`),
          headers: { authorization: basicAuthorization(), 'content-type': 'application/json' },
          body: '{"Description":"a\\u0000b"}',
        },
        fx.keyId,
      ],
      ['RPC CreateKey', signedRpc([...action('CreateKey'), ['Description', 'nul\u0000']]), ''],
      [
        'REST POST /v1/keys',
        {
          ...rest('POST', '/v1/keys'),
          headers: { authorization: basicAuthorization(), 'content-type': 'application/json' },
          body: '{"Description":"nul\\u0000"}',
        },
        '',
      ],
    ];
    for (const [name, req, keyId] of attempts) {
      tried++;
      const res = await send(base, req);
      if (res.status >= 200 && res.status < 300) {
        const id = keyId || res.json.KeyMetadata.KeyId;
        const back = await send(base, rest('GET', `/v1/keys/${id}`));
        const expected = keyId ? 'a\u0000b' : 'nul\u0000';
        if (back.json?.KeyMetadata?.Description !== expected) problems.push(`${name}: accepted but not kept exactly`);
        if (keyId) await send(base, { ...rest('PATCH', `/v1/keys/${id}`, { Description: '' }) });
      } else {
        const why = refusalProblem(req, res);
        if (why) problems.push(`${name}: ${why}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('a lone surrogate in a REST Description never fails the request', async () => {
    tried++;
    const res = await send(base, {
      ...rest('PATCH', `/v1/keys/${fx.keyId}`),
      headers: { authorization: basicAuthorization(), 'content-type': 'application/json' },
      body: '{"Description":"x\\ud800y"}',
    });
    expect([200, 400]).toContain(res.status);
    if (res.status === 400) expect(envelopeProblem(res)).toBeUndefined();
    await send(base, rest('PATCH', `/v1/keys/${fx.keyId}`, { Description: '' }));
  });
});

// ---------------------------------------------------------------------------------------
// Limits (spec sections 5 and 9): body size, parameter length, URL size, request timeout.

/** A signed RPC request whose form body is exactly `bytes` long (padded with a junk parameter). */
function rpcFormOfSize(pairs: Pairs, bytes: number): WireRequest {
  const make = (pad: number) =>
    signedRpc([...pairs, ['Xpad', 'p'.repeat(Math.max(0, pad))]], { method: 'POST', inForm: () => true });
  // The encoded signature's length varies (+, / and = take three characters): retry.
  let pad = bytes - Buffer.byteLength(String(make(0).body));
  for (let attempt = 0; attempt < 200; attempt++) {
    const req = make(pad);
    const size = Buffer.byteLength(String(req.body));
    if (size === bytes) return req;
    if (attempt % 20 === 19) pad += bytes - size;
  }
  throw new Error(`could not build a form body of exactly ${bytes} bytes`);
}

describe('limits', () => {
  it('a body at KMS_BODY_LIMIT_BYTES is accepted; one byte more is InvalidParameter on both faces', async () => {
    const json = (n: number) => {
      const bare = JSON.stringify({ Description: '' }).length;
      return JSON.stringify({ Description: 'd'.repeat(n - bare) });
    };
    const at = await send(base, {
      ...rest('POST', '/v1/keys'),
      headers: { authorization: basicAuthorization(), 'content-type': 'application/json' },
      body: json(BODY_LIMIT),
    });
    expect(at.status).toBe(201);
    const over = await send(base, {
      ...rest('POST', '/v1/keys'),
      headers: { authorization: basicAuthorization(), 'content-type': 'application/json' },
      body: json(BODY_LIMIT + 1),
    });
    expect([over.status, over.json?.Code, over.json?.Message]).toEqual([
      400,
      'InvalidParameter',
      'The request body is too large.',
    ]);
    expect(envelopeProblem(over)).toBeUndefined();

    const rpcAt = await send(base, rpcFormOfSize(action('ListKeys'), BODY_LIMIT));
    expect(rpcAt.status).toBe(200);
    const rpcOver = await send(base, rpcFormOfSize(action('ListKeys'), BODY_LIMIT + 1));
    expect([rpcOver.status, rpcOver.json?.Code, rpcOver.json?.Message]).toEqual([
      400,
      'InvalidParameter',
      'The request body is too large.',
    ]);
    tried += 4;
  });

  it('parameter lengths: AliasName 255, KeyId 2048, Description 8192, Plaintext 6144 bytes', async () => {
    const rpcCall = async (pairs: Pairs) => send(base, signedRpc(pairs));
    const expectCode = (res: WireResponse, status: number, code?: string) => {
      expect([res.status, res.json?.Code], res.text.slice(0, 200)).toEqual([status, code]);
    };
    // AliasName: 255 characters after the prefix, on both faces.
    expectCode(
      await rpcCall([...action('CreateAlias'), ['AliasName', `alias/${'a'.repeat(255)}`], ['KeyId', fx.keyId]]),
      200,
      undefined,
    );
    expectCode(
      await rpcCall([...action('CreateAlias'), ['AliasName', `alias/${'a'.repeat(256)}`], ['KeyId', fx.keyId]]),
      400,
      'InvalidParameter',
    );
    expectCode(
      await send(base, rest('POST', '/v1/aliases', { AliasName: `alias/${'b'.repeat(255)}`, KeyId: fx.keyId })),
      201,
      undefined,
    );
    expectCode(
      await send(base, rest('POST', '/v1/aliases', { AliasName: `alias/${'b'.repeat(256)}`, KeyId: fx.keyId })),
      400,
      'InvalidParameter',
    );
    expectCode(await send(base, rest('GET', `/v1/aliases/alias%2F${'b'.repeat(255)}`)), 200, undefined);
    // KeyId: 2048 characters is looked up (and not found), 2049 is malformed.
    expectCode(await rpcCall([...action('DescribeKey'), ['KeyId', 'k'.repeat(2048)]]), 404, 'Forbidden.KeyNotFound');
    expectCode(await rpcCall([...action('DescribeKey'), ['KeyId', 'k'.repeat(2049)]]), 400, 'InvalidParameter');
    expectCode(await send(base, rest('GET', `/v1/keys/${'k'.repeat(2048)}`)), 404, 'Forbidden.KeyNotFound');
    // Description: 8192 characters.
    expectCode(
      await rpcCall([...action('UpdateKeyDescription'), ['KeyId', fx.keyId], ['Description', 'd'.repeat(8192)]]),
      200,
      undefined,
    );
    expectCode(
      await rpcCall([...action('UpdateKeyDescription'), ['KeyId', fx.keyId], ['Description', 'd'.repeat(8193)]]),
      400,
      'InvalidParameter',
    );
    await rpcCall([...action('UpdateKeyDescription'), ['KeyId', fx.keyId], ['Description', '']]);
    expectCode(
      await rpcCall([...action('UpdateKeyDescription'), ['KeyId', fx.keyId], ['Description', 'reset']]),
      200,
      undefined,
    );
    // Plaintext: 6144 bytes decoded (in the URL, as SDK 1.x sends it).
    expectCode(
      await rpcCall([
        ...action('Encrypt'),
        ['KeyId', fx.alias],
        ['Plaintext', Buffer.alloc(6144, 1).toString('base64')],
      ]),
      200,
      undefined,
    );
    expectCode(
      await rpcCall([
        ...action('Encrypt'),
        ['KeyId', fx.alias],
        ['Plaintext', Buffer.alloc(6145, 1).toString('base64')],
      ]),
      400,
      'InvalidParameter',
    );
    tried += 15;
  });

  it('a 60 KiB URL is served; a 70 KiB one is refused with the envelope', async () => {
    const big = await send(base, signedRpc([...action('ListKeys'), ['Xpad', 'p'.repeat(60 * 1024)]]));
    expect(big.status).toBe(200);
    const raw = parseRaw(
      await sendRaw(base, `GET /?Xpad=${'p'.repeat(70 * 1024)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`),
    );
    expect([raw.status, raw.json?.Code]).toEqual([400, 'InvalidParameter']);
    expect(envelopeProblem(raw)).toBeUndefined();
    tried += 2;
  });

  it('a request still running at KMS_REQUEST_TIMEOUT_MS answers ServiceUnavailableTemporary', async () => {
    // A body that never finishes arriving keeps the request running without a slow database.
    const slow = await makeApp(t.db, { KMS_ACCOUNT_ID: ACCOUNT, KMS_REQUEST_TIMEOUT_MS: '500', LOG_LEVEL: 'warn' });
    t.extra.push(slow);
    const slowBase = await listen(slow);
    const started = Date.now();
    const raw = await sendRaw(
      slowBase,
      `POST /v1/keys?RegionId=${REGION} HTTP/1.1\r\nHost: 127.0.0.1\r\n${basicHeader()}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"Descr`,
      { keepOpen: true, timeoutMs: 5000 },
    );
    const res = parseRaw(raw);
    expect(raw.timedOut, 'no answer within 5 s').toBe(false);
    expect([res.status, res.json?.Code]).toEqual([503, 'ServiceUnavailableTemporary']);
    expect(envelopeProblem(res)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(5000);
    // The instance still serves afterwards.
    expect((await send(slowBase, rest('GET', '/v1/keys'))).status).toBe(200);
    tried += 2;
  });
});

describe('after all hostile input', () => {
  it('Object.prototype was not polluted, and the count of inputs is reported', () => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_NAMES);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    console.log(`hostile: ${tried} inputs tried in total (generated, hand-picked and limits)`);
  });
});
