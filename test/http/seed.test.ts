import { createHash, createPublicKey, generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sm2 } from 'sm-crypto-v2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import type { Database } from '../../src/db/database.js';
import { encryptWithKey } from '../../src/domain/crypto/ciphertext.js';
import { canonicalEncryptionContext } from '../../src/domain/crypto/encryption-context.js';
import { unwrapKeyMaterial } from '../../src/domain/crypto/master-key.js';
import { materialAad } from '../../src/domain/keys/key-material.js';
import { seedKeyId, seedKeyVersionId } from '../../src/seed/seed.js';
import { asymmetricFace } from '../helpers/asymmetric-face.js';
import { FACES, face } from '../helpers/faces.js';
import {
  type Env,
  makeApp,
  openTestDatabase,
  TEST_MASTER_KEY,
  type TestApp,
  uniqueAccount,
  uniqueRegion,
} from '../helpers/test-app.js';

// KMS_SEED_FILE (spec section 12): keys and aliases created at start-up, per account and
// region, idempotently, through the API's rules; a bad or conflicting entry stops
// start-up, names its location, never echoes key material and changes nothing.

let db: Database;
const dir = mkdtempSync(join(tmpdir(), 'kms-seed-test-'));
const opened: TestApp[] = [];

beforeAll(async () => {
  db = await openTestDatabase();
});
afterEach(async () => {
  for (const a of opened.splice(0)) await a.app.close();
});
afterAll(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

const masterKey = Buffer.from(TEST_MASTER_KEY, 'base64');
const b64 = (data: string | Buffer) => Buffer.from(data).toString('base64');
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

let files = 0;
/** Writes a seed document as JSON or YAML (or raw text) and returns its path. */
function seedFile(content: unknown, format: 'json' | 'yaml' = 'json'): string {
  const path = join(dir, `seed-${++files}.${format}`);
  const text = typeof content === 'string' ? content : format === 'json' ? JSON.stringify(content) : toYaml(content);
  writeFileSync(path, text);
  return path;
}

interface Where {
  account: string;
  region: string;
}

function fresh(): Where {
  return { account: uniqueAccount(), region: uniqueRegion() };
}

const envFor = (w: Where, file: string, extra: Env = {}): Env => ({
  KMS_ACCOUNT_ID: w.account,
  KMS_DEFAULT_REGION: w.region,
  KMS_SEED_FILE: file,
  ...extra,
});

async function start(w: Where, file: string, extra: Env = {}): Promise<TestApp> {
  const t = await makeApp(db, envFor(w, file, extra));
  opened.push(t);
  return t;
}

/** Starts an app that must refuse to start; returns the error's message. */
async function startFails(w: Where, file: string, extra: Env = {}): Promise<string> {
  let app: TestApp | undefined;
  try {
    app = await makeApp(db, envFor(w, file, extra));
  } catch (err) {
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('SeedError');
    return (err as Error).message;
  }
  await app.app.close();
  throw new Error('start-up succeeded, but it should have stopped');
}

/** Every row the service stores for a scope, wrapped material included. */
async function snapshot(w: Where) {
  const params = [w.account, w.region];
  const q = async (sql: string) => (await db.query(sql, params)).rows;
  return {
    scopes: await q('SELECT key_count, alias_count FROM scopes WHERE account_id = $1 AND region = $2'),
    keys: await q(
      'SELECT id, state, key_spec, key_usage, origin, description, creator, creation_date, primary_key_version ' +
        'FROM keys WHERE account_id = $1 AND region = $2 ORDER BY id',
    ),
    versions: await q(
      "SELECT key_id, id, encode(wrapped_material, 'hex') AS wrapped FROM key_versions " +
        'WHERE account_id = $1 AND region = $2 ORDER BY id',
    ),
    aliases: await q(
      'SELECT alias_name, key_id, created_at FROM aliases WHERE account_id = $1 AND region = $2 ORDER BY alias_name',
    ),
  };
}

async function storedMaterial(w: Where, keyId: string, versionId: string): Promise<Buffer> {
  const { rows } = await db.query<{ wrapped_material: Uint8Array }>(
    'SELECT wrapped_material FROM key_versions WHERE account_id = $1 AND region = $2 AND key_id = $3 AND id = $4',
    [w.account, w.region, keyId, versionId],
  );
  return unwrapKeyMaterial(masterKey, Buffer.from(rows[0]!.wrapped_material), materialAad(keyId, versionId));
}

/** The seeded-counts log line of an app. */
function seedLog(t: TestApp) {
  const line = t.logs.lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'seed file applied');
  expect(line).toBeDefined();
  return line;
}

/** A seed with a fixed key (id, material, version, two aliases) and a key derived from its alias. */
function paymentsSeed() {
  const material = randomBytes(32);
  const keyId: string = randomUUID();
  const versionId: string = randomUUID();
  const doc = {
    scopes: [
      {
        keys: [
          {
            KeyId: keyId,
            Description: 'payments',
            KeyMaterial: b64(material),
            KeyVersionId: versionId,
            Aliases: ['alias/payments'],
          },
          { Description: 'scratch', Aliases: ['alias/scratch', 'alias/scratch/2'] },
        ],
        aliases: [{ AliasName: 'alias/app', KeyId: keyId }],
      },
    ],
  };
  return { doc, material, keyId, versionId };
}

