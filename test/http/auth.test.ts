import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { formatTimestamp, signV1, signV3 } from '../../src/http/auth/signature.js';
import {
  basicAuth,
  type Credentials,
  DEV_CREDENTIALS,
  expectError,
  restClient,
  rpc,
  UUID_UPPER,
} from '../helpers/clients.js';
import { FACES, face } from '../helpers/faces.js';
import { makeApp, openTestDatabase, type TestApp, uniqueRegion } from '../helpers/test-app.js';

// Credentials, signatures and RAM (spec section 6) through HTTP with KMS_AUTH=on.

const ROOT_A = { accessKeyId: 'ROOT_A', secret: 'root-a-secret' };
const ROOT_B = { accessKeyId: 'ROOT_B', secret: 'root-b-secret' };
const ACCOUNT_A = '1111222233334444';
const ACCOUNT_B = '5555666677778888';
const user = (name: string): Credentials => ({ accessKeyId: `AK_${name}`, secret: `secret-of-${name}` });

let db: Database;
let t: TestApp;
let dir: string;
const apps: TestApp[] = [];

const allow = (action: string | string[], resource: string | string[]) => ({
  Effect: 'Allow',
  Action: action,
  Resource: resource,
});
const deny = (action: string | string[], resource: string | string[]) => ({
  Effect: 'Deny',
  Action: action,
  Resource: resource,
});

function identities(extraUsers: Array<{ name: string; statements: object[] }>) {
  return {
    accounts: [
      {
        accountId: ACCOUNT_A,
        accessKeys: [ROOT_A, { accessKeyId: 'ROOT_A_SH', accessKeySecret: 'sh-secret', region: 'cn-shanghai' }].map(
          (k) => ('secret' in k ? { accessKeyId: k.accessKeyId, accessKeySecret: k.secret } : k),
        ),
        users: extraUsers.map((u) => ({
          name: u.name,
          accessKeys: [{ accessKeyId: user(u.name).accessKeyId, accessKeySecret: user(u.name).secret }],
          policies: [{ Version: '1', Statement: u.statements }],
        })),
      },
      { accountId: ACCOUNT_B, accessKeys: [{ accessKeyId: ROOT_B.accessKeyId, accessKeySecret: ROOT_B.secret }] },
    ],
  };
}

async function appWith(users: Array<{ name: string; statements: object[] }>, env: Record<string, string> = {}) {
  const file = path.join(dir, `identities-${randomUUID()}.json`);
  fs.writeFileSync(file, JSON.stringify(identities(users)));
  const a = await makeApp(db, { KMS_IDENTITIES_FILE: file, ...env });
  apps.push(a);
  return a;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-auth-'));
  db = await openTestDatabase();
  t = await appWith([]);
});

