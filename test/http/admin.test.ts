import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { signV1 } from '../../src/http/auth/signature.js';
import {
  basicAuth,
  type Credentials,
  DEV_CREDENTIALS,
  expectError,
  restClient,
  rpc,
  UUID_UPPER,
} from '../helpers/clients.js';
import {
  makeApp,
  onPostgres,
  openPrivateDatabase,
  type TestApp,
  uniqueAccount,
  uniqueRegion,
  withStatementHook,
} from '../helpers/test-app.js';

// The admin API (spec 21.2) over HTTP, on PGlite and on PostgreSQL. It moves the clock and
// resets everything, so this file has a database of its own (openPrivateDatabase).

const DEFAULT_ACCOUNT = '1234567890123456';
const DAY = 86_400;
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Temporary directories of seed and identities files, removed at the end. */
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

let db: Database;
let drop: () => Promise<void>;
let main: TestApp;
const extra: TestApp[] = [];

beforeAll(async () => {
  ({ db, drop } = await openPrivateDatabase());
  main = await makeApp(db);
});

afterAll(async () => {
  for (const t of extra) await t.app.close();
  await main?.app.close();
  await drop?.();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function another(env: Record<string, string> = {}): Promise<TestApp> {
  const t = await makeApp(db, env);
  extra.push(t);
  return t;
}

function admin(t: TestApp, credentials: Credentials | null = DEV_CREDENTIALS) {
  const auth = credentials ? { authorization: basicAuth(credentials) } : {};
  return {
    get: (p: string) => t.http.get(p).set(auth),
    post: (p: string, body?: unknown) => {
      const r = t.http.post(p).set(auth);
      return body === undefined ? r : r.send(body as object);
    },
  };
}

async function createKey(t: TestApp, region: string, credentials: Credentials = DEV_CREDENTIALS): Promise<string> {
  const res = await restClient(t.http, region, {}, credentials).post('/v1/keys', {});
  expect(res.status).toBe(201);
  return res.body.KeyMetadata.KeyId as string;
}

async function createAlias(t: TestApp, region: string, keyId: string, name: string, credentials = DEV_CREDENTIALS) {
  const res = await restClient(t.http, region, {}, credentials).post('/v1/aliases', { AliasName: name, KeyId: keyId });
  expect(res.status).toBe(201);
}

async function totals(t: TestApp, region: string, credentials = DEV_CREDENTIALS) {
  const client = restClient(t.http, region, {}, credentials);
  const keys = await client.get('/v1/keys');
  const aliases = await client.get('/v1/aliases');
  expect(keys.status).toBe(200);
  expect(aliases.status).toBe(200);
  return { keys: keys.body.TotalCount as number, aliases: aliases.body.TotalCount as number };
}

async function newAccount(t: TestApp = main): Promise<{ accountId: string; credentials: Credentials }> {
  const res = await admin(t).post('/_emulator/accounts', {});
  expect(res.status).toBe(201);
  return {
    accountId: res.body.AccountId,
    credentials: { accessKeyId: res.body.AccessKeyId, secret: res.body.AccessKeySecret },
  };
}

describe('the clock', () => {
  it('reads the service clock and moves it forward only', async () => {
    const before = await admin(main).get('/_emulator/clock');
    expect(before.status).toBe(200);
    expect(before.headers['x-acs-request-id']).toBe(before.body.RequestId);
    expect(before.body).toEqual({
      RequestId: expect.stringMatching(UUID_UPPER),
      Now: expect.stringMatching(DATE),
      OffsetSeconds: expect.any(Number),
    });

    const after = await admin(main).post('/_emulator/clock', { AdvanceSeconds: 60 });
    expect(after.status).toBe(200);
    expect(after.body.OffsetSeconds).toBe(before.body.OffsetSeconds + 60);
    expect(Date.parse(after.body.Now) - Date.now()).toBeGreaterThan((after.body.OffsetSeconds - 5) * 1000);

    expectError(await admin(main).post('/_emulator/clock', {}), 400, 'MissingParameter');
    for (const AdvanceSeconds of [0, -5, 1.5, '60', 315_360_001]) {
      const res = await admin(main).post('/_emulator/clock', { AdvanceSeconds });
      expect(expectError(res, 400, 'InvalidParameter').Message).toContain('AdvanceSeconds');
    }
    expect((await admin(main).get('/_emulator/clock')).body.OffsetSeconds).toBe(after.body.OffsetSeconds);
  });

  it('lets a deletion window pass: the key is gone and the counts drop', async () => {
    const region = uniqueRegion();
    const keyId = await createKey(main, region);
    await createAlias(main, region, keyId, 'alias/doomed');
    const kept = await createKey(main, region);
    const scheduled = await rpc(main.http, {
      Action: 'ScheduleKeyDeletion',
      KeyId: keyId,
      PendingWindowInDays: 7,
      RegionId: region,
    });
    expect(scheduled.status).toBe(200);
    expect(await totals(main, region)).toEqual({ keys: 2, aliases: 1 });

    expect((await admin(main).post('/_emulator/clock', { AdvanceSeconds: 7 * DAY + 60 })).status).toBe(200);

    expectError(await restClient(main.http, region).get(`/v1/keys/${keyId}`), 404, 'Forbidden.KeyNotFound');
    expect(await totals(main, region)).toEqual({ keys: 1, aliases: 0 });
    expect((await restClient(main.http, region).get(`/v1/keys/${kept}`)).status).toBe(200);
  });

  it('dates new keys on the service clock while signatures stay on the base clock', async () => {
    const region = uniqueRegion();
    const { body } = await admin(main).post('/_emulator/clock', { AdvanceSeconds: 30 * DAY });
    // V1-signed with the wall clock's Timestamp: still inside the 15-minute window.
    const created = await rpc(main.http, { Action: 'CreateKey', RegionId: region });
    expect(created.status).toBe(200);
    const creation = Date.parse(created.body.KeyMetadata.CreationDate);
    expect(Math.abs(creation - (Date.now() + body.OffsetSeconds * 1000))).toBeLessThan(60_000);
  });

  it('cannot release a nonce: a replay after an advance is still refused', async () => {
    const region = uniqueRegion();
    const signed = signV1({
      ...DEV_CREDENTIALS,
      params: { Action: 'ListKeys', Version: '2016-01-20', RegionId: region },
    });
    expect((await main.http.get(signed.url)).status).toBe(200);
    expect((await admin(main).post('/_emulator/clock', { AdvanceSeconds: DAY })).status).toBe(200);
    expectError(await main.http.get(signed.url), 400, 'SignatureNonceUsed');
  });

  it('is shared by every instance over the database', async () => {
    const other = await another();
    const moved = await admin(main).post('/_emulator/clock', { AdvanceSeconds: 10 });
    const seen = await admin(other).get('/_emulator/clock');
    expect(seen.body.OffsetSeconds).toBe(moved.body.OffsetSeconds);
    // A signed request on the other instance reads it with its nonce.
    const created = await rpc(other.http, { Action: 'CreateKey', RegionId: uniqueRegion() });
    const creation = Date.parse(created.body.KeyMetadata.CreationDate);
    expect(Math.abs(creation - (Date.now() + moved.body.OffsetSeconds * 1000))).toBeLessThan(60_000);
  });

  it('costs a signed request no statement, and a Basic one a read on PostgreSQL only', async () => {
    let reads = 0;
    const watched = await makeApp(
      withStatementHook(db, (s) => {
        if (s.tag === 'clock.offset') reads++;
      }),
    );
    extra.push(watched);
    const region = uniqueRegion();
    const keyId = await createKey(watched, region);
    reads = 0;
    expect((await rpc(watched.http, { Action: 'DescribeKey', KeyId: keyId, RegionId: region })).status).toBe(200);
    expect(reads).toBe(0);
    expect((await restClient(watched.http, region).get(`/v1/keys/${keyId}`)).status).toBe(200);
    expect(reads).toBe(onPostgres ? 1 : 0);
  });
});

describe('reset', () => {
  it('resets one account and region, then one account, and nothing outside the scope', async () => {
    const [r1, r2] = [uniqueRegion(), uniqueRegion()];
    const other = await newAccount();
    for (const region of [r1, r2]) {
      await createAlias(main, region, await createKey(main, region), 'alias/a');
      await createAlias(main, region, await createKey(main, region, other.credentials), 'alias/a', other.credentials);
    }

    const one = await admin(main).post('/_emulator/reset', { AccountId: other.accountId, RegionId: r1 });
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ RequestId: one.headers['x-acs-request-id'], Deleted: { Keys: 1, Aliases: 1 } });
    expect(await totals(main, r1, other.credentials)).toEqual({ keys: 0, aliases: 0 });
    expect(await totals(main, r2, other.credentials)).toEqual({ keys: 1, aliases: 1 });
    expect(await totals(main, r1)).toEqual({ keys: 1, aliases: 1 });

    // Another account's root may reset its own account, and only that.
    const own = await admin(main, other.credentials).post('/_emulator/reset', { AccountId: other.accountId });
    expect(own.body.Deleted).toEqual({ Keys: 1, Aliases: 1 });
    expect(await totals(main, r2, other.credentials)).toEqual({ keys: 0, aliases: 0 });
    expect(await totals(main, r2)).toEqual({ keys: 1, aliases: 1 });

    // The counters restart: the quota sees an empty scope again.
    await createKey(main, r1, other.credentials);
    expect(await totals(main, r1, other.credentials)).toEqual({ keys: 1, aliases: 0 });
  });

  it('resets everything with {}', async () => {
    const region = uniqueRegion();
    const other = await newAccount();
    await createKey(main, region);
    await createKey(main, region, other.credentials);
    const res = await admin(main).post('/_emulator/reset', {});
    expect(res.status).toBe(200);
    expect(res.body.Deleted.Keys).toBeGreaterThanOrEqual(2);
    expect(await totals(main, region)).toEqual({ keys: 0, aliases: 0 });
    expect(await totals(main, region, other.credentials)).toEqual({ keys: 0, aliases: 0 });
    // Accounts made by the admin API stay.
    expect((await restClient(main.http, region, {}, other.credentials).get('/v1/keys')).status).toBe(200);
  });

  it('re-applies the seed entries of its scope', async () => {
    const dir = tempDir('kms-seed-');
    const region = uniqueRegion();
    const seedFile = path.join(dir, 'seed.json');
    writeFileSync(seedFile, JSON.stringify({ scopes: [{ keys: [{ Aliases: ['alias/seeded'] }] }] }));
    const seeded = await another({ KMS_SEED_FILE: seedFile, KMS_DEFAULT_REGION: region });
    await createKey(seeded, region);
    expect(await totals(seeded, region)).toEqual({ keys: 2, aliases: 1 });
    const res = await admin(seeded).post('/_emulator/reset', { AccountId: DEFAULT_ACCOUNT, RegionId: region });
    expect(res.body.Deleted).toEqual({ Keys: 2, Aliases: 1 });
    expect(await totals(seeded, region)).toEqual({ keys: 1, aliases: 1 });
    expect((await restClient(seeded.http, region).get('/v1/aliases/alias%2Fseeded')).status).toBe(200);
  });

  it('answers errors in the contract envelope', async () => {
    expectError(await admin(main).post('/_emulator/reset', { RegionId: 'cn-hangzhou' }), 400, 'MissingParameter');
    expectError(await admin(main).post('/_emulator/reset', { AccountId: '12' }), 400, 'InvalidParameter');
    expectError(
      await admin(main).post('/_emulator/reset', { AccountId: DEFAULT_ACCOUNT, RegionId: 'Bad Region' }),
      400,
      'InvalidParameter',
    );
    expectError(await admin(main).post('/_emulator/reset', { Surprise: 1 }), 400, 'InvalidParameter');
    expectError(await admin(main, null).post('/_emulator/reset', {}), 401, 'IncompleteSignature');
  });
});