describe('seeding at start-up', () => {
  it('creates keys and aliases from a JSON seed; they are described by id and by alias on both faces', async () => {
    const w = fresh();
    const { doc, material, keyId, versionId } = paymentsSeed();
    const t = await start(w, seedFile(doc));
    const derivedId = seedKeyId({ accountId: w.account, region: w.region }, 'alias/scratch');
    expect(derivedId).toMatch(UUID_V4);

    for (const name of FACES) {
      const f = face(name, t.http, w.region);
      const res = await f.describeKey(keyId);
      expect(res.status).toBe(200);
      expect(res.body.KeyMetadata).toEqual({
        KeyId: keyId,
        Arn: `acs:kms:${w.region}:${w.account}:key/${keyId}`,
        KeyState: 'Enabled',
        KeySpec: 'Aliyun_AES_256',
        KeyUsage: 'ENCRYPT/DECRYPT',
        CreationDate: expect.stringMatching(DATE),
        Creator: w.account,
        Description: 'payments',
        Origin: 'Aliyun_KMS',
        ProtectionLevel: 'SOFTWARE',
        PrimaryKeyVersion: versionId,
        DeleteDate: '',
        MaterialExpireTime: '',
        LastRotationDate: res.body.KeyMetadata.CreationDate,
        AutomaticRotation: 'Disabled',
        RotationInterval: '',
        NextRotationDate: '',
        DeletionProtection: 'Disabled',
        DeletionProtectionDescription: '',
      });
      for (const alias of ['alias/payments', 'alias/app', `acs:kms:${w.region}:${w.account}:alias/app`]) {
        expect((await f.describeKey(alias)).body.KeyMetadata).toMatchObject({ KeyId: keyId });
      }
      const derived = await f.describeKey('alias/scratch/2');
      expect(derived.body.KeyMetadata).toMatchObject({
        KeyId: derivedId,
        Description: 'scratch',
        KeyState: 'Enabled',
        Creator: w.account,
        PrimaryKeyVersion: seedKeyVersionId(derivedId),
      });
      const listed = await f.listAliases();
      expect(listed.body.TotalCount).toBe(4);
      expect(f.aliasesOf(listed.body).map((a) => [a.AliasName, a.KeyId])).toEqual([
        ['alias/app', keyId],
        ['alias/payments', keyId],
        ['alias/scratch', derivedId],
        ['alias/scratch/2', derivedId],
      ]);
    }

    const rows = await snapshot(w);
    expect(rows.scopes).toEqual([{ key_count: 2, alias_count: 4 }]);
    expect(rows.versions).toHaveLength(2);
    // Stored wrapped under the master key, never in the clear.
    expect(rows.versions.map((v) => v.wrapped).join()).not.toContain(material.toString('hex'));
    expect(await storedMaterial(w, keyId, versionId)).toEqual(material);
    expect((await storedMaterial(w, derivedId, seedKeyVersionId(derivedId))).length).toBe(32);

    expect(seedLog(t)).toMatchObject({
      scopes: 1,
      keysCreated: 2,
      keysSkipped: 0,
      aliasesCreated: 4,
      aliasesSkipped: 0,
    });
    expect(t.logs.text).not.toContain(b64(material));
  });

  it('reads YAML, with explicit accounts and regions next to the defaults', async () => {
    const w = fresh();
    const other = fresh();
    const material = randomBytes(32);
    const keyId = randomUUID();
    const yaml = `# seeded at start-up
scopes:
  - keys:
      - KeyId: ${keyId}
        KeyMaterial: ${b64(material)}
        Aliases: [alias/local]
  - accountId: "${other.account}"
    region: ${other.region}
    keys:
      - KeyId: ${keyId}
        Description: the same key elsewhere
        KeyMaterial: ${b64(material)}
    aliases:
      - { AliasName: alias/remote, KeyId: ${keyId} }
`;
    const t = await start(w, seedFile(yaml, 'yaml'));
    expect(seedLog(t)).toMatchObject({ scopes: 2, keysCreated: 2, aliasesCreated: 2 });

    const f = face('rpc', t.http, w.region);
    expect((await f.describeKey('alias/local')).body.KeyMetadata).toMatchObject({
      KeyId: keyId,
      Description: '',
      PrimaryKeyVersion: seedKeyVersionId(keyId),
    });
    const remote = await snapshot(other);
    expect(remote.scopes).toEqual([{ key_count: 1, alias_count: 1 }]);
    expect(remote.keys).toEqual([
      expect.objectContaining({ id: keyId, creator: other.account, description: 'the same key elsewhere' }),
    ]);
    expect(remote.aliases).toEqual([expect.objectContaining({ alias_name: 'alias/remote', key_id: keyId })]);
    expect(await storedMaterial(other, keyId, seedKeyVersionId(keyId))).toEqual(material);
  });

  it.each(FACES)('decrypts a ciphertext made offline under the seeded material (%s face)', async (name) => {
    const w = fresh();
    const { doc, material, keyId, versionId } = paymentsSeed();
    const t = await start(w, seedFile(doc));
    const context = { app: 'billing' };
    const blob = encryptWithKey({
      keyId,
      keyVersionId: versionId,
      material,
      plaintext: Buffer.from('stored for years'),
      context: canonicalEncryptionContext(context),
    });
    const f = face(name, t.http, w.region);
    const res = await f.decrypt(b64(blob), context);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ Plaintext: b64('stored for years'), KeyId: keyId, KeyVersionId: versionId });
  });

  it('starts again with the same seed without changing anything, and old ciphertexts still decrypt', async () => {
    const w = fresh();
    const { doc } = paymentsSeed();
    const file = seedFile(doc);
    const first = await start(w, file);
    const sealed = await face('rest', first.http, w.region).encrypt('alias/scratch', b64('made by the first instance'));
    expect(sealed.status).toBe(200);
    const before = await snapshot(w);
    await first.app.close();

    const second = await start(w, file);
    expect(seedLog(second)).toMatchObject({ keysCreated: 0, keysSkipped: 2, aliasesCreated: 0, aliasesSkipped: 4 });
    expect(await snapshot(w)).toEqual(before);
    expect(before.scopes).toEqual([{ key_count: 2, alias_count: 4 }]);
    const opened = await face('rpc', second.http, w.region).decrypt(sealed.body.CiphertextBlob);
    expect(opened.status).toBe(200);
    expect(opened.body.Plaintext).toBe(b64('made by the first instance'));
  });

  it('makes ciphertexts that a fresh instance with the same seed decrypts (derived version ids included)', async () => {
    // A fresh scope stands in for a fresh database: the seed file names no region, so each
    // instance seeds its own default region.
    const material = randomBytes(32);
    const keyId = randomUUID();
    const file = seedFile({ scopes: [{ keys: [{ KeyId: keyId, KeyMaterial: b64(material), Aliases: ['alias/k'] }] }] });
    const a = fresh();
    const first = await start(a, file);
    const sealed = await face('rpc', first.http, a.region).encrypt('alias/k', b64('portable'));
    expect(sealed.body.KeyVersionId).toBe(seedKeyVersionId(keyId));

    const b = { account: a.account, region: uniqueRegion() };
    const second = await start(b, file);
    expect(seedLog(second)).toMatchObject({ keysCreated: 1, aliasesCreated: 1 });
    const opened = await face('rest', second.http, b.region).decrypt(sealed.body.CiphertextBlob);
    expect(opened.status).toBe(200);
    expect(opened.body).toMatchObject({ Plaintext: b64('portable'), KeyId: keyId });
  });

  it('seeds Aliyun_SM4 keys with fixed material and rotation policies; a blob made outside decrypts', async () => {
    const material = randomBytes(16);
    const keyId = randomUUID();
    const file = seedFile({
      scopes: [
        {
          keys: [
            {
              KeyId: keyId,
              KeySpec: 'Aliyun_SM4',
              KeyMaterial: b64(material),
              EnableAutomaticRotation: true,
              RotationInterval: '30d',
              Aliases: ['alias/sm4'],
            },
            { KeySpec: 'Aliyun_SM4', Aliases: ['alias/sm4-random'] },
            { EnableAutomaticRotation: false, RotationInterval: '7d', Aliases: ['alias/aes'] },
          ],
        },
      ],
    });
    const w = fresh();
    const t = await start(w, file);
    for (const name of FACES) {
      const f = face(name, t.http, w.region);
      expect((await f.describeKey('alias/sm4')).body.KeyMetadata).toMatchObject({
        KeyId: keyId,
        KeySpec: 'Aliyun_SM4',
        PrimaryKeyVersion: seedKeyVersionId(keyId),
        AutomaticRotation: 'Enabled',
        RotationInterval: '2592000s',
      });
      expect((await f.describeKey('alias/aes')).body.KeyMetadata).toMatchObject({
        KeySpec: 'Aliyun_AES_256',
        AutomaticRotation: 'Disabled',
      });
      const random = (await f.describeKey('alias/sm4-random')).body.KeyMetadata;
      expect(random.KeySpec).toBe('Aliyun_SM4');
      expect(await storedMaterial(w, random.KeyId, random.PrimaryKeyVersion)).toHaveLength(16);
      const blob = encryptWithKey({
        keyId,
        keyVersionId: seedKeyVersionId(keyId),
        material,
        plaintext: Buffer.from('made outside'),
        context: canonicalEncryptionContext({ purpose: name }),
        format: 2,
      });
      const opened = await f.decrypt(b64(blob), { purpose: name });
      expect(opened.status).toBe(200);
      expect(opened.body.Plaintext).toBe(b64('made outside'));
    }
    // Started again with the same seed: nothing differs, nothing changes.
    const again = await start(w, file);
    expect(seedLog(again)).toMatchObject({ keysCreated: 0, keysSkipped: 3 });
  });

  it('seeds once when two instances start together over one database', async () => {
    const w = fresh();
    const file = seedFile(paymentsSeed().doc);
    const apps = await Promise.all([start(w, file), start(w, file)]);
    const logs = apps.map(seedLog);
    expect(logs.map((l) => l.keysCreated).sort()).toEqual([0, 2]);
    expect(logs.map((l) => l.aliasesSkipped).sort()).toEqual([0, 4]);
    const rows = await snapshot(w);
    expect(rows.scopes).toEqual([{ key_count: 2, alias_count: 4 }]);
    expect(rows.keys).toHaveLength(2);
  });

  it('skips a key made through the API that matches, and points a seeded alias at it', async () => {
    const w = fresh();
    const t = await start(w, seedFile({ scopes: [] }));
    const f = face('rpc', t.http, w.region);
    const keyId = await f.newKey({ Description: 'made by hand' });
    await t.app.close();

    const again = await start(
      w,
      seedFile({
        scopes: [
          {
            keys: [{ KeyId: keyId, Description: 'made by hand' }],
            aliases: [{ AliasName: 'alias/by-hand', KeyId: keyId }],
          },
        ],
      }),
    );
    expect(seedLog(again)).toMatchObject({ keysCreated: 0, keysSkipped: 1, aliasesCreated: 1 });
    expect((await face('rest', again.http, w.region).describeKey('alias/by-hand')).body.KeyMetadata.KeyId).toBe(keyId);
    expect((await snapshot(w)).scopes).toEqual([{ key_count: 1, alias_count: 1 }]);
  });
});

