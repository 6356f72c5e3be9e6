import { constants, createHash, generateKeyPairSync, privateDecrypt, publicEncrypt, verify } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Kms, {
  AsymmetricDecryptRequest,
  AsymmetricEncryptRequest,
  AsymmetricSignRequest,
  AsymmetricVerifyRequest,
  CreateAliasRequest,
  CreateKeyRequest,
  CreateKeyVersionRequest,
  DecryptRequest,
  DeleteAliasRequest,
  DescribeKeyRequest,
  DescribeKeyVersionRequest,
  EncryptRequest,
  GetPublicKeyRequest,
  GetSecretValueRequest,
  ListAliasesByKeyIdRequest,
  ListAliasesRequest,
  ListKeyVersionsRequest,
  UpdateAliasRequest,
  UpdateRotationPolicyRequest,
} from '@alicloud/kms20160120';
import OpenApi, { Config as OpenApiConfig, OpenApiRequest, Params } from '@alicloud/openapi-client';
import RPCClient from '@alicloud/pop-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { type Credentials, DEV_CREDENTIALS, UUID_UPPER } from '../helpers/clients.js';
import { makeApp, openTestDatabase, type TestApp, uniqueRegion } from '../helpers/test-app.js';

// The official SDKs, unmodified, against a listening service with authentication on: the
// requests are signed by the SDKs themselves (V1 for kms20160120 and pop-core, V3 for
// openapi-client) with the default root access key, and the answers are read by the SDKs'
// own parsers. Each test works in a region of its own.

const ACCOUNT = '1234567890123456';
const VERSION = '2016-01-20';
const WRONG_SECRET: Credentials = { accessKeyId: DEV_CREDENTIALS.accessKeyId, secret: 'not-the-secret' };
const UNKNOWN_KEY: Credentials = { accessKeyId: 'LTAI_no_such_access_key', secret: DEV_CREDENTIALS.secret };

// Values that need every encoding rule of the V1 string-to-sign: space (%20, never '+'), '+',
// '*' (%2A), '~' (kept), '/', sub-delims, '%', '&', '=', multi-byte UTF-8 and an astral character.
const TRICKY = "a b+c*d~e/f!g'h(i)j%k&l=m ü 漢字 😀";
// Alias names using every character class the grammar admits: '/', '_', '-', digits, case.
const NAME_A = 'alias/Team_A/svc-1/v2';
const NAME_B = 'alias/team-b_2';
const NAME_C = 'alias/z/y_x-w';

const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const keyArn = (region: string, keyId: string) => `acs:kms:${region}:${ACCOUNT}:key/${keyId}`;
const aliasArn = (region: string, name: string) => `acs:kms:${region}:${ACCOUNT}:${name}`;
/** The region of an ARN. */
const regionOfArn = (arn: string) => arn.split(':')[2]!;

let db: Database;
let main: TestApp;
let mainPort: number;
const regional: TestApp[] = [];

async function listen(t: TestApp): Promise<number> {
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  return (t.app.server.address() as AddressInfo).port;
}

beforeAll(async () => {
  db = await openTestDatabase();
  main = await makeApp(db);
  mainPort = await listen(main);
});

afterAll(async () => {
  for (const t of regional) await t.app.close();
  await main?.app.close();
  await db?.close();
});

/** What the SDKs throw: tea's ResponseError (kms20160120, openapi-client) or pop-core's Error. */
interface SdkError extends Error {
  code?: string;
  statusCode?: number;
  data?: Record<string, unknown>;
  entry?: { response: { statusCode: number } };
}

async function rejection(call: Promise<unknown>): Promise<SdkError> {
  try {
    await call;
  } catch (err) {
    return err as SdkError;
  }
  throw new Error('expected the SDK call to fail');
}

/** The error body every face answers with (spec section 5), as the SDK hands it over. */
function expectEnvelope(data: Record<string, unknown> | undefined, code: string, message?: string) {
  expect(data).toBeDefined();
  expect(data?.Code).toBe(code);
  expect(String(data?.RequestId)).toMatch(UUID_UPPER);
  for (const field of ['HostId', 'Message', 'Recommend']) expect(typeof data?.[field]).toBe('string');
  if (message !== undefined) expect(data?.Message).toBe(message);
}

// ---------------------------------------------------------------------------------------------
// @alicloud/kms20160120 1.2.0: V1, POST, every parameter in the query.
// ---------------------------------------------------------------------------------------------

