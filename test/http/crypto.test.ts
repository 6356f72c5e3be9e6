import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptWithKey, parseCiphertextBlob } from '../../src/domain/crypto/ciphertext.js';
import { unwrapKeyMaterial } from '../../src/domain/crypto/master-key.js';
import { materialAad } from '../../src/domain/keys/key-material.js';
import {
  basicAuth,
  type Credentials,
  DEV_CREDENTIALS,
  expectError,
  restClient,
  rpc,
  UUID_UPPER,
} from '../helpers/clients.js';
import { type ContextArg, FACES, type FaceName, face } from '../helpers/faces.js';
import { allow, ramApp as makeRamApp, type PolicyStatement, ramUser } from '../helpers/ram.js';
import { makeApp, TEST_MASTER_KEY, uniqueAccount, uniqueRegion, useTestApp } from '../helpers/test-app.js';

// Encrypt, Decrypt, GenerateDataKey and GenerateDataKeyWithoutPlaintext (spec section 4)
// through HTTP on both faces, against a real database.

const t = useTestApp();
const ACCOUNT = '1234567890123456';
const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64');
const unb64 = (text: string) => Buffer.from(text, 'base64');
/** The full message of an InvalidParameter, with the reason the service gives for it. */
const invalid = (name: keyof typeof WHY | 'CiphertextBlobSyntax') =>
  `The specified parameter "${name === 'CiphertextBlobSyntax' ? 'CiphertextBlob' : name}" is not valid: ${
    name === 'CiphertextBlobSyntax' ? 'it must be standard Base64 of a blob from Encrypt or GenerateDataKey' : WHY[name]
  }`;
const WHY = {
  CiphertextBlob: 'it is not a blob from Encrypt or GenerateDataKey that decrypts here with this EncryptionContext',
  EncryptionContext: 'it must be a JSON object of at most 8192 bytes mapping non-empty keys to string values',
  Plaintext: 'it must be standard Base64 of at most 6144 bytes',
  NumberOfBytes: 'it must be a whole number from 1 to 1024',
  KeySpec: 'it must be one of AES_256, AES_128',
};

async function setup(name: FaceName, http = t.http) {
  const region = uniqueRegion();
  const f = face(name, http, region);
  const keyId = await f.newKey();
  expect((await f.createAlias('alias/app', keyId)).status).toBe(f.successStatus('create'));
  const described = await f.describeKey(keyId);
  return { region, f, keyId, version: described.body.KeyMetadata.PrimaryKeyVersion as string };
}