describe('tags, deletion protection and imported material (spec 12 as 17–19 extend it)', () => {
  it('seeds them, describes them on both faces, and a restart with the same seed changes nothing', async () => {
    const w = fresh();
    const material = randomBytes(32);
    const doc = {
      scopes: [
        {
          keys: [
            {
              Aliases: ['alias/imported'],
              Origin: 'EXTERNAL',
              KeyMaterial: b64(material),
              Tags: [
                { TagKey: 'team', TagValue: 'payments' },
                { TagKey: 'env', TagValue: '' },
              ],
              DeletionProtection: true,
              DeletionProtectionDescription: 'prod data',
            },
            { Aliases: ['alias/waiting'], Origin: 'EXTERNAL' },
          ],
        },
      ],
    };
    const file = seedFile(doc, 'yaml');
    const t = await start(w, file);
    const scope = { accountId: w.account, region: w.region };
    const imported = seedKeyId(scope, 'alias/imported');
    const waiting = seedKeyId(scope, 'alias/waiting');
    for (const name of FACES) {
      const f = face(name, t.http, w.region);
      expect((await f.describeKey('alias/imported')).body.KeyMetadata).toMatchObject({
        KeyId: imported,
        Origin: 'EXTERNAL',
        KeyState: 'Enabled',
        PrimaryKeyVersion: seedKeyVersionId(imported),
        DeletionProtection: 'Enabled',
        DeletionProtectionDescription: 'prod data',
      });
      expect((await f.describeKey('alias/waiting')).body.KeyMetadata).toMatchObject({
        KeyId: waiting,
        Origin: 'EXTERNAL',
        KeyState: 'PendingImport',
        PrimaryKeyVersion: '',
      });
      // Protected: ScheduleKeyDeletion is refused.
      expect((await f.scheduleKeyDeletion(imported, 7)).body.Code).toBe('Rejected.StateModifiedFailed');
    }
    const listed = await t.http
      .get(`/v1/keys/${imported}/tags?RegionId=${w.region}`)
      .set('authorization', `Basic ${b64('LTAI5tKmsEmulatorDevKey:KmsEmulatorDevSecretDoNotUseInProd')}`);
    expect(listed.status).toBe(200);
    expect(listed.body.Tags).toEqual([
      { KeyId: imported, TagKey: 'env', TagValue: '' },
      { KeyId: imported, TagKey: 'team', TagValue: 'payments' },
    ]);

    // The seeded material is the key's: a blob made locally with it decrypts, and the
    // fingerprint is set, so an import of other material is refused.
    const blob = encryptWithKey({
      keyId: imported,
      keyVersionId: seedKeyVersionId(imported),
      material,
      plaintext: Buffer.from('seeded'),
      context: canonicalEncryptionContext(undefined),
    }).toString('base64');
    expect(Buffer.from((await face('rpc', t.http, w.region).decrypt(blob)).body.Plaintext, 'base64').toString()).toBe(
      'seeded',
    );
    const { rows } = await db.query<{ fp: boolean; has_material: boolean }>(
      'SELECT material_fingerprint IS NOT NULL AS fp, has_material FROM keys WHERE account_id = $1 AND id = $2',
      [w.account, imported],
    );
    expect(rows[0]).toEqual({ fp: true, has_material: true });
    const before = await snapshot(w);
    await t.app.close();
    opened.splice(opened.indexOf(t), 1);

    // Same seed again: nothing changes. Changed protection or tags: refused, nothing changes.
    const again = await start(w, file);
    expect(seedLog(again)).toMatchObject({ keysCreated: 0, keysSkipped: 2 });
    await again.app.close();
    opened.splice(opened.indexOf(again), 1);
    expect(await snapshot(w)).toEqual(before);
    const changed = structuredClone(doc);
    changed.scopes[0]!.keys[0]!.DeletionProtection = false;
    delete (changed.scopes[0]!.keys[0] as { DeletionProtectionDescription?: string }).DeletionProtectionDescription;
    changed.scopes[0]!.keys[0]!.Tags = [{ TagKey: 'team', TagValue: 'other' }];
    const message = await startFails(w, seedFile(changed));
    expect(message).toContain('with a different DeletionProtection');
    expect(message).toContain('with different Tags');
    expect(message).not.toContain(b64(material));
    expect(await snapshot(w)).toEqual(before);
  });
});

