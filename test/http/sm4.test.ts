import { createDecipheriv } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { withClearMaterial } from '../../src/domain/keys/key-material.js';
import { expectError } from '../helpers/clients.js';
import { FACES, face } from '../helpers/faces.js';
import { makeApp, TEST_MASTER_KEY, type TestApp, uniqueRegion, useTestApp } from '../helpers/test-app.js';
import { versionFace } from '../helpers/version-faces.js';

// Aliyun_SM4 keys (spec 13.1, 13.5) on both faces: 16 bytes of material, blobs of format 2
// that an independent SM4-CTR over the stored material decrypts, the symmetric operations,
// and a blob whose format is not its key spec's refused as InvalidParameter.

const t = useTestApp();
/** Without CreateKeyVersion's minimum interval. */
let loose: TestApp;
beforeAll(async () => {
  loose = await makeApp(t.db, { KMS_KEY_VERSION_MIN_INTERVAL_S: '0' });
  t.extra.push(loose);
});

const b64 = (text: string) => Buffer.from(text).toString('base64');
const masterKey = Buffer.from(TEST_MASTER_KEY, 'base64');

/** The clear material of a key version, read from the database (outside the service). */
async function storedMaterial(region: string, keyId: string, versionId: string): Promise<Buffer> {
  const { rows } = await t.db.query<{ wrapped_material: Uint8Array }>(
    'SELECT wrapped_material FROM key_versions WHERE region = $1 AND key_id = $2 AND id = $3',
    [region, keyId, versionId],
  );
  return withClearMaterial(masterKey, keyId, versionId, rows[0]!.wrapped_material, (m) => Buffer.from(m));
}

describe.each(FACES)('Aliyun_SM4 keys (%s face)', (name) => {
  it('encrypts under 16 bytes of material in blob format 2, which decrypts here and outside', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const created = await f.createKey({ KeySpec: 'Aliyun_SM4' });
    expect(created.status).toBe(f.successStatus('create'));
    const m = created.body.KeyMetadata;
    expect(m).toMatchObject({ KeySpec: 'Aliyun_SM4', KeyUsage: 'ENCRYPT/DECRYPT', KeyState: 'Enabled' });
    const material = await storedMaterial(region, m.KeyId, m.PrimaryKeyVersion);
    expect(material).toHaveLength(16);
    expect((await f.createAlias('alias/sm4', m.KeyId)).status).toBe(f.successStatus('create'));

    const plaintext = 'sm4 secret text';
    const enc = await f.encrypt('alias/sm4', b64(plaintext), { app: 'x' });
    expect(enc.status).toBe(200);
    expect(enc.body).toMatchObject({ KeyId: m.KeyId, KeyVersionId: m.PrimaryKeyVersion });
    const blob = Buffer.from(enc.body.CiphertextBlob, 'base64');
    expect(blob[4]).toBe(2);
    expect(blob).toHaveLength(85 + plaintext.length);
    const local = createDecipheriv('sm4-ctr', material, blob.subarray(37, 53));
    expect(Buffer.concat([local.update(blob.subarray(85)), local.final()]).toString()).toBe(plaintext);

    const dec = await f.decrypt(enc.body.CiphertextBlob, { app: 'x' });
    expect(dec.status).toBe(200);
    expect(dec.body).toMatchObject({ Plaintext: b64(plaintext), KeyId: m.KeyId, KeyVersionId: m.PrimaryKeyVersion });
    expectError(await f.decrypt(enc.body.CiphertextBlob, { app: 'y' }), 400, 'InvalidParameter');
    expectError(await f.decrypt(enc.body.CiphertextBlob), 400, 'InvalidParameter');

    const dk = await f.generateDataKey('alias/sm4', { NumberOfBytes: 24 });
    expect(dk.status).toBe(200);
    expect(Buffer.from(dk.body.CiphertextBlob, 'base64')[4]).toBe(2);
    expect((await f.decrypt(dk.body.CiphertextBlob)).body.Plaintext).toBe(dk.body.Plaintext);
    const dkw = await f.generateDataKey(m.KeyId, {}, false);
    expect(dkw.status).toBe(200);
    expect(dkw.body.Plaintext).toBeUndefined();
    const opened = await f.decrypt(dkw.body.CiphertextBlob);
    expect(Buffer.from(opened.body.Plaintext, 'base64')).toHaveLength(32);
  });

  it('refuses a blob whose format is not its key spec as InvalidParameter (CiphertextBlob)', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const sm4 = await f.newKey({ KeySpec: 'Aliyun_SM4' });
    const aes = await f.newKey();
    const long = b64('a plaintext long enough for either layout to parse');
    const sm4Blob = Buffer.from((await f.encrypt(sm4, long)).body.CiphertextBlob, 'base64');
    const aesBlob = Buffer.from((await f.encrypt(aes, long)).body.CiphertextBlob, 'base64');
    for (const [blob, format] of [
      [sm4Blob, 1],
      [aesBlob, 2],
    ] as const) {
      const other = Buffer.from(blob);
      other[4] = format;
      const body = expectError(await f.decrypt(other.toString('base64')), 400, 'InvalidParameter');
      expect(body.Message).toMatch(/^The specified parameter "CiphertextBlob" is not valid/);
    }
    // Each still decrypts as made.
    expect((await f.decrypt(sm4Blob.toString('base64'))).body.Plaintext).toBe(long);
    expect((await f.decrypt(aesBlob.toString('base64'))).body.Plaintext).toBe(long);
  });

  it('gives an SM4 key new 16-byte versions; old blobs still decrypt', async () => {
    const region = uniqueRegion();
    const f = face(name, loose.http, region);
    const v = versionFace(name, loose.http, region);
    const keyId = await f.newKey({ KeySpec: 'Aliyun_SM4' });
    const old = await f.encrypt(keyId, b64('old'));
    const made = await v.createKeyVersion(keyId);
    expect(made.status).toBe(f.successStatus('create'));
    const versionId = made.body.KeyVersion.KeyVersionId;
    expect(await storedMaterial(region, keyId, versionId)).toHaveLength(16);
    const fresh = await f.encrypt(keyId, b64('new'));
    expect(fresh.body.KeyVersionId).toBe(versionId);
    expect((await f.decrypt(old.body.CiphertextBlob)).body).toMatchObject({
      Plaintext: b64('old'),
      KeyVersionId: old.body.KeyVersionId,
    });
    expect((await f.decrypt(fresh.body.CiphertextBlob)).body.Plaintext).toBe(b64('new'));
  });
});
