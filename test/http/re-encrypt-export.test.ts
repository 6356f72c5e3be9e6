import { constants, generateKeyPairSync, type KeyObject, privateDecrypt, publicEncrypt } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sm2 } from 'sm-crypto-v2';
import { beforeAll, describe, expect, it } from 'vitest';
import { asymmetricFace } from '../helpers/asymmetric-face.js';
import { type Credentials, expectError } from '../helpers/clients.js';
import { FACES, type Face, face } from '../helpers/faces.js';
import { makeApp, uniqueRegion, useTestApp } from '../helpers/test-app.js';

// ReEncrypt, GenerateAndExportDataKey and ExportDataKey (spec 16) through both faces: the
// re-encrypted blob decrypts under the destination, an asymmetric source decrypts inside
// the service, and an exported data key unwrapped locally with the caller's own private key
// equals what Decrypt returns for the blob.

const t = useTestApp();
const ACCOUNT = '1234567890123456';
const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');

// The caller's own wrapping pairs (spec 16.4), made once.
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa3072 = generateKeyPairSync('rsa', { modulusLength: 3072 });
const sm2Pair = generateKeyPairSync('ec', { namedCurve: 'SM2' });
const spki = (k: KeyObject) => b64(k.export({ type: 'spki', format: 'der' }));
const sm2Scalar = (k: KeyObject) => {
  const der = k.export({ type: 'pkcs8', format: 'der' });
  // PKCS#8 → ECPrivateKey → privateKey OCTET STRING: the 32 bytes after `04 20` inside it.
  const at = der.indexOf(Buffer.from('0201010420', 'hex'));
  return der.subarray(at + 5, at + 37).toString('hex');
};
const WRAPPINGS = [
  ['RSA_2048', 'RSAES_OAEP_SHA_256'],
  ['RSA_2048', 'RSAES_OAEP_SHA_1'],
  ['EC_SM2', 'SM2PKE'],
] as const;

/** The data key recovered locally with the caller's private key (spec 16.4's local check). */
function unwrapLocally(algorithm: string, exported: string): string {
  const ct = Buffer.from(exported, 'base64');
  if (algorithm === 'SM2PKE') {
    expect(ct[0]).toBe(4);
    const out = sm2.doDecrypt(ct.subarray(1).toString('hex'), sm2Scalar(sm2Pair.privateKey), 1, { output: 'array' });
    return b64(Buffer.from(out));
  }
  expect(ct.length).toBe(256);
  return b64(
    privateDecrypt(
      {
        key: rsa.privateKey,
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: algorithm === 'RSAES_OAEP_SHA_1' ? 'sha1' : 'sha256',
      },
      ct,
    ),
  );
}
const wrappingKey = (spec: string) => (spec === 'EC_SM2' ? spki(sm2Pair.publicKey) : spki(rsa.publicKey));