describe('accounts', () => {
  it('makes an account whose key pair works at once, on every instance, after a restart', async () => {
    const res = await admin(main).post('/_emulator/accounts', {});
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      RequestId: expect.stringMatching(UUID_UPPER),
      AccountId: expect.stringMatching(/^[1-9][0-9]{15}$/),
      AccessKeyId: expect.stringMatching(/^LTAI[A-Za-z0-9]{20}$/),
      AccessKeySecret: expect.stringMatching(/^[A-Za-z0-9]{30}$/),
    });
    const credentials = { accessKeyId: res.body.AccessKeyId, secret: res.body.AccessKeySecret };
    const region = uniqueRegion();
    const made = await restClient(main.http, region, {}, credentials).post('/v1/keys', {});
    expect(made.status).toBe(201);
    expect(made.body.KeyMetadata.Arn).toContain(`:${res.body.AccountId}:key/`);
    // Signed (V1) too, on another instance over the same database (a fresh one: a restart).
    const other = await another();
    const listed = await rpc(other.http, { Action: 'ListKeys', RegionId: region }, { credentials });
    expect(listed.status).toBe(200);
    expect(listed.body.TotalCount).toBe(1);
    // Never logged.
    expect(main.logs.text).not.toContain(credentials.secret);
    expect(main.logs.text).toContain(res.body.AccessKeyId);
  });

  it('takes a chosen account id once, and never a known one', async () => {
    const accountId = uniqueAccount();
    const res = await admin(main).post('/_emulator/accounts', { AccountId: accountId });
    expect(res.status).toBe(201);
    expect(res.body.AccountId).toBe(accountId);
    for (const taken of [accountId, DEFAULT_ACCOUNT]) {
      const again = await admin(main).post('/_emulator/accounts', { AccountId: taken });
      expect(expectError(again, 400, 'InvalidParameter').Message).toContain('AccountId');
    }
    expectError(await admin(main).post('/_emulator/accounts', { AccountId: 'x' }), 400, 'InvalidParameter');
  });

  it('refuses the identities of a file that an admin-made account already holds at start-up', async () => {
    const { accountId } = await newAccount();
    const dir = tempDir('kms-ids-');
    const file = path.join(dir, 'identities.json');
    writeFileSync(
      file,
      JSON.stringify({ accounts: [{ accountId, accessKeys: [{ accessKeyId: 'LTAIclash', accessKeySecret: 's' }] }] }),
    );
    await expect(makeApp(db, { KMS_IDENTITIES_FILE: file })).rejects.toThrow(accountId);
  });
});

