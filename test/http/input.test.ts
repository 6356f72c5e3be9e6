import { describe, expect, it } from 'vitest';
import { expectError, restClient, rpc } from '../helpers/clients.js';
import { FACES, face } from '../helpers/faces.js';
import { makeApp, uniqueRegion, useTestApp } from '../helpers/test-app.js';

// Input a user gets wrong (issue 14): fields the REST face does not know, and what the RPC
// face does with parameters it does not know.

const t = useTestApp();
const b64 = (text: string) => Buffer.from(text).toString('base64');
const unknown = (name: string, suggestion?: string) =>
  `The specified parameter "${name}" is not valid: this request takes no such field${
    suggestion ? `; did you mean "${suggestion}"?` : ''
  }`;

function setup() {
  const region = uniqueRegion();
  const rest = restClient(t.http, region);
  const count = async () => (await rest.get('/v1/keys')).body.TotalCount as number;
  const newKey = async () => (await rest.post('/v1/keys', {})).body.KeyMetadata.KeyId as string;
  return { region, rest, count, newKey };
}

describe('REST: a field the operation does not take', () => {
  it('is refused naming it, with the known field it misspells, never the value', async () => {
    const { rest, count } = setup();
    for (const [body, name, suggestion] of [
      [{ Descripton: 'typo-marker' }, 'Descripton', 'Description'],
      [{ keyspec: 'RSA_2048' }, 'keyspec', 'KeySpec'],
      [{ KEYUSAGE: 'ENCRYPT/DECRYPT' }, 'KEYUSAGE', 'KeyUsage'],
      [{ Descripton: '' }, 'Descripton', 'Description'],
      [{ Description: 'fine', Colour: 'blue' }, 'Colour', undefined],
    ] as const) {
      const res = await rest.post('/v1/keys', body);
      expect(expectError(res, 400, 'InvalidParameter').Message).toBe(unknown(name, suggestion));
      expect(res.text).not.toContain('marker');
      expect(res.text).not.toContain('RSA_2048');
    }
    expect(await count()).toBe(0);
    expect((await rest.post('/v1/keys', { Description: 'fine' })).status).toBe(201);
  });

  it('is refused in the query string too; RegionId is taken on every route', async () => {
    const { rest, newKey } = setup();
    const keyId = await newKey();
    expect(expectError(await rest.get('/v1/aliases?PageSzie=5'), 400, 'InvalidParameter').Message).toBe(
      unknown('PageSzie', 'PageSize'),
    );
    expect(expectError(await rest.get('/v1/keys?Limit=5'), 400, 'InvalidParameter').Message).toBe(unknown('Limit'));
    expect(expectError(await rest.get(`/v1/keys/${keyId}?Verbose=1`), 400, 'InvalidParameter').Message).toBe(
      unknown('Verbose'),
    );
    expect(expectError(await rest.delete('/v1/aliases/alias%2Fa?force=true'), 400, 'InvalidParameter').Message).toBe(
      unknown('force'),
    );
    // restClient puts RegionId in the query of every request, and every route takes it.
    expect((await rest.get('/v1/aliases?PageSize=5')).status).toBe(200);
    expect((await rest.get(`/v1/keys/${keyId}`)).status).toBe(200);
  });

  it("takes exactly its operation's fields: another operation's field is unknown here", async () => {
    const { rest, newKey } = setup();
    const keyId = await newKey();
    const blob = (await rest.post(`/v1/keys/${keyId}/encrypt`, { Plaintext: b64('x') })).body.CiphertextBlob;
    expect(
      expectError(await rest.post('/v1/decrypt', { CiphertextBlob: blob, Plaintext: 'AA==' }), 400, 'InvalidParameter')
        .Message,
    ).toBe(unknown('Plaintext'));
    expect(
      expectError(await rest.post(`/v1/keys/${keyId}/enable`, { PendingWindowInDays: 7 }), 400, 'InvalidParameter')
        .Message,
    ).toBe(unknown('PendingWindowInDays'));
    // The data key route's plaintext flag is a field of that route only, and case matters.
    const sealed = await rest.post(`/v1/keys/${keyId}/generate-data-key?plaintext=false`, { NumberOfBytes: 16 });
    expect(sealed.status).toBe(200);
    expect(sealed.body.Plaintext).toBeUndefined();
    expect(
      expectError(await rest.post(`/v1/keys/${keyId}/generate-data-key?Plaintext=false`, {}), 400, 'InvalidParameter')
        .Message,
    ).toBe(unknown('Plaintext', 'plaintext'));
    expect(
      expectError(
        await rest.post(`/v1/keys/${keyId}/encrypt?plaintext=false`, { Plaintext: 'AA==' }),
        400,
        'InvalidParameter',
      ).Message,
    ).toBe(unknown('plaintext', 'Plaintext'));
  });

  it('EncryptionContext.<key> is the RPC wire form of the map: on REST it is refused, not read as a context', async () => {
    const { rest, newKey } = setup();
    const keyId = await newKey();
    const flattened =
      'The specified parameter "EncryptionContext.purpose" is not valid: this request takes no such field; "EncryptionContext" takes a JSON object';
    for (const res of [
      await rest.post(`/v1/keys/${keyId}/encrypt`, { Plaintext: b64('x'), 'EncryptionContext.purpose': 'test' }),
      await rest.post(`/v1/keys/${keyId}/encrypt?EncryptionContext.purpose=test`, { Plaintext: b64('x') }),
      await rest.post(`/v1/keys/${keyId}/generate-data-key`, { 'EncryptionContext.purpose': 'test' }),
      await rest.post('/v1/decrypt', { CiphertextBlob: b64('x'.repeat(80)), 'EncryptionContext.purpose': 'test' }),
    ]) {
      expect(expectError(res, 400, 'InvalidParameter').Message).toBe(flattened);
    }
    // The JSON object form binds the context as before.
    const sealed = await rest.post(`/v1/keys/${keyId}/encrypt`, {
      Plaintext: b64('x'),
      EncryptionContext: { purpose: 'test' },
    });
    expect(sealed.status).toBe(200);
    const opened = await rest.post('/v1/decrypt', {
      CiphertextBlob: sealed.body.CiphertextBlob,
      EncryptionContext: { purpose: 'test' },
    });
    expect(opened.body.Plaintext).toBe(b64('x'));
  });

  it('comes after missing and malformed parameters, and a missing one names its misspelling', async () => {
    const { rest, newKey } = setup();
    const keyId = await newKey();
    let res = await rest.post('/v1/aliases', { aliasname: 'alias/x', KeyId: keyId });
    expect(expectError(res, 400, 'MissingParameter').Message).toBe(
      'The parameter "AliasName" is needed but not provided: the request has "aliasname" instead',
    );
    res = await rest.post('/v1/aliases', { AliasName: 'alias/x', Extra: 1 });
    expect(expectError(res, 400, 'MissingParameter').Message).toBe('The parameter "KeyId" is needed but not provided.');
    res = await rest.post('/v1/aliases', { AliasName: 'app', KeyId: keyId, Extra: 1 });
    expect(expectError(res, 400, 'InvalidParameter').Message).toMatch(
      /^The specified parameter "AliasName" is not valid: it must/,
    );
    res = await rest.post('/v1/aliases', { AliasName: 'alias/x', KeyId: keyId, Extra: 1 });
    expect(expectError(res, 400, 'InvalidParameter').Message).toBe(unknown('Extra'));
    // Resolution comes later still: an unknown field on an unknown key is the field.
    res = await rest.post('/v1/keys/no-such-key/enable', { Force: true });
    expect(expectError(res, 400, 'InvalidParameter').Message).toBe(unknown('Force'));
    expect((await rest.get('/v1/aliases')).body.TotalCount).toBe(0);
  });

  it('a field given in two places (body, query, path) is refused rather than one silently winning', async () => {
    const { rest, newKey } = setup();
    const keyId = await newKey();
    const other = await newKey();
    let res = await rest.post(`/v1/keys/${keyId}/encrypt?Plaintext=AA==`, { Plaintext: 'AA==' });
    expect(expectError(res, 400, 'InvalidParameter').Message).toBe(
      'The specified parameter "Plaintext" is not valid: it is given more than once',
    );
    res = await rest.post(`/v1/keys/${keyId}/encrypt`, { KeyId: other, Plaintext: 'AA==' });
    expect(expectError(res, 400, 'InvalidParameter').Message).toBe(
      'The specified parameter "KeyId" is not valid: it is given more than once',
    );
    // One place each is fine.
    res = await rest.post(`/v1/keys/${keyId}/encrypt?Plaintext=AA==`, {});
    expect(res.status).toBe(200);
    expect(res.body.KeyId).toBe(keyId);
  });
});

