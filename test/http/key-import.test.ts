import { execFileSync } from 'node:child_process';
import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sm2 } from 'sm-crypto-v2';
import { afterAll, describe, expect, it } from 'vitest';
import { expectError } from '../helpers/clients.js';
import { FACES, type Face, type FaceName, face } from '../helpers/faces.js';
import { allow, ramApp, ramUser } from '../helpers/ram.js';
import { makeApp, type TestApp, uniqueRegion, useTestApp } from '../helpers/test-app.js';

// Key material import (spec section 17) on both faces: material wrapped outside the
// service (node:crypto, openssl, sm-crypto-v2) with the public key GetParametersForImport
// answers, imported, used, deleted, re-imported, expired; and every refusal the spec lists,
// with what the database holds afterwards.

const t = useTestApp();
const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const b64 = (s: string) => Buffer.from(s).toString('base64');

const scratch = mkdtempSync(path.join(tmpdir(), 'kms-import-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The material wrapped as a client would, with node:crypto or sm-crypto-v2. */
function wrap(publicKey: string, algorithm: string, material: Buffer): string {
  const der = Buffer.from(publicKey, 'base64');
  if (algorithm === 'SM2PKE') {
    // The raw C1C3C2 form: sm-crypto-v2 leaves out the leading 04.
    const point = der.subarray(der.length - 65).toString('hex');
    return Buffer.from(`04${sm2.doEncrypt(new Uint8Array(material), point, 1)}`, 'hex').toString('base64');
  }
  const key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  const wrapped =
    algorithm === 'RSAES_PKCS1_V1_5'
      ? publicEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, material)
      : publicEncrypt(
          {
            key,
            padding: constants.RSA_PKCS1_OAEP_PADDING,
            oaepHash: algorithm === 'RSAES_OAEP_SHA_256' ? 'sha256' : 'sha1',
          },
          material,
        );
  return wrapped.toString('base64');
}

/** The material wrapped with `openssl pkeyutl` (SM2: the DER form OpenSSL writes). */
function wrapWithOpenssl(publicKey: string, algorithm: string, material: Buffer): string {
  const dir = mkdtempSync(path.join(scratch, 'ossl-'));
  const [der, pem, input, output] = ['pub.der', 'pub.pem', 'material', 'wrapped'].map((f) => path.join(dir, f)) as [
    string,
    string,
    string,
    string,
  ];
  writeFileSync(der, Buffer.from(publicKey, 'base64'));
  writeFileSync(input, material);
  execFileSync('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', der, '-out', pem]);
  const options: Record<string, string[]> = {
    RSAES_OAEP_SHA_256: ['rsa_padding_mode:oaep', 'rsa_oaep_md:sha256', 'rsa_mgf1_md:sha256'],
    RSAES_OAEP_SHA_1: ['rsa_padding_mode:oaep', 'rsa_oaep_md:sha1', 'rsa_mgf1_md:sha1'],
    RSAES_PKCS1_V1_5: ['rsa_padding_mode:pkcs1'],
    SM2PKE: [],
  };
  const pkeyopts = (options[algorithm] ?? []).flatMap((o) => ['-pkeyopt', o]);
  execFileSync('openssl', ['pkeyutl', '-encrypt', '-pubin', '-inkey', pem, ...pkeyopts, '-in', input, '-out', output]);
  return readFileSync(output).toString('base64');
}

async function row(region: string, keyId: string) {
  const { rows } = await t.db.query<{
    state: string;
    has_material: boolean;
    material_expire_time: Date | null;
    primary_key_version: string | null;
    fingerprint: boolean;
    versions: number;
    with_material: number;
  }>(
    `SELECT k.state, k.has_material, k.material_expire_time, k.primary_key_version,
            k.material_fingerprint IS NOT NULL AS fingerprint,
            (SELECT count(*)::int FROM key_versions v WHERE v.region = k.region AND v.key_id = k.id) AS versions,
            (SELECT count(*)::int FROM key_versions v
              WHERE v.region = k.region AND v.key_id = k.id AND v.wrapped_material IS NOT NULL) AS with_material
       FROM keys k WHERE k.region = $1 AND k.id = $2`,
    [region, keyId],
  );
  return rows[0];
}