describe.each(FACES)('crypto through the %s face', (name) => {
  const identifiers = (region: string, keyId: string) => [
    keyId,
    `acs:kms:${region}:${ACCOUNT}:key/${keyId}`,
    'alias/app',
    `acs:kms:${region}:${ACCOUNT}:alias/app`,
  ];

  it('encrypts through key id, key ARN, alias name and alias ARN; KeyId is always the key', async () => {
    const { region, f, keyId, version } = await setup(name);
    for (const id of identifiers(region, keyId)) {
      const plaintext = b64(`secret for ${id}`);
      const res = await f.encrypt(id, plaintext);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({
        RequestId: expect.stringMatching(UUID_UPPER),
        CiphertextBlob: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
        KeyId: keyId,
        KeyVersionId: version,
      });
      const opened = await f.decrypt(res.body.CiphertextBlob);
      expect(opened.status).toBe(200);
      expect(opened.body).toEqual({
        RequestId: expect.stringMatching(UUID_UPPER),
        Plaintext: plaintext,
        KeyId: keyId,
        KeyVersionId: version,
      });
    }
  });

  it('generates data keys through all four identifier forms, with and without plaintext', async () => {
    const { region, f, keyId, version } = await setup(name);
    for (const id of identifiers(region, keyId)) {
      const res = await f.generateDataKey(id);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        RequestId: expect.stringMatching(UUID_UPPER),
        CiphertextBlob: expect.any(String),
        Plaintext: expect.any(String),
        KeyId: keyId,
        KeyVersionId: version,
      });
      expect(unb64(res.body.Plaintext)).toHaveLength(32);
      const opened = await f.decrypt(res.body.CiphertextBlob);
      expect(opened.body).toMatchObject({ Plaintext: res.body.Plaintext, KeyId: keyId, KeyVersionId: version });

      const sealed = await f.generateDataKey(id, {}, false);
      expect(sealed.status).toBe(200);
      expect(sealed.body).toEqual({
        RequestId: expect.stringMatching(UUID_UPPER),
        CiphertextBlob: expect.any(String),
        KeyId: keyId,
        KeyVersionId: version,
      });
      const key = await f.decrypt(sealed.body.CiphertextBlob);
      expect(key.status).toBe(200);
      expect(unb64(key.body.Plaintext)).toHaveLength(32);
    }
  });

  it('an identifier of another account or region is not found', async () => {
    const { region, f, keyId } = await setup(name);
    for (const [id, code] of [
      [`acs:kms:cn-elsewhere:${ACCOUNT}:alias/app`, 'Forbidden.AliasNotFound'],
      [`acs:kms:${region}:9999999999999999:alias/app`, 'Forbidden.AliasNotFound'],
      [`acs:kms:cn-elsewhere:${ACCOUNT}:key/${keyId}`, 'Forbidden.KeyNotFound'],
      [`acs:kms:${region}:9999999999999999:key/${keyId}`, 'Forbidden.KeyNotFound'],
      ['alias/none', 'Forbidden.AliasNotFound'],
      ['00000000-0000-4000-8000-000000000000', 'Forbidden.KeyNotFound'],
    ] as const) {
      expect(expectError(await f.encrypt(id, b64('x')), 404, code).Message).toMatch(/is not found\.$/);
      expectError(await f.generateDataKey(id), 404, code);
      expectError(await f.generateDataKey(id, {}, false), 404, code);
    }
    const other = face(name, t.http, uniqueRegion());
    expectError(await other.encrypt('alias/app', b64('x')), 404, 'Forbidden.AliasNotFound');
    expectError(await other.encrypt(keyId, b64('x')), 404, 'Forbidden.KeyNotFound');
  });

  it('a ciphertext of another region or account does not decrypt there', async () => {
    const { region, f } = await setup(name);
    const blob = (await f.encrypt('alias/app', b64('regional'))).body.CiphertextBlob;
    const elsewhere = face(name, t.http, uniqueRegion());
    expect(expectError(await elsewhere.decrypt(blob), 400, 'InvalidParameter').Message).toBe(invalid('CiphertextBlob'));
    // Same region, same access key, another account.
    const otherAccount = await makeApp(t.db, { KMS_ACCOUNT_ID: uniqueAccount() });
    t.extra.push(otherAccount);
    const stranger = face(name, otherAccount.http, region);
    expectError(await stranger.decrypt(blob), 400, 'InvalidParameter');
    expectError(
      await stranger.encrypt(`acs:kms:${region}:${ACCOUNT}:alias/app`, b64('x')),
      404,
      'Forbidden.AliasNotFound',
    );
    expect((await f.decrypt(blob)).body.Plaintext).toBe(b64('regional'));
  });

  it('uses a fresh IV: the same plaintext never gives the same blob', async () => {
    const { f } = await setup(name);
    const blobs = new Set<string>();
    for (let i = 0; i < 5; i++) blobs.add((await f.encrypt('alias/app', b64('same'))).body.CiphertextBlob);
    expect(blobs.size).toBe(5);
  });

  it('refuses a ciphertext with any single byte flipped', async () => {
    const { f } = await setup(name);
    const blob = unb64((await f.encrypt('alias/app', b64('flip me'), { purpose: 'test' })).body.CiphertextBlob);
    expect(blob.length).toBe(65 + 7);
    for (let i = 0; i < blob.length; i++) {
      const tampered = Buffer.from(blob);
      tampered[i]! ^= 0x01;
      const res = await f.decrypt(b64(tampered), { purpose: 'test' });
      if (res.status !== 400 || res.body.Code !== 'InvalidParameter') {
        throw new Error(`byte ${i} flipped: ${res.status} ${JSON.stringify(res.body)}`);
      }
      expect(res.body.Message).toBe(invalid('CiphertextBlob'));
    }
    expect((await f.decrypt(b64(blob), { purpose: 'test' })).body.Plaintext).toBe(b64('flip me'));
  });

  it('refuses a truncated or extended ciphertext and text that is not strict Base64', async () => {
    const { f } = await setup(name);
    const blob = unb64((await f.encrypt('alias/app', b64('truncate me'))).body.CiphertextBlob);
    for (const cut of [1, 4, 21, 37, 49, 64, 65, blob.length - 1]) {
      expectError(await f.decrypt(b64(blob.subarray(0, cut))), 400, 'InvalidParameter');
    }
    expectError(await f.decrypt(b64(Buffer.concat([blob, Buffer.from([0])]))), 400, 'InvalidParameter');
    const text = b64(blob);
    for (const bad of [
      `${text}\n`,
      text.replaceAll('+', '-').replaceAll('/', '_'),
      `${text}=`,
      '!!!!',
      'A'.repeat(9000),
    ]) {
      if (bad === text) continue;
      expect(expectError(await f.decrypt(bad), 400, 'InvalidParameter').Message).toBe(invalid('CiphertextBlobSyntax'));
    }
    expect(expectError(await f.decrypt(undefined), 400, 'MissingParameter').Message).toBe(
      'The parameter "CiphertextBlob" is needed but not provided.',
    );
  });

  it('binds the encryption context: a wrong, missing or extra entry is refused, key order is not', async () => {
    const { f } = await setup(name);
    const context = { tenant: 'acme', purpose: 'backup', é: 'ü' };
    const blob = (await f.encrypt('alias/app', b64('bound'), context)).body.CiphertextBlob;
    const wrongs: ContextArg[] = [
      undefined,
      {},
      { tenant: 'acme', purpose: 'backup' },
      { tenant: 'acme', purpose: 'restore', é: 'ü' },
      { tenant: 'acme', purpose: 'backup', é: 'ü', extra: '' },
      { Tenant: 'acme', purpose: 'backup', é: 'ü' },
    ];
    for (const wrong of wrongs) {
      expect(expectError(await f.decrypt(blob, wrong), 400, 'InvalidParameter').Message).toBe(
        invalid('CiphertextBlob'),
      );
    }
    const reordered = await f.decrypt(blob, { é: 'ü', purpose: 'backup', tenant: 'acme' });
    expect(reordered.status).toBe(200);
    expect(reordered.body.Plaintext).toBe(b64('bound'));
    // The JSON text form works on REST too, and a context made without one refuses any.
    expect((await f.decrypt(blob, JSON.stringify(context))).body.Plaintext).toBe(b64('bound'));
    const plain = (await f.encrypt('alias/app', b64('unbound'))).body.CiphertextBlob;
    expectError(await f.decrypt(plain, { tenant: 'acme' }), 400, 'InvalidParameter');
  });

  it('treats an empty context as absent', async () => {
    const { f } = await setup(name);
    const withEmpty = (await f.encrypt('alias/app', b64('empty'), {})).body.CiphertextBlob;
    expect((await f.decrypt(withEmpty)).body.Plaintext).toBe(b64('empty'));
    const without = (await f.encrypt('alias/app', b64('none'))).body.CiphertextBlob;
    expect((await f.decrypt(without, {})).body.Plaintext).toBe(b64('none'));
    expect((await f.decrypt(without, '{}')).body.Plaintext).toBe(b64('none'));
    const dataKey = await f.generateDataKey('alias/app', { EncryptionContext: {} });
    expect((await f.decrypt(dataKey.body.CiphertextBlob)).body.Plaintext).toBe(dataKey.body.Plaintext);
  });

  it('refuses a malformed context before looking up the key', async () => {
    const { f } = await setup(name);
    for (const bad of ['not json', '[]', '"text"', '{"a":1}', '{"":"x"}', '{"a":{"b":"c"}}', 'null']) {
      expect(expectError(await f.encrypt('alias/app', b64('x'), bad), 400, 'InvalidParameter').Message).toBe(
        invalid('EncryptionContext'),
      );
      expectError(await f.encrypt('alias/missing', b64('x'), bad), 400, 'InvalidParameter');
      expectError(await f.generateDataKey('alias/app', { EncryptionContext: bad }), 400, 'InvalidParameter');
      expectError(await f.decrypt(b64(randomBytes(80)), bad), 400, 'InvalidParameter');
    }
    expectError(await f.encrypt('alias/app', b64('x'), { big: 'x'.repeat(8190) }), 400, 'InvalidParameter');
  });

  it('takes Plaintext as strict standard Base64 of at most 6144 bytes', async () => {
    const { f } = await setup(name);
    for (const bad of ['YQ', 'YQ=', 'YQ==\n', ' YQ==', 'YQ==YQ==', 'QR==', '-_-_', '@@@@', 'a'.repeat(9000)]) {
      expect(expectError(await f.encrypt('alias/app', bad), 400, 'InvalidParameter').Message).toBe(
        invalid('Plaintext'),
      );
    }
    expectError(await f.encrypt('alias/app', b64(randomBytes(6145))), 400, 'InvalidParameter');
    const largest = b64(randomBytes(6144));
    const res = await f.encrypt('alias/app', largest);
    expect(res.status).toBe(200);
    expect((await f.decrypt(res.body.CiphertextBlob)).body.Plaintext).toBe(largest);
    const oneByte = await f.encrypt('alias/app', 'AA==');
    expect((await f.decrypt(oneByte.body.CiphertextBlob)).body.Plaintext).toBe('AA==');
  });

  it('reports missing parameters first, then syntax, then resolution', async () => {
    const { f } = await setup(name);
    const missing = (res: Parameters<typeof expectError>[0]) => expectError(res, 400, 'MissingParameter').Message;
    expect(missing(await f.encrypt('alias/app', undefined))).toBe(
      'The parameter "Plaintext" is needed but not provided.',
    );
    expect(missing(await f.encrypt('alias/app', ''))).toBe('The parameter "Plaintext" is needed but not provided.');
    // Syntax of a present parameter never hides a missing one.
    expect(missing(await f.encrypt('alias/app', undefined, 'not json'))).toBe(
      'The parameter "Plaintext" is needed but not provided.',
    );
    expect(expectError(await f.encrypt('alias/missing', '***'), 400, 'InvalidParameter').Message).toBe(
      invalid('Plaintext'),
    );
    expect(
      expectError(await f.generateDataKey('alias/missing', { NumberOfBytes: 0 }), 400, 'InvalidParameter').Message,
    ).toBe(invalid('NumberOfBytes'));
    expectError(await f.encrypt('alias/missing', b64('x')), 404, 'Forbidden.AliasNotFound');
  });

  it('sizes data keys: NumberOfBytes 1..1024 wins over KeySpec, AES_256 is 32 bytes, AES_128 16', async () => {
    const { f } = await setup(name);
    const size = async (p: Parameters<typeof f.generateDataKey>[1]) => {
      const res = await f.generateDataKey('alias/app', p);
      expect(res.status).toBe(200);
      const opened = await f.decrypt(res.body.CiphertextBlob);
      expect(opened.body.Plaintext).toBe(res.body.Plaintext);
      return unb64(res.body.Plaintext).length;
    };
    expect(await size({})).toBe(32);
    expect(await size({ KeySpec: 'AES_256' })).toBe(32);
    expect(await size({ KeySpec: 'AES_128' })).toBe(16);
    expect(await size({ NumberOfBytes: 1 })).toBe(1);
    expect(await size({ NumberOfBytes: 1024 })).toBe(1024);
    expect(await size({ NumberOfBytes: '64' })).toBe(64);
    expect(await size({ KeySpec: 'AES_128', NumberOfBytes: 48 })).toBe(48);
    for (const [p, param] of [
      [{ NumberOfBytes: 0 }, 'NumberOfBytes'],
      [{ NumberOfBytes: 1025 }, 'NumberOfBytes'],
      [{ NumberOfBytes: '-1' }, 'NumberOfBytes'],
      [{ NumberOfBytes: '1e2' }, 'NumberOfBytes'],
      [{ KeySpec: 'AES_512' }, 'KeySpec'],
      [{ KeySpec: 'aes_256' }, 'KeySpec'],
    ] as const) {
      expect(expectError(await f.generateDataKey('alias/app', p), 400, 'InvalidParameter').Message).toBe(
        invalid(param),
      );
      expectError(await f.generateDataKey('alias/app', p, false), 400, 'InvalidParameter');
    }
    const sealed = await f.generateDataKey('alias/app', { KeySpec: 'AES_128' }, false);
    expect(sealed.body.Plaintext).toBeUndefined();
    expect(unb64((await f.decrypt(sealed.body.CiphertextBlob)).body.Plaintext)).toHaveLength(16);
  });

  it('DryRun=true runs every check, then answers DryRunOperationError and returns nothing', async () => {
    const { region, keyId, f } = await setup(name);
    const rest = restClient(t.http, region);
    const call = (action: string, params: Record<string, string>, restPath: string, body: Record<string, unknown>) =>
      name === 'rpc'
        ? rpc(t.http, { Action: action, RegionId: region, ...params, DryRun: 'true' })
        : rest.post(restPath, { ...body, DryRun: true });
    const blob = (await f.encrypt('alias/app', 'AA==', { a: 'b' })).body.CiphertextBlob as string;
    const cases: Array<[string, Record<string, string>, string, Record<string, unknown>]> = [
      ['Encrypt', { KeyId: 'alias/app', Plaintext: 'AA==' }, '/v1/keys/alias%2Fapp/encrypt', { Plaintext: 'AA==' }],
      ['GenerateDataKey', { KeyId: 'alias/app' }, '/v1/keys/alias%2Fapp/generate-data-key', {}],
      ['GenerateDataKeyWithoutPlaintext', { KeyId: keyId }, `/v1/keys/${keyId}/generate-data-key?plaintext=false`, {}],
      [
        'Decrypt',
        { CiphertextBlob: blob, EncryptionContext: '{"a":"b"}' },
        '/v1/decrypt',
        { CiphertextBlob: blob, EncryptionContext: { a: 'b' } },
      ],
    ];
    for (const [action, params, path, body] of cases) {
      const res = await call(action, params, path, body);
      const env = expectError(res, 400, 'DryRunOperationError');
      expect(env.Message).toBe('The request would have succeeded if the DryRun parameter was not specified.');
      expect(res.body.CiphertextBlob).toBeUndefined();
      expect(res.body.Plaintext).toBeUndefined();
    }
    // The checks before it still answer their own codes: a wrong context, a disabled key.
    expectError(
      await call('Decrypt', { CiphertextBlob: blob, EncryptionContext: '{"a":"c"}' }, '/v1/decrypt', {
        CiphertextBlob: blob,
        EncryptionContext: { a: 'c' },
      }),
      400,
      'InvalidParameter',
    );
    expect((await f.disableKey(keyId)).status).toBe(200);
    expectError(await call(...cases[0]!), 409, 'Rejected.Disabled');
    // Only true or false (RPC) / a boolean (REST); false does the work.
    expect((await f.enableKey(keyId)).status).toBe(200);
    const encryptWithDryRun = (rpcValue: string, restValue: string | boolean) =>
      name === 'rpc'
        ? rpc(t.http, { Action: 'Encrypt', RegionId: region, KeyId: 'alias/app', Plaintext: 'AA==', DryRun: rpcValue })
        : rest.post('/v1/keys/alias%2Fapp/encrypt', { Plaintext: 'AA==', DryRun: restValue });
    const bad = await encryptWithDryRun('yes', 'yes');
    expect(expectError(bad, 400, 'InvalidParameter').Message).toContain('"DryRun"');
    const real = await encryptWithDryRun('false', false);
    expect(real.status).toBe(200);
    expect(real.body.CiphertextBlob).toBeTypeOf('string');
  });
});

