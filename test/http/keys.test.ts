import { describe, expect, it } from 'vitest';
import { expectError, restClient, rpc } from '../helpers/clients.js';
import { FACES, face } from '../helpers/faces.js';
import { makeApp, uniqueRegion, useTestApp } from '../helpers/test-app.js';

// CreateKey, DescribeKey and ListKeys (spec section 3) and the one resolver (section 1).

const t = useTestApp();
const ACCOUNT = '1234567890123456';
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

describe.each(FACES)('keys through the %s face', (name) => {
  const setup = () => {
    const region = uniqueRegion();
    return { region, f: face(name, t.http, region) };
  };

  it('creates a key with the documented defaults, every field a string', async () => {
    const { region, f } = setup();
    const res = await f.createKey({ Description: 'first key' });
    expect(res.status).toBe(f.successStatus('create'));
    const m = res.body.KeyMetadata;
    expect(m.KeyId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(m).toMatchObject({
      Arn: `acs:kms:${region}:${ACCOUNT}:key/${m.KeyId}`,
      KeyState: 'Enabled',
      KeySpec: 'Aliyun_AES_256',
      KeyUsage: 'ENCRYPT/DECRYPT',
      Origin: 'Aliyun_KMS',
      ProtectionLevel: 'SOFTWARE',
      Description: 'first key',
      Creator: ACCOUNT,
      DeleteDate: '',
      MaterialExpireTime: '',
      AutomaticRotation: 'Disabled',
      RotationInterval: '',
      NextRotationDate: '',
      DeletionProtection: 'Disabled',
      DeletionProtectionDescription: '',
    });
    expect(m.CreationDate).toMatch(DATE);
    expect(m.LastRotationDate).toMatch(DATE);
    expect(m.PrimaryKeyVersion).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(m).sort()).toEqual(
      [
        'KeyId',
        'Arn',
        'KeyState',
        'KeySpec',
        'KeyUsage',
        'CreationDate',
        'Creator',
        'Description',
        'Origin',
        'ProtectionLevel',
        'PrimaryKeyVersion',
        'DeleteDate',
        'MaterialExpireTime',
        'LastRotationDate',
        'AutomaticRotation',
        'RotationInterval',
        'NextRotationDate',
        'DeletionProtection',
        'DeletionProtectionDescription',
      ].sort(),
    );
    for (const v of Object.values(m)) expect(typeof v).toBe('string');
    const { rows } = await t.db.query('SELECT id, state, description FROM keys WHERE region = $1', [region]);
    expect(rows).toEqual([{ id: m.KeyId, state: 'Enabled', description: 'first key' }]);
    const versions = await t.db.query<{ id: string; wrapped_material: Uint8Array }>(
      'SELECT id, wrapped_material FROM key_versions WHERE region = $1',
      [region],
    );
    expect(versions.rows).toHaveLength(1);
    expect(versions.rows[0]!.id).toBe(m.PrimaryKeyVersion);
  });

  it('an EXTERNAL key waits in PendingImport with no version', async () => {
    const { f } = setup();
    const res = await f.createKey({ Origin: 'EXTERNAL' });
    expect(res.body.KeyMetadata).toMatchObject({
      KeyState: 'PendingImport',
      Origin: 'EXTERNAL',
      PrimaryKeyVersion: '',
    });
  });

  it('never silently ignores a parameter it does not implement', async () => {
    const { region, f } = setup();
    const notBuilt = 'is not built in this emulator';
    for (const [param, value, why] of [
      [
        'KeySpec',
        'RSA_4096',
        'takes only Aliyun_AES_256 or Aliyun_SM4 or RSA_2048 or RSA_3072 or EC_P256 or EC_P256K or EC_SM2 in this emulator',
      ],
      ['Policy', '{}', notBuilt],
      ['DKMSInstanceId', 'kst-1', notBuilt],
      ['DryRun', 'true', `${notBuilt} (only false is accepted)`],
    ]) {
      const body = expectError(await f.createKey({ [param!]: value! }), 400, 'UnsupportedOperation');
      expect(body.Message).toBe(`This operation is not supported: the parameter "${param}" ${why}`);
    }
    expect((await f.createKey({ EnableAutomaticRotation: 'false', DryRun: 'false' })).status).toBe(
      f.successStatus('create'),
    );
    for (const [param, value, why] of [
      [
        'KeySpec',
        'AES_999',
        'it must be one of Aliyun_AES_256, Aliyun_SM4, RSA_2048, RSA_3072, EC_P256, EC_P256K, EC_SM2, Aliyun_AES_128, Aliyun_AES_192, RSA_4096',
      ],
      ['KeyUsage', 'SIGN', 'it must be one of ENCRYPT/DECRYPT, SIGN/VERIFY'],
      ['KeyUsage', 'SIGN/VERIFY', 'Aliyun_AES_256 keys take ENCRYPT/DECRYPT'],
      ['Origin', 'Somewhere', 'it must be one of Aliyun_KMS, EXTERNAL'],
      ['ProtectionLevel', 'SOFT', 'it must be one of SOFTWARE, HSM'],
      ['Description', 'x'.repeat(8193), 'it must be text of at most 8192 characters, without NUL'],
      ['Description', 'a\u0000b', 'it must be text of at most 8192 characters, without NUL'],
    ]) {
      const body = expectError(await f.createKey({ [param!]: value! }), 400, 'InvalidParameter');
      expect(body.Message).toBe(`The specified parameter "${param}" is not valid: ${why}`);
    }
    const { rows } = await t.db.query('SELECT count(*)::int AS n FROM keys WHERE region = $1', [region]);
    expect(rows[0]).toEqual({ n: 1 });
  });

  it('describes a key by key id, key ARN, alias name and alias ARN; KeyId is always the key', async () => {
    const { region, f } = setup();
    const k = await f.newKey();
    await f.createAlias('alias/by-any', k);
    for (const id of [
      k,
      `acs:kms:${region}:${ACCOUNT}:key/${k}`,
      'alias/by-any',
      `acs:kms:${region}:${ACCOUNT}:alias/by-any`,
    ]) {
      const res = await f.describeKey(id);
      expect(res.status).toBe(200);
      expect(res.body.KeyMetadata.KeyId).toBe(k);
    }
  });

  it('an identifier of another region or account, or of nothing, is not found', async () => {
    const { region, f } = setup();
    const k = await f.newKey();
    await f.createAlias('alias/mine', k);
    for (const [id, code] of [
      [`acs:kms:cn-elsewhere:${ACCOUNT}:key/${k}`, 'Forbidden.KeyNotFound'],
      [`acs:kms:${region}:9999999999999999:key/${k}`, 'Forbidden.KeyNotFound'],
      [`acs:kms:cn-elsewhere:${ACCOUNT}:alias/mine`, 'Forbidden.AliasNotFound'],
      [`acs:kms:${region}:9999999999999999:alias/mine`, 'Forbidden.AliasNotFound'],
      ['alias/not-mine', 'Forbidden.AliasNotFound'],
      ['00000000-0000-4000-8000-000000000000', 'Forbidden.KeyNotFound'],
      [k.toUpperCase(), 'Forbidden.KeyNotFound'],
      ["' OR 1=1 --", 'Forbidden.KeyNotFound'],
    ] as const) {
      expectError(await f.describeKey(id), 404, code);
    }
    const other = face(name, t.http, uniqueRegion());
    expectError(await other.describeKey(k), 404, 'Forbidden.KeyNotFound');
    expectError(await other.describeKey('alias/mine'), 404, 'Forbidden.AliasNotFound');
  });

  it('lists keys in creation order with TotalCount and stable pages', async () => {
    const { region, f } = setup();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await f.newKey());
    const seen: string[] = [];
    for (let p = 1; p <= 3; p++) {
      const res = await f.listKeys({ PageNumber: p, PageSize: 2 });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ PageNumber: p, PageSize: 2, TotalCount: 5 });
      for (const k of f.keysOf(res.body)) {
        expect(k.KeyArn).toBe(`acs:kms:${region}:${ACCOUNT}:key/${k.KeyId}`);
        seen.push(k.KeyId);
      }
    }
    expect(seen.sort()).toEqual([...ids].sort());
    expect(new Set(seen).size).toBe(5);
    expect(f.keysOf((await f.listKeys({ PageNumber: 9 })).body)).toEqual([]);
    expectError(await f.listKeys({ PageSize: 0 }), 400, 'InvalidParameter');
    expectError(await f.listKeys({ PageSize: 101 }), 400, 'InvalidParameter');
  });
});

