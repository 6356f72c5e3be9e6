import { describe, expect, it } from 'vitest';
import { makeApp } from '../../helpers/test-app.js';
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
import { BODY_LIMIT, basicHeader, listen, useHostileApp } from './support.js';

// Limits (spec sections 5 and 9): body size, parameter length, URL size, request timeout.

const { t, fx, base, rest, action, count, region: REGION, account: ACCOUNT } = useHostileApp('limits');

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
    count(4);
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
    count(15);
  });

  it('a 60 KiB URL is served; a 70 KiB one is refused with the envelope', async () => {
    const big = await send(base, signedRpc([...action('ListKeys'), ['Xpad', 'p'.repeat(60 * 1024)]]));
    expect(big.status).toBe(200);
    const raw = parseRaw(
      await sendRaw(base, `GET /?Xpad=${'p'.repeat(70 * 1024)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`),
    );
    expect([raw.status, raw.json?.Code]).toEqual([400, 'InvalidParameter']);
    expect(envelopeProblem(raw)).toBeUndefined();
    count(2);
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
    count(2);
  });
});