/** GetParametersForImport, asserting the answer's shape. */
async function parameters(f: Face, keyId: string, algorithm = 'RSAES_OAEP_SHA_256', spec = 'RSA_2048') {
  const res = await f.getParametersForImport(keyId, algorithm, spec);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(Object.keys(res.body).sort()).toEqual(['ImportToken', 'KeyId', 'PublicKey', 'RequestId', 'TokenExpireTime']);
  expect(res.body.KeyId).toBe(keyId);
  expect(res.body.TokenExpireTime).toMatch(DATE);
  return { token: res.body.ImportToken as string, publicKey: res.body.PublicKey as string };
}

/** Imports `material` into the key through a new token; answers the response. */
async function importMaterial(
  f: Face,
  keyId: string,
  material: Buffer,
  extra: { KeyMaterialExpireUnix?: number } = {},
) {
  const { token, publicKey } = await parameters(f, keyId);
  return f.importKeyMaterial(keyId, {
    EncryptedKeyMaterial: wrap(publicKey, 'RSAES_OAEP_SHA_256', material),
    ImportToken: token,
    ...extra,
  });
}

const externalKey = (f: Face, params: Record<string, string> = {}) => f.newKey({ Origin: 'EXTERNAL', ...params });

async function roundTrip(f: Face, keyId: string, text = 'imported') {
  const enc = await f.encrypt(keyId, b64(text));
  expect(enc.status, JSON.stringify(enc.body)).toBe(200);
  const dec = await f.decrypt(enc.body.CiphertextBlob);
  expect(dec.status).toBe(200);
  expect(Buffer.from(dec.body.Plaintext, 'base64').toString()).toBe(text);
  return enc.body.CiphertextBlob as string;
}