describe('who may call it', () => {
  it('refuses another account root beyond its own account, and every RAM user', async () => {
    const other = await newAccount();
    for (const [method, p, body] of [
      ['get', '/_emulator/clock', undefined],
      ['post', '/_emulator/clock', { AdvanceSeconds: 1 }],
      ['post', '/_emulator/reset', {}],
      ['post', '/_emulator/reset', { AccountId: DEFAULT_ACCOUNT }],
      ['post', '/_emulator/accounts', {}],
    ] as const) {
      const client = admin(main, other.credentials);
      const res = method === 'get' ? await client.get(p) : await client.post(p, body);
      expectError(res, 403, 'Forbidden.NoPermission');
    }

    const dir = tempDir('kms-ids-');
    const file = path.join(dir, 'identities.json');
    const user = { accessKeyId: 'ram-admin-user', secret: 'ram-secret' };
    const policy = { Version: '1', Statement: [{ Effect: 'Allow', Action: ['kms:*'], Resource: ['*'] }] };
    writeFileSync(
      file,
      JSON.stringify({
        accounts: [
          {
            accountId: DEFAULT_ACCOUNT,
            users: [
              {
                name: 'ops',
                accessKeys: [{ accessKeyId: user.accessKeyId, accessKeySecret: user.secret }],
                policies: [policy],
              },
            ],
          },
        ],
      }),
    );
    const withUsers = await another({ KMS_IDENTITIES_FILE: file });
    expectError(
      await admin(withUsers, user).post('/_emulator/reset', { AccountId: DEFAULT_ACCOUNT }),
      403,
      'Forbidden.NoPermission',
    );
    expectError(await admin(withUsers, user).get('/_emulator/clock'), 403, 'Forbidden.NoPermission');
  });

  it('is open with KMS_AUTH=off, and absent (404) with KMS_ADMIN_API=off', async () => {
    const open = await another({ KMS_AUTH: 'off' });
    expect((await admin(open, null).get('/_emulator/clock')).status).toBe(200);
    const off = await another({ KMS_ADMIN_API: 'off' });
    for (const p of ['/_emulator/clock', '/_emulator/reset', '/_emulator/accounts', '/_emulator/anything']) {
      expectError(await admin(off).post(p, {}), 404, 'InvalidApi.NotFound');
    }
    expectError(await admin(off).get('/_emulator/clock'), 404, 'InvalidApi.NotFound');
  });
});