describe('the RPC face takes both encryption context encodings', () => {
  const call = (region: string, params: Record<string, string | undefined>, method: 'GET' | 'POST' = 'POST') =>
    rpc(t.http, { RegionId: region, ...params }, { method });

  it('the flattened form EncryptionContext.<k>=<v> equals the JSON form', async () => {
    const { region, f } = await setup('rpc');
    const context = { b: 'two', a: 'one', 'x.y': 'dot', é: 'ü' };
    const flat = Object.fromEntries(Object.entries(context).map(([k, v]) => [`EncryptionContext.${k}`, v]));

    const byFlat = await call(region, { Action: 'Encrypt', KeyId: 'alias/app', Plaintext: b64('flat'), ...flat });
    expect(byFlat.status).toBe(200);
    const opened = await f.decrypt(byFlat.body.CiphertextBlob, { 'x.y': 'dot', a: 'one', é: 'ü', b: 'two' });
    expect(opened.body.Plaintext).toBe(b64('flat'));
    expectError(await f.decrypt(byFlat.body.CiphertextBlob), 400, 'InvalidParameter');

    const byJson = await f.encrypt('alias/app', b64('json'), context);
    const reversed = Object.fromEntries(Object.entries(flat).reverse());
    const back = await call(
      region,
      { Action: 'Decrypt', CiphertextBlob: byJson.body.CiphertextBlob, ...reversed },
      'GET',
    );
    expect(back.status).toBe(200);
    expect(back.body.Plaintext).toBe(b64('json'));

    // And on the REST face, as a JSON object.
    const rest = face('rest', t.http, region);
    expect((await rest.decrypt(byFlat.body.CiphertextBlob, context)).body.Plaintext).toBe(b64('flat'));

    const dataKey = await call(region, { Action: 'GenerateDataKey', KeyId: 'alias/app', ...flat });
    expect((await f.decrypt(dataKey.body.CiphertextBlob, context)).body.Plaintext).toBe(dataKey.body.Plaintext);
  });

  it('refuses both forms in one request, even when they agree', async () => {
    const { region } = await setup('rpc');
    const both = { EncryptionContext: '{"a":"1"}', 'EncryptionContext.a': '1' };
    for (const params of [
      { Action: 'Encrypt', KeyId: 'alias/app', Plaintext: b64('x'), ...both },
      { Action: 'GenerateDataKey', KeyId: 'alias/app', ...both },
      { Action: 'GenerateDataKeyWithoutPlaintext', KeyId: 'alias/app', ...both },
      { Action: 'Decrypt', CiphertextBlob: b64(randomBytes(80)), ...both },
    ]) {
      expect(expectError(await call(region, params), 400, 'InvalidParameter').Message).toBe(
        'The specified parameter "EncryptionContext" is not valid: give it in one form only, the JSON text or EncryptionContext.<key> parameters',
      );
    }
  });

  it('a malformed flattened context is InvalidParameter, never MissingParameter', async () => {
    const { region } = await setup('rpc');
    for (const flat of [{ 'EncryptionContext.': 'no key' }, { 'EncryptionContext.big': 'x'.repeat(8200) }]) {
      const res = await call(region, { Action: 'Encrypt', KeyId: 'alias/app', Plaintext: b64('x'), ...flat });
      expect(expectError(res, 400, 'InvalidParameter').Message).toBe(invalid('EncryptionContext'));
    }
    // Missing parameters still come first.
    const res = await call(region, { Action: 'Encrypt', KeyId: 'alias/app', 'EncryptionContext.': 'x' });
    expect(expectError(res, 400, 'MissingParameter').Message).toBe(
      'The parameter "Plaintext" is needed but not provided.',
    );
  });

  // `EncryptionContext.k=` is the entry k with an empty value, not an absent parameter.
  it('keeps a flattened entry with an empty value', async () => {
    const { region, f } = await setup('rpc');
    const res = await call(region, {
      Action: 'Encrypt',
      KeyId: 'alias/app',
      Plaintext: b64('e'),
      'EncryptionContext.k': '',
    });
    expect(res.status).toBe(200);
    expect((await f.decrypt(res.body.CiphertextBlob, { k: '' })).body.Plaintext).toBe(b64('e'));
  });
});