describe.each(FACES)('key material import (%s face)', (name: FaceName) => {
  it.each([
    ['RSA_2048', 'RSAES_OAEP_SHA_256', 'node'],
    ['RSA_2048', 'RSAES_OAEP_SHA_1', 'node'],
    ['RSA_2048', 'RSAES_PKCS1_V1_5', 'node'],
    ['RSA_2048', 'RSAES_OAEP_SHA_256', 'openssl'],
    ['RSA_2048', 'RSAES_OAEP_SHA_1', 'openssl'],
    ['RSA_2048', 'RSAES_PKCS1_V1_5', 'openssl'],
    ['EC_SM2', 'SM2PKE', 'node'],
    ['EC_SM2', 'SM2PKE', 'openssl'],
  ])('%s / %s wrapped with %s: PendingImport, import, Enabled, Encrypt and Decrypt', async (spec, algorithm, tool) => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    // SM2 wrapping is for keys protected by an HSM (spec 17.2).
    const keyId = await externalKey(f, spec === 'EC_SM2' ? { ProtectionLevel: 'HSM' } : {});
    const created = (await f.describeKey(keyId)).body.KeyMetadata;
    expect(created).toMatchObject({
      KeyState: 'PendingImport',
      Origin: 'EXTERNAL',
      PrimaryKeyVersion: '',
      MaterialExpireTime: '',
      LastRotationDate: '',
    });
    expectError(await f.encrypt(keyId, b64('x')), 409, 'Rejected.PendingImport');

    const { token, publicKey } = await parameters(f, keyId, algorithm, spec);
    const publicKeyObject = createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
    if (spec === 'RSA_2048') {
      expect(publicKeyObject.asymmetricKeyType).toBe('rsa');
      expect(publicKeyObject.asymmetricKeyDetails?.modulusLength).toBe(2048);
    }
    const material = randomBytes(32);
    const wrapped =
      tool === 'openssl' ? wrapWithOpenssl(publicKey, algorithm, material) : wrap(publicKey, algorithm, material);
    const imported = await f.importKeyMaterial(keyId, { EncryptedKeyMaterial: wrapped, ImportToken: token });
    expect(imported.status, JSON.stringify(imported.body)).toBe(200);
    if (name === 'rest') expect(imported.body.KeyMetadata.KeyState).toBe('Enabled');
    else expect(Object.keys(imported.body)).toEqual(['RequestId']);

    const after = (await f.describeKey(keyId)).body.KeyMetadata;
    expect(after.KeyState).toBe('Enabled');
    expect(after.PrimaryKeyVersion).toMatch(/^[0-9a-f-]{36}$/);
    expect(after.LastRotationDate).toMatch(DATE);
    expect(after.MaterialExpireTime).toBe('');
    expect(await row(region, keyId)).toMatchObject({
      state: 'Enabled',
      has_material: true,
      fingerprint: true,
      versions: 1,
      with_material: 1,
      primary_key_version: after.PrimaryKeyVersion,
    });
    const enc = await f.encrypt(keyId, b64('imported'));
    expect(enc.body.KeyVersionId).toBe(after.PrimaryKeyVersion);
    await roundTrip(f, keyId);
    // The database never holds the material in the clear.
    const { rows } = await t.db.query<{ hex: string }>(
      `SELECT encode(wrapped_material, 'hex') AS hex FROM key_versions WHERE region = $1 AND key_id = $2`,
      [region, keyId],
    );
    expect(rows[0]?.hex.includes(material.toString('hex'))).toBe(false);
  });

  it('delete and re-import: old blobs decrypt again with the same material; other material is refused', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const keyId = await externalKey(f);
    const material = randomBytes(32);
    expect((await importMaterial(f, keyId, material)).status).toBe(200);
    const versionId = (await f.describeKey(keyId)).body.KeyMetadata.PrimaryKeyVersion;
    const blob = await roundTrip(f, keyId, 'kept across a deletion');

    const deleted = await f.deleteKeyMaterial(keyId);
    expect(deleted.status).toBe(f.successStatus('delete'));
    expect((await f.describeKey(keyId)).body.KeyMetadata).toMatchObject({
      KeyState: 'PendingImport',
      PrimaryKeyVersion: versionId,
      MaterialExpireTime: '',
    });
    expect(await row(region, keyId)).toMatchObject({ has_material: false, versions: 1, with_material: 0 });
    expectError(await f.encrypt(keyId, b64('x')), 409, 'Rejected.PendingImport');
    expectError(await f.decrypt(blob), 409, 'Rejected.PendingImport');
    expectError(await f.generateDataKey(keyId), 409, 'Rejected.PendingImport');
    // Deleting again: nothing to delete, nothing changes.
    expect((await f.deleteKeyMaterial(keyId)).status).toBe(f.successStatus('delete'));

    // Other material: refused, nothing changes.
    expectError(await importMaterial(f, keyId, randomBytes(32)), 400, 'InvalidKeyMaterial');
    expect(await row(region, keyId)).toMatchObject({ state: 'PendingImport', has_material: false, with_material: 0 });

    expect((await importMaterial(f, keyId, material)).status).toBe(200);
    expect((await f.describeKey(keyId)).body.KeyMetadata).toMatchObject({
      KeyState: 'Enabled',
      PrimaryKeyVersion: versionId,
    });
    const dec = await f.decrypt(blob);
    expect(dec.status).toBe(200);
    expect(Buffer.from(dec.body.Plaintext, 'base64').toString()).toBe('kept across a deletion');
    // Re-importing material the key holds is allowed (same material), other material is not.
    expect((await importMaterial(f, keyId, material)).status).toBe(200);
    expectError(await importMaterial(f, keyId, randomBytes(32)), 400, 'InvalidKeyMaterial');
    expect(await row(region, keyId)).toMatchObject({ state: 'Enabled', versions: 1, with_material: 1 });
  });

  it('a token made by one instance is accepted by another over the same database; it expires in 24 hours', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const keyId = await externalKey(f);
    const before = Date.now();
    const res = await f.getParametersForImport(keyId, 'RSAES_OAEP_SHA_256', 'RSA_2048');
    const expires = Date.parse(res.body.TokenExpireTime);
    // Whole seconds: the answer's date drops the milliseconds.
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + DAY_MS);
    expect(expires).toBeLessThanOrEqual(Date.now() + DAY_MS);
    const other = await makeApp(t.db);
    t.extra.push(other);
    const material = randomBytes(32);
    const imported = await face(name, other.http, region).importKeyMaterial(keyId, {
      EncryptedKeyMaterial: wrap(res.body.PublicKey, 'RSAES_OAEP_SHA_256', material),
      ImportToken: res.body.ImportToken,
    });
    expect(imported.status, JSON.stringify(imported.body)).toBe(200);
    await roundTrip(f, keyId);
  });

  it('a Disabled key keeps its state through an import; a token serves any number of imports', async () => {
    const f = face(name, t.http, uniqueRegion());
    const keyId = await externalKey(f);
    const material = randomBytes(32);
    const { token, publicKey } = await parameters(f, keyId);
    const wrapped = wrap(publicKey, 'RSAES_OAEP_SHA_256', material);
    expect((await f.importKeyMaterial(keyId, { EncryptedKeyMaterial: wrapped, ImportToken: token })).status).toBe(200);
    expect((await f.disableKey(keyId)).status).toBe(200);
    expect((await f.importKeyMaterial(keyId, { EncryptedKeyMaterial: wrapped, ImportToken: token })).status).toBe(200);
    expect((await f.describeKey(keyId)).body.KeyMetadata.KeyState).toBe('Disabled');
  });

  it('the key checks: another origin, an alias, an unknown key, PendingDeletion', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const own = await f.newKey();
    const external = await externalKey(f);
    expect((await f.createAlias('alias/ext', external)).status).toBe(f.successStatus('create'));
    const { token, publicKey } = await parameters(f, external);
    const material = {
      EncryptedKeyMaterial: wrap(publicKey, 'RSAES_OAEP_SHA_256', randomBytes(32)),
      ImportToken: token,
    };

    expectError(await f.getParametersForImport(own, 'RSAES_OAEP_SHA_256', 'RSA_2048'), 400, 'Unsupported.Origin');
    expectError(await f.importKeyMaterial(own, material), 400, 'Unsupported.Origin');
    expectError(await f.deleteKeyMaterial(own), 400, 'Unsupported.Origin');
    for (const alias of ['alias/ext', `acs:kms:${region}:1234567890123456:alias/ext`]) {
      expectError(await f.getParametersForImport(alias, 'RSAES_OAEP_SHA_256', 'RSA_2048'), 400, 'Unsupported.Alias');
      expectError(await f.importKeyMaterial(alias, material), 400, 'Unsupported.Alias');
      expectError(await f.deleteKeyMaterial(alias), 400, 'Unsupported.Alias');
    }
    const unknown = '0b5b3d5e-6c1e-4a8e-9f3a-2b7c1d9e8f10';
    expectError(
      await f.getParametersForImport(unknown, 'RSAES_OAEP_SHA_256', 'RSA_2048'),
      404,
      'Forbidden.KeyNotFound',
    );
    expectError(await f.importKeyMaterial(unknown, material), 404, 'Forbidden.KeyNotFound');
    expectError(await f.deleteKeyMaterial(unknown), 404, 'Forbidden.KeyNotFound');
    // The key ARN works like the key id.
    const arn = `acs:kms:${region}:1234567890123456:key/${external}`;
    expect((await f.getParametersForImport(arn, 'RSAES_OAEP_SHA_1', 'RSA_2048')).status).toBe(200);

    // PendingDeletion: parameters and deletion still work, an import does not.
    expect((await f.scheduleKeyDeletion(external, 7)).status).toBe(200);
    expect((await f.getParametersForImport(external, 'RSAES_OAEP_SHA_256', 'RSA_2048')).status).toBe(200);
    expectError(await f.importKeyMaterial(external, material), 409, 'Rejected.StateModifiedFailed');
    expect((await row(region, external))?.has_material).toBe(false);
    expect((await f.deleteKeyMaterial(external)).status).toBe(f.successStatus('delete'));
    // Without material, CancelKeyDeletion returns it to PendingImport.
    expect((await f.cancelKeyDeletion(external)).status).toBe(200);
    expect((await f.describeKey(external)).body.KeyMetadata.KeyState).toBe('PendingImport');
  });

  it('material deleted while PendingDeletion: the state and date stay; CancelKeyDeletion gives PendingImport', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const keyId = await externalKey(f);
    expect((await importMaterial(f, keyId, randomBytes(32))).status).toBe(200);
    expect((await f.scheduleKeyDeletion(keyId, 7)).status).toBe(200);
    const deleteDate = (await f.describeKey(keyId)).body.KeyMetadata.DeleteDate;
    expect((await f.deleteKeyMaterial(keyId)).status).toBe(f.successStatus('delete'));
    expect((await f.describeKey(keyId)).body.KeyMetadata).toMatchObject({
      KeyState: 'PendingDeletion',
      DeleteDate: deleteDate,
    });
    expect((await f.cancelKeyDeletion(keyId)).status).toBe(200);
    expect((await f.describeKey(keyId)).body.KeyMetadata.KeyState).toBe('PendingImport');

    // With material, CancelKeyDeletion gives Enabled.
    const other = await externalKey(f);
    expect((await importMaterial(f, other, randomBytes(32))).status).toBe(200);
    expect((await f.scheduleKeyDeletion(other, 7)).status).toBe(200);
    expect((await f.cancelKeyDeletion(other)).status).toBe(200);
    expect((await f.describeKey(other)).body.KeyMetadata.KeyState).toBe('Enabled');
  });

  it('the wrapping parameters: missing, unknown, mismatched, SM2 only for HSM keys', async () => {
    const f = face(name, t.http, uniqueRegion());
    const keyId = await externalKey(f);
    const invalid = async (algorithm: string | undefined, spec: string | undefined, param: string) =>
      expect(
        expectError(await f.getParametersForImport(keyId, algorithm, spec), 400, 'InvalidParameter').Message,
      ).toContain(`"${param}"`);
    expectError(await f.getParametersForImport(keyId, undefined, 'RSA_2048'), 400, 'MissingParameter');
    expectError(await f.getParametersForImport(keyId, 'RSAES_OAEP_SHA_256', undefined), 400, 'MissingParameter');
    await invalid('RSAES_OAEP_SHA_512', 'RSA_2048', 'WrappingAlgorithm');
    await invalid('RSAES_OAEP_SHA_256', 'RSA_3072', 'WrappingKeySpec');
    await invalid('SM2PKE', 'RSA_2048', 'WrappingAlgorithm');
    await invalid('RSAES_OAEP_SHA_256', 'EC_SM2', 'WrappingAlgorithm');
    await invalid('SM2PKE', 'EC_SM2', 'WrappingKeySpec');
    const { rows } = await t.db.query('SELECT 1 FROM import_tokens WHERE key_id = $1', [keyId]);
    expect(rows).toHaveLength(0);
  });

  it('tokens and material: unknown, another key, garbled, the wrong length, an expiry in the past', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const [a, b] = [await externalKey(f), await externalKey(f)];
    const forA = await parameters(f, a);
    const forB = await parameters(f, b);
    const material = randomBytes(32);
    const wrappedForA = wrap(forA.publicKey, 'RSAES_OAEP_SHA_256', material);

    expectError(
      await f.importKeyMaterial(a, { EncryptedKeyMaterial: wrappedForA, ImportToken: 'nope' }),
      400,
      'InvalidImportToken',
    );
    expectError(
      await f.importKeyMaterial(a, { EncryptedKeyMaterial: wrappedForA, ImportToken: forB.token }),
      400,
      'InvalidImportToken',
    );
    // Wrapped for another token's key pair, or garbled: the material does not decrypt.
    expectError(
      await f.importKeyMaterial(a, {
        EncryptedKeyMaterial: wrap(forB.publicKey, 'RSAES_OAEP_SHA_256', material),
        ImportToken: forA.token,
      }),
      400,
      'InvalidKeyMaterial',
    );
    const garbled = Buffer.from(wrappedForA, 'base64');
    garbled[100]! ^= 1;
    expectError(
      await f.importKeyMaterial(a, { EncryptedKeyMaterial: garbled.toString('base64'), ImportToken: forA.token }),
      400,
      'InvalidKeyMaterial',
    );
    expectError(
      await f.importKeyMaterial(a, { EncryptedKeyMaterial: b64('short'), ImportToken: forA.token }),
      400,
      'InvalidKeyMaterial',
    );
    // 16 bytes suit an SM4 key, not an AES-256 one.
    expectError(
      await f.importKeyMaterial(a, {
        EncryptedKeyMaterial: wrap(forA.publicKey, 'RSAES_OAEP_SHA_256', randomBytes(16)),
        ImportToken: forA.token,
      }),
      400,
      'InvalidKeyMaterial',
    );
    // A token for one algorithm does not unwrap another's padding.
    expectError(
      await f.importKeyMaterial(a, {
        EncryptedKeyMaterial: wrap(forA.publicKey, 'RSAES_PKCS1_V1_5', material),
        ImportToken: forA.token,
      }),
      400,
      'InvalidKeyMaterial',
    );
    const past = Math.floor(Date.now() / 1000) - 3600;
    expect(
      expectError(
        await f.importKeyMaterial(a, {
          EncryptedKeyMaterial: wrappedForA,
          ImportToken: forA.token,
          KeyMaterialExpireUnix: past,
        }),
        400,
        'InvalidParameter',
      ).Message,
    ).toContain('"KeyMaterialExpireUnix"');
    expectError(await f.importKeyMaterial(a, { ImportToken: forA.token }), 400, 'MissingParameter');
    expectError(await f.importKeyMaterial(a, { EncryptedKeyMaterial: wrappedForA }), 400, 'MissingParameter');
    expectError(
      await f.importKeyMaterial(a, { EncryptedKeyMaterial: 'not base64!', ImportToken: forA.token }),
      400,
      'InvalidParameter',
    );
    expect((await f.describeKey(a)).body.KeyMetadata.KeyState).toBe('PendingImport');
    expect(await row(region, a)).toMatchObject({ has_material: false, fingerprint: false, versions: 0 });

    // Then the right one; an expiry of 0 means never.
    expect(
      (
        await f.importKeyMaterial(a, {
          EncryptedKeyMaterial: wrappedForA,
          ImportToken: forA.token,
          KeyMaterialExpireUnix: 0,
        })
      ).status,
    ).toBe(200);
    expect((await f.describeKey(a)).body.KeyMetadata).toMatchObject({ KeyState: 'Enabled', MaterialExpireTime: '' });
  });

  it('two concurrent first imports make one version; of different material, exactly one succeeds', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const same = await externalKey(f);
    const material = randomBytes(32);
    const [p1, p2] = [await parameters(f, same), await parameters(f, same)];
    const both = await Promise.all([
      f.importKeyMaterial(same, {
        EncryptedKeyMaterial: wrap(p1.publicKey, 'RSAES_OAEP_SHA_256', material),
        ImportToken: p1.token,
      }),
      f.importKeyMaterial(same, {
        EncryptedKeyMaterial: wrap(p2.publicKey, 'RSAES_OAEP_SHA_256', material),
        ImportToken: p2.token,
      }),
    ]);
    expect(both.map((r) => r.status)).toEqual([200, 200]);
    expect(await row(region, same)).toMatchObject({ state: 'Enabled', versions: 1, with_material: 1 });

    const different = await externalKey(f);
    const [q1, q2] = [await parameters(f, different), await parameters(f, different)];
    const one = await Promise.all([
      f.importKeyMaterial(different, {
        EncryptedKeyMaterial: wrap(q1.publicKey, 'RSAES_OAEP_SHA_256', randomBytes(32)),
        ImportToken: q1.token,
      }),
      f.importKeyMaterial(different, {
        EncryptedKeyMaterial: wrap(q2.publicKey, 'RSAES_OAEP_SHA_256', randomBytes(32)),
        ImportToken: q2.token,
      }),
    ]);
    expect(one.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(one.find((r) => r.status === 400)?.body.Code).toBe('InvalidKeyMaterial');
    expect(await row(region, different)).toMatchObject({ state: 'Enabled', versions: 1, with_material: 1 });
  });
});

