import { describe, expect, it } from 'vitest';
import { expectError, restClient, rpc, UUID_UPPER } from '../helpers/clients.js';
import { face } from '../helpers/faces.js';
import { uniqueRegion, useTestApp } from '../helpers/test-app.js';

// The wire details of both faces (spec sections 5, 7, 8) and errors raised before a
// route runs.

// Raw requests here test the wire; signatures are tested in auth.test.ts.
const t = useTestApp({ KMS_BODY_LIMIT_BYTES: '4096', KMS_AUTH: 'off' });

describe('RPC face on the wire', () => {
  it('accepts GET, POST with query parameters and POST with a form body alike', async () => {
    const region = uniqueRegion();
    for (const opts of [
      { method: 'GET' as const },
      { method: 'POST' as const },
      { method: 'POST' as const, form: true },
    ]) {
      const res = await rpc(t.http, { Action: 'ListAliases', RegionId: region }, opts);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json;charset=utf-8');
      expect(res.body).toEqual({
        RequestId: expect.stringMatching(UUID_UPPER),
        PageNumber: 1,
        PageSize: 10,
        TotalCount: 0,
        Aliases: { Alias: [] },
      });
      expect(res.headers['x-acs-request-id']).toBe(res.body.RequestId);
    }
  });

  it('merges query and form parameters, and refuses a name given twice', async () => {
    const region = uniqueRegion();
    const merged = await t.http
      .post(`/?Action=ListAliases&Version=2016-01-20&RegionId=${region}`)
      .type('form')
      .send('PageSize=3');
    expect(merged.status).toBe(200);
    expect(merged.body.PageSize).toBe(3);
    const twice = await t.http
      .post(`/?Action=ListAliases&Version=2016-01-20&PageSize=3`)
      .type('form')
      .send('PageSize=4');
    expect(expectError(twice, 400, 'InvalidParameter').Message).toBe(
      'The specified parameter "PageSize" is not valid: it is given more than once',
    );
    const twiceInQuery = await t.http.get('/?Action=ListAliases&Version=2016-01-20&Action=ListKeys');
    expectError(twiceInQuery, 400, 'InvalidParameter');
  });

  it('answers unknown actions, wrong versions and other methods with their codes', async () => {
    let body = expectError(await rpc(t.http, { Action: 'MakeCoffee' }), 404, 'InvalidAction.NotFound');
    expect(body.Message).toBe('Specified api is not found, please check your url and method.');
    body = expectError(await rpc(t.http, { Action: 'ListAliases', Version: '2019-01-01' }), 400, 'InvalidParameter');
    expect(body.Message).toBe('The specified parameter "Action or Version" is not valid: Version must be 2016-01-20');
    expectError(await t.http.get('/?Version=2016-01-20'), 400, 'MissingParameter');
    expectError(await t.http.put('/?Action=ListAliases&Version=2016-01-20'), 403, 'UnsupportedHTTPMethod');
    expectError(await t.http.delete('/?Action=ListAliases&Version=2016-01-20'), 403, 'UnsupportedHTTPMethod');
    expectError(await rpc(t.http, { Action: 'toString' }), 404, 'InvalidAction.NotFound');
    expectError(await rpc(t.http, { Action: '__proto__' }), 404, 'InvalidAction.NotFound');
  });

  it('the error envelope names the host and links the code', async () => {
    const res = await rpc(t.http, { Action: 'DescribeKey', KeyId: 'alias/none' }).set('Host', 'kms.example.test');
    const body = expectError(res, 404, 'Forbidden.AliasNotFound');
    expect(body.HostId).toBe('kms.example.test');
    expect(body.Recommend).toBe('http://kms.example.test/errors#Forbidden.AliasNotFound');
    expect(Object.keys(body).sort()).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
  });

  it('takes the region from RegionId, then a kms.<region> Host, then the default', async () => {
    const region = uniqueRegion();
    const f = face('rpc', t.http, region);
    const k = await f.newKey();
    const viaHost = await t.http
      .get(`/?Action=DescribeKey&Version=2016-01-20&KeyId=${k}`)
      .set('Host', `kms.${region}.aliyuncs.com`);
    expect(viaHost.status).toBe(200);
    expect(viaHost.body.KeyMetadata.Arn).toContain(`:${region}:`);
    // A Host that does not name a region is ignored, not refused.
    const cluster = await t.http
      .get('/?Action=ListKeys&Version=2016-01-20')
      .set('Host', 'kms.default.svc.cluster.local');
    expect(cluster.status).toBe(200);
    const dflt = await face('rpc', t.http, 'cn-hangzhou').createKey();
    expect(dflt.body.KeyMetadata.Arn).toContain(':cn-hangzhou:');
    // V1 does not sign headers: x-acs-region-id is ignored there.
    const ignored = await t.http
      .get(`/?Action=DescribeKey&Version=2016-01-20&KeyId=${k}`)
      .set('x-acs-region-id', 'cn-shanghai');
    expectError(ignored, 404, 'Forbidden.KeyNotFound');
    const why = (name: string) =>
      `The specified parameter "${name}" is not valid: it must look like cn-hangzhou: lowercase letters, then hyphen-separated letters and digits`;
    // A refused region names where it came from (spec section 21.1).
    for (const [res, name] of [
      [await rpc(t.http, { Action: 'ListKeys', RegionId: 'Hangzhou!' }), 'RegionId'],
      [await restClient(t.http, 'Hangzhou!').get('/v1/keys'), 'RegionId'],
      [await t.http.get('/v1/keys').set('x-acs-region-id', 'Hangzhou!'), 'x-acs-region-id'],
    ] as const) {
      expect(expectError(res, 400, 'InvalidParameter').Message).toBe(why(name));
      expect(res.text).not.toContain('Hangzhou!');
    }
  });

  it('ignores common parameters that do not change the answer', async () => {
    const res = await rpc(t.http, {
      Action: 'ListAliases',
      Format: 'XML',
      SignatureType: '',
      AccessKeyId: 'whoever',
      SignatureNonce: 'n',
      RegionId: uniqueRegion(),
    });
    expect(res.status).toBe(200);
  });
});