describe('asymmetric keys in the seed: fixed key pairs as PKCS#8 PEM (spec 12, 13)', () => {
  const pem = (spec: string) => {
    const pair =
      spec === 'RSA_2048'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ec', {
            namedCurve: spec === 'EC_P256' ? 'prime256v1' : spec === 'EC_P256K' ? 'secp256k1' : 'SM2',
          });
    return {
      privatePem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      publicPem: pair.publicKey.export({ type: 'spki', format: 'pem' }) as string,
      privateKey: pair.privateKey,
      point: pair.publicKey.export({ type: 'spki', format: 'der' }).subarray(-65).toString('hex'),
      scalar: (() => {
        const der = pair.privateKey.export({ type: 'pkcs8', format: 'der' });
        const at = der.indexOf(Buffer.from('0201010420', 'hex'));
        return der.subarray(at + 5, at + 37).toString('hex');
      })(),
    };
  };
  const rsaPair = pem('RSA_2048');
  const p256Pair = pem('EC_P256');
  const sm2Pair = pem('EC_SM2');
  const doc = () => ({
    scopes: [
      {
        keys: [
          { KeySpec: 'RSA_2048', PrivateKey: rsaPair.privatePem, Aliases: ['alias/rsa-signer'] },
          { KeySpec: 'EC_P256', KeyUsage: 'SIGN/VERIFY', PrivateKey: p256Pair.privatePem, Aliases: ['alias/p256'] },
          {
            KeySpec: 'EC_SM2',
            KeyUsage: 'ENCRYPT/DECRYPT',
            PrivateKey: sm2Pair.privatePem,
            Aliases: ['alias/sm2-box'],
          },
          {
            KeySpec: 'EC_SM2',
            PrivateKey: sm2Pair.privatePem,
            KeyVersionId: randomUUID(),
            Aliases: ['alias/sm2-signer'],
          },
        ],
      },
    ],
  });

  it.each(FACES)(
    'a signature made locally with a seeded pair verifies through AsymmetricVerify by alias (%s face)',
    async (name) => {
      const w = fresh();
      const seed = doc();
      const t = await start(w, seedFile(seed));
      const a = asymmetricFace(name, t.http, w.region);
      const message = Buffer.from('signed offline');
      const digest = createHash('sha256').update(message).digest();
      const keyIdOf = (alias: string) => seedKeyId({ accountId: w.account, region: w.region }, alias);
      for (const [alias, algorithm, pair, signature, hashed] of [
        ['alias/rsa-signer', 'RSA_PKCS1_SHA_256', rsaPair, sign('sha256', message, rsaPair.privateKey), digest],
        ['alias/p256', 'ECDSA_SHA_256', p256Pair, sign('sha256', message, p256Pair.privateKey), digest],
        [
          'alias/sm2-signer',
          'SM2DSA',
          sm2Pair,
          Buffer.from(sm2.doSignature(new Uint8Array(message), sm2Pair.scalar, { hash: true, der: true }), 'hex'),
          Buffer.from(sm2.getHash(new Uint8Array(message), sm2Pair.point, '1234567812345678'), 'hex'),
        ],
      ] as const) {
        const keyId = keyIdOf(alias);
        const versionId =
          alias === 'alias/sm2-signer' ? (seed.scopes[0]!.keys[3]!.KeyVersionId as string) : seedKeyVersionId(keyId);
        const res = await a.verify(alias, {
          KeyVersionId: versionId,
          Algorithm: algorithm,
          Digest: b64(hashed),
          Value: b64(signature),
        });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ KeyId: keyId, KeyVersionId: versionId, Value: true });
        const pub = await a.getPublicKey(alias, versionId);
        expect(createPublicKey(pub.body.PublicKey).export({ type: 'spki', format: 'der' })).toEqual(
          createPublicKey(pair.publicPem).export({ type: 'spki', format: 'der' }),
        );
      }
      // Data encrypted locally with the seeded SM2 public key decrypts by alias.
      const ct = Buffer.concat([
        Buffer.from([4]),
        Buffer.from(sm2.doEncrypt(new Uint8Array(message), sm2Pair.point, 1), 'hex'),
      ]);
      const opened = await a.decrypt('alias/sm2-box', {
        KeyVersionId: seedKeyVersionId(keyIdOf('alias/sm2-box')),
        Algorithm: 'SM2PKE',
        CiphertextBlob: b64(ct),
      });
      expect(opened.body.Plaintext).toBe(b64(message));
      const described = await face(name, t.http, w.region).describeKey('alias/rsa-signer');
      expect(described.body.KeyMetadata).toMatchObject({
        KeySpec: 'RSA_2048',
        KeyUsage: 'SIGN/VERIFY',
        PrimaryKeyVersion: '',
      });
    },
  );

  it('seeding the same pairs again changes nothing; another pair for the same key stops start-up', async () => {
    const w = fresh();
    const seed = doc();
    await start(w, seedFile(seed));
    const before = await snapshot(w);
    const again = await start(w, seedFile(seed));
    expect(seedLog(again)).toMatchObject({ keysCreated: 0, keysSkipped: 4 });
    expect(await snapshot(w)).toEqual(before);
    const changed = doc();
    changed.scopes[0]!.keys[1]!.PrivateKey = pem('EC_P256').privatePem;
    const message = await startFails(w, seedFile(changed));
    expect(message).toContain('with different key material');
    expect(message).not.toContain('PRIVATE KEY');
  });

  it.each([
    [
      'an RSA key without its pair',
      { KeySpec: 'RSA_2048', Aliases: ['alias/x'] },
      'PrivateKey: a RSA_2048 key needs its key pair',
    ],
    [
      'KeyMaterial for an asymmetric spec',
      { KeySpec: 'EC_P256', PrivateKey: p256Pair.privatePem, KeyMaterial: b64(randomBytes(32)), Aliases: ['alias/x'] },
      'KeyMaterial: a EC_P256 key takes a PrivateKey',
    ],
    [
      'a pair of another spec',
      { KeySpec: 'EC_P256K', PrivateKey: p256Pair.privatePem, Aliases: ['alias/x'] },
      'PrivateKey: is not a EC_P256K private key',
    ],
    [
      'a usage the spec does not allow',
      { KeySpec: 'EC_P256', KeyUsage: 'ENCRYPT/DECRYPT', PrivateKey: p256Pair.privatePem, Aliases: ['alias/x'] },
      'KeyUsage: EC_P256 keys take SIGN/VERIFY',
    ],
    [
      'a PrivateKey for a symmetric key',
      { PrivateKey: p256Pair.privatePem, Aliases: ['alias/x'] },
      'PrivateKey: a Aliyun_AES_256 key takes KeyMaterial',
    ],
    [
      'a PrivateKey that is not PEM',
      { KeySpec: 'EC_P256', PrivateKey: 'MIGHAgEAMBMG', Aliases: ['alias/x'] },
      'PrivateKey: must be a private key as PKCS#8 PEM',
    ],
  ])('refuses %s, never echoing the key', async (_label, key, expected) => {
    const w = fresh();
    const message = await startFails(w, seedFile({ scopes: [{ keys: [key] }] }));
    expect(message).toContain(expected);
    expect(message).not.toContain('MIG');
    expect(await snapshot(w)).toEqual({ scopes: [], keys: [], versions: [], aliases: [] });
  });
});