describe.each(FACES)('RAM on the crypto operations (%s face)', (name) => {
  const user = (n: string): Credentials => ramUser('CRYPTO', n);
  const ramApp = (users: Record<string, PolicyStatement[]>) => makeRamApp(t, ACCOUNT, 'CRYPTO', users);

  it('checks kms:<Operation> on the key ARN only, also when an alias names the key, before the key state', async () => {
    const { region, f, keyId } = await setup(name);
    const disabled = await f.newKey();
    await f.createAlias('alias/off', disabled);
    const offBlob = (await f.encrypt(disabled, b64('off'))).body.CiphertextBlob;
    await f.disableKey(disabled);
    const blob = (await f.encrypt(keyId, b64('guarded'))).body.CiphertextBlob;
    const keyArn = `acs:kms:*:${ACCOUNT}:key/${keyId}`;
    const app = await ramApp({
      sealer: [allow(['kms:Encrypt', 'kms:GenerateDataKeyWithoutPlaintext'], keyArn)],
      'alias-only': [allow(['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey'], `acs:kms:*:${ACCOUNT}:alias/*`)],
      opener: [allow('kms:Decrypt', `acs:kms:*:${ACCOUNT}:key/*`)],
    });
    const as = (n: string) => face(name, app.http, region, {}, user(n));
    const denied = (res: Parameters<typeof expectError>[0], action: string, principal: string) =>
      expect(expectError(res, 403, 'Forbidden.NoPermission').AccessDeniedDetail).toEqual({
        AuthAction: action,
        AuthPrincipalType: 'SubUser',
        AuthPrincipalDisplayName: principal,
        NoPermissionType: 'ImplicitDeny',
      });

    const sealer = as('sealer');
    for (const id of [keyId, 'alias/app', `acs:kms:${region}:${ACCOUNT}:alias/app`]) {
      expect((await sealer.encrypt(id, b64('ok'))).body.KeyId).toBe(keyId);
      expect((await sealer.generateDataKey(id, {}, false)).status).toBe(200);
      denied(await sealer.generateDataKey(id), 'kms:GenerateDataKey', 'sealer');
    }
    denied(await sealer.decrypt(blob), 'kms:Decrypt', 'sealer');
    // Resolution comes before RAM, RAM before the key state.
    expectError(await sealer.encrypt('alias/none', b64('x')), 404, 'Forbidden.AliasNotFound');
    denied(await sealer.encrypt('alias/off', b64('x')), 'kms:Encrypt', 'sealer');
    // A bad blob is a syntax error, found before RAM.
    expectError(await sealer.decrypt(b64(randomBytes(70))), 400, 'InvalidParameter');

    const aliasOnly = as('alias-only');
    denied(await aliasOnly.encrypt('alias/app', b64('x')), 'kms:Encrypt', 'alias-only');
    denied(await aliasOnly.generateDataKey('alias/app'), 'kms:GenerateDataKey', 'alias-only');
    denied(await aliasOnly.decrypt(blob), 'kms:Decrypt', 'alias-only');

    const opener = as('opener');
    expect((await opener.decrypt(blob)).body.Plaintext).toBe(b64('guarded'));
    expectError(await opener.decrypt(offBlob), 409, 'Rejected.Disabled');
  });
});

