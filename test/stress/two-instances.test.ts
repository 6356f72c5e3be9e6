import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { signV3 } from '../../src/http/auth/signature.js';
import { DEV_CREDENTIALS } from '../helpers/clients.js';
import { openTestDatabase, TEST_MASTER_KEY, uniqueAccount, uniqueRegion } from '../helpers/test-app.js';
import { scopeCounters } from './support/counters.js';
import { type ServerProcess, startServer } from './support/server-process.js';
import {
  basicAuthorization,
  type Pairs,
  send,
  signedRpc,
  type WireRequest,
  type WireResponse,
} from './support/wire.js';

// Two server processes on one PostgreSQL: alias uniqueness and the quotas hold across
// them, and a signed request replayed to the other instance is refused (the nonce store
// is the shared database). It belongs to the PostgreSQL pass of the suite (TEST_DATABASE_URL
// set), which .ci/run always runs; the embedded-database pass has no shared server to test.

const url = process.env.TEST_DATABASE_URL;
const missing = url ? undefined : 'TEST_DATABASE_URL is not set: two server processes need a shared PostgreSQL';
const suite = missing ? describe.skip : describe;

const ACCOUNT = uniqueAccount();
const ALIAS_QUOTA = 5;
const KEY_QUOTA = 8;
const stats = { races: 0, requests: 0 };