describe('a seed that conflicts with what exists stops start-up and changes nothing', () => {
  const changes: Array<[string, (s: ReturnType<typeof paymentsSeed>, w: Where) => void, RegExp]> = [
    [
      'a changed Description',
      (s) => {
        s.doc.scopes[0]!.keys[0]!.Description = 'renamed';
      },
      /scopes\[0\]\.keys\[0\]: key [0-9a-f-]{36} already exists in account \d{16} region \S+ with a different Description; the seed never changes an existing key/,
    ],
    [
      'different key material',
      (s) => {
        s.doc.scopes[0]!.keys[0]!.KeyMaterial = b64(randomBytes(32));
      },
      /scopes\[0\]\.keys\[0\]: key [0-9a-f-]{36} already exists .* with different key material in version [0-9a-f-]{36}/,
    ],
    [
      'a different KeyVersionId',
      (s) => {
        s.doc.scopes[0]!.keys[0]!.KeyVersionId = randomUUID();
      },
      /scopes\[0\]\.keys\[0\]: key [0-9a-f-]{36} already exists .* without a key version [0-9a-f-]{36}/,
    ],
    [
      'an alias moved to another key',
      (s, w) => {
        s.doc.scopes[0]!.aliases[0]!.KeyId = seedKeyId({ accountId: w.account, region: w.region }, 'alias/scratch');
      },
      /scopes\[0\]\.aliases\[0\]: alias alias\/app already exists in account \d{16} region \S+ and points at key [0-9a-f-]{36}, not [0-9a-f-]{36}; the seed never re-points an alias/,
    ],
  ];

  it.each(changes)('%s', async (_label, change, expected) => {
    const w = fresh();
    const seed = paymentsSeed();
    const first = await start(w, seedFile(seed.doc));
    await first.app.close();
    const before = await snapshot(w);
    const original = seed.doc.scopes[0]!.keys[0]!.KeyMaterial;

    change(seed, w);
    const message = await startFails(w, seedFile(seed.doc));
    expect(message).toMatch(/^Seed file \(.+\) not applied, nothing was changed:\n {2}- /);
    expect(message).toMatch(expected);
    expect(message).not.toContain(original);
    expect(message).not.toContain(seed.doc.scopes[0]!.keys[0]!.KeyMaterial);
    expect(message).not.toContain(seed.material.toString('hex'));
    expect(await snapshot(w)).toEqual(before);
  });

  it('refuses a new alias for a key pending deletion, but still skips that key', async () => {
    const w = fresh();
    const seed = paymentsSeed();
    const t = await start(w, seedFile(seed.doc));
    expect((await face('rpc', t.http, w.region).scheduleKeyDeletion(seed.keyId, 7)).status).toBe(200);
    await t.app.close();
    const before = await snapshot(w);

    // The same seed: the key exists (pending deletion) and is skipped.
    const again = await start(w, seedFile(seed.doc));
    expect(seedLog(again)).toMatchObject({ keysSkipped: 2, aliasesSkipped: 4 });
    await again.app.close();

    seed.doc.scopes[0]!.aliases.push({ AliasName: 'alias/late', KeyId: seed.keyId });
    const message = await startFails(w, seedFile(seed.doc));
    expect(message).toContain(
      `scopes[0].aliases[1]: key ${seed.keyId} is PendingDeletion; an alias cannot be created for it (Rejected.StateModifiedFailed)`,
    );
    expect(await snapshot(w)).toEqual(before);
  });

  it('refuses keys and aliases past the quotas, naming the first entry over it', async () => {
    const w = fresh();
    const seed = paymentsSeed();
    const file = seedFile(seed.doc);
    const keys = await startFails(w, file, { KMS_KEY_QUOTA: '1' });
    expect(keys).toMatch(
      /scopes\[0\]\.keys\[1\]: creating key [0-9a-f-]{36} would pass the key quota of account \d{16} region \S+ \(KMS_KEY_QUOTA=1\)/,
    );
    const aliases = await startFails(w, file, { KMS_ALIAS_QUOTA: '3' });
    expect(aliases).toContain('scopes[0].aliases[0]: creating alias alias/app would pass the alias quota');
    expect(aliases).toContain('(KMS_ALIAS_QUOTA=3)');
    expect(await snapshot(w)).toEqual({ scopes: [], keys: [], versions: [], aliases: [] });
  });

  it('applies all scopes or none: a problem in one leaves the others untouched', async () => {
    const w = fresh();
    const other = fresh();
    const { doc } = paymentsSeed();
    const unknown = randomUUID();
    const file = seedFile({
      scopes: [
        ...doc.scopes,
        { accountId: other.account, region: other.region, aliases: [{ AliasName: 'alias/x', KeyId: unknown }] },
      ],
    });
    const message = await startFails(w, file);
    expect(message).toContain(
      `scopes[1].aliases[0]: KeyId ${unknown} is neither a key of the seed nor of account ${other.account} region ${other.region}`,
    );
    expect(await snapshot(w)).toEqual({ scopes: [], keys: [], versions: [], aliases: [] });
    expect(await snapshot(other)).toEqual({ scopes: [], keys: [], versions: [], aliases: [] });
  });
});

