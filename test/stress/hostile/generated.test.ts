import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UNKNOWN_FIELD_REASON } from '../../../src/domain/params.js';
import { RPC_ACTIONS } from '../../../src/operations/registry.js';
import {
  basicAuthorization,
  encodePairs,
  encodeSegment,
  type Pairs,
  signedRpc,
  type WireRequest,
} from '../support/wire.js';
import { anyFor, hostileRoutes, type Route } from './routes.js';
import { BODY_LIMIT, PROTOTYPE_NAMES, Problems, useHostileApp } from './support.js';
import { hostileJson, hostileString, MARKER } from './values.js';

// Generated hostile requests on every route of both faces (routes.ts): each request takes
// values for the route's parameters (valid or hostile), junk extra parameters, and one
// poison that makes it fail whatever the rest holds, placed in the query, the form or
// both. Every one must be refused with the envelope, changing nothing.
//
// The RPC face ignores the junk extras (as Alibaba does); the REST face refuses a field its
// operation does not take, but only after every other check of the request: so on REST the
// poison, not an extra, must decide the answer (checked below), and refusing an unknown
// field is a poison of its own.

const NUM_RUNS = Number(process.env.STRESS_HOSTILE_RUNS ?? 1000);
const REGION_SYNTAX = /^[a-z]{2,}(-[a-z0-9]+)+$/;

const h = useHostileApp('generated');
const REGION = h.region;

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
  | { kind: 'contentType'; value: string }
  | { kind: 'unknownField'; name: string; inBody: boolean };

const headerSafe = fc.string({ unit: 'binary-ascii', maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, ''));

function poisonArb(route: Route): fc.Arbitrary<Poison> {
  const method = route.name.split(' ')[0]!;
  const carriesBody = ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method);
  const options: fc.Arbitrary<Poison>[] = [];
  for (const p of route.params) {
    const where = route.face === 'rpc' ? 'rpc' : p.where!;
    options.push(
      p.invalid(where).map((value) => ({ kind: 'invalid' as const, param: p.name, value })),
      p.invalid(where).map((value) => ({ kind: 'invalid' as const, param: p.name, value })),
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
    // A field the route's operation does not take: junk, a near miss of one it takes, the RPC
    // wire form of a map, or RegionId in a body. Refused wherever it travels.
    const declared = new Set(route.params.map((p) => p.name));
    const nearMisses = route.params.flatMap((p) => [p.name.toLowerCase(), p.name.toUpperCase(), `${p.name}s`]);
    options.push(
      fc
        .record({
          kind: fc.constant('unknownField' as const),
          name: fc.oneof(
            extraName,
            fc.constantFrom('EncryptionContext.purpose', 'RegionId', ...(nearMisses.length ? nearMisses : ['x'])),
          ),
          inBody: carriesBody ? fc.boolean() : fc.constant(false),
        })
        .filter((u) => !declared.has(u.name) && (u.inBody || u.name !== 'RegionId')),
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

// ---------------------------------------------------------------------------------------
// A generated request, and how it goes on the wire on each face.

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
  // No prototype: a field named __proto__ is a field like any other.
  const body: Record<string, unknown> = Object.create(null);
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
  if (p.kind === 'unknownField') {
    if (p.inBody) body[p.name] = 'x';
    else query.push([p.name, 'x']);
  }
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
    const all = hostileRoutes(h);
    for (const r of all.filter((x) => x.face === 'rest')) {
      const [method, url] = r.name.split(' ') as [string, string];
      expect(h.t.app.hasRoute({ method: method as 'GET', url }), r.name).toBe(true);
      // A GET or DELETE carries no body: its parameters must travel in the path or the query.
      if (method === 'GET' || method === 'DELETE') for (const p of r.params) expect(p.where, r.name).not.toBe('body');
    }
    await h.takeBaseline();
    const started = Date.now();
    const start = h.tried;
    const codes = new Map<string, number>();
    const problems = new Problems();
    await fc.assert(
      fc.asyncProperty(fc.oneof(...all.map(generatedArb)), async (g) => {
        const req = g.route.face === 'rpc' ? buildRpc(g) : buildRest(g);
        const where = `${g.route.name} [${g.poison.kind}]`;
        const { res, code } = await h.expectRefusedUnchanged(req, problems, where);
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (g.route.face !== 'rest') return;
        // On REST an unknown field decides only after the input's other checks up to its
        // syntax, so an extra can answer for a poison that fails later (a key that is not
        // found). Then the poison alone is sent too: it must still be refused, so the
        // extras never hide a request that would pass.
        const message = String(res.json?.Message ?? '');
        if (!message.includes(UNKNOWN_FIELD_REASON)) return;
        const unknownNames = [
          ...g.extras.map(([name]) => name),
          ...(g.poison.kind === 'unknownField' ? [g.poison.name] : []),
        ];
        if (!unknownNames.some((name) => message.includes(`"${name.slice(0, 64)}`))) {
          problems.add('unknown unnamed', where, 'the refusal does not name an unknown field', req, res.text);
        }
        if (g.poison.kind !== 'unknownField' && g.extras.length > 0) {
          const alone = await h.expectRefusedUnchanged(buildRest({ ...g, extras: [] }), problems, `${where} alone`);
          codes.set(`${alone.code} (alone)`, (codes.get(`${alone.code} (alone)`) ?? 0) + 1);
        }
      }),
      {
        numRuns: NUM_RUNS,
        seed: process.env.STRESS_HOSTILE_SEED ? Number(process.env.STRESS_HOSTILE_SEED) : undefined,
        plugins: [fc.interruptAfterTimeLimit(150_000, { failOnInterrupt: true })],
      },
    );
    console.log(
      `hostile (generated): ${h.tried - start} inputs over ${all.length} routes in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `codes: ${[...codes.entries()].map(([k, v]) => `${k}=${v}`).join(' ')}`,
    );
    expect(problems.byKind.size, `contract violations:\n${problems.report()}`).toBe(0);
  }, 240_000);
});

describe('after all hostile input', () => {
  // Each hostile file checks this again at its end (support.ts), with its count of inputs.
  it('Object.prototype was not polluted, and the count of inputs is reported', () => {
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_NAMES);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