describe('@alicloud/kms20160120 1.2.0 (V1)', () => {
  // Under Node's ESM loader the default export of this CommonJS package is module.exports.
  const KmsClient = ((Kms as unknown as { default?: unknown }).default ?? Kms) as typeof Kms.default;

  const client = (port: number, credentials: Credentials = DEV_CREDENTIALS) =>
    new KmsClient({
      accessKeyId: credentials.accessKeyId,
      accessKeySecret: credentials.secret,
      endpoint: `127.0.0.1:${port}`,
      protocol: 'http',
      regionId: 'cn-hangzhou',
    } as ConstructorParameters<typeof KmsClient>[0]);

  /**
   * SDK 1.x never puts the region on the wire: `regionId` only picks the endpoint, and the
   * request models have no RegionId field. Against real KMS the region is the endpoint's; here
   * it is the service's default region, so each test gets a server over the shared database
   * whose default region is a fresh one.
   */
  async function regionalClient(env: Record<string, string> = {}) {
    const region = uniqueRegion();
    const t = await makeApp(db, { KMS_DEFAULT_REGION: region, ...env });
    regional.push(t);
    return { region, kms: client(await listen(t)) };
  }

  it('CreateKey and DescribeKey by key id and by alias answer typed bodies', async () => {
    const { region, kms } = await regionalClient();
    const created = await kms.createKey(new CreateKeyRequest({ description: TRICKY }));
    expect(created.requestId).toMatch(UUID_UPPER);
    const meta = created.keyMetadata;
    expect(meta.keyId).toMatch(UUID_V4);
    expect(meta).toMatchObject({
      arn: keyArn(region, meta.keyId),
      keyState: 'Enabled',
      keySpec: 'Aliyun_AES_256',
      keyUsage: 'ENCRYPT/DECRYPT',
      origin: 'Aliyun_KMS',
      protectionLevel: 'SOFTWARE',
      description: TRICKY,
      deleteDate: '',
    });
    expect(meta.creationDate).toMatch(DATE);

    const created2 = await kms.createAlias(new CreateAliasRequest({ aliasName: NAME_A, keyId: meta.keyId }));
    expect(created2.requestId).toMatch(UUID_UPPER);

    const byId = await kms.describeKey(new DescribeKeyRequest({ keyId: meta.keyId }));
    expect(byId.requestId).toMatch(UUID_UPPER);
    expect(byId.keyMetadata).toMatchObject({
      keyId: meta.keyId,
      arn: meta.arn,
      keyState: 'Enabled',
      description: TRICKY,
      creationDate: meta.creationDate,
    });

    for (const keyId of [NAME_A, aliasArn(region, NAME_A), meta.arn]) {
      const described = await kms.describeKey(new DescribeKeyRequest({ keyId }));
      expect(described.keyMetadata.keyId).toBe(meta.keyId);
      expect(described.keyMetadata.arn).toBe(meta.arn);
    }
  });

  it('key versions and rotation: CreateKey with a policy, CreateKeyVersion, ListKeyVersions, DescribeKeyVersion, UpdateRotationPolicy', async () => {
    const { kms } = await regionalClient({ KMS_KEY_VERSION_MIN_INTERVAL_S: '0' });
    const created = await kms.createKey(
      new CreateKeyRequest({ keySpec: 'Aliyun_SM4', enableAutomaticRotation: true, rotationInterval: '30d' }),
    );
    const meta = created.keyMetadata;
    expect(meta).toMatchObject({
      keySpec: 'Aliyun_SM4',
      automaticRotation: 'Enabled',
      rotationInterval: '2592000s',
      lastRotationDate: meta.creationDate,
    });
    expect(meta.nextRotationDate).toMatch(DATE);
    await kms.createAlias(new CreateAliasRequest({ aliasName: NAME_C, keyId: meta.keyId }));
    const old = await kms.encrypt(
      new EncryptRequest({ keyId: NAME_C, plaintext: Buffer.from('old').toString('base64') }),
    );
    expect(old.keyVersionId).toBe(meta.primaryKeyVersion);

    const made = await kms.createKeyVersion(new CreateKeyVersionRequest({ keyId: NAME_C }));
    expect(made.requestId).toMatch(UUID_UPPER);
    expect(made.keyVersion.keyId).toBe(meta.keyId);
    expect(made.keyVersion.keyVersionId).toMatch(UUID_V4);
    expect(made.keyVersion.creationDate).toMatch(DATE);
    const fresh = await kms.encrypt(
      new EncryptRequest({ keyId: NAME_C, plaintext: Buffer.from('new').toString('base64') }),
    );
    expect(fresh.keyVersionId).toBe(made.keyVersion.keyVersionId);
    const opened = await kms.decrypt(new DecryptRequest({ ciphertextBlob: old.ciphertextBlob }));
    expect(Buffer.from(opened.plaintext, 'base64').toString()).toBe('old');
    expect(opened.keyVersionId).toBe(meta.primaryKeyVersion);

    const listed = await kms.listKeyVersions(
      new ListKeyVersionsRequest({ keyId: meta.keyId, pageSize: 1, pageNumber: 2 }),
    );
    expect(listed).toMatchObject({ pageNumber: 2, pageSize: 1, totalCount: 2 });
    expect(listed.keyVersions.keyVersion).toEqual([made.keyVersion]);
    const described = await kms.describeKeyVersion(
      new DescribeKeyVersionRequest({ keyId: meta.arn, keyVersionId: meta.primaryKeyVersion }),
    );
    expect(described.keyVersion).toMatchObject({ keyId: meta.keyId, keyVersionId: meta.primaryKeyVersion });
    const missing = await rejection(
      kms.describeKeyVersion(new DescribeKeyVersionRequest({ keyId: meta.keyId, keyVersionId: 'nope' })),
    );
    expect(missing.code).toBe('Forbidden.KeyVersionNotFoundError');
    expectEnvelope(missing.data, 'Forbidden.KeyVersionNotFound', 'The specified Key version is not found.');

    const off = await kms.updateRotationPolicy(
      new UpdateRotationPolicyRequest({ keyId: meta.keyId, enableAutomaticRotation: false }),
    );
    expect(off.requestId).toMatch(UUID_UPPER);
    expect((await kms.describeKey(new DescribeKeyRequest({ keyId: NAME_C }))).keyMetadata).toMatchObject({
      automaticRotation: 'Disabled',
      rotationInterval: '',
      nextRotationDate: '',
      primaryKeyVersion: made.keyVersion.keyVersionId,
    });
    await kms.updateRotationPolicy(
      new UpdateRotationPolicyRequest({ keyId: meta.keyId, enableAutomaticRotation: true, rotationInterval: '365d' }),
    );
    expect((await kms.describeKey(new DescribeKeyRequest({ keyId: meta.keyId }))).keyMetadata.rotationInterval).toBe(
      '31536000s',
    );
    const bad = await rejection(
      kms.updateRotationPolicy(
        new UpdateRotationPolicyRequest({ keyId: meta.keyId, enableAutomaticRotation: true, rotationInterval: '1d' }),
      ),
    );
    expect(bad.code).toBe('InvalidParameterError');
  });

  it('CreateKeyVersion inside the minimum interval: Rejected.LimitExceededError', async () => {
    const { kms } = await regionalClient();
    const keyId = (await kms.createKey(new CreateKeyRequest({}))).keyMetadata.keyId;
    const err = await rejection(kms.createKeyVersion(new CreateKeyVersionRequest({ keyId })));
    expect(err.code).toBe('Rejected.LimitExceededError');
    expectEnvelope(err.data, 'Rejected.LimitExceeded');
  });

  it('CreateAlias, ListAliases, UpdateAlias, ListAliasesByKeyId and DeleteAlias', async () => {
    const { region, kms } = await regionalClient();
    const k1 = (await kms.createKey(new CreateKeyRequest({}))).keyMetadata.keyId;
    const k2 = (await kms.createKey(new CreateKeyRequest({}))).keyMetadata.keyId;
    // A key ARN as KeyId is stored as the bare key id.
    await kms.createAlias(new CreateAliasRequest({ aliasName: NAME_C, keyId: keyArn(region, k1) }));
    await kms.createAlias(new CreateAliasRequest({ aliasName: NAME_A, keyId: k1 }));
    await kms.createAlias(new CreateAliasRequest({ aliasName: NAME_B, keyId: k1 }));
    const entry = (name: string, keyId: string) => ({ aliasName: name, aliasArn: aliasArn(region, name), keyId });

    const all = await kms.listAliases(new ListAliasesRequest({}));
    expect(all.requestId).toMatch(UUID_UPPER);
    expect(all.totalCount).toBe(3);
    expect(all.pageNumber).toBe(1);
    expect(all.pageSize).toBe(10);
    expect(Array.isArray(all.aliases.alias)).toBe(true);
    // Byte order: 'T' (0x54) sorts before 't' (0x74).
    expect(all.aliases.alias).toEqual([entry(NAME_A, k1), entry(NAME_B, k1), entry(NAME_C, k1)]);

    const page2 = await kms.listAliases(new ListAliasesRequest({ pageNumber: 2, pageSize: 2 }));
    expect(page2.totalCount).toBe(3);
    expect(page2.pageNumber).toBe(2);
    expect(page2.pageSize).toBe(2);
    expect(page2.aliases.alias.map((a) => a.aliasName)).toEqual([NAME_C]);

    const updated = await kms.updateAlias(new UpdateAliasRequest({ aliasName: NAME_B, keyId: k2 }));
    expect(updated.requestId).toMatch(UUID_UPPER);
    expect((await kms.describeKey(new DescribeKeyRequest({ keyId: NAME_B }))).keyMetadata.keyId).toBe(k2);

    const ofK1 = await kms.listAliasesByKeyId(new ListAliasesByKeyIdRequest({ keyId: k1 }));
    expect(ofK1.requestId).toMatch(UUID_UPPER);
    expect(ofK1.totalCount).toBe(2);
    expect(ofK1.pageNumber).toBe(1);
    expect(ofK1.pageSize).toBe(10);
    expect(ofK1.aliases.alias).toEqual([entry(NAME_A, k1), entry(NAME_C, k1)]);
    const ofK2 = await kms.listAliasesByKeyId(new ListAliasesByKeyIdRequest({ keyId: keyArn(region, k2) }));
    expect(ofK2.totalCount).toBe(1);
    expect(ofK2.aliases.alias).toEqual([entry(NAME_B, k2)]);

    const deleted = await kms.deleteAlias(new DeleteAliasRequest({ aliasName: NAME_B }));
    expect(deleted.requestId).toMatch(UUID_UPPER);
    const after = await kms.listAliases(new ListAliasesRequest({}));
    expect(after.totalCount).toBe(2);
    expect(after.aliases.alias.map((a) => a.aliasName)).toEqual([NAME_A, NAME_C]);
    const ofK2After = await kms.listAliasesByKeyId(new ListAliasesByKeyIdRequest({ keyId: k2 }));
    expect(ofK2After.totalCount).toBe(0);
    expect(ofK2After.aliases.alias).toEqual([]);
    // Deleting an alias never touches its key.
    expect((await kms.describeKey(new DescribeKeyRequest({ keyId: k2 }))).keyMetadata.keyState).toBe('Enabled');
    const gone = await rejection(kms.describeKey(new DescribeKeyRequest({ keyId: NAME_B })));
    expect(gone.code).toBe('Forbidden.AliasNotFoundError');
  });

  it('Aliases.Alias is an array with zero and with one entry (the SDK throws on an object)', async () => {
    const { region, kms } = await regionalClient();
    const none = await kms.listAliases(new ListAliasesRequest({}));
    expect(none.totalCount).toBe(0);
    expect(Array.isArray(none.aliases.alias)).toBe(true);
    expect(none.aliases.alias).toHaveLength(0);

    const keyId = (await kms.createKey(new CreateKeyRequest({}))).keyMetadata.keyId;
    const noneOfKey = await kms.listAliasesByKeyId(new ListAliasesByKeyIdRequest({ keyId }));
    expect(noneOfKey.totalCount).toBe(0);
    expect(noneOfKey.aliases.alias).toEqual([]);

    await kms.createAlias(new CreateAliasRequest({ aliasName: NAME_A, keyId }));
    const one = await kms.listAliases(new ListAliasesRequest({}));
    expect(one.totalCount).toBe(1);
    expect(Array.isArray(one.aliases.alias)).toBe(true);
    expect(one.aliases.alias).toEqual([{ aliasName: NAME_A, aliasArn: aliasArn(region, NAME_A), keyId }]);
    const oneOfKey = await kms.listAliasesByKeyId(new ListAliasesByKeyIdRequest({ keyId }));
    expect(oneOfKey.aliases.alias.map((a) => a.aliasName)).toEqual([NAME_A]);

    // A page past the end and PageSize=0 are empty arrays too, with the full TotalCount.
    const past = await kms.listAliases(new ListAliasesRequest({ pageNumber: 5 }));
    expect(past.totalCount).toBe(1);
    expect(past.aliases.alias).toEqual([]);
    const zero = await kms.listAliases(new ListAliasesRequest({ pageSize: 0 }));
    expect(zero.totalCount).toBe(1);
    expect(zero.aliases.alias).toEqual([]);
  });

  // SDK 1.x throws only for status >= 400, with `code` = the body's Code + 'Error'. The HTTP
  // status is not a property of the error (tea's ResponseError takes statusCode from the body,
  // which has none): it is in the message, `code: <status>, <Message> requestid: <id>`.
  it('a missing alias: Forbidden.AliasNotFoundError, status 404', async () => {
    const { kms } = await regionalClient();
    const err = await rejection(kms.describeKey(new DescribeKeyRequest({ keyId: 'alias/missing' })));
    expect(err.code).toBe('Forbidden.AliasNotFoundError');
    expect(err.message).toMatch(/^Forbidden\.AliasNotFoundError: code: 404, The specified Alias is not found\. /);
    expect(err.statusCode).toBeUndefined();
    expectEnvelope(err.data, 'Forbidden.AliasNotFound', 'The specified Alias is not found.');
    expect(err.message).toContain(`requestid: ${err.data?.RequestId}`);

    const missingKey = await rejection(
      kms.describeKey(new DescribeKeyRequest({ keyId: '00000000-0000-4000-8000-000000000000' })),
    );
    expect(missingKey.code).toBe('Forbidden.KeyNotFoundError');
    expect(missingKey.message).toContain('code: 404, The specified Key is not found.');
  });

  it('a duplicate alias: AliasAlreadyExistsError, status 400, and the first alias is kept', async () => {
    const { kms } = await regionalClient();
    const k1 = (await kms.createKey(new CreateKeyRequest({}))).keyMetadata.keyId;
    const k2 = (await kms.createKey(new CreateKeyRequest({}))).keyMetadata.keyId;
    await kms.createAlias(new CreateAliasRequest({ aliasName: NAME_A, keyId: k1 }));
    const err = await rejection(kms.createAlias(new CreateAliasRequest({ aliasName: NAME_A, keyId: k2 })));
    expect(err.code).toBe('AliasAlreadyExistsError');
    expect(err.message).toContain('code: 400, AliasName Already Exists.');
    expectEnvelope(err.data, 'AliasAlreadyExists', 'AliasName Already Exists.');
    expect((await kms.describeKey(new DescribeKeyRequest({ keyId: NAME_A }))).keyMetadata.keyId).toBe(k1);
  });

  it('refusals that say why still reach the SDK by their code: a bad alias name, an action not built', async () => {
    const { kms } = await regionalClient();
    const keyId = (await kms.createKey(new CreateKeyRequest({}))).keyMetadata.keyId;
    const bad = await rejection(kms.createAlias(new CreateAliasRequest({ aliasName: 'app', keyId })));
    expect(bad.code).toBe('InvalidParameterError');
    const why =
      'The specified parameter "AliasName" is not valid: it must start with alias/ followed by 1 to 255 of A-Z a-z 0-9 _ - /';
    expect(bad.message).toContain(`code: 400, ${why} `);
    expectEnvelope(bad.data, 'InvalidParameter', why);

    const secret = await rejection(kms.getSecretValue(new GetSecretValueRequest({ secretName: 'db-password' })));
    expect(secret.code).toBe('UnsupportedOperationError');
    expect(secret.message).toContain('code: 400, This operation is not supported: the action "GetSecretValue"');
    expectEnvelope(
      secret.data,
      'UnsupportedOperation',
      'This operation is not supported: the action "GetSecretValue" is not built in this emulator',
    );
  });

  it('asymmetric keys: GetPublicKey, AsymmetricSign by alias (verified locally), Verify, Encrypt and Decrypt', async () => {
    const { kms } = await regionalClient();
    const versionOf = async (keyId: string) =>
      (await db.query<{ id: string }>('SELECT id FROM key_versions WHERE key_id = $1', [keyId])).rows[0]!.id;
    const signer = (await kms.createKey(new CreateKeyRequest({ keySpec: 'EC_P256' }))).keyMetadata;
    expect(signer).toMatchObject({ keySpec: 'EC_P256', keyUsage: 'SIGN/VERIFY', primaryKeyVersion: '' });
    await kms.createAlias(new CreateAliasRequest({ aliasName: 'alias/sdk-signer', keyId: signer.keyId }));
    const signerVersion = await versionOf(signer.keyId);
    const pub = await kms.getPublicKey(
      new GetPublicKeyRequest({ keyId: 'alias/sdk-signer', keyVersionId: signerVersion }),
    );
    expect(pub).toMatchObject({ keyId: signer.keyId, keyVersionId: signerVersion });
    const message = Buffer.from(TRICKY);
    const digest = createHash('sha256').update(message).digest().toString('base64');
    const signed = await kms.asymmetricSign(
      new AsymmetricSignRequest({
        keyId: 'alias/sdk-signer',
        keyVersionId: signerVersion,
        algorithm: 'ECDSA_SHA_256',
        digest,
      }),
    );
    expect(signed).toMatchObject({
      keyId: signer.keyId,
      keyVersionId: signerVersion,
      requestId: expect.stringMatching(UUID_UPPER),
    });
    expect(verify('sha256', message, pub.publicKey, Buffer.from(signed.value, 'base64'))).toBe(true);
    const verified = await kms.asymmetricVerify(
      new AsymmetricVerifyRequest({
        keyId: signer.keyId,
        keyVersionId: signerVersion,
        algorithm: 'ECDSA_SHA_256',
        digest,
        value: signed.value,
      }),
    );
    expect(verified.value).toBe(true);
    const wrong = await kms.asymmetricVerify(
      new AsymmetricVerifyRequest({
        keyId: signer.keyId,
        keyVersionId: signerVersion,
        algorithm: 'ECDSA_SHA_256',
        digest: Buffer.alloc(32).toString('base64'),
        value: signed.value,
      }),
    );
    expect(wrong.value).toBe(false);

    const box = (await kms.createKey(new CreateKeyRequest({ keySpec: 'RSA_2048', keyUsage: 'ENCRYPT/DECRYPT' })))
      .keyMetadata;
    const boxVersion = await versionOf(box.keyId);
    const boxPem = (await kms.getPublicKey(new GetPublicKeyRequest({ keyId: box.keyId, keyVersionId: boxVersion })))
      .publicKey;
    const local = publicEncrypt(
      { key: boxPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      message,
    );
    const opened = await kms.asymmetricDecrypt(
      new AsymmetricDecryptRequest({
        keyId: box.keyId,
        keyVersionId: boxVersion,
        algorithm: 'RSAES_OAEP_SHA_256',
        ciphertextBlob: local.toString('base64'),
      }),
    );
    expect(Buffer.from(opened.plaintext, 'base64').toString()).toBe(TRICKY);
    const sealed = await kms.asymmetricEncrypt(
      new AsymmetricEncryptRequest({
        keyId: box.keyId,
        keyVersionId: boxVersion,
        algorithm: 'RSAES_OAEP_SHA_1',
        plaintext: message.toString('base64'),
      }),
    );
    const back = await kms.asymmetricDecrypt(
      new AsymmetricDecryptRequest({
        keyId: box.keyId,
        keyVersionId: boxVersion,
        algorithm: 'RSAES_OAEP_SHA_1',
        ciphertextBlob: sealed.ciphertextBlob,
      }),
    );
    expect(back.plaintext).toBe(message.toString('base64'));

    const missing = await rejection(
      kms.getPublicKey(new GetPublicKeyRequest({ keyId: box.keyId, keyVersionId: signerVersion })),
    );
    expect(missing.code).toBe('Forbidden.KeyVersionNotFoundError');
    expectEnvelope(missing.data, 'Forbidden.KeyVersionNotFound', 'The specified Key version is not found.');
    const usage = await rejection(
      kms.asymmetricSign(
        new AsymmetricSignRequest({ keyId: box.keyId, keyVersionId: boxVersion, algorithm: 'RSA_PSS_SHA_256', digest }),
      ),
    );
    expect(usage.code).toBe('Rejected.UnsupportedOperationError');
  });

  it('a wrong secret: SignatureDoesNotMatchError, status 400', async () => {
    const err = await rejection(client(mainPort, WRONG_SECRET).listAliases(new ListAliasesRequest({})));
    expect(err.code).toBe('SignatureDoesNotMatchError');
    expect(err.message).toContain('code: 400, Specified signature is not matched with our calculation.');
    expectEnvelope(err.data, 'SignatureDoesNotMatch');
    expect(JSON.stringify(err.data)).not.toContain(DEV_CREDENTIALS.secret);
  });

  it('an unknown access key: InvalidAccessKeyId.NotFoundError, status 404', async () => {
    const err = await rejection(client(mainPort, UNKNOWN_KEY).listAliases(new ListAliasesRequest({})));
    expect(err.code).toBe('InvalidAccessKeyId.NotFoundError');
    expect(err.message).toContain('code: 404,');
    expectEnvelope(err.data, 'InvalidAccessKeyId.NotFound');
  });
});

// ---------------------------------------------------------------------------------------------
// @alicloud/pop-core 1.8.0: V1, GET with everything in the query, or POST with a form body.
// ---------------------------------------------------------------------------------------------

describe.each(['GET', 'POST'] as const)('@alicloud/pop-core 1.8.0 (V1, %s)', (method) => {
  const client = (credentials: Credentials = DEV_CREDENTIALS) =>
    new RPCClient({
      accessKeyId: credentials.accessKeyId,
      accessKeySecret: credentials.secret,
      endpoint: `http://127.0.0.1:${mainPort}`,
      apiVersion: VERSION,
    });
  const opts = method === 'POST' ? { method: 'POST' } : {};

  // biome-ignore lint/suspicious/noExplicitAny: pop-core answers the parsed JSON, untyped
  type Body = Record<string, any>;
  /** One region per test: every call carries RegionId (signed, like every V1 parameter). */
  const regionalClient = (credentials?: Credentials) => {
    const region = uniqueRegion();
    const pop = client(credentials);
    const call = (action: string, params: Record<string, string | number> = {}) =>
      pop.request<Body>(action, { RegionId: region, ...params }, opts);
    return { region, call };
  };

  it('the seven operations, with values that need encoding', async () => {
    const { region, call } = regionalClient();
    const created = await call('CreateKey', { Description: TRICKY });
    expect(created.RequestId).toMatch(UUID_UPPER);
    expect(created.Code).toBeUndefined();
    const k1: string = created.KeyMetadata.KeyId;
    expect(k1).toMatch(UUID_V4);
    expect(created.KeyMetadata).toMatchObject({
      Arn: keyArn(region, k1),
      KeyState: 'Enabled',
      KeySpec: 'Aliyun_AES_256',
      KeyUsage: 'ENCRYPT/DECRYPT',
      Description: TRICKY,
    });
    const k2: string = (await call('CreateKey', { Description: '   ~~**++ /=&%' })).KeyMetadata.KeyId;

    expect(await call('CreateAlias', { AliasName: NAME_A, KeyId: k1 })).toEqual({
      RequestId: expect.stringMatching(UUID_UPPER),
    });
    await call('CreateAlias', { AliasName: NAME_B, KeyId: keyArn(region, k1) });

    const byId = await call('DescribeKey', { KeyId: k1 });
    expect(byId.KeyMetadata.Description).toBe(TRICKY);
    const byAlias = await call('DescribeKey', { KeyId: NAME_A });
    expect(byAlias.KeyMetadata.KeyId).toBe(k1);
    expect((await call('DescribeKey', { KeyId: k2 })).KeyMetadata.Description).toBe('   ~~**++ /=&%');

    const listed = await call('ListAliases', { PageSize: 50 });
    expect(listed).toEqual({
      RequestId: expect.stringMatching(UUID_UPPER),
      PageNumber: 1,
      PageSize: 50,
      TotalCount: 2,
      Aliases: {
        Alias: [
          { AliasName: NAME_A, AliasArn: aliasArn(region, NAME_A), KeyId: k1 },
          { AliasName: NAME_B, AliasArn: aliasArn(region, NAME_B), KeyId: k1 },
        ],
      },
    });

    expect(await call('UpdateAlias', { AliasName: NAME_A, KeyId: k2 })).toEqual({
      RequestId: expect.stringMatching(UUID_UPPER),
    });
    expect((await call('DescribeKey', { KeyId: NAME_A })).KeyMetadata.KeyId).toBe(k2);

    const ofK2 = await call('ListAliasesByKeyId', { KeyId: k2 });
    expect(ofK2.TotalCount).toBe(1);
    expect(ofK2.Aliases.Alias).toEqual([{ AliasName: NAME_A, AliasArn: aliasArn(region, NAME_A), KeyId: k2 }]);
    const ofK1 = await call('ListAliasesByKeyId', { KeyId: k1 });
    expect(ofK1.Aliases.Alias.map((a: Body) => a.AliasName)).toEqual([NAME_B]);

    expect(await call('DeleteAlias', { AliasName: NAME_A })).toEqual({
      RequestId: expect.stringMatching(UUID_UPPER),
    });
    const after = await call('ListAliases');
    expect(after.TotalCount).toBe(1);
    expect(after.Aliases.Alias.map((a: Body) => a.AliasName)).toEqual([NAME_B]);
    expect((await call('ListAliasesByKeyId', { KeyId: k2 })).Aliases.Alias).toEqual([]);
    expect((await call('DescribeKey', { KeyId: k2 })).KeyMetadata.KeyState).toBe('Enabled');
  });

  // pop-core treats any body with a Code as an error: `code` is the bare Code, `name` is
  // Code + 'Error'; the status is only on `entry.response`.
  it('a missing alias: Forbidden.AliasNotFound, status 404', async () => {
    const { call } = regionalClient();
    const err = await rejection(call('DescribeKey', { KeyId: 'alias/missing_one-1' }));
    expect(err.code).toBe('Forbidden.AliasNotFound');
    expect(err.name).toBe('Forbidden.AliasNotFoundError');
    expect(err.entry?.response.statusCode).toBe(404);
    expectEnvelope(err.data, 'Forbidden.AliasNotFound', 'The specified Alias is not found.');
  });

  it('a duplicate alias: AliasAlreadyExists, status 400', async () => {
    const { call } = regionalClient();
    const keyId: string = (await call('CreateKey')).KeyMetadata.KeyId;
    await call('CreateAlias', { AliasName: NAME_C, KeyId: keyId });
    const err = await rejection(call('CreateAlias', { AliasName: NAME_C, KeyId: keyId }));
    expect(err.code).toBe('AliasAlreadyExists');
    expect(err.entry?.response.statusCode).toBe(400);
  });

  it('a wrong secret: SignatureDoesNotMatch, status 400; an unknown key: InvalidAccessKeyId.NotFound', async () => {
    const wrong = await rejection(regionalClient(WRONG_SECRET).call('CreateKey', { Description: TRICKY }));
    expect(wrong.code).toBe('SignatureDoesNotMatch');
    expect(wrong.entry?.response.statusCode).toBe(400);
    expectEnvelope(wrong.data, 'SignatureDoesNotMatch', 'Specified signature is not matched with our calculation.');

    const unknown = await rejection(regionalClient(UNKNOWN_KEY).call('ListAliases'));
    expect(unknown.code).toBe('InvalidAccessKeyId.NotFound');
    expect(unknown.entry?.response.statusCode).toBe(404);
  });

  it('an action of the KMS API not built here: UnsupportedOperation, status 400; no KMS action: InvalidAction.NotFound', async () => {
    const { call } = regionalClient();
    const unsupported = await rejection(call('CreateSecret', { SecretName: 's', SecretData: 'd', VersionId: 'v1' }));
    expect(unsupported.code).toBe('UnsupportedOperation');
    expect(unsupported.entry?.response.statusCode).toBe(400);
    expectEnvelope(
      unsupported.data,
      'UnsupportedOperation',
      'This operation is not supported: the action "CreateSecret" is not built in this emulator',
    );
    const unknown = await rejection(call('CreateKye'));
    expect(unknown.code).toBe('InvalidAction.NotFound');
    expect(unknown.entry?.response.statusCode).toBe(404);
    expectEnvelope(
      unknown.data,
      'InvalidAction.NotFound',
      'Specified api is not found, please check your url and method: did you mean "CreateKey"?',
    );
  });

  it('an x-acs-region-id header is not signed under V1, so it is ignored: RegionId decides', async () => {
    const region = uniqueRegion();
    const headers = { 'x-acs-region-id': uniqueRegion() };
    const created = await client().request<Body>('CreateKey', { RegionId: region }, { ...opts, headers });
    expect(created.KeyMetadata.Arn).toBe(keyArn(region, created.KeyMetadata.KeyId));
  });
});

// ---------------------------------------------------------------------------------------------
// @alicloud/openapi-client 0.4.15 callApi, style RPC: V3 (ACS3-HMAC-SHA256), action and version
// in signed x-acs-* headers, the operation's parameters in the query.
// ---------------------------------------------------------------------------------------------

describe('@alicloud/openapi-client 0.4.15 callApi (V3, RPC style)', () => {
  const OpenApiClient = ((OpenApi as unknown as { default?: unknown }).default ?? OpenApi) as typeof OpenApi.default;
  const client = (credentials: Credentials = DEV_CREDENTIALS) =>
    new OpenApiClient(
      new OpenApiConfig({
        accessKeyId: credentials.accessKeyId,
        accessKeySecret: credentials.secret,
        endpoint: `127.0.0.1:${mainPort}`,
        protocol: 'http',
        regionId: 'cn-hangzhou',
      }),
    );
  const params = (action: string) =>
    new Params({
      action,
      version: VERSION,
      protocol: 'HTTP',
      pathname: '/',
      method: 'POST',
      authType: 'AK',
      style: 'RPC',
      reqBodyType: 'formData',
      bodyType: 'json',
    });
  // callApi reads a few optional fields of the runtime options; an empty object is enough.
  type Runtime = Parameters<ReturnType<typeof client>['callApi']>[2];
  const runtime = {} as Runtime;

  // biome-ignore lint/suspicious/noExplicitAny: callApi answers { body, headers, statusCode } untyped
  type Body = Record<string, any>;
  const regionalClient = (credentials?: Credentials) => {
    const region = uniqueRegion();
    const api = client(credentials);
    const call = async (
      action: string,
      query: Record<string, string> = {},
      extra: { body?: Record<string, string>; headers?: Record<string, string> } = {},
    ) => {
      const res = await api.callApi(
        params(action),
        new OpenApiRequest({ query: { RegionId: region, ...query }, ...extra }),
        runtime,
      );
      expect(res.statusCode).toBe(200);
      return res.body as Body;
    };
    return { region, call };
  };

  it('CreateKey, CreateAlias, ListAliases, DescribeKey via alias, UpdateAlias, DeleteAlias', async () => {
    const { region, call } = regionalClient();
    const created = await call('CreateKey', { Description: TRICKY });
    expect(created.RequestId).toMatch(UUID_UPPER);
    const k1: string = created.KeyMetadata.KeyId;
    expect(created.KeyMetadata).toMatchObject({ Arn: keyArn(region, k1), KeyState: 'Enabled', Description: TRICKY });
    // A parameter in a form body: the body hash and content-type are signed.
    const k2: string = (await call('CreateKey', {}, { body: { Description: TRICKY } })).KeyMetadata.KeyId;
    expect((await call('DescribeKey', { KeyId: k2 })).KeyMetadata.Description).toBe(TRICKY);

    expect(await call('CreateAlias', { AliasName: NAME_A, KeyId: k1 })).toEqual({
      RequestId: expect.stringMatching(UUID_UPPER),
    });
    await call('CreateAlias', { AliasName: NAME_B, KeyId: k1 });

    const listed = await call('ListAliases', { PageNumber: '1', PageSize: '1' });
    expect(listed).toEqual({
      RequestId: expect.stringMatching(UUID_UPPER),
      PageNumber: 1,
      PageSize: 1,
      TotalCount: 2,
      Aliases: { Alias: [{ AliasName: NAME_A, AliasArn: aliasArn(region, NAME_A), KeyId: k1 }] },
    });

    expect((await call('DescribeKey', { KeyId: NAME_A })).KeyMetadata.KeyId).toBe(k1);
    expect((await call('DescribeKey', { KeyId: aliasArn(region, NAME_A) })).KeyMetadata.KeyId).toBe(k1);

    expect(await call('UpdateAlias', { AliasName: NAME_A, KeyId: keyArn(region, k2) })).toEqual({
      RequestId: expect.stringMatching(UUID_UPPER),
    });
    expect((await call('DescribeKey', { KeyId: NAME_A })).KeyMetadata.KeyId).toBe(k2);
    const ofK2 = await call('ListAliasesByKeyId', { KeyId: k2 });
    expect(ofK2.Aliases.Alias).toEqual([{ AliasName: NAME_A, AliasArn: aliasArn(region, NAME_A), KeyId: k2 }]);

    expect(await call('DeleteAlias', { AliasName: NAME_A })).toEqual({
      RequestId: expect.stringMatching(UUID_UPPER),
    });
    const after = await call('ListAliases');
    expect(after.TotalCount).toBe(1);
    expect(after.Aliases.Alias).toEqual([{ AliasName: NAME_B, AliasArn: aliasArn(region, NAME_B), KeyId: k1 }]);
    const err = await rejection(call('DescribeKey', { KeyId: NAME_A }));
    expect(err.code).toBe('Forbidden.AliasNotFound');
  });

  it('the version operations signed V3: CreateKey with rotation, ListKeyVersions by alias, UpdateRotationPolicy', async () => {
    const { call } = regionalClient();
    const meta = (await call('CreateKey', { EnableAutomaticRotation: 'true', RotationInterval: '8760h' })).KeyMetadata;
    expect(meta).toMatchObject({ AutomaticRotation: 'Enabled', RotationInterval: '31536000s' });
    await call('CreateAlias', { AliasName: NAME_B, KeyId: meta.KeyId });
    const listed = await call('ListKeyVersions', { KeyId: aliasArn(regionOfArn(meta.Arn), NAME_B) });
    expect(listed).toEqual({
      RequestId: expect.stringMatching(UUID_UPPER),
      PageNumber: 1,
      PageSize: 10,
      TotalCount: 1,
      KeyVersions: {
        KeyVersion: [{ KeyId: meta.KeyId, KeyVersionId: meta.PrimaryKeyVersion, CreationDate: meta.CreationDate }],
      },
    });
    expect(await call('UpdateRotationPolicy', { KeyId: meta.KeyId, EnableAutomaticRotation: 'false' })).toEqual({
      RequestId: expect.stringMatching(UUID_UPPER),
    });
    const alias = await rejection(call('UpdateRotationPolicy', { KeyId: NAME_B, EnableAutomaticRotation: 'false' }));
    expect(alias.code).toBe('Unsupported.Alias');
    const soon = await rejection(call('CreateKeyVersion', { KeyId: NAME_B }));
    expect([soon.code, soon.statusCode]).toEqual(['Rejected.LimitExceeded', 400]);
  });

  it('ACS3-HMAC-SM3 (signatureAlgorithm in the client config): the same calls verify; a wrong secret does not', async () => {
    const region = uniqueRegion();
    const sm3Client = (secret: string) =>
      new OpenApiClient(
        new OpenApiConfig({
          accessKeyId: DEV_CREDENTIALS.accessKeyId,
          accessKeySecret: secret,
          endpoint: `127.0.0.1:${mainPort}`,
          protocol: 'http',
          regionId: 'cn-hangzhou',
          signatureAlgorithm: 'ACS3-HMAC-SM3',
        }),
      );
    const call = async (api: ReturnType<typeof sm3Client>, action: string, query: Record<string, string>) =>
      (await api.callApi(params(action), new OpenApiRequest({ query: { RegionId: region, ...query } }), runtime))
        .body as Body;
    const api = sm3Client(DEV_CREDENTIALS.secret);
    const keyId: string = (await call(api, 'CreateKey', { Description: TRICKY })).KeyMetadata.KeyId;
    await call(api, 'CreateAlias', { AliasName: NAME_A, KeyId: keyId });
    const sealed = await call(api, 'Encrypt', { KeyId: NAME_A, Plaintext: 'aGVsbG8=' });
    expect(sealed.KeyId).toBe(keyId);
    const err = await rejection(call(sm3Client('wrong-secret'), 'DescribeKey', { KeyId: keyId }));
    expect(err.code).toBe('SignatureDoesNotMatch');
  });

  it('the region may come from a signed x-acs-region-id header', async () => {
    const region = uniqueRegion();
    const api = client();
    const res = await api.callApi(
      params('CreateKey'),
      new OpenApiRequest({ query: {}, headers: { 'x-acs-region-id': region } }),
      runtime,
    );
    expect(res.statusCode).toBe(200);
    const keyId = (res.body as Body).KeyMetadata.KeyId;
    expect((res.body as Body).KeyMetadata.Arn).toBe(keyArn(region, keyId));
  });

  // openapi-client throws for status >= 400 with the bare Code; statusCode is set from the status.
  it('a missing alias: Forbidden.AliasNotFound, status 404', async () => {
    const { call } = regionalClient();
    const err = await rejection(call('DescribeKey', { KeyId: 'alias/missing' }));
    expect(err.code).toBe('Forbidden.AliasNotFound');
    expect(err.statusCode).toBe(404);
    expect(err.message).toContain('code: 404, The specified Alias is not found.');
    expectEnvelope(err.data, 'Forbidden.AliasNotFound', 'The specified Alias is not found.');
  });

  it('a duplicate alias: AliasAlreadyExists, status 400', async () => {
    const { call } = regionalClient();
    const keyId: string = (await call('CreateKey')).KeyMetadata.KeyId;
    await call('CreateAlias', { AliasName: NAME_C, KeyId: keyId });
    const err = await rejection(call('CreateAlias', { AliasName: NAME_C, KeyId: keyId }));
    expect(err.code).toBe('AliasAlreadyExists');
    expect(err.statusCode).toBe(400);
  });

  it('ReEncrypt, GenerateAndExportDataKey and ExportDataKey (not in SDK 1.2.0) through callApi', async () => {
    const { call } = regionalClient();
    const k1: string = (await call('CreateKey')).KeyMetadata.KeyId;
    const k2: string = (await call('CreateKey')).KeyMetadata.KeyId;
    await call('CreateAlias', { AliasName: 'alias/next', KeyId: k2 });
    const sealed = await call('Encrypt', {
      KeyId: k1,
      Plaintext: Buffer.from(TRICKY).toString('base64'),
      EncryptionContext: '{"a":"b"}',
    });
    const moved = await call('ReEncrypt', {
      CiphertextBlob: sealed.CiphertextBlob,
      SourceEncryptionContext: '{"a":"b"}',
      DestinationKeyId: 'alias/next',
    });
    expect(moved).toMatchObject({ KeyId: k1, KeyVersionId: sealed.KeyVersionId });
    const opened = await call('Decrypt', { CiphertextBlob: moved.CiphertextBlob });
    expect(opened).toMatchObject({ KeyId: k2, Plaintext: Buffer.from(TRICKY).toString('base64') });

    const mine = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const wrap = {
      PublicKeyBlob: mine.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      WrappingKeySpec: 'RSA_2048',
      WrappingAlgorithm: 'RSAES_OAEP_SHA_256',
    };
    const unwrap = (b64: string) =>
      privateDecrypt(
        { key: mine.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        Buffer.from(b64, 'base64'),
      ).toString('base64');
    const made = await call('GenerateAndExportDataKey', { KeyId: 'alias/next', NumberOfBytes: '24', ...wrap });
    expect(made.KeyId).toBe(k2);
    const plain = (await call('Decrypt', { CiphertextBlob: made.CiphertextBlob })).Plaintext;
    expect(unwrap(made.ExportedDataKey)).toBe(plain);
    const exported = await call('ExportDataKey', { CiphertextBlob: made.CiphertextBlob, ...wrap });
    expect(exported).toMatchObject({ KeyId: k2, KeyVersionId: made.KeyVersionId });
    expect(unwrap(exported.ExportedDataKey)).toBe(plain);

    const dry = await rejection(
      call('ReEncrypt', { CiphertextBlob: made.CiphertextBlob, DestinationKeyId: k1, DryRun: 'true' }),
    );
    expect(dry.code).toBe('DryRunOperationError');
    expect(dry.statusCode).toBe(400);
  });

  it('V3 signed: an action not built is UnsupportedOperation (400); a bad parameter says why', async () => {
    const { call } = regionalClient();
    const secret = await rejection(call('GetSecretValue', { SecretName: 'db-password' }));
    expect(secret.code).toBe('UnsupportedOperation');
    expect(secret.statusCode).toBe(400);
    expectEnvelope(
      secret.data,
      'UnsupportedOperation',
      'This operation is not supported: the action "GetSecretValue" is not built in this emulator',
    );
    const page = await rejection(call('ListAliases', { PageSize: '101' }));
    expect(page.code).toBe('InvalidParameter');
    expect(page.statusCode).toBe(400);
    expectEnvelope(
      page.data,
      'InvalidParameter',
      'The specified parameter "PageSize" is not valid: it must be a whole number from 0 to 100',
    );
  });

  it('a wrong secret: SignatureDoesNotMatch, status 400; an unknown key: InvalidAccessKeyId.NotFound', async () => {
    const wrong = await rejection(regionalClient(WRONG_SECRET).call('CreateKey', { Description: TRICKY }));
    expect(wrong.code).toBe('SignatureDoesNotMatch');
    expect(wrong.statusCode).toBe(400);
    expectEnvelope(wrong.data, 'SignatureDoesNotMatch', 'Specified signature is not matched with our calculation.');

    const unknown = await rejection(regionalClient(UNKNOWN_KEY).call('ListAliases'));
    expect(unknown.code).toBe('InvalidAccessKeyId.NotFound');
    expect(unknown.statusCode).toBe(404);
  });
});