afterAll(async () => {
  for (const a of apps) await a.app.close();
  await db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('RPC signatures', () => {
  it('accepts V1 in the query and in a form body, GET and POST', async () => {
    const region = uniqueRegion();
    for (const opts of [
      { method: 'GET' as const },
      { method: 'POST' as const },
      { method: 'POST' as const, form: true },
    ]) {
      const res = await rpc(t.http, { Action: 'ListAliases', RegionId: region }, { ...opts, credentials: ROOT_A });
      expect(res.status).toBe(200);
      expect(res.body.TotalCount).toBe(0);
    }
  });

  it('refuses a missing signature, an unknown key, a wrong secret', async () => {
    let body = expectError(
      await rpc(t.http, { Action: 'ListAliases' }, { credentials: null }),
      400,
      'IncompleteSignature',
    );
    expect(body.Message).not.toContain('ROOT');
    body = expectError(
      await rpc(t.http, { Action: 'ListAliases' }, { credentials: { accessKeyId: 'NOPE', secret: 'x' } }),
      404,
      'InvalidAccessKeyId.NotFound',
    );
    body = expectError(
      await rpc(t.http, { Action: 'ListAliases' }, { credentials: { ...ROOT_A, secret: 'wrong' } }),
      400,
      'SignatureDoesNotMatch',
    );
    expect(body.Message).toBe('Specified signature is not matched with our calculation.');
    // The default dev key is not part of this account set unless configured: it is the default account's.
    expect((await rpc(t.http, { Action: 'ListAliases' }, { credentials: DEV_CREDENTIALS })).status).toBe(200);
  });

  it('a V1-signed HEAD on / answers UnsupportedHTTPMethod and runs nothing', async () => {
    const region = uniqueRegion();
    for (const Action of ['CreateKey', 'ListKeys']) {
      const res = await rpc(t.http, { Action, RegionId: region }, { method: 'HEAD', credentials: ROOT_A });
      expect(res.status).toBe(403);
      expect(res.headers['x-acs-request-id']).toMatch(UUID_UPPER);
      expect(res.text ?? '').toBe('');
    }
    const listed = await rpc(t.http, { Action: 'ListKeys', RegionId: region }, { credentials: ROOT_A });
    expect(listed.body.TotalCount).toBe(0);
    // The same request signed for GET is refused too: HEAD is refused before credentials.
    const unsigned = await t.http.head(`/?Action=CreateKey&Version=2016-01-20&RegionId=${region}`);
    expect(unsigned.status).toBe(403);
    expect((await rpc(t.http, { Action: 'ListKeys', RegionId: region }, { credentials: ROOT_A })).body.TotalCount).toBe(
      0,
    );
  });

  it('refuses a parameter changed after signing', async () => {
    const signed = rpc(t.http, { Action: 'ListAliases', PageSize: 5 }, { credentials: ROOT_A });
    // Rebuild the same signed URL with one value changed.
    const url = (signed as unknown as { url: string }).url;
    const tampered = url.replace('PageSize=5', 'PageSize=6').replace(/^https?:\/\/[^/]+/, '');
    await signed;
    expectError(await t.http.get(tampered), 400, 'SignatureDoesNotMatch');
  });

  it('refuses a replayed nonce and an old timestamp', async () => {
    const first = rpc(t.http, { Action: 'ListAliases' }, { credentials: ROOT_A });
    const url = (first as unknown as { url: string }).url.replace(/^https?:\/\/[^/]+/, '');
    expect((await first).status).toBe(200);
    const body = expectError(await t.http.get(url), 400, 'SignatureNonceUsed');
    expect(body.Message).toBe('Specified signature nonce was used already.');
    const old = new Date(Date.now() - 16 * 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const res = await rpc(t.http, { Action: 'ListAliases', Timestamp: old }, { credentials: ROOT_A });
    expect(expectError(res, 400, 'InvalidTimeStamp.Expired').Message).toBe(
      'Specified time stamp or date value is expired.',
    );
  });

  it('refuses a nonce the database could not keep (a control character, over 255 characters)', async () => {
    const send = (nonce: string) =>
      rpc(
        t.http,
        { Action: 'ListAliases', SignatureNonce: nonce },
        { credentials: ROOT_A, method: 'POST', form: true },
      );
    for (const nonce of ['a\u0000b', 'line\nbreak', 'x'.repeat(256)]) {
      const body = expectError(await send(nonce), 400, 'IncompleteSignature');
      expect(body.Message).not.toContain(nonce);
    }
    expect((await send(`${randomUUID()}${'y'.repeat(219)}`)).status).toBe(200);
  });

  it('V1: the action comes from the signed parameters, never from x-acs-* headers', async () => {
    const region = uniqueRegion();
    const res = await rpc(
      t.http,
      { Action: 'ListAliases', RegionId: region },
      { credentials: ROOT_A, headers: { 'x-acs-action': 'CreateKey', 'x-acs-region-id': 'cn-beijing' } },
    );
    expect(res.status).toBe(200);
    expect(res.body.Aliases).toEqual({ Alias: [] });
  });

  it('accepts V3 and refuses it when a header or the body is changed, or a required header is unsigned', async () => {
    const region = uniqueRegion();
    const send = (w: ReturnType<typeof signV3>) => {
      let r = t.http.post(w.url);
      for (const [k, v] of Object.entries(w.headers)) if (k !== 'host' && v !== undefined) r = r.set(k, v);
      return w.body.length > 0 ? r.send(w.body.toString()) : r;
    };
    const host = '127.0.0.1';
    const base = {
      accessKeyId: ROOT_A.accessKeyId,
      secret: ROOT_A.secret,
      action: 'CreateKey',
      version: '2016-01-20',
      host,
      query: { RegionId: region },
      form: { Description: 'made with V3' },
    };
    // V3 signs the Host header: send exactly the host that was signed.
    const h = `${host}:8080`;
    const ok = await send(signV3({ ...base, host: h })).set('host', h);
    expect(ok.status).toBe(200);
    expect(ok.body.KeyMetadata.Description).toBe('made with V3');
    expect(ok.body.KeyMetadata.Arn).toContain(`:${region}:${ACCOUNT_A}:`);

    const w = signV3({ ...base, host: h });
    expectError(
      await send({ ...w, body: Buffer.from('Description=changed') }).set('host', h),
      400,
      'SignatureDoesNotMatch',
    );
    const w2 = signV3({ ...base, host: h });
    expectError(
      await send({ ...w2, headers: { ...w2.headers, 'x-acs-action': 'ListKeys' } }).set('host', h),
      400,
      'SignatureDoesNotMatch',
    );
    const w3 = signV3({ ...base, host: h });
    const authz = w3.headers.authorization!.replace('x-acs-signature-nonce;', '');
    expectError(
      await send({ ...w3, headers: { ...w3.headers, authorization: authz } }).set('host', h),
      400,
      'IncompleteSignature',
    );
    // A signed x-acs-region-id is trusted.
    const w4 = signV3({ ...base, host: h, query: {}, headers: { 'x-acs-region-id': region } });
    const inRegion = await send(w4).set('host', h);
    expect(inRegion.status).toBe(200);
    expect(inRegion.body.KeyMetadata.Arn).toContain(`:${region}:`);
    // Replay of a V3 request.
    const w5 = signV3({ ...base, host: h });
    expect((await send(w5).set('host', h)).status).toBe(200);
    expectError(await send(w5).set('host', h), 400, 'SignatureNonceUsed');
  });

  it("an access key's region is used when a request names none", async () => {
    const res = await rpc(
      t.http,
      { Action: 'CreateKey' },
      { credentials: { accessKeyId: 'ROOT_A_SH', secret: 'sh-secret' } },
    );
    expect(res.status).toBe(200);
    expect(res.body.KeyMetadata.Arn).toContain(':cn-shanghai:');
  });
});

describe('a future-dated request is kept until its timestamp expires (issue 14.1)', () => {
  // A timestamp may be 15 minutes ahead, so a nonce must be kept for 15 minutes after the
  // later of now and its timestamp. Each case has its own app (its clock moves), over the
  // same database: the memory store on PGlite, the database store on PostgreSQL.
  const MIN = 60_000;
  const host = '127.0.0.1:8080';
  type Send = (app: TestApp, dated: Date) => () => ReturnType<TestApp['http']['get']>;
  const region = uniqueRegion();
  const v1Rpc: Send = (app, dated) => {
    const w = signV1({
      ...ROOT_A,
      method: 'GET',
      placement: 'query',
      params: {
        Action: 'ListAliases',
        Version: '2016-01-20',
        Format: 'JSON',
        RegionId: region,
        Timestamp: formatTimestamp(dated),
      },
    });
    return () => app.http.get(w.url);
  };
  const v3: (method: 'POST' | 'GET', path: string) => Send = (method, path) => (app, dated) => {
    const w = signV3({
      ...ROOT_A,
      action: 'ListAliases',
      version: '2016-01-20',
      method,
      path,
      query: { RegionId: region },
      host,
      timestamp: dated,
    });
    return () => {
      let r = method === 'GET' ? app.http.get(w.url) : app.http.post(w.url);
      for (const [k, v] of Object.entries(w.headers)) if (v !== undefined) r = r.set(k, v);
      return r;
    };
  };
  // The REST face answers authentication errors 401, the RPC face 400.
  const cases: Array<[string, Send, number]> = [
    ['V1 on the RPC face', v1Rpc, 400],
    ['V3 on the RPC face', v3('POST', '/'), 400],
    ['V3 on the REST face', v3('GET', '/v1/aliases'), 401],
  ];

  it.each(cases)('%s: dated +14 min, replayed at +15:01 and +28:59 → SignatureNonceUsed', async (_n, make, status) => {
    const app = await appWith([]);
    // Whole seconds ahead, rounded up, so the timestamp is never less than 14 min ahead.
    const dated = new Date(Math.ceil((Date.now() + 14 * MIN) / 1000) * 1000);
    const send = make(app, dated);
    expect((await send()).status).toBe(200);
    expectError(await send(), status, 'SignatureNonceUsed');
    app.advance(15 * MIN + 1000);
    expectError(await send(), status, 'SignatureNonceUsed');
    app.advance(14 * MIN - 2000); // +28:59
    expectError(await send(), status, 'SignatureNonceUsed');
    app.advance(2000); // +29:01: the timestamp itself is refused now, so the nonce may go
    expectError(await send(), status, 'InvalidTimeStamp.Expired');
  });
});

describe('REST credentials', () => {
  it('no credentials: 401 IncompleteSignature with WWW-Authenticate', async () => {
    const res = await t.http.get('/v1/aliases');
    const body = expectError(res, 401, 'IncompleteSignature');
    expect(res.headers['www-authenticate']).toBe('Basic realm="kms"');
    expect(body.Message).toContain('Basic');
  });

  it('wrong Basic secret, unknown key, malformed header', async () => {
    expectError(
      await t.http.get('/v1/aliases').set('authorization', basicAuth({ ...ROOT_A, secret: 'no' })),
      401,
      'SignatureDoesNotMatch',
    );
    expectError(
      await t.http.get('/v1/aliases').set('authorization', basicAuth({ accessKeyId: 'X', secret: 'y' })),
      401,
      'InvalidAccessKeyId.NotFound',
    );
    expectError(await t.http.get('/v1/aliases').set('authorization', 'Basic !!!'), 401, 'IncompleteSignature');
    expect((await t.http.get('/v1/aliases').set('authorization', basicAuth(ROOT_A))).status).toBe(200);
  });

  it('Basic can be switched off; V3 still works on REST with the path as received', async () => {
    const noBasic = await appWith([], { KMS_REST_BASIC_AUTH: 'off' });
    expectError(
      await noBasic.http.get('/v1/aliases').set('authorization', basicAuth(ROOT_A)),
      401,
      'IncompleteSignature',
    );
    await noBasic.app.listen({ host: '127.0.0.1', port: 0 });
    const h = `127.0.0.1:${(noBasic.app.server.address() as { port: number }).port}`;
    const region = uniqueRegion();
    const w = signV3({
      accessKeyId: ROOT_A.accessKeyId,
      secret: ROOT_A.secret,
      action: 'ListAliases',
      version: '2016-01-20',
      method: 'GET',
      path: '/v1/aliases',
      query: { RegionId: region },
      host: h,
    });
    let r = noBasic.http.get(w.url);
    for (const [k, v] of Object.entries(w.headers)) if (v !== undefined) r = r.set(k, v);
    const res = await r;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ TotalCount: 0, Aliases: [] });
  });

  it('HEAD on a REST GET route reads without a body; HEAD on a route that writes is not found', async () => {
    const region = uniqueRegion();
    const rest = restClient(t.http, region, {}, ROOT_A);
    const keyId = (await rest.post('/v1/keys', {})).body.KeyMetadata.KeyId as string;
    expect((await rest.post(`/v1/keys/${keyId}/disable`)).status).toBe(200);
    const head = (path: string) => t.http.head(`${path}?RegionId=${region}`).set('authorization', basicAuth(ROOT_A));
    for (const path of ['/v1/keys', `/v1/keys/${keyId}`, '/v1/aliases', `/v1/keys/${keyId}/aliases`]) {
      const res = await head(path);
      expect(res.status, path).toBe(200);
      expect(res.text ?? '', path).toBe('');
    }
    // Without credentials HEAD is refused like GET.
    expect((await t.http.head(`/v1/keys?RegionId=${region}`)).status).toBe(401);
    for (const path of [`/v1/keys/${keyId}/enable`, `/v1/keys/${keyId}/schedule-deletion`, '/v1/decrypt']) {
      expect((await head(path)).status, path).toBe(404);
    }
    const after = await rest.get('/v1/keys');
    expect(after.body.TotalCount).toBe(1);
    expect((await rest.get(`/v1/keys/${keyId}`)).body.KeyMetadata.KeyState).toBe('Disabled');
  });

  it('health and docs need no credentials', async () => {
    expect((await t.http.get('/health/live')).status).toBe(200);
    expect((await t.http.get('/health/ready')).status).toBe(200);
  });
});

describe('RAM', () => {
  const aliasArn = (n: string) => `acs:kms:*:${ACCOUNT_A}:${n}`;
  const keyArn = (id: string) => `acs:kms:*:${ACCOUNT_A}:key/${id}`;

  describe.each(FACES)('through the %s face', (name) => {
    let keyId: string;
    let otherKey: string;
    let ram: TestApp;
    let region: string;
    beforeAll(async () => {
      region = uniqueRegion();
      const root = face(name, t.http, region, {}, ROOT_A);
      keyId = await root.newKey();
      otherKey = await root.newKey();
      expect((await root.createAlias('alias/prod-db', keyId)).status).toBe(root.successStatus('create'));
      ram = await appWith([
        { name: 'keyonly', statements: [allow('kms:CreateAlias', `acs:kms:*:${ACCOUNT_A}:key/*`)] },
        { name: 'aliasonly', statements: [allow('kms:CreateAlias', `acs:kms:*:${ACCOUNT_A}:alias/*`)] },
        {
          name: 'both',
          statements: [
            allow(['kms:CreateAlias', 'kms:DeleteAlias'], [`acs:kms:*:${ACCOUNT_A}:alias/*`, keyArn(keyId)]),
          ],
        },
        { name: 'admin-but', statements: [allow('kms:*', '*'), deny('kms:DeleteAlias', aliasArn('alias/prod-*'))] },
        { name: 'lister', statements: [allow('kms:List*', '*')] },
        { name: 'by-key', statements: [allow('kms:DescribeKey', keyArn(keyId))] },
        { name: 'by-alias', statements: [allow('kms:DescribeKey', aliasArn('alias/prod-db'))] },
        { name: 'updater', statements: [allow('kms:UpdateAlias', [aliasArn('alias/*'), keyArn(keyId)])] },
        { name: 'nothing', statements: [allow('kms:DescribeKey', 'acs:kms:*:9999999999999999:key/*')] },
      ]);
    });
    const as = (u: string) => face(name, ram.http, region, {}, user(u));
    const denied = (
      res: { status: number; body: Record<string, unknown>; headers: Record<string, string> },
      action: string,
      who: string,
      type = 'ImplicitDeny',
    ) => {
      const body = expectError(res, 403, 'Forbidden.NoPermission');
      expect(body.Message).toBe('This operation is forbidden by permission system.');
      expect(body.AccessDeniedDetail).toEqual({
        AuthAction: action,
        AuthPrincipalType: 'SubUser',
        AuthPrincipalDisplayName: who,
        NoPermissionType: type,
      });
    };

    it('CreateAlias needs both the alias and the key', async () => {
      denied(await as('keyonly').createAlias('alias/k1', keyId), 'kms:CreateAlias', 'keyonly');
      denied(await as('aliasonly').createAlias('alias/k2', keyId), 'kms:CreateAlias', 'aliasonly');
      const both = as('both');
      expect((await both.createAlias('alias/k3', keyId)).status).toBe(both.successStatus('create'));
      // ...and only that key.
      denied(await both.createAlias('alias/k4', otherKey), 'kms:CreateAlias', 'both');
      const { rows } = await db.query('SELECT alias_name FROM aliases WHERE region = $1 ORDER BY alias_name', [region]);
      expect(rows).toEqual([{ alias_name: 'alias/k3' }, { alias_name: 'alias/prod-db' }]);
      expect((await both.deleteAlias('alias/k3')).status).toBe(both.successStatus('delete'));
    });

    it('an explicit Deny wins over an Allow', async () => {
      const admin = as('admin-but');
      expect((await admin.createAlias('alias/dev-x', keyId)).status).toBe(admin.successStatus('create'));
      expect((await admin.deleteAlias('alias/dev-x')).status).toBe(admin.successStatus('delete'));
      denied(await admin.deleteAlias('alias/prod-db'), 'kms:DeleteAlias', 'admin-but', 'ExplicitDeny');
      expect((await admin.describeKey('alias/prod-db')).status).toBe(200);
    });

    it('wildcards in actions: kms:List* lists but does not create', async () => {
      const lister = as('lister');
      expect((await lister.listAliases()).status).toBe(200);
      expect((await lister.listKeys()).status).toBe(200);
      expect((await lister.listAliasesByKeyId(keyId)).status).toBe(200);
      denied(await lister.createKey(), 'kms:CreateKey', 'lister');
      denied(await lister.createAlias('alias/l', keyId), 'kms:CreateAlias', 'lister');
    });

    it('when an alias stands in for a key, only the key ARN is checked', async () => {
      expect((await as('by-key').describeKey('alias/prod-db')).status).toBe(200);
      expect((await as('by-key').describeKey(keyId)).status).toBe(200);
      denied(await as('by-alias').describeKey('alias/prod-db'), 'kms:DescribeKey', 'by-alias');
      denied(await as('by-key').describeKey(otherKey), 'kms:DescribeKey', 'by-key');
    });

    it('UpdateAlias checks the alias, the old key and the new key', async () => {
      const updater = as('updater');
      // old key allowed, new key not
      denied(await updater.updateAlias('alias/prod-db', otherKey), 'kms:UpdateAlias', 'updater');
      expect((await updater.updateAlias('alias/prod-db', keyId)).status).toBe(200);
    });

    it('resolution comes before RAM: a missing key is 404 even for a user with no rights', async () => {
      expectError(
        await as('nothing').describeKey('00000000-0000-4000-8000-000000000009'),
        404,
        'Forbidden.KeyNotFound',
      );
      expectError(await as('nothing').describeKey('alias/none'), 404, 'Forbidden.AliasNotFound');
      denied(await as('nothing').describeKey(keyId), 'kms:DescribeKey', 'nothing');
    });

    it('resolution comes before RAM for the alias operations too', async () => {
      const missing = '00000000-0000-4000-8000-000000000009';
      expectError(await as('nothing').createAlias('alias/x', missing), 404, 'Forbidden.KeyNotFound');
      expectError(await as('nothing').listAliasesByKeyId(missing), 404, 'Forbidden.KeyNotFound');
      expectError(await as('nothing').updateAlias('alias/none', missing), 404, 'Forbidden.AliasNotFound');
      expectError(await as('nothing').deleteAlias('alias/none'), 404, 'Forbidden.AliasNotFound');
      // An alias that is missing comes first, even when the key is an ARN of another region.
      const elsewhere = `acs:kms:cn-elsewhere:${ACCOUNT_A}:key/${keyId}`;
      expectError(await as('nothing').updateAlias('alias/none', elsewhere), 404, 'Forbidden.AliasNotFound');
      expectError(await as('nothing').updateAlias('alias/prod-db', elsewhere), 404, 'Forbidden.KeyNotFound');
      denied(await as('nothing').listAliasesByKeyId(keyId), 'kms:ListAliasesByKeyId', 'nothing');
    });

    it('RAM comes before uniqueness: a denied CreateAlias of a taken name is 403 and changes nothing', async () => {
      denied(await as('keyonly').createAlias('alias/prod-db', otherKey), 'kms:CreateAlias', 'keyonly');
      const { rows } = await db.query('SELECT key_id FROM aliases WHERE region = $1 AND alias_name = $2', [
        region,
        'alias/prod-db',
      ]);
      expect(rows).toEqual([{ key_id: keyId }]);
    });

    it('RAM comes before key state', async () => {
      const root = face(name, t.http, region, {}, ROOT_A);
      const doomed = await root.newKey();
      await root.scheduleKeyDeletion(doomed, 7);
      denied(await as('keyonly').createAlias('alias/doomed', doomed), 'kms:CreateAlias', 'keyonly');
      expectError(await root.createAlias('alias/doomed', doomed), 409, 'Rejected.StateModifiedFailed');
    });
  });
});

describe('isolation between accounts', () => {
  it.each(FACES)('two accounts with the same alias name each see only their own (%s)', async (name) => {
    const region = uniqueRegion();
    const a = face(name, t.http, region, {}, ROOT_A);
    const b = face(name, t.http, region, {}, ROOT_B);
    const ka = await a.newKey();
    const kb = await b.newKey();
    expect((await a.createAlias('alias/same', ka)).status).toBe(a.successStatus('create'));
    expect((await b.createAlias('alias/same', kb)).status).toBe(b.successStatus('create'));
    expect((await a.describeKey('alias/same')).body.KeyMetadata.KeyId).toBe(ka);
    expect((await b.describeKey('alias/same')).body.KeyMetadata.KeyId).toBe(kb);
    for (const id of [ka, `acs:kms:${region}:${ACCOUNT_A}:key/${ka}`]) {
      expectError(await b.describeKey(id), 404, 'Forbidden.KeyNotFound');
      expectError(await b.listAliasesByKeyId(id), 404, 'Forbidden.KeyNotFound');
      expectError(await b.createAlias('alias/stolen', id), 404, 'Forbidden.KeyNotFound');
      expectError(await b.updateAlias('alias/same', id), 404, 'Forbidden.KeyNotFound');
    }
    expectError(await b.describeKey(`acs:kms:${region}:${ACCOUNT_A}:alias/same`), 404, 'Forbidden.AliasNotFound');
    const listB = await b.listAliases();
    expect(b.aliasesOf(listB.body)).toEqual([
      { KeyId: kb, AliasName: 'alias/same', AliasArn: `acs:kms:${region}:${ACCOUNT_B}:alias/same` },
    ]);
    expect(b.keysOf((await b.listKeys()).body).map((k) => k.KeyId)).toEqual([kb]);
    expect((await b.deleteAlias('alias/same')).status).toBe(b.successStatus('delete'));
    expect((await a.describeKey('alias/same')).body.KeyMetadata.KeyId).toBe(ka);
    expect(a.aliasesOf((await a.listAliases()).body)).toHaveLength(1);
  });
});

describe('logs', () => {
  it('never contain a secret, a signature or Basic credentials', async () => {
    await restClient(t.http, uniqueRegion(), {}, ROOT_A).get('/v1/aliases');
    await rpc(t.http, { Action: 'ListAliases' }, { credentials: ROOT_A });
    await t.http.get('/v1/aliases').set('authorization', basicAuth({ ...ROOT_A, secret: 'wrong-secret-marker' }));
    const logs = apps.map((a) => a.logs.text).join('');
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [
      ROOT_A.secret,
      ROOT_B.secret,
      'wrong-secret-marker',
      'sh-secret',
      'secret-of-',
      basicAuth(ROOT_A),
    ]) {
      expect(logs).not.toContain(secret);
    }
    expect(logs).not.toMatch(/Signature=/);
    expect(logs).toContain('"paramNames"');
    expect(logs).toContain('identities loaded');
  });
});
