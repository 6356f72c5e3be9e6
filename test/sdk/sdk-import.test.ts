import { constants, createPublicKey, publicEncrypt, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Kms, {
  CreateKeyRequest,
  DecryptRequest,
  DeleteKeyMaterialRequest,
  DescribeKeyRequest,
  EncryptRequest,
  GetParametersForImportRequest,
  ImportKeyMaterialRequest,
} from '@alicloud/kms20160120';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { DEV_CREDENTIALS } from '../helpers/clients.js';
import { makeApp, openTestDatabase, type TestApp, uniqueRegion } from '../helpers/test-app.js';

// Key material import (spec 17) through the official SDK @alicloud/kms20160120 1.2.0 (V1
// signatures made by the SDK, answers read by its own models), against a listening server
// whose default region is a fresh one (SDK 1.x never sends the region).

const KmsClient = ((Kms as unknown as { default?: unknown }).default ?? Kms) as typeof Kms.default;

let db: Database;
let t: TestApp;
let kms: InstanceType<typeof KmsClient>;

beforeAll(async () => {
  db = await openTestDatabase();
  t = await makeApp(db, { KMS_DEFAULT_REGION: uniqueRegion() });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  kms = new KmsClient({
    accessKeyId: DEV_CREDENTIALS.accessKeyId,
    accessKeySecret: DEV_CREDENTIALS.secret,
    endpoint: `127.0.0.1:${(t.app.server.address() as AddressInfo).port}`,
    protocol: 'http',
    regionId: 'cn-hangzhou',
  } as ConstructorParameters<typeof KmsClient>[0]);
});

afterAll(async () => {
  await t?.app.close();
  await db?.close();
});

describe('@alicloud/kms20160120 1.2.0: GetParametersForImport, ImportKeyMaterial, DeleteKeyMaterial', () => {
  it('imports material wrapped locally, encrypts with it, deletes it and imports it again', async () => {
    const created = await kms.createKey(new CreateKeyRequest({ origin: 'EXTERNAL' }));
    const keyId = created.keyMetadata.keyId;
    expect(keyId).toMatch(/^[0-9a-f-]{36}$/);
    const material = randomBytes(32);

    const importOnce = async (expireUnix?: number) => {
      const params = await kms.getParametersForImport(
        new GetParametersForImportRequest({
          keyId,
          wrappingAlgorithm: 'RSAES_OAEP_SHA_1',
          wrappingKeySpec: 'RSA_2048',
        }),
      );
      expect(params.keyId).toBe(keyId);
      expect(params.tokenExpireTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      const publicKey = createPublicKey({ key: Buffer.from(params.publicKey, 'base64'), format: 'der', type: 'spki' });
      const wrapped = publicEncrypt(
        { key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' },
        material,
      ).toString('base64');
      const imported = await kms.importKeyMaterial(
        new ImportKeyMaterialRequest({
          keyId,
          encryptedKeyMaterial: wrapped,
          importToken: params.importToken,
          ...(expireUnix !== undefined && { keyMaterialExpireUnix: expireUnix }),
        }),
      );
      expect(imported.requestId).toMatch(/^[0-9A-F-]{36}$/);
    };
    const describe = async () => {
      const res = await kms.describeKey(new DescribeKeyRequest({ keyId }));
      return res.keyMetadata;
    };

    await importOnce(Math.floor(Date.now() / 1000) + 86_400);
    const metadata = await describe();
    expect(metadata.keyState).toBe('Enabled');
    expect(metadata.materialExpireTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    const encrypted = await kms.encrypt(
      new EncryptRequest({ keyId, plaintext: Buffer.from('sdk').toString('base64') }),
    );
    const blob = encrypted.ciphertextBlob;

    await kms.deleteKeyMaterial(new DeleteKeyMaterialRequest({ keyId }));
    expect((await describe()).keyState).toBe('PendingImport');
    await importOnce();
    expect((await describe()).materialExpireTime).toBe('');
    const decrypted = await kms.decrypt(new DecryptRequest({ ciphertextBlob: blob }));
    const plaintext = decrypted.plaintext;
    expect(Buffer.from(plaintext, 'base64').toString()).toBe('sdk');
  });
});