describe('reset against concurrent writers', () => {
  it('leaves the counters equal to the rows: CreateKey and CreateAlias during a reset', async () => {
    const region = uniqueRegion();
    const client = restClient(main.http, region);
    const base = await createKey(main, region);
    const writers = Array.from({ length: 30 }, async (_, i) => {
      if (i % 2 === 0) return client.post('/v1/keys', {});
      return client.post('/v1/aliases', { AliasName: `alias/race-${i}`, KeyId: base });
    });
    const reset = (async () => {
      await new Promise((r) => setTimeout(r, 5));
      return admin(main).post('/_emulator/reset', { AccountId: DEFAULT_ACCOUNT, RegionId: region });
    })();
    const answers = await Promise.all([...writers, reset]);
    for (const res of answers) expect([200, 201, 404], JSON.stringify(res.body)).toContain(res.status);
    const { rows } = await db.query<{ keys: number; aliases: number; key_count: number; alias_count: number }>(
      `SELECT (SELECT count(*)::int FROM keys WHERE account_id = $1 AND region = $2) AS keys,
              (SELECT count(*)::int FROM aliases WHERE account_id = $1 AND region = $2) AS aliases,
              (SELECT coalesce(sum(key_count), 0)::int FROM scopes WHERE account_id = $1 AND region = $2)
                + (SELECT coalesce(sum(key_count), 0)::int FROM scope_counter_stripes WHERE account_id = $1 AND region = $2) AS key_count,
              (SELECT coalesce(sum(alias_count), 0)::int FROM scopes WHERE account_id = $1 AND region = $2)
                + (SELECT coalesce(sum(alias_count), 0)::int FROM scope_counter_stripes WHERE account_id = $1 AND region = $2) AS alias_count`,
      [DEFAULT_ACCOUNT, region],
    );
    const counted = rows[0]!;
    expect(counted.key_count).toBe(counted.keys);
    expect(counted.alias_count).toBe(counted.aliases);
  });
});

// Keep the helper used: a key made by another account is invisible to the default root.
it('keeps accounts apart', async () => {
  const region = uniqueRegion();
  const other = await newAccount();
  const keyId = await createKey(main, region, other.credentials);
  expectError(await restClient(main.http, region).get(`/v1/keys/${keyId}`), 404, 'Forbidden.KeyNotFound');
});