describe.each(FACES)('RAM on the import operations (%s face)', (name) => {
  const ACCOUNT = '1234567890123456';
  const user = ramUser('IMPORT', 'importer');

  it('checks kms:<Operation> on the key ARN, after the lookup and before the state and the origin', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const [keyId, own] = [await externalKey(f), await f.newKey()];
    const app = await ramApp(t, ACCOUNT, 'IMPORT', {
      importer: [allow(['kms:GetParametersForImport', 'kms:ImportKeyMaterial'], `acs:kms:*:${ACCOUNT}:key/${keyId}`)],
    });
    const as = face(name, app.http, region, {}, user);
    const denied = (res: Parameters<typeof expectError>[0], action: string) =>
      expect(expectError(res, 403, 'Forbidden.NoPermission').AccessDeniedDetail).toMatchObject({ AuthAction: action });

    expect((await importMaterial(as, keyId, randomBytes(32))).status).toBe(200);
    denied(await as.deleteKeyMaterial(keyId), 'kms:DeleteKeyMaterial');
    // Another key: denied before its origin is looked at; an unknown key: 404 first.
    denied(await as.getParametersForImport(own, 'RSAES_OAEP_SHA_256', 'RSA_2048'), 'kms:GetParametersForImport');
    denied(
      await as.importKeyMaterial(own, { EncryptedKeyMaterial: b64('x'), ImportToken: 'x' }),
      'kms:ImportKeyMaterial',
    );
    expectError(await as.deleteKeyMaterial('0b5b3d5e-6c1e-4a8e-9f3a-2b7c1d9e8f10'), 404, 'Forbidden.KeyNotFound');
    expect((await row(region, keyId))?.has_material).toBe(true);
  });
});