describe('key material and secrets', () => {
  it('the database holds key material only wrapped under the master key', async () => {
    const { region, f, keyId, version } = await setup('rest');
    const blob = unb64((await f.encrypt(keyId, b64('proof'))).body.CiphertextBlob);
    const { rows } = await t.db.query<Record<string, unknown>>(
      'SELECT * FROM key_versions WHERE account_id = $1 AND region = $2',
      [ACCOUNT, region],
    );
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    const wrapped = Buffer.from(row.wrapped_material as Uint8Array);
    const masterKey = unb64(TEST_MASTER_KEY);
    const material = unwrapKeyMaterial(masterKey, wrapped, materialAad(keyId, version));
    expect(material).toHaveLength(32);
    // It is the real material: it opens the ciphertext the service made.
    expect(decryptWithKey(parseCiphertextBlob(blob), material, Buffer.alloc(0)).toString()).toBe('proof');
    // ...and it appears nowhere in the stored rows, in any encoding.
    const keyRows = await t.db.query<Record<string, unknown>>('SELECT * FROM keys WHERE region = $1', [region]);
    const stored = Buffer.concat(
      [...rows, ...keyRows.rows].flatMap((r) =>
        Object.values(r).map((v) =>
          v instanceof Uint8Array ? Buffer.from(v) : Buffer.from(v instanceof Date ? v.toISOString() : String(v)),
        ),
      ),
    );
    for (const form of [material, Buffer.from(material.toString('hex')), Buffer.from(b64(material))]) {
      expect(stored.indexOf(form)).toBe(-1);
    }
    expect(wrapped.indexOf(material.subarray(0, 8))).toBe(-1);
    // Unwrapping needs the master key.
    expect(() => unwrapKeyMaterial(randomBytes(32), wrapped, materialAad(keyId, version))).toThrow();
    expect(() => unwrapKeyMaterial(masterKey, wrapped, materialAad(keyId, randomUUIDLike()))).toThrow();
  });

  it('a corrupted wrapped material row is an InternalFailure that says nothing', async () => {
    const { region, f, keyId } = await setup('rpc');
    const blob = (await f.encrypt(keyId, b64('before'))).body.CiphertextBlob;
    await t.db.query(
      `UPDATE key_versions SET wrapped_material = $1 WHERE account_id = $2 AND region = $3 AND key_id = $4`,
      [randomBytes(61), ACCOUNT, region, keyId],
    );
    for (const res of [await f.encrypt(keyId, b64('after')), await f.decrypt(blob)]) {
      const body = expectError(res, 500, 'InternalFailure');
      expect(body.Message).toBe('An internal error occurred. Please try again later.');
      expect(res.text).not.toMatch(/wrapped|master|stack|authenticate/i);
    }
  });

  it('a plaintext and a data key never reach the logs or an error body', async () => {
    const marker = `MARKER-${randomBytes(8).toString('hex')}`;
    const markerB64 = b64(marker);
    const { region, f } = await setup('rpc');
    const rest = face('rest', t.http, region);
    const errors: string[] = [];
    const secrets: string[] = [marker, markerB64];

    // SDK 1.x style: everything in the URL of a GET.
    const enc = await rpc(t.http, { Action: 'Encrypt', RegionId: region, KeyId: 'alias/app', Plaintext: markerB64 });
    expect(enc.status).toBe(200);
    const dec = await rpc(t.http, { Action: 'Decrypt', RegionId: region, CiphertextBlob: enc.body.CiphertextBlob });
    expect(dec.body.Plaintext).toBe(markerB64);
    for (const face_ of [f, rest]) {
      const dataKey = await face_.generateDataKey('alias/app');
      secrets.push(dataKey.body.Plaintext, unb64(dataKey.body.Plaintext).toString('hex'));
      const opened = await face_.decrypt(dataKey.body.CiphertextBlob);
      expect(opened.body.Plaintext).toBe(dataKey.body.Plaintext);
    }

    // Malformed requests that carry the secret: each must fail without echoing it.
    const failures = [
      await rpc(t.http, { Action: 'Encrypt', RegionId: region, KeyId: 'alias/app', Plaintext: `${markerB64}!` }),
      await rpc(t.http, { Action: 'Encrypt', RegionId: region, KeyId: 'alias/none', Plaintext: markerB64 }),
      await rpc(t.http, { Action: 'Encrypt', RegionId: region, KeyId: markerB64, Plaintext: markerB64 }),
      await rpc(t.http, {
        Action: 'Encrypt',
        RegionId: region,
        KeyId: 'alias/app',
        Plaintext: markerB64,
        EncryptionContext: `{"${marker}":`,
      }),
      await rpc(t.http, { Action: 'Decrypt', RegionId: region, CiphertextBlob: markerB64, EncryptionContext: marker }),
      await rpc(t.http, { Action: 'Encrypt', RegionId: region, Plaintext: markerB64 }),
      await rest.encrypt('alias/app', `${markerB64}~`),
      await rest.encrypt('alias/app', markerB64, `{"${marker}"`),
      await rest.decrypt(markerB64),
      await t.http
        .post(`/v1/keys/alias%2Fapp/encrypt?RegionId=${region}`)
        .set('authorization', basicAuth(DEV_CREDENTIALS))
        .set('content-type', 'application/json')
        .send(`{"Plaintext":"${markerB64}",`),
    ];
    for (const res of failures) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      errors.push(res.text);
    }
    const logs = t.logs.text;
    expect(logs).toContain('"paramNames"');
    for (const secret of secrets) {
      expect(logs).not.toContain(secret);
      for (const body of errors) expect(body).not.toContain(secret);
    }
  });
});

function randomUUIDLike() {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20)}`;
}
