import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { ALIBABA_PUBLIC_REGIONS } from '../../src/domain/regions.js';
import { regionList } from '../../src/operations/describe-regions.js';
import { basicAuth, DEV_CREDENTIALS, expectError, restClient, rpc } from '../helpers/clients.js';
import { FACES } from '../helpers/faces.js';
import { makeApp, openTestDatabase, type TestApp, testEnv, uniqueAccount, uniqueRegion } from '../helpers/test-app.js';

// The region catalog and DescribeRegions (spec section 21.1, issue 14.2). Apps here run
// under Alibaba's public catalog (the default) unless a test says otherwise, each with an
// account of its own so that the shared regions keep tests apart.

const PUBLIC = ALIBABA_PUBLIC_REGIONS.join(',');
let db: Database;
let dir: string;
const apps: TestApp[] = [];

async function app(env: Record<string, string> = {}) {
  const a = await makeApp(db, { KMS_REGIONS: PUBLIC, KMS_ACCOUNT_ID: uniqueAccount(), ...env });
  apps.push(a);
  return a;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-regions-'));
  db = await openTestDatabase();
});

afterAll(async () => {
  for (const a of apps) await a.app.close();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const auth = { authorization: basicAuth(DEV_CREDENTIALS) };
const keyCount = async (a: TestApp, region: string) =>
  (await restClient(a.http, region).get('/v1/keys')).body.TotalCount as number;

describe('the region catalog (KMS_REGIONS)', () => {
  it.each(FACES)('%s: a RegionId outside the catalog is 400 InvalidParameter naming RegionId', async (name) => {
    const a = await app();
    for (const region of ['cn-hangzou', 'zz-a', `cn-${'a'.repeat(70)}`]) {
      const res =
        name === 'rpc'
          ? await rpc(a.http, { Action: 'CreateKey', RegionId: region })
          : await a.http.post(`/v1/keys?RegionId=${region}`).set(auth).send({});
      expect(expectError(res, 400, 'InvalidParameter').Message).toContain('"RegionId"');
    }
    expect(await keyCount(a, 'cn-hangzhou')).toBe(0);
  });

  it('a region header outside the catalog is 400 InvalidParameter naming x-acs-region-id', async () => {
    const a = await app();
    const res = await a.http.post('/v1/keys').set(auth).set('x-acs-region-id', 'cn-hangzou').send({});
    expect(expectError(res, 400, 'InvalidParameter').Message).toContain('x-acs-region-id');
  });

  it('the region is checked after action and version and before the parameters (step 3b)', async () => {
    const a = await app();
    // A bad parameter and a bad region: the region is reported.
    const res = await rpc(a.http, { Action: 'DescribeKey', RegionId: 'zz-nowhere', KeyId: 'not a key' });
    expect(expectError(res, 400, 'InvalidParameter').Message).toContain('"RegionId"');
    // An unknown action comes first.
    expectError(await rpc(a.http, { Action: 'NoSuchAction', RegionId: 'zz-nowhere' }), 404, 'InvalidAction.NotFound');
  });

  it('a Host naming a region outside the catalog is ignored: the default region serves', async () => {
    const a = await app();
    const res = await a.http.post('/v1/keys').set(auth).set('host', 'kms.zz-nowhere.aliyuncs.com').send({});
    expect(res.status).toBe(201);
    expect(res.body.KeyMetadata.Arn).toContain(':cn-hangzhou:');
    const other = await a.http.post('/v1/keys').set(auth).set('host', 'kms.cn-shanghai.aliyuncs.com').send({});
    expect(other.body.KeyMetadata.Arn).toContain(':cn-shanghai:');
  });

  it('made-up regions no longer bypass the per-region key quota', async () => {
    const a = await app({ KMS_KEY_QUOTA: '2' });
    for (const region of ['zz-a', 'zz-b', 'zz-c', 'zz-d', 'zz-e']) {
      expectError(await a.http.post(`/v1/keys?RegionId=${region}`).set(auth).send({}), 400, 'InvalidParameter');
    }
    expect((await restClient(a.http, 'cn-hangzhou').post('/v1/keys', {})).status).toBe(201);
    expect((await restClient(a.http, 'cn-hangzhou').post('/v1/keys', {})).status).toBe(201);
    expectError(await restClient(a.http, 'cn-hangzhou').post('/v1/keys', {}), 409, 'Rejected.LimitExceeded');
  });

  it('KMS_REGIONS=* takes any well-formed region up to 64 characters', async () => {
    const a = await app({ KMS_REGIONS: '*' });
    expect((await restClient(a.http, `cn-${'a'.repeat(61)}`).post('/v1/keys', {})).status).toBe(201);
    expectError(await restClient(a.http, `cn-${'a'.repeat(62)}`).post('/v1/keys', {}), 400, 'InvalidParameter');
  });
});

describe('start-up checks', () => {
  const configError = (env: Record<string, string>) => {
    try {
      loadConfig(testEnv(env));
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it('KMS_DEFAULT_REGION must be in KMS_REGIONS; entries must be region ids', () => {
    expect(configError({ KMS_REGIONS: 'eu-west-1,us-east-1' })).toContain(
      'KMS_DEFAULT_REGION: must be one of KMS_REGIONS',
    );
    expect(configError({ KMS_REGIONS: 'cn-hangzhou,Not A Region' })).toContain('KMS_REGIONS');
    expect(loadConfig(testEnv({ KMS_REGIONS: ' eu-west-1 , cn-hangzhou ' })).regions).toEqual([
      'eu-west-1',
      'cn-hangzhou',
    ]);
    expect(loadConfig(testEnv({ KMS_REGIONS: PUBLIC })).regions).toEqual(ALIBABA_PUBLIC_REGIONS);
    const { KMS_REGIONS: _, ...noRegions } = testEnv();
    expect(loadConfig(noRegions).regions).toEqual(ALIBABA_PUBLIC_REGIONS);
  });

  it('an access key region outside the catalog stops start-up, naming the entry', async () => {
    const file = path.join(dir, 'identities.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        accounts: [
          {
            accountId: uniqueAccount(),
            accessKeys: [
              { accessKeyId: `AK${randomBytes(4).toString('hex')}`, accessKeySecret: 's', region: 'zz-gone' },
            ],
          },
        ],
      }),
    );
    await expect(app({ KMS_IDENTITIES_FILE: file })).rejects.toThrow(/accounts\[0\]\.accessKeys\[0\]\.region: zz-gone/);
  });

  it('a seed scope region outside the catalog stops start-up, naming the entry', async () => {
    const file = path.join(dir, 'seed.json');
    fs.writeFileSync(file, JSON.stringify({ scopes: [{ region: 'zz-gone', keys: [{ Aliases: ['alias/seeded'] }] }] }));
    await expect(app({ KMS_SEED_FILE: file })).rejects.toThrow(/scopes\[0\]\.region: zz-gone/);
  });

  it('data in regions outside the catalog is logged once at start-up and stays', async () => {
    const account = uniqueAccount();
    const region = `aa-${randomBytes(4).toString('hex')}`; // sorts before the suites' made-up regions
    const open = await app({ KMS_REGIONS: '*', KMS_ACCOUNT_ID: account });
    expect((await restClient(open.http, region).post('/v1/keys', {})).status).toBe(201);
    const strict = await app({ KMS_ACCOUNT_ID: account });
    const warnings = strict.logs.lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toContain('outside KMS_REGIONS');
    expect(warnings[0].regions).toContain(region);
    expect(await keyCount(open, region)).toBe(1);
  });
});

describe('DescribeRegions', () => {
  it('answers the catalog in its order on both faces, needing no region', async () => {
    const a = await app();
    const expected = ALIBABA_PUBLIC_REGIONS.map((RegionId) => ({ RegionId }));
    const r = await rpc(a.http, { Action: 'DescribeRegions' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ RequestId: expect.any(String), Regions: { Region: expected } });
    const rest = await a.http.get('/v1/regions').set(auth);
    expect(rest.status).toBe(200);
    expect(rest.body).toEqual({ RequestId: expect.any(String), Regions: expected });
  });

  it('answers a list of its own in the order given', async () => {
    const a = await app({ KMS_REGIONS: 'eu-west-1,cn-hangzhou', KMS_DEFAULT_REGION: 'cn-hangzhou' });
    const r = await rpc(a.http, { Action: 'DescribeRegions' });
    expect(r.body.Regions.Region).toEqual([{ RegionId: 'eu-west-1' }, { RegionId: 'cn-hangzhou' }]);
  });

  it("with *: the default region, then the account's regions holding a key or an alias, in byte order", async () => {
    const account = uniqueAccount();
    const a = await app({ KMS_REGIONS: '*', KMS_ACCOUNT_ID: account, KMS_DEFAULT_REGION: 'cn-hangzhou' });
    const [r1, r2] = [uniqueRegion(), uniqueRegion()].sort();
    const key = (await restClient(a.http, r2!).post('/v1/keys', {})).body.KeyMetadata.KeyId;
    await restClient(a.http, r2!).post('/v1/aliases', { AliasName: 'alias/x', KeyId: key });
    await restClient(a.http, r1!).post('/v1/keys', {});
    await restClient(a.http, 'cn-hangzhou').post('/v1/keys', {});
    // Another account's region is never shown.
    const other = await app({ KMS_REGIONS: '*' });
    await restClient(other.http, uniqueRegion()).post('/v1/keys', {});
    const rest = await a.http.get('/v1/regions').set(auth);
    expect(rest.body.Regions).toEqual([{ RegionId: 'cn-hangzhou' }, { RegionId: r1 }, { RegionId: r2 }]);
    expect(regionList('*', 'b-x', ['a-x', 'b-x', 'c-x'])).toEqual(['b-x', 'a-x', 'c-x']);
  });

  it('needs kms:DescribeRegions on *', async () => {
    const file = path.join(dir, `ram-${randomBytes(4).toString('hex')}.json`);
    const user = (name: string, statements: object[]) => ({
      name,
      accessKeys: [{ accessKeyId: `AK_${name}_${randomBytes(3).toString('hex')}`, accessKeySecret: `s-${name}` }],
      policies: [{ Version: '1', Statement: statements }],
    });
    const allowed = user('regions', [{ Effect: 'Allow', Action: 'kms:DescribeRegions', Resource: '*' }]);
    const denied = user('keysonly', [{ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' }]);
    fs.writeFileSync(
      file,
      JSON.stringify({ accounts: [{ accountId: uniqueAccount(), accessKeys: [], users: [allowed, denied] }] }),
    );
    const a = await app({ KMS_IDENTITIES_FILE: file });
    const as = (u: typeof allowed) => ({
      credentials: { accessKeyId: u.accessKeys[0]!.accessKeyId, secret: u.accessKeys[0]!.accessKeySecret },
    });
    expect((await rpc(a.http, { Action: 'DescribeRegions' }, as(allowed))).status).toBe(200);
    expectError(await rpc(a.http, { Action: 'DescribeRegions' }, as(denied)), 403, 'Forbidden.NoPermission');
  });
});

describe('no overlong value reaches an index (400, never 500)', () => {
  let a: TestApp;
  let keyId: string;
  const region = 'cn-hangzhou';
  beforeAll(async () => {
    a = await app();
    keyId = (await restClient(a.http, region).post('/v1/keys', {})).body.KeyMetadata.KeyId;
  });

  for (const n of [3_000, 9_000, 60_000]) {
    const v = 'a'.repeat(n);
    const account = '1234567890123456';
    const rpcCases: Array<[string, Record<string, string>]> = [
      ['RegionId', { Action: 'ListKeys', RegionId: `cn-${v}` }],
      ['KeyId', { Action: 'DescribeKey', KeyId: v }],
      ['KeyId (key ARN)', { Action: 'DescribeKey', KeyId: `acs:kms:${region}:${account}:key/${v}` }],
      ['KeyId (alias ARN)', { Action: 'DescribeKey', KeyId: `acs:kms:${region}:${account}:alias/${v}` }],
      ['KeyId (ARN region)', { Action: 'DescribeKey', KeyId: `acs:kms:cn-${v}:${account}:key/x` }],
      ['AliasName', { Action: 'CreateAlias', KeyId: '', AliasName: `alias/${v}` }],
      ['ListAliasesByKeyId', { Action: 'ListAliasesByKeyId', KeyId: v }],
      ['CiphertextBlob', { Action: 'Decrypt', CiphertextBlob: v }],
      ['KeySpec', { Action: 'CreateKey', KeySpec: v }],
      ['PageNumber', { Action: 'ListKeys', PageNumber: `1${'0'.repeat(n)}` }],
    ];
    if (n > 8192) {
      rpcCases.push(['Description', { Action: 'CreateKey', Description: v }]);
      rpcCases.push(['Description (update)', { Action: 'UpdateKeyDescription', KeyId: '', Description: v }]);
    }
    it(`RPC, ${n} characters in each parameter`, async () => {
      for (const [name, params] of rpcCases) {
        const p: Record<string, string> = { RegionId: region, ...params };
        if (p.KeyId === '') p.KeyId = keyId;
        const res = await rpc(a.http, p, { method: 'POST', form: true });
        expect([name, res.status, res.body.Code]).toEqual([name, 400, 'InvalidParameter']);
      }
    });

    it(`REST, ${n} characters in each parameter, header and Host`, async () => {
      const cases: Array<[string, () => ReturnType<typeof a.http.get>, number, string]> = [
        ['RegionId query', () => a.http.get(`/v1/keys?RegionId=cn-${v}`).set(auth), 400, 'InvalidParameter'],
        [
          'x-acs-region-id',
          () => a.http.get('/v1/keys').set(auth).set('x-acs-region-id', `cn-${v}`),
          400,
          'InvalidParameter',
        ],
        ['KeyId path', () => a.http.get(`/v1/keys/${v}`).set(auth), 400, 'InvalidParameter'],
        ['alias path', () => a.http.get(`/v1/aliases/alias/${v}`).set(auth), 400, 'InvalidParameter'],
        [
          'AliasName body',
          () =>
            a.http
              .post('/v1/aliases')
              .set(auth)
              .send({ AliasName: `alias/${v}`, KeyId: keyId }),
          400,
          'InvalidParameter',
        ],
        [
          'KeyId body',
          () => a.http.post('/v1/aliases').set(auth).send({ AliasName: 'alias/ok', KeyId: v }),
          400,
          'InvalidParameter',
        ],
      ];
      if (n > 8192) {
        cases.push([
          'Description body',
          () => a.http.post('/v1/keys').set(auth).send({ Description: v }),
          400,
          'InvalidParameter',
        ]);
      }
      for (const [name, send, status, code] of cases) {
        const res = await send();
        expect([name, res.status, res.body.Code]).toEqual([name, status, code]);
      }
      // A Host naming an overlong region is ignored, not refused: the default region serves.
      const host = await a.http.get('/v1/keys').set(auth).set('host', `kms.cn-${v}.aliyuncs.com`);
      expect(host.status).toBe(200);
    });
  }
});