describe('a bad seed file stops start-up, naming each location', () => {
  const secret = b64(randomBytes(31));
  const key = (fields: Record<string, unknown>) => ({ scopes: [{ keys: [fields] }] });
  const twice = randomUUID();
  // A document, a function of the test's account and region, or raw text.
  const bad: Array<[string, unknown, string]> = [
    ['a KeyId that is not a UUID', key({ KeyId: 'key-123' }), 'scopes[0].keys[0].KeyId: must be a lowercase UUID v4'],
    [
      'an uppercase KeyId',
      key({ KeyId: randomUUID().toUpperCase() }),
      'scopes[0].keys[0].KeyId: must be a lowercase UUID v4',
    ],
    [
      'KeyMaterial of 31 bytes',
      key({ KeyId: randomUUID(), KeyMaterial: secret }),
      'scopes[0].keys[0].KeyMaterial: must be the standard Base64 of exactly 32 bytes',
    ],
    [
      'KeyMaterial that is not strict Base64',
      key({ KeyId: randomUUID(), KeyMaterial: ` ${b64(randomBytes(32))}` }),
      'scopes[0].keys[0].KeyMaterial: must be the standard Base64 of exactly 32 bytes',
    ],
    [
      'a KeyVersionId without KeyMaterial',
      key({ KeyId: randomUUID(), KeyVersionId: randomUUID() }),
      'scopes[0].keys[0].KeyVersionId: only with KeyMaterial',
    ],
    [
      'a key with neither KeyId nor alias',
      key({ Description: 'anonymous' }),
      'scopes[0].keys[0]: needs a KeyId or at least one alias in Aliases',
    ],
    [
      'a Description over 8192 characters',
      key({ KeyId: randomUUID(), Description: 'x'.repeat(8193) }),
      'scopes[0].keys[0].Description: must be at most 8192 characters',
    ],
    [
      'a reserved alias name',
      key({ KeyId: randomUUID(), Aliases: ['alias/ok', 'alias/acs/rds'] }),
      'scopes[0].keys[0].Aliases[1]: names beginning with "alias/acs" are reserved for cloud services',
    ],
    [
      'a reserved alias name in the aliases list',
      { scopes: [{ aliases: [{ AliasName: 'alias/acsfoo', KeyId: randomUUID() }] }] },
      'scopes[0].aliases[0].AliasName: names beginning with "alias/acs" are reserved',
    ],
    [
      'a malformed alias name',
      { scopes: [{ aliases: [{ AliasName: 'app', KeyId: randomUUID() }] }] },
      'scopes[0].aliases[0].AliasName: must be "alias/" followed by 1 to 255 characters from A-Z a-z 0-9 _ - /',
    ],
    [
      'an alias whose KeyId is an alias',
      { scopes: [{ aliases: [{ AliasName: 'alias/a', KeyId: 'alias/b' }] }] },
      'scopes[0].aliases[0].KeyId: must be the id of a key',
    ],
    ['a bad region', { scopes: [{ region: 'Hangzhou' }] }, 'scopes[0].region: is not a region id such as cn-hangzhou'],
    [
      'an account id of 15 digits',
      { scopes: [{ accountId: '123456789012345' }] },
      'scopes[0].accountId: must be 16 digits',
    ],
    [
      'an account id given as a number',
      '{"scopes": [{"accountId": 1234567890123456}]}',
      'scopes[0].accountId: expected a string of 16 digits (quote it in YAML)',
    ],
    [
      'an unknown field in a key',
      key({ KeyId: randomUUID(), Policy: '{}' }),
      'scopes[0].keys[0]: unknown key(s) "Policy": a key has only KeyId, Description, KeySpec, KeyUsage, Origin, ' +
        'KeyMaterial, PrivateKey, KeyVersionId, Tags, DeletionProtection, DeletionProtectionDescription, ' +
        'EnableAutomaticRotation, RotationInterval and Aliases',
    ],
    [
      'a KeySpec not built for seeds',
      key({ KeyId: randomUUID(), KeySpec: 'Aliyun_AES_128' }),
      'scopes[0].keys[0].KeySpec: must be one of Aliyun_AES_256, Aliyun_SM4',
    ],
    [
      'KeyMaterial of 32 bytes for an Aliyun_SM4 key',
      key({ KeyId: randomUUID(), KeySpec: 'Aliyun_SM4', KeyMaterial: b64(randomBytes(32)) }),
      'scopes[0].keys[0].KeyMaterial: must be 16 bytes for a Aliyun_SM4 key',
    ],
    [
      'KeyMaterial of 16 bytes for an Aliyun_AES_256 key',
      key({ KeyId: randomUUID(), KeyMaterial: b64(randomBytes(16)) }),
      'scopes[0].keys[0].KeyMaterial: must be 32 bytes for a Aliyun_AES_256 key',
    ],
    [
      'automatic rotation without an interval',
      key({ KeyId: randomUUID(), EnableAutomaticRotation: true }),
      'scopes[0].keys[0].RotationInterval: is required with EnableAutomaticRotation: true',
    ],
    [
      'a rotation interval under 7 days',
      key({ KeyId: randomUUID(), EnableAutomaticRotation: true, RotationInterval: '6d' }),
      'scopes[0].keys[0].RotationInterval: must be 1 to 10 digits followed by d, h, m or s, from 7 to 730 days',
    ],
    [
      'EnableAutomaticRotation as text',
      key({ KeyId: randomUUID(), EnableAutomaticRotation: 'true', RotationInterval: '7d' }),
      'scopes[0].keys[0].EnableAutomaticRotation: expected true or false',
    ],
    [
      'automatic rotation of an EXTERNAL key',
      key({ KeyId: randomUUID(), Origin: 'EXTERNAL', EnableAutomaticRotation: true, RotationInterval: '7d' }),
      'scopes[0].keys[0].EnableAutomaticRotation: cannot be true for a key of Origin EXTERNAL',
    ],
    ['an unknown top-level field', { scopes: [], keys: [] }, '(root): unknown key(s) "keys"'],
    ['a list at the top level', [{ keys: [] }], '(root): expected a seed file object'],
    ['scopes that are not a list', { scopes: { keys: [] } }, 'scopes: expected a list of accounts and regions'],
    [
      'the same alias name twice',
      {
        scopes: [
          {
            keys: [{ Aliases: ['alias/twice'] }, { KeyId: randomUUID() }],
            aliases: [{ AliasName: 'alias/twice', KeyId: randomUUID() }],
          },
        ],
      },
      'scopes[0].aliases[0]: duplicate alias name alias/twice (also at scopes[0].keys[0].Aliases[0])',
    ],
    [
      'the same KeyId twice',
      { scopes: [{ keys: [{ KeyId: twice }, { KeyId: twice, Description: 'again' }] }] },
      `scopes[0].keys[1].KeyId: duplicate key id ${twice} (also at scopes[0].keys[0].KeyId)`,
    ],
    [
      'the same scope twice',
      (w: Where) => ({ scopes: [{}, { accountId: w.account, region: w.region }] }),
      'scopes[1]: duplicate account',
    ],
    ['an empty file', '', 'the file is empty'],
    [
      'a reserved tag key',
      key({ KeyId: randomUUID(), Tags: [{ TagKey: 'aliyun:x', TagValue: 'a' }] }),
      'scopes[0].keys[0].Tags: must be a JSON array of up to 20',
    ],
    [
      'an unknown Origin',
      key({ KeyId: randomUUID(), Origin: 'HSM' }),
      'scopes[0].keys[0].Origin: must be Aliyun_KMS or EXTERNAL',
    ],
    [
      'a protection description without protection',
      key({ KeyId: randomUUID(), DeletionProtectionDescription: 'x' }),
      'scopes[0].keys[0].DeletionProtectionDescription: only with DeletionProtection: true',
    ],
    [
      'DeletionProtection as text',
      key({ KeyId: randomUUID(), DeletionProtection: 'yes' }),
      'scopes[0].keys[0].DeletionProtection: must be true or false',
    ],
  ];

  it.each(bad)('%s', async (_label, document, expected) => {
    const w = fresh();
    const file = seedFile(typeof document === 'function' ? document(w) : document);
    const message = await startFails(w, file);
    expect(message).toMatch(/^Invalid seed file \(.+\):\n {2}- /);
    expect(message).toContain(expected);
    expect(message).not.toContain(secret);
    expect(await snapshot(w)).toEqual({ scopes: [], keys: [], versions: [], aliases: [] });
  });

  it('lists every problem at once', async () => {
    const w = fresh();
    const message = await startFails(
      w,
      seedFile({
        scopes: [
          { region: 'BAD', keys: [{ KeyId: 'nope', KeyMaterial: secret }] },
          { accountId: '1', aliases: [{ AliasName: 'alias/acs', KeyId: randomUUID(), Extra: 1 }] },
        ],
      }),
    );
    for (const at of [
      'scopes[0].region:',
      'scopes[0].keys[0].KeyId:',
      'scopes[0].keys[0].KeyMaterial:',
      'scopes[1].accountId:',
      'scopes[1].aliases[0]: unknown key(s) "Extra"',
    ]) {
      expect(message).toContain(at);
    }
    expect(message).not.toContain(secret);
  });

  it('names an unknown alias target found only when applying', async () => {
    const w = fresh();
    const unknown = randomUUID();
    const message = await startFails(
      w,
      seedFile({ scopes: [{ aliases: [{ AliasName: 'alias/orphan', KeyId: unknown }] }] }),
    );
    expect(message).toContain(
      `scopes[0].aliases[0]: KeyId ${unknown} is neither a key of the seed nor of account ${w.account} region ${w.region}`,
    );
    expect(await snapshot(w)).toEqual({ scopes: [], keys: [], versions: [], aliases: [] });
  });

  it.each([
    ['json', `{"scopes": [{"keys": [{"KeyMaterial": "${secret}",}]}]}`, /not valid JSON at line 1, column \d+/],
    [
      'yaml',
      `scopes:\n  - keys:\n      - KeyMaterial: "${secret}\n    bad: [\n`,
      /not valid YAML at line \d+, column \d+/,
    ],
  ] as const)('reports unparsable %s by position only, never quoting the line', async (format, text, expected) => {
    const w = fresh();
    const message = await startFails(w, seedFile(text, format));
    expect(message).toMatch(expected);
    expect(message).not.toContain(secret);
  });

  it('names a file it cannot read', async () => {
    const w = fresh();
    const message = await startFails(w, join(dir, 'missing.yaml'));
    expect(message).toContain('cannot read the file (ENOENT)');
  });
});