describe('key quota', () => {
  it.each(FACES)('concurrent creates never pass the key quota (%s)', async (name) => {
    const small = await makeApp(t.db, { KMS_KEY_QUOTA: '3' });
    t.extra.push(small);
    const region = uniqueRegion();
    const f = face(name, small.http, region);
    const results = await Promise.all(Array.from({ length: 10 }, () => f.createKey()));
    expect(results.filter((r) => r.status === f.successStatus('create'))).toHaveLength(3);
    const refused = results.filter((r) => r.body.Code === 'Rejected.LimitExceeded');
    expect(refused).toHaveLength(7);
    expect(refused[0]!.body.Message).toBe(
      'The request was rejected because user create resource limit was exceeded: the key quota of 3 per account and region is reached; KMS_KEY_QUOTA raises it (0: no limit)',
    );
    const { rows } = await t.db.query('SELECT count(*)::int AS n FROM keys WHERE region = $1', [region]);
    expect(rows[0]).toEqual({ n: 3 });
  });
});

describe.each(FACES)('UpdateKeyDescription with an empty Description (%s face)', (name) => {
  it('clears the description (spec section 20.2); absent is still MissingParameter', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const keyId = await f.newKey({ Description: 'to be cleared' });
    const res = await f.updateKeyDescription(keyId, '');
    expect(res.status).toBe(200);
    expect((await f.describeKey(keyId)).body.KeyMetadata.Description).toBe('');
    const { rows } = await t.db.query('SELECT description FROM keys WHERE region = $1 AND id = $2', [region, keyId]);
    expect(rows).toEqual([{ description: '' }]);
    const missing =
      name === 'rpc'
        ? await rpc(t.http, { Action: 'UpdateKeyDescription', RegionId: region, KeyId: keyId })
        : await restClient(t.http, region).patch(`/v1/keys/${keyId}`, {});
    expect(expectError(missing, 400, 'MissingParameter').Message).toContain('"Description"');
    // Elsewhere an empty Description is still absent: CreateKey makes a key without one.
    const created = await f.createKey({ Description: '' });
    expect(created.body.KeyMetadata.Description).toBe('');
  });
});