// The service clock moves in these tests: each has an app of its own over the shared
// database (its clock only), with authentication off so that signatures do not see it.
describe('expiry on the service clock', () => {
  const apps: TestApp[] = [];
  afterAll(async () => {
    for (const a of apps) await a.app.close();
  });
  async function timeApp(env: Record<string, string> = {}): Promise<TestApp> {
    const app = await makeApp(t.db, { KMS_AUTH: 'off', ...env });
    apps.push(app);
    return app;
  }

  it.each(FACES)(
    'imported material expires: PendingImport at the next request; re-import restores it (%s)',
    async (name) => {
      const app = await timeApp();
      const region = uniqueRegion();
      const f = face(name, app.http, region);
      const keyId = await externalKey(f);
      const material = randomBytes(32);
      const expireUnix = Math.floor(Date.now() / 1000) + 3600;
      expect((await importMaterial(f, keyId, material, { KeyMaterialExpireUnix: expireUnix })).status).toBe(200);
      const metadata = (await f.describeKey(keyId)).body.KeyMetadata;
      expect(metadata.MaterialExpireTime).toBe(`${new Date(expireUnix * 1000).toISOString().slice(0, 19)}Z`);
      const blob = await roundTrip(f, keyId, 'before expiry');

      app.advance(3600_000 + 1000);
      // The first request that resolves the key (here a Decrypt, by its blob) expires it.
      expectError(await f.decrypt(blob), 409, 'Rejected.PendingImport');
      expect(await row(region, keyId)).toMatchObject({
        state: 'PendingImport',
        has_material: false,
        material_expire_time: null,
        with_material: 0,
      });
      expect((await f.describeKey(keyId)).body.KeyMetadata).toMatchObject({
        KeyState: 'PendingImport',
        MaterialExpireTime: '',
        PrimaryKeyVersion: metadata.PrimaryKeyVersion,
      });
      expectError(await f.encrypt(keyId, b64('x')), 409, 'Rejected.PendingImport');

      // Re-import (without an expiry: never expires now) and the old blob decrypts.
      expect((await importMaterial(f, keyId, material)).status).toBe(200);
      expect((await f.describeKey(keyId)).body.KeyMetadata.MaterialExpireTime).toBe('');
      expect(Buffer.from((await f.decrypt(blob)).body.Plaintext, 'base64').toString()).toBe('before expiry');
    },
  );

  it('an expired key resolved by DescribeKey or Encrypt is PendingImport too; a Disabled one as well', async () => {
    const app = await timeApp();
    const region = uniqueRegion();
    const f = face('rest', app.http, region);
    const [a, b] = [await externalKey(f), await externalKey(f)];
    const expireUnix = Math.floor(Date.now() / 1000) + 60;
    for (const k of [a, b])
      expect((await importMaterial(f, k, randomBytes(32), { KeyMaterialExpireUnix: expireUnix })).status).toBe(200);
    expect((await f.disableKey(b)).status).toBe(200);
    expect((await f.createAlias('alias/expiring', a)).status).toBe(201);
    app.advance(120_000);
    expectError(await f.encrypt('alias/expiring', b64('x')), 409, 'Rejected.PendingImport');
    expect((await f.describeKey(b)).body.KeyMetadata.KeyState).toBe('PendingImport');
    // EnableKey of a key waiting for material is refused.
    expectError(await f.enableKey(b), 409, 'Rejected.StateModifiedFailed');
  });

  it('an import token expires after 24 hours: ExpiredImportToken for 7 days, then InvalidImportToken', async () => {
    const app = await timeApp();
    const f = face('rpc', app.http, uniqueRegion());
    const keyId = await externalKey(f);
    const { token, publicKey } = await parameters(f, keyId);
    const wrapped = wrap(publicKey, 'RSAES_OAEP_SHA_256', randomBytes(32));
    app.advance(DAY_MS + 1000);
    expectError(
      await f.importKeyMaterial(keyId, { EncryptedKeyMaterial: wrapped, ImportToken: token }),
      400,
      'ExpiredImportToken',
    );
    // The upkeep drops it 7 days after its expiry (the rows are made due by SQL: the upkeep's
    // own clock stays real, as other files share the database).
    await t.db.query(`UPDATE import_tokens SET expires_at = now() - interval '8 days' WHERE key_id = $1`, [keyId]);
    await timeApp({ KMS_SWEEP_INTERVAL_MS: '100' });
    await until(
      async () => (await t.db.query('SELECT 1 FROM import_tokens WHERE key_id = $1', [keyId])).rows.length === 0,
    );
    expectError(
      await f.importKeyMaterial(keyId, { EncryptedKeyMaterial: wrapped, ImportToken: token }),
      400,
      'InvalidImportToken',
    );
  });

  it('the upkeep expires material of keys nobody calls', async () => {
    const app = await timeApp();
    const region = uniqueRegion();
    const f = face('rest', app.http, region);
    const keyId = await externalKey(f);
    const expireUnix = Math.floor(Date.now() / 1000) + 3600;
    expect((await importMaterial(f, keyId, randomBytes(32), { KeyMaterialExpireUnix: expireUnix })).status).toBe(200);
    await t.db.query(
      `UPDATE keys SET material_expire_time = now() - interval '1 second' WHERE region = $1 AND id = $2`,
      [region, keyId],
    );
    await timeApp({ KMS_SWEEP_INTERVAL_MS: '100' });
    await until(async () => (await row(region, keyId))?.has_material === false);
    expect(await row(region, keyId)).toMatchObject({
      state: 'PendingImport',
      with_material: 0,
      material_expire_time: null,
    });
  });
});

async function until(done: () => Promise<boolean>) {
  const deadline = Date.now() + 10_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('the upkeep did not act within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