describe('RPC: a parameter the action does not take', () => {
  it('is ignored, as Alibaba does (documented in the README)', async () => {
    const region = uniqueRegion();
    const res = await rpc(t.http, { Action: 'CreateKey', RegionId: region, Descripton: 'typo', keyspec: 'RSA_2048' });
    expect(res.status).toBe(200);
    expect(res.body.KeyMetadata).toMatchObject({ KeySpec: 'Aliyun_AES_256', Description: '' });
    const listed = await rpc(t.http, { Action: 'ListKeys', RegionId: region, PageSzie: '1', Limit: '1' });
    expect(listed.body).toMatchObject({ TotalCount: 1, PageSize: 10 });
  });
});

describe('RPC: actions', () => {
  it('an action of the KMS API that is not built answers UnsupportedOperation naming it, changing nothing', async () => {
    const region = uniqueRegion();
    for (const Action of ['GetSecretValue', 'CreateSecret', 'TagResources', 'GetKeyPolicy', 'CreateCertificate']) {
      for (const method of ['GET', 'POST'] as const) {
        const res = await rpc(t.http, { Action, RegionId: region, SecretName: 's', KeyId: 'k' }, { method });
        expect(expectError(res, 400, 'UnsupportedOperation').Message).toBe(
          `This operation is not supported: the action "${Action}" is not built in this emulator`,
        );
      }
    }
    expect((await rpc(t.http, { Action: 'ListKeys', RegionId: region })).body.TotalCount).toBe(0);
  });

  it('a name that is no KMS action answers InvalidAction.NotFound, with the action it probably meant', async () => {
    let body = expectError(await rpc(t.http, { Action: 'MakeCoffee' }), 404, 'InvalidAction.NotFound');
    expect(body.Message).toBe('Specified api is not found, please check your url and method.');
    body = expectError(await rpc(t.http, { Action: 'createkey' }), 404, 'InvalidAction.NotFound');
    expect(body.Message).toBe(
      'Specified api is not found, please check your url and method: did you mean "CreateKey"?',
    );
    body = expectError(await rpc(t.http, { Action: 'GetSecretValu' }), 404, 'InvalidAction.NotFound');
    expect(body.Message).toBe(
      'Specified api is not found, please check your url and method: did you mean "GetSecretValue"?',
    );
    // Only a name from the table is ever shown, never the one sent.
    body = expectError(await rpc(t.http, { Action: 'Zq7Xmark' }), 404, 'InvalidAction.NotFound');
    expect(body.Message).not.toContain('Zq7Xmark');
    // The REST face has no actions: its unknown paths stay InvalidApi.NotFound.
    expectError(await restClient(t.http, uniqueRegion()).get('/v1/secrets'), 404, 'InvalidApi.NotFound');
  });

  it('GET / with nothing at all (a browser) answers a pointer to the docs, not a signature error', async () => {
    for (const path of ['/', '/?']) {
      const res = await t.http.get(path).set('Host', 'kms.example.test');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toBe('application/json;charset=utf-8');
      expect(res.body).toEqual({
        RequestId: res.headers['x-acs-request-id'],
        Message:
          'KMS emulator. This endpoint takes requests signed by the Alibaba Cloud SDKs (KMS API 2016-01-20). ' +
          'The REST face is described at /docs; setup and configuration are in the README.',
        Docs: 'http://kms.example.test/docs',
        Errors: 'http://kms.example.test/errors',
        Readme: 'README.md',
      });
    }
    // Anything more is a request: it needs its signature.
    expectError(await t.http.get('/?Action=ListKeys&Version=2016-01-20'), 400, 'IncompleteSignature');
    expectError(await t.http.get('/').set('authorization', 'Basic eDp5'), 400, 'IncompleteSignature');
    expectError(await t.http.post('/'), 400, 'IncompleteSignature');
  });
});

describe('quotas name the setting that raises them', () => {
  it.each(FACES)('CreateKey and CreateAlias past the quota (%s)', async (name) => {
    const small = await makeApp(t.db, { KMS_KEY_QUOTA: '1', KMS_ALIAS_QUOTA: '1' });
    t.extra.push(small);
    const f = face(name, small.http, uniqueRegion());
    const keyId = await f.newKey();
    let body = expectError(await f.createKey(), f.status('Rejected.LimitExceeded'), 'Rejected.LimitExceeded');
    expect(body.Message).toBe(
      'The request was rejected because user create resource limit was exceeded: the key quota of 1 per account and region is reached; KMS_KEY_QUOTA raises it (0: no limit)',
    );
    expect((await f.createAlias('alias/one', keyId)).status).toBe(f.successStatus('create'));
    body = expectError(
      await f.createAlias('alias/two', keyId),
      f.status('Rejected.LimitExceeded'),
      'Rejected.LimitExceeded',
    );
    expect(body.Message).toBe(
      'The request was rejected because user create resource limit was exceeded: the alias quota of 1 per account and region is reached; KMS_ALIAS_QUOTA raises it (0: no limit)',
    );
  });
});