describe('REST face on the wire', () => {
  it('accepts an encoded alias name, raw slashes, // and a trailing slash', async () => {
    const region = uniqueRegion();
    const rest = restClient(t.http, region);
    const k = (await rest.post('/v1/keys', {})).body.KeyMetadata.KeyId;
    for (const name of ['alias/team/app', 'alias/a//b/', `alias/${'x'.repeat(255)}`]) {
      expect((await rest.post('/v1/aliases', { AliasName: name, KeyId: k })).status).toBe(201);
      const encoded = await rest.get(`/v1/aliases/${encodeURIComponent(name)}`);
      expect(encoded.status).toBe(200);
      expect(encoded.body.Alias.AliasName).toBe(name);
      const raw = await rest.get(`/v1/aliases/${name}`);
      expect(raw.status).toBe(200);
      expect(raw.body.Alias.AliasName).toBe(name);
    }
    // An alias ARN in one (encoded) path segment of a key route.
    const arn = `acs:kms:${region}:1234567890123456:alias/team/app`;
    const byArn = await rest.get(`/v1/keys/${encodeURIComponent(arn)}`);
    expect(byArn.status).toBe(200);
    expect(byArn.body.KeyMetadata.KeyId).toBe(k);
    const put = await rest.put('/v1/aliases/alias/a//b/', { KeyId: k });
    expect(put.status).toBe(200);
    expect(put.body.Alias.AliasName).toBe('alias/a//b/');
    expect((await rest.delete('/v1/aliases/alias/a//b/')).status).toBe(204);
    expectError(await rest.get('/v1/aliases/alias/a//b/'), 404, 'Forbidden.AliasNotFound');
    expect((await rest.get('/v1/aliases/alias/team/app')).status).toBe(200);
  });

  it('a POST without a body is a request without fields, not a malformed one', async () => {
    const res = await t.http.post(`/v1/keys?RegionId=${uniqueRegion()}`);
    expect(res.status).toBe(201);
    expect(res.body.KeyMetadata.KeyState).toBe('Enabled');
    expectError(await t.http.post('/v1/aliases'), 400, 'MissingParameter');
  });

  it('takes the region from the x-acs-region-id header too, and refuses it in the body', async () => {
    const region = uniqueRegion();
    const created = await t.http.post('/v1/keys').set('x-acs-region-id', region).send({});
    expect(created.status).toBe(201);
    expect(created.body.KeyMetadata.Arn).toContain(`:${region}:`);
    // A RegionId in the body used to be ignored silently (the key went to another region).
    const inBody = await t.http.post('/v1/keys').set('x-acs-region-id', region).send({ RegionId: 'cn-beijing' });
    expect(expectError(inBody, 400, 'InvalidParameter').Message).toBe(
      'The specified parameter "RegionId" is not valid: on REST the region goes in the query string or the x-acs-region-id header',
    );
    expect((await restClient(t.http, region).get('/v1/keys')).body.TotalCount).toBe(1);
  });

  it('answers an unknown path with InvalidApi.NotFound', async () => {
    expectError(await t.http.get('/v1/nothing-here'), 404, 'InvalidApi.NotFound');
    expectError(await t.http.get('/v2/keys'), 404, 'InvalidApi.NotFound');
    expectError(await t.http.delete('/v1/keys'), 404, 'InvalidApi.NotFound');
  });

  it('answers transport errors with InvalidParameter: bad JSON, wrong type, non-object, oversized', async () => {
    const bad = await t.http.post('/v1/aliases').set('content-type', 'application/json').send('{"AliasName":');
    expect(expectError(bad, 400, 'InvalidParameter').Message).toBe('The specified parameter "Body" is not valid.');
    expectError(
      await t.http.post('/v1/aliases').set('content-type', 'application/xml').send('<a/>'),
      400,
      'InvalidParameter',
    );
    expectError(await t.http.post('/v1/aliases').set('content-type', 'text/plain').send('hi'), 400, 'InvalidParameter');
    expectError(await t.http.post('/v1/aliases').send([1, 2]), 400, 'InvalidParameter');
    expectError(
      await t.http.post('/v1/aliases').set('content-type', 'application/json').send('"str"'),
      400,
      'InvalidParameter',
    );
    const proto = await t.http
      .post('/v1/aliases')
      .set('content-type', 'application/json')
      .send('{"__proto__":{"x":1}}');
    expectError(proto, 400, 'InvalidParameter');
    const big = await t.http.post('/v1/aliases').send({ AliasName: 'alias/x', KeyId: 'k'.repeat(5000) });
    expectError(big, 400, 'InvalidParameter');
    const deep = await t.http
      .post('/v1/aliases')
      .set('content-type', 'application/json')
      .send(`${'['.repeat(1500)}${']'.repeat(1500)}`);
    expectError(deep, 400, 'InvalidParameter');
  });

  it('rejects wrong JSON types per field without echoing the value', async () => {
    const rest = restClient(t.http, uniqueRegion());
    const body = expectError(
      await rest.post('/v1/aliases', { AliasName: { $ne: 1 }, KeyId: 'x' }),
      400,
      'InvalidParameter',
    );
    expect(body.Message).toBe(
      'The specified parameter "AliasName" is not valid: it must start with alias/ followed by 1 to 255 of A-Z a-z 0-9 _ - /',
    );
    expectError(await rest.get('/v1/aliases?PageSize=5&PageSize=6'), 400, 'InvalidParameter');
    expect((await rest.post('/v1/keys', { Description: 'secret-marker-123' })).status).toBe(201);
    const long = expectError(
      await rest.post('/v1/keys', { Description: `secret-marker-456${'x'.repeat(8200)}` }),
      400,
      'InvalidParameter',
    );
    expect(JSON.stringify(long)).not.toContain('secret-marker-456');
  });

  it('oversized headers get the contract envelope; SDK-sized URLs pass', async () => {
    const region = uniqueRegion();
    const ok = await t.http.get(`/?Action=ListAliases&Version=2016-01-20&RegionId=${region}&Pad=${'A'.repeat(20_000)}`);
    expect(ok.status).toBe(200);
    const res = await t.http.get(`/?Action=ListAliases&Version=2016-01-20&Pad=${'A'.repeat(70_000)}`);
    expect(res.status).toBe(400);
    expect(res.body.Code).toBe('InvalidParameter');
  });

  it('health routes need nothing and say nothing about the data', async () => {
    expect((await t.http.get('/health/live')).body).toEqual({ status: 'ok' });
    expect((await t.http.get('/health/ready')).body).toEqual({ status: 'ok', database: 'up', migrations: 'applied' });
    const errors = await t.http.get('/errors');
    expect(errors.status).toBe(200);
    expect(errors.text).toContain('id="Forbidden.AliasNotFound"');
    // Each code says when it is answered, the codes whose behaviour issue 14 changed included.
    expect(errors.text).toContain('A method other than GET or POST on / (HEAD included): nothing runs.');
    expect(errors.text).toContain('an action of the KMS API 2016-01-20 that is not built here');
    expect(errors.text).toContain('on REST a field the operation does not take');
    expect(errors.text).toContain('names the setting that raises it (KMS_KEY_QUOTA, KMS_ALIAS_QUOTA)');
  });
});