suite('two instances on one PostgreSQL', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let db: Database;
  const running: ServerProcess[] = [];

  beforeAll(async () => {
    if (missing) throw new Error(`${missing} (required under CI=true)`);
    db = await openTestDatabase();
    const env = {
      DATABASE_URL: url!,
      // The test database keeps the fingerprint of the test master key: it must match.
      KMS_MASTER_KEY: TEST_MASTER_KEY,
      KMS_ACCOUNT_ID: ACCOUNT,
      KMS_ALIAS_QUOTA: String(ALIAS_QUOTA),
      KMS_KEY_QUOTA: String(KEY_QUOTA),
      KMS_SWEEP_INTERVAL_MS: '0',
      LOG_LEVEL: 'info',
    };
    // Started together: their migrations race too (an advisory lock serializes them).
    const results = await Promise.allSettled([startServer(env), startServer(env)]);
    for (const r of results) if (r.status === 'fulfilled') running.push(r.value);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    [a, b] = running as [ServerProcess, ServerProcess];
  }, 120_000);

  afterAll(async () => {
    await Promise.all(running.map((s) => s.stop()));
    await db?.close();
    console.log(`two instances: ${stats.races} races, ${stats.requests} requests across 2 processes`);
  });

  const call = async (s: ServerProcess, req: WireRequest): Promise<WireResponse> => {
    stats.requests++;
    return send(s.base, req, 10_000);
  };
  const rpcOn = (s: ServerProcess, region: string, params: Pairs) =>
    call(s, signedRpc([['Version', '2016-01-20'], ['RegionId', region], ...params], { method: 'POST' }));
  const restOn = (s: ServerProcess, region: string, method: string, path: string, body?: unknown) =>
    call(s, {
      method,
      path: `${path}?RegionId=${region}`,
      headers: {
        authorization: basicAuthorization(),
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const newKey = async (s: ServerProcess, region: string) => {
    const res = await restOn(s, region, 'POST', '/v1/keys', {});
    expect(res.status, res.text).toBe(201);
    return res.json.KeyMetadata.KeyId as string;
  };
  const expectNo500 = (results: WireResponse[]) => {
    for (const r of results) expect(r.status, r.text.slice(0, 300)).toBeLessThan(500);
  };
  const counters = async (region: string) => {
    const args = [ACCOUNT, region];
    const q = async (sql: string) => (await db.query<{ n: number }>(sql, args)).rows[0]?.n ?? 0;
    return {
      keys: await q('SELECT count(*)::int AS n FROM keys WHERE account_id = $1 AND region = $2'),
      aliases: await q('SELECT count(*)::int AS n FROM aliases WHERE account_id = $1 AND region = $2'),
      ...(await scopeCounters(db, ACCOUNT, region).then((c) => ({ keyCount: c.key_count, aliasCount: c.alias_count }))),
    };
  };

  it('both are ready, and each sees what the other writes', async () => {
    for (const s of [a, b]) expect((await call(s, { method: 'GET', path: '/health/ready' })).status).toBe(200);
    const region = uniqueRegion();
    const key = await newKey(a, region);
    const described = await rpcOn(b, region, [
      ['Action', 'DescribeKey'],
      ['KeyId', key],
    ]);
    expect(described.json.KeyMetadata.KeyId).toBe(key);
  });

  it('creates of the same names racing across both instances: one winner per name', async () => {
    const region = uniqueRegion();
    const keys = [await newKey(a, region), await newKey(b, region)];
    const names = ['alias/x1', 'alias/x2', 'alias/x3', 'alias/x4'];
    for (let round = 0; round < 3; round++) {
      const requests = names.flatMap((name) =>
        Array.from({ length: 8 }, (_, i) => {
          const s = i % 2 ? a : b;
          return i % 4 < 2
            ? rpcOn(s, region, [
                ['Action', 'CreateAlias'],
                ['AliasName', `${name}-${round}`],
                ['KeyId', keys[i % 2]!],
              ])
            : restOn(s, region, 'POST', '/v1/aliases', { AliasName: `${name}-${round}`, KeyId: keys[i % 2]! });
        }),
      );
      const results = await Promise.all(requests);
      expectNo500(results);
      for (const [n, name] of names.entries()) {
        const mine = results.slice(n * 8, n * 8 + 8);
        expect(
          mine.filter((r) => r.status < 300),
          name,
        ).toHaveLength(1);
        for (const r of mine.filter((x) => x.status >= 300)) expect(r.json.Code).toBe('AliasAlreadyExists');
      }
      const c = await counters(region);
      expect([c.aliases, c.aliasCount]).toEqual([names.length, names.length]);
      // Free the places (under the quota of 5) through both instances for the next round.
      for (const [n, name] of names.entries()) {
        const del =
          n % 2
            ? await rpcOn(b, region, [
                ['Action', 'DeleteAlias'],
                ['AliasName', `${name}-${round}`],
              ])
            : await restOn(a, region, 'DELETE', `/v1/aliases/${encodeURIComponent(`${name}-${round}`)}`);
        expect(del.status, del.text).toBeLessThan(300);
      }
      stats.races++;
    }
    const c = await counters(region);
    expect([c.aliases, c.aliasCount]).toEqual([0, 0]);
  }, 60_000);

  it('creates at the alias and key quotas across both instances never pass them', async () => {
    for (let round = 0; round < 3; round++) {
      const region = uniqueRegion();
      const key = await newKey(a, region);
      const aliasResults = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 2
            ? rpcOn(a, region, [
                ['Action', 'CreateAlias'],
                ['AliasName', `alias/q${i}`],
                ['KeyId', key],
              ])
            : restOn(b, region, 'POST', '/v1/aliases', { AliasName: `alias/q${i}`, KeyId: key }),
        ),
      );
      expectNo500(aliasResults);
      expect(aliasResults.filter((r) => r.status < 300)).toHaveLength(ALIAS_QUOTA);
      for (const r of aliasResults.filter((x) => x.status >= 300)) expect(r.json.Code).toBe('Rejected.LimitExceeded');
      const keyResults = await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          i % 2 ? restOn(a, region, 'POST', '/v1/keys', {}) : rpcOn(b, region, [['Action', 'CreateKey']]),
        ),
      );
      expectNo500(keyResults);
      // One key was made before the race.
      expect(keyResults.filter((r) => r.status < 300)).toHaveLength(KEY_QUOTA - 1);
      const c = await counters(region);
      expect(c).toEqual({ keys: KEY_QUOTA, aliases: ALIAS_QUOTA, keyCount: KEY_QUOTA, aliasCount: ALIAS_QUOTA });
      stats.races += 2;
    }
  }, 60_000);

  it('a V1-signed request replayed to the other instance gets SignatureNonceUsed', async () => {
    const region = uniqueRegion();
    const signed = signedRpc(
      [
        ['Action', 'CreateKey'],
        ['Version', '2016-01-20'],
        ['RegionId', region],
      ],
      { method: 'POST' },
    );
    const first = await call(a, signed);
    expect(first.status, first.text).toBe(200);
    for (const s of [b, a]) {
      const replay = await call(s, signed);
      expect([replay.status, replay.json.Code]).toEqual([400, 'SignatureNonceUsed']);
    }
    expect((await counters(region)).keys).toBe(1);

    // The same request sent to both at once, many times: exactly one is served.
    const again = signedRpc(
      [
        ['Action', 'CreateKey'],
        ['Version', '2016-01-20'],
        ['RegionId', region],
      ],
      { method: 'POST' },
    );
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => call(i % 2 ? a : b, again)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) {
      expect([r.status, r.json.Code]).toEqual([400, 'SignatureNonceUsed']);
    }
    expect((await counters(region)).keys).toBe(2);
    stats.races++;
  });

  it('a V3-signed request replayed to the other instance gets SignatureNonceUsed too', async () => {
    const region = uniqueRegion();
    const wire = signV3({
      accessKeyId: DEV_CREDENTIALS.accessKeyId,
      secret: DEV_CREDENTIALS.secret,
      action: 'CreateKey',
      version: '2016-01-20',
      query: { RegionId: region },
      host: `127.0.0.1:${a.port}`,
    });
    const headers = Object.fromEntries(
      Object.entries(wire.headers).filter((e): e is [string, string] => e[1] !== undefined),
    );
    const req: WireRequest = { method: wire.method, path: wire.url, headers };
    const first = await call(a, req);
    expect(first.status, first.text).toBe(200);
    const replay = await call(b, req);
    expect([replay.status, replay.json.Code]).toEqual([400, 'SignatureNonceUsed']);
    expect((await counters(region)).keys).toBe(1);
  });
});