describe.each(FACES)('ReEncrypt and the data-key exports (%s face)', (name) => {
  const region = uniqueRegion();
  let f!: Face;
  let a!: ReturnType<typeof asymmetricFace>;
  let aes1 = '';
  let aes2 = '';
  let rsaEnc = { keyId: '', versionId: '' };
  let sm2Enc = { keyId: '', versionId: '' };
  let signer = '';
  const context = { app: 'billing' };

  beforeAll(async () => {
    f = face(name, t.http, region);
    a = asymmetricFace(name, t.http, region);
    aes1 = await f.newKey();
    aes2 = await f.newKey();
    await f.createAlias('alias/old', aes1);
    await f.createAlias('alias/new', aes2);
    const version = async (keyId: string) =>
      (await t.db.query<{ id: string }>('SELECT id FROM key_versions WHERE key_id = $1', [keyId])).rows[0]!.id;
    const r = await f.newKey({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT/DECRYPT' });
    rsaEnc = { keyId: r, versionId: await version(r) };
    const s = await f.newKey({ KeySpec: 'EC_SM2', KeyUsage: 'ENCRYPT/DECRYPT' });
    sm2Enc = { keyId: s, versionId: await version(s) };
    await f.createAlias('alias/rsa-enc', r);
    signer = await f.newKey({ KeySpec: 'EC_P256' });
  }, 60_000);

  it('ReEncrypt: a blob of one key, to the alias of another, decrypts there with the new context', async () => {
    const made = await f.encrypt('alias/old', b64('the secret'), context);
    const res = await a.reEncrypt({
      CiphertextBlob: made.body.CiphertextBlob,
      SourceEncryptionContext: context,
      DestinationKeyId: 'alias/new',
      DestinationEncryptionContext: { app: 'ledger' },
    });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['CiphertextBlob', 'KeyId', 'KeyVersionId', 'RequestId']);
    // The source key and version, the ones that decrypted (spec 16.1).
    expect(res.body).toMatchObject({ KeyId: aes1, KeyVersionId: made.body.KeyVersionId });
    const opened = await f.decrypt(res.body.CiphertextBlob, { app: 'ledger' });
    expect(opened.status).toBe(200);
    expect(opened.body).toMatchObject({ KeyId: aes2, Plaintext: b64('the secret') });
    expectError(await f.decrypt(res.body.CiphertextBlob, context), 400, 'InvalidParameter');
    // A wrong source context fails as Decrypt does; the same key as destination changes only the context.
    expectError(
      await a.reEncrypt({ CiphertextBlob: made.body.CiphertextBlob, DestinationKeyId: aes2 }),
      400,
      'InvalidParameter',
    );
    const same = await a.reEncrypt({
      CiphertextBlob: made.body.CiphertextBlob,
      SourceEncryptionContext: context,
      DestinationKeyId: aes1,
    });
    expect((await f.decrypt(same.body.CiphertextBlob)).body).toMatchObject({
      KeyId: aes1,
      Plaintext: b64('the secret'),
    });
  });

  it('ReEncrypt: SourceKeyId must be the blob key (any form), unknown is 404; SourceKeyVersionId is ignored', async () => {
    const blob = (await f.encrypt(aes1, b64('x'))).body.CiphertextBlob;
    for (const id of [aes1, 'alias/old', `acs:kms:${region}:${ACCOUNT}:key/${aes1}`]) {
      const ok = await a.reEncrypt({
        CiphertextBlob: blob,
        DestinationKeyId: aes2,
        SourceKeyId: id,
        SourceKeyVersionId: 'whatever',
      });
      expect(ok.status).toBe(200);
    }
    const body = expectError(
      await a.reEncrypt({ CiphertextBlob: blob, DestinationKeyId: aes2, SourceKeyId: 'alias/new' }),
      400,
      'InvalidParameter',
    );
    expect(body.Message).toBe(`The specified parameter "SourceKeyId" is not valid: it must be the blob's key`);
    expectError(
      await a.reEncrypt({ CiphertextBlob: blob, DestinationKeyId: aes2, SourceKeyId: 'alias/none' }),
      404,
      'Forbidden.AliasNotFound',
    );
    expectError(
      await a.reEncrypt({ CiphertextBlob: blob, DestinationKeyId: 'alias/none' }),
      404,
      'Forbidden.AliasNotFound',
    );
  });

  it('ReEncrypt: an asymmetric or SIGN/VERIFY destination is UnsupportedOperation', async () => {
    const blob = (await f.encrypt(aes1, b64('x'))).body.CiphertextBlob;
    for (const destination of [rsaEnc.keyId, signer]) {
      expect(
        expectError(
          await a.reEncrypt({ CiphertextBlob: blob, DestinationKeyId: destination }),
          400,
          'UnsupportedOperation',
        ).Message,
      ).toBe('This action is not supported.');
    }
  });

  it('ReEncrypt from an asymmetric source: RSA and SM2 ciphertexts made locally land under a symmetric key', async () => {
    const pem = (await a.getPublicKey(rsaEnc.keyId, rsaEnc.versionId)).body.PublicKey;
    const rsaCt = publicEncrypt(
      { key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      Buffer.from('rsa source'),
    );
    const res = await a.reEncrypt({
      CiphertextBlob: b64(rsaCt),
      SourceKeyId: 'alias/rsa-enc',
      SourceKeyVersionId: rsaEnc.versionId,
      SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
      SourceEncryptionContext: { ignored: 'yes' },
      DestinationKeyId: 'alias/new',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ KeyId: rsaEnc.keyId, KeyVersionId: rsaEnc.versionId });
    expect((await f.decrypt(res.body.CiphertextBlob)).body).toMatchObject({
      KeyId: aes2,
      Plaintext: b64('rsa source'),
    });

    const sm2Pem = (await a.getPublicKey(sm2Enc.keyId, sm2Enc.versionId)).body.PublicKey as string;
    const point = (await import('node:crypto'))
      .createPublicKey(sm2Pem)
      .export({ type: 'spki', format: 'der' })
      .subarray(-65);
    const sm2Ct = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(sm2.doEncrypt(new Uint8Array(Buffer.from('sm2 source')), point.toString('hex'), 1), 'hex'),
    ]);
    const viaSm2 = await a.reEncrypt({
      CiphertextBlob: b64(sm2Ct),
      SourceKeyId: sm2Enc.keyId,
      SourceKeyVersionId: sm2Enc.versionId,
      SourceEncryptionAlgorithm: 'SM2PKE',
      DestinationKeyId: aes1,
      DestinationEncryptionContext: context,
    });
    expect(viaSm2.status).toBe(200);
    expect((await f.decrypt(viaSm2.body.CiphertextBlob, context)).body.Plaintext).toBe(b64('sm2 source'));

    // Conditional parameters, in order; then the source's own rules (as AsymmetricDecrypt).
    const base = {
      CiphertextBlob: b64(rsaCt),
      DestinationKeyId: aes2,
      SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_256',
    };
    expect(expectError(await a.reEncrypt(base), 400, 'MissingParameter').Message).toBe(
      'The parameter "SourceKeyId" is needed but not provided.',
    );
    expect(
      expectError(await a.reEncrypt({ ...base, SourceKeyId: rsaEnc.keyId }), 400, 'MissingParameter').Message,
    ).toBe('The parameter "SourceKeyVersionId" is needed but not provided.');
    expectError(
      await a.reEncrypt({ ...base, SourceKeyId: rsaEnc.keyId, SourceKeyVersionId: sm2Enc.versionId }),
      404,
      'Forbidden.KeyVersionNotFound',
    );
    expectError(
      await a.reEncrypt({
        ...base,
        SourceKeyId: rsaEnc.keyId,
        SourceKeyVersionId: rsaEnc.versionId,
        SourceEncryptionAlgorithm: 'RSAES_OAEP_SHA_1',
      }),
      400,
      'InvalidParameter',
    );
    expectError(
      await a.reEncrypt({
        ...base,
        SourceKeyId: rsaEnc.keyId,
        SourceKeyVersionId: rsaEnc.versionId,
        SourceEncryptionAlgorithm: 'SM2PKE',
      }),
      400,
      'InvalidParameter',
    );
  });

  it('states: the source first, then the destination', async () => {
    const k1 = await f.newKey();
    const k2 = await f.newKey();
    const blob = (await f.encrypt(k1, b64('x'))).body.CiphertextBlob;
    await f.disableKey(k2);
    expectError(await a.reEncrypt({ CiphertextBlob: blob, DestinationKeyId: k2 }), 409, 'Rejected.Disabled');
    await f.scheduleKeyDeletion(k1, 7);
    expectError(await a.reEncrypt({ CiphertextBlob: blob, DestinationKeyId: k2 }), 409, 'Rejected.PendingDeletion');
    expectError(
      await a.exportDataKey({
        CiphertextBlob: blob,
        PublicKeyBlob: wrappingKey('RSA_2048'),
        WrappingKeySpec: 'RSA_2048',
        WrappingAlgorithm: 'RSAES_OAEP_SHA_1',
      }),
      409,
      'Rejected.PendingDeletion',
    );
    expectError(
      await a.generateAndExport(k2, {
        PublicKeyBlob: wrappingKey('RSA_2048'),
        WrappingKeySpec: 'RSA_2048',
        WrappingAlgorithm: 'RSAES_OAEP_SHA_1',
      }),
      409,
      'Rejected.Disabled',
    );
  });

  it.each(WRAPPINGS)(
    'GenerateAndExportDataKey %s %s: unwrapped locally, the data key equals what Decrypt returns',
    async (spec, algorithm) => {
      const res = await a.generateAndExport('alias/old', {
        PublicKeyBlob: wrappingKey(spec),
        WrappingKeySpec: spec,
        WrappingAlgorithm: algorithm,
        NumberOfBytes: 32,
        EncryptionContext: context,
      });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual([
        'CiphertextBlob',
        'ExportedDataKey',
        'KeyId',
        'KeyVersionId',
        'RequestId',
      ]);
      expect(res.body.KeyId).toBe(aes1);
      const plaintext = (await f.decrypt(res.body.CiphertextBlob, context)).body.Plaintext;
      expect(Buffer.from(plaintext, 'base64').length).toBe(32);
      expect(unwrapLocally(algorithm, res.body.ExportedDataKey)).toBe(plaintext);
    },
  );

  it.each(WRAPPINGS)(
    'ExportDataKey %s %s: the blob key data, unwrapped locally, equals Decrypt; every call differs',
    async (spec, algorithm) => {
      const made = await f.generateDataKey('alias/new', { EncryptionContext: context });
      const params = {
        CiphertextBlob: made.body.CiphertextBlob,
        PublicKeyBlob: wrappingKey(spec),
        WrappingKeySpec: spec,
        WrappingAlgorithm: algorithm,
        EncryptionContext: context,
      };
      const res = await a.exportDataKey(params);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ KeyId: aes2, KeyVersionId: made.body.KeyVersionId });
      expect(unwrapLocally(algorithm, res.body.ExportedDataKey)).toBe(made.body.Plaintext);
      const again = await a.exportDataKey(params);
      expect(again.body.ExportedDataKey).not.toBe(res.body.ExportedDataKey);
      expectError(await a.exportDataKey({ ...params, EncryptionContext: undefined }), 400, 'InvalidParameter');
    },
  );

  it('wrapping parameters (16.4): spec, algorithm and public key are checked before any lookup', async () => {
    const good = {
      PublicKeyBlob: wrappingKey('RSA_2048'),
      WrappingKeySpec: 'RSA_2048',
      WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
    };
    const pemText = b64(rsa.publicKey.export({ type: 'spki', format: 'pem' }));
    for (const [p, param] of [
      [{ ...good, WrappingKeySpec: 'RSA_3072', PublicKeyBlob: spki(rsa3072.publicKey) }, 'WrappingKeySpec'],
      [{ ...good, WrappingAlgorithm: 'SM2PKE' }, 'WrappingAlgorithm'],
      [{ ...good, WrappingKeySpec: 'EC_SM2' }, 'WrappingAlgorithm'],
      [{ ...good, PublicKeyBlob: spki(rsa3072.publicKey) }, 'PublicKeyBlob'],
      [{ ...good, PublicKeyBlob: spki(sm2Pair.publicKey) }, 'PublicKeyBlob'],
      [{ ...good, PublicKeyBlob: pemText }, 'PublicKeyBlob'],
      [{ ...good, WrappingKeySpec: 'EC_SM2', WrappingAlgorithm: 'SM2PKE' }, 'PublicKeyBlob'],
      [{ ...good, NumberOfBytes: 191 }, 'NumberOfBytes'],
    ] as const) {
      const body = expectError(await a.generateAndExport('alias/none', p), 400, 'InvalidParameter');
      expect(body.Message).toMatch(new RegExp(`^The specified parameter "${param}" is not valid`));
    }
    expect((await a.generateAndExport(aes1, { ...good, NumberOfBytes: 190 })).status).toBe(200);
    expect(
      (await a.generateAndExport(aes1, { ...good, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', NumberOfBytes: 191 })).status,
    ).toBe(200);
    expectError(
      await a.generateAndExport(aes1, { WrappingKeySpec: 'RSA_2048', WrappingAlgorithm: 'RSAES_OAEP_SHA_1' }),
      400,
      'MissingParameter',
    );
    expectError(await a.generateAndExport(rsaEnc.keyId, good), 400, 'UnsupportedOperation');
    // A data key too long for the wrapping: InvalidParameter naming CiphertextBlob (choice of 16.3).
    const big = await f.generateDataKey(aes1, { NumberOfBytes: 191 });
    const body = expectError(
      await a.exportDataKey({ ...good, CiphertextBlob: big.body.CiphertextBlob }),
      400,
      'InvalidParameter',
    );
    expect(body.Message).toMatch(/^The specified parameter "CiphertextBlob" is not valid/);
  });

  it('DryRun on ReEncrypt runs every check, then DryRunOperationError, and writes nothing', async () => {
    const blob = (await f.encrypt(aes1, b64('x'))).body.CiphertextBlob;
    expectError(
      await a.reEncrypt({ CiphertextBlob: blob, DestinationKeyId: aes2, DryRun: true }),
      400,
      'DryRunOperationError',
    );
    expectError(
      await a.reEncrypt({
        CiphertextBlob: blob,
        DestinationKeyId: aes2,
        SourceEncryptionContext: context,
        DryRun: true,
      }),
      400,
      'InvalidParameter',
    );
  });
});

describe.each(FACES)('RAM on ReEncrypt and the exports (%s face)', (name) => {
  const user = (n: string): Credentials => ({ accessKeyId: `AK_REENC_${n}`, secret: `secret-of-${n}` });
  const allow = (action: string | string[], resource: string | string[]) => ({
    Effect: 'Allow',
    Action: action,
    Resource: resource,
  });

  it('kms:ReEncryptFrom on the source key, then kms:ReEncryptTo on the destination; kms:ReEncrypt* covers both', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const source = await f.newKey();
    const destination = await f.newKey();
    await f.createAlias('alias/src', source);
    await f.createAlias('alias/dst', destination);
    const blob = (await f.encrypt('alias/src', b64('x'))).body.CiphertextBlob;
    const arn = (k: string) => `acs:kms:*:${ACCOUNT}:key/${k}`;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kms-reenc-ram-'));
    const users: Record<string, object[]> = {
      from: [allow('kms:ReEncryptFrom', arn(source))],
      to: [allow('kms:ReEncryptTo', arn(destination))],
      both: [allow('kms:ReEncrypt*', [arn(source), arn(destination)])],
      aliases: [allow('kms:ReEncrypt*', `acs:kms:*:${ACCOUNT}:alias/*`)],
      exporter: [allow('kms:ExportDataKey', arn(source)), allow('kms:GenerateAndExportDataKey', arn(destination))],
    };
    const file = path.join(dir, 'identities.json');
    writeFileSync(
      file,
      JSON.stringify({
        accounts: [
          {
            accountId: ACCOUNT,
            users: Object.entries(users).map(([n, statements]) => ({
              name: n,
              accessKeys: [{ accessKeyId: user(n).accessKeyId, accessKeySecret: user(n).secret }],
              policies: [{ Version: '1', Statement: statements }],
            })),
          },
        ],
      }),
    );
    const app = await makeApp(t.db, { KMS_IDENTITIES_FILE: file });
    t.extra.push(app);
    rmSync(dir, { recursive: true, force: true });
    const as = (n: string) => asymmetricFace(name, app.http, region, user(n));
    const denied = (res: Parameters<typeof expectError>[0], action: string, principal: string) =>
      expect(expectError(res, 403, 'Forbidden.NoPermission').AccessDeniedDetail).toEqual({
        AuthAction: action,
        AuthPrincipalType: 'SubUser',
        AuthPrincipalDisplayName: principal,
        NoPermissionType: 'ImplicitDeny',
      });
    const request = { CiphertextBlob: blob, DestinationKeyId: 'alias/dst' };
    denied(await as('to').reEncrypt(request), 'kms:ReEncryptFrom', 'to');
    denied(await as('from').reEncrypt(request), 'kms:ReEncryptTo', 'from');
    denied(await as('aliases').reEncrypt(request), 'kms:ReEncryptFrom', 'aliases');
    const ok = await as('both').reEncrypt(request);
    expect(ok.status).toBe(200);
    expect(ok.body.KeyId).toBe(source);
    // Resolution (404) comes before RAM.
    expectError(
      await as('to').reEncrypt({ ...request, DestinationKeyId: 'alias/none' }),
      404,
      'Forbidden.AliasNotFound',
    );

    const wrap = {
      PublicKeyBlob: wrappingKey('RSA_2048'),
      WrappingKeySpec: 'RSA_2048',
      WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
    };
    expect((await as('exporter').exportDataKey({ ...wrap, CiphertextBlob: blob })).status).toBe(200);
    expect((await as('exporter').generateAndExport('alias/dst', wrap)).status).toBe(200);
    denied(await as('exporter').generateAndExport('alias/src', wrap), 'kms:GenerateAndExportDataKey', 'exporter');
    const other = (await f.encrypt(destination, b64('y'))).body.CiphertextBlob;
    denied(await as('exporter').exportDataKey({ ...wrap, CiphertextBlob: other }), 'kms:ExportDataKey', 'exporter');
  });
});
