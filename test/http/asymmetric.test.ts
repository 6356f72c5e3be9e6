import { execFileSync } from 'node:child_process';
import { constants, createHash, createPublicKey, publicEncrypt, randomUUID, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { sm2 } from 'sm-crypto-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asymmetricFace } from '../helpers/asymmetric-face.js';
import { type Credentials, expectError, restClient, rpc } from '../helpers/clients.js';
import { FACES, type Face, face } from '../helpers/faces.js';
import { makeApp, uniqueRegion, useTestApp } from '../helpers/test-app.js';

// Asymmetric keys (spec 13 and 14) through both faces: CreateKey's rules for the new specs,
// and GetPublicKey, AsymmetricSign/Verify/Encrypt/Decrypt checked against implementations
// outside the service (node:crypto, openssl, sm-crypto-v2) with the public key the service
// hands out. RSA key generation is slow, so each face makes one key per spec and usage once.

const t = useTestApp();
const ACCOUNT = '1234567890123456';
const b64 = (b: Buffer | string) => Buffer.from(b).toString('base64');
const sha256 = (m: Buffer) => createHash('sha256').update(m).digest();
const MESSAGE = Buffer.from('pay 100 to alice');
const dir = mkdtempSync(path.join(tmpdir(), 'kms-asym-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function versionsOf(keyId: string): Promise<string[]> {
  const { rows } = await t.db.query<{ id: string }>('SELECT id FROM key_versions WHERE key_id = $1', [keyId]);
  return rows.map((r) => r.id);
}

const SIGNERS = [
  ['RSA_2048', 'RSA_PKCS1_SHA_256'],
  ['RSA_2048', 'RSA_PSS_SHA_256'],
  ['RSA_3072', 'RSA_PKCS1_SHA_256'],
  ['RSA_3072', 'RSA_PSS_SHA_256'],
  ['EC_P256', 'ECDSA_SHA_256'],
  ['EC_P256K', 'ECDSA_SHA_256'],
  ['EC_SM2', 'SM2DSA'],
] as const;

/** Verifies a signature of MESSAGE locally with the PEM GetPublicKey gave (spec 14.3's local checks). */
function verifiesLocally(algorithm: string, pem: string, signature: Buffer): boolean {
  switch (algorithm) {
    case 'RSA_PKCS1_SHA_256':
    case 'ECDSA_SHA_256':
      return verify('sha256', MESSAGE, pem, signature);
    case 'RSA_PSS_SHA_256':
      return verify(
        'sha256',
        MESSAGE,
        { key: pem, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        signature,
      );
    default: {
      const pemFile = path.join(dir, `${randomUUID()}.pem`);
      const sigFile = path.join(dir, `${randomUUID()}.sig`);
      const msgFile = path.join(dir, `${randomUUID()}.msg`);
      writeFileSync(pemFile, pem);
      writeFileSync(sigFile, signature);
      writeFileSync(msgFile, MESSAGE);
      try {
        const out = execFileSync('openssl', [
          'dgst',
          '-sm3',
          '-verify',
          pemFile,
          '-sigopt',
          'distid:1234567812345678',
          '-signature',
          sigFile,
          msgFile,
        ]).toString();
        return out.includes('Verified OK');
      } catch {
        return false;
      }
    }
  }
}

/** SM3(Z_A ‖ M) with the default distinguishing ID, as the caller computes it (GB/T 32918.2). */
const sm2Digest = (pem: string) => {
  const point = createPublicKey(pem).export({ type: 'spki', format: 'der' }).subarray(-65).toString('hex');
  return Buffer.from(sm2.getHash(new Uint8Array(MESSAGE), point, '1234567812345678'), 'hex');
};
const sm2PointHex = (pem: string) =>
  createPublicKey(pem).export({ type: 'spki', format: 'der' }).subarray(-65).toString('hex');

describe.each(FACES)('asymmetric keys (%s face)', (name) => {
  const region = uniqueRegion();
  let f!: Face;
  let a!: ReturnType<typeof asymmetricFace>;
  /** spec/usage → { keyId, versionId, alias } */
  const keys = new Map<string, { keyId: string; versionId: string; alias: string }>();
  const keyOf = (spec: string, usage = 'SIGN/VERIFY') => keys.get(`${spec} ${usage}`)!;

  beforeAll(async () => {
    f = face(name, t.http, region);
    a = asymmetricFace(name, t.http, region);
    const wanted = [
      ['RSA_2048', 'SIGN/VERIFY'],
      ['RSA_3072', 'SIGN/VERIFY'],
      ['EC_P256', 'SIGN/VERIFY'],
      ['EC_P256K', 'SIGN/VERIFY'],
      ['EC_SM2', 'SIGN/VERIFY'],
      ['RSA_2048', 'ENCRYPT/DECRYPT'],
      ['RSA_3072', 'ENCRYPT/DECRYPT'],
      ['EC_SM2', 'ENCRYPT/DECRYPT'],
    ];
    await Promise.all(
      wanted.map(async ([spec, usage]) => {
        const keyId = await f.newKey({ KeySpec: spec!, KeyUsage: usage! });
        const alias = `alias/${spec}-${usage!.slice(0, 4).toLowerCase()}`;
        expect((await f.createAlias(alias, keyId)).status).toBe(f.successStatus('create'));
        keys.set(`${spec} ${usage}`, { keyId, versionId: (await versionsOf(keyId))[0]!, alias });
      }),
    );
  }, 60_000);

  it('CreateKey: the spec default usage, one key-pair version, no primary version, HSM recorded', async () => {
    const res = await f.createKey({ KeySpec: 'EC_P256', ProtectionLevel: 'HSM' });
    expect(res.status).toBe(f.successStatus('create'));
    const m = res.body.KeyMetadata;
    expect(m).toMatchObject({
      KeySpec: 'EC_P256',
      KeyUsage: 'SIGN/VERIFY',
      ProtectionLevel: 'HSM',
      Origin: 'Aliyun_KMS',
      KeyState: 'Enabled',
      PrimaryKeyVersion: '',
      AutomaticRotation: 'Disabled',
      LastRotationDate: m.CreationDate,
    });
    const { rows } = await t.db.query<{ public_key: Uint8Array; wrapped_material: Uint8Array }>(
      'SELECT public_key, wrapped_material FROM key_versions WHERE key_id = $1',
      [m.KeyId],
    );
    expect(rows).toHaveLength(1);
    const spki = Buffer.from(rows[0]!.public_key);
    expect(createPublicKey({ key: spki, format: 'der', type: 'spki' }).asymmetricKeyType).toBe('ec');
    // The private key is stored wrapped: the public point is not in it, and it is not PKCS#8 DER.
    expect(Buffer.from(rows[0]!.wrapped_material).includes(spki.subarray(-65))).toBe(false);
    expect(Buffer.from(rows[0]!.wrapped_material).subarray(0, 2).toString('hex')).not.toBe('3081');
    expect((await f.describeKey(m.KeyId)).body.KeyMetadata).toEqual(m);
    // RSA_2048 alone makes a signing key; HSM is accepted for the symmetric spec too.
    expect(keyOf('RSA_2048').keyId).toBeTruthy();
    const aes = await f.createKey({ ProtectionLevel: 'HSM' });
    expect(aes.body.KeyMetadata).toMatchObject({ ProtectionLevel: 'HSM', KeyUsage: 'ENCRYPT/DECRYPT' });
    // ListKeys filters match the recorded level, spec and usage.
    const filtered = async (filters: object) => {
      const Filters = JSON.stringify(filters);
      const res =
        name === 'rpc'
          ? await rpc(t.http, { Action: 'ListKeys', RegionId: region, Filters, PageSize: 100 })
          : await restClient(t.http, region).get(`/v1/keys?PageSize=100&Filters=${encodeURIComponent(Filters)}`);
      expect(res.status).toBe(200);
      return f
        .keysOf(res.body)
        .map((k) => k.KeyId)
        .sort();
    };
    expect(await filtered([{ Key: 'ProtectionLevel', Values: ['HSM'] }])).toEqual(
      [aes.body.KeyMetadata.KeyId, m.KeyId].sort(),
    );
    expect(await filtered([{ Key: 'KeySpec', Values: ['RSA_3072'] }])).toEqual(
      [keyOf('RSA_3072').keyId, keyOf('RSA_3072', 'ENCRYPT/DECRYPT').keyId].sort(),
    );
    expect(
      await filtered([
        { Key: 'KeySpec', Values: ['EC_SM2'] },
        { Key: 'KeyUsage', Values: ['ENCRYPT/DECRYPT'] },
      ]),
    ).toEqual([keyOf('EC_SM2', 'ENCRYPT/DECRYPT').keyId]);
  });

  it('RAM: kms:<Operation> on the key ARN only, also through an alias; AccessDeniedDetail names the action', async () => {
    const k = keyOf('EC_P256');
    const user = (n: string): Credentials => ({ accessKeyId: `AK_ASYM_${name}_${n}`, secret: `secret-of-${n}` });
    const arn = `acs:kms:*:${ACCOUNT}:key/${k.keyId}`;
    const policies: Record<string, object[]> = {
      signer: [{ Effect: 'Allow', Action: ['kms:AsymmetricSign', 'kms:GetPublicKey'], Resource: arn }],
      aliases: [{ Effect: 'Allow', Action: 'kms:*', Resource: `acs:kms:*:${ACCOUNT}:alias/*` }],
    };
    const file = path.join(dir, `identities-${randomUUID()}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        accounts: [
          {
            accountId: ACCOUNT,
            users: Object.entries(policies).map(([n, statements]) => ({
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
    const as = (n: string) => asymmetricFace(name, app.http, region, user(n));
    const denied = (res: Parameters<typeof expectError>[0], action: string, principal: string) =>
      expect(expectError(res, 403, 'Forbidden.NoPermission').AccessDeniedDetail).toEqual({
        AuthAction: action,
        AuthPrincipalType: 'SubUser',
        AuthPrincipalDisplayName: principal,
        NoPermissionType: 'ImplicitDeny',
      });
    const digest = b64(sha256(MESSAGE));
    const params = { KeyVersionId: k.versionId, Algorithm: 'ECDSA_SHA_256', Digest: digest };
    for (const id of [k.keyId, k.alias, `acs:kms:${region}:${ACCOUNT}:${k.alias}`]) {
      expect((await as('signer').sign(id, params)).status).toBe(200);
      expect((await as('signer').getPublicKey(id, k.versionId)).status).toBe(200);
      denied(await as('signer').verify(id, { ...params, Value: 'AAAA' }), 'kms:AsymmetricVerify', 'signer');
      denied(await as('aliases').sign(id, params), 'kms:AsymmetricSign', 'aliases');
    }
    // Resolution and the version (404) come before RAM.
    expectError(
      await as('aliases').sign(k.alias, { ...params, KeyVersionId: randomUUID() }),
      404,
      'Forbidden.KeyVersionNotFound',
    );
  });

  it('CreateKey: usages the spec does not allow, EXTERNAL and automatic rotation of an asymmetric key', async () => {
    const before = (await f.listKeys()).body.TotalCount;
    for (const [params, param, reason] of [
      [{ KeySpec: 'EC_P256', KeyUsage: 'ENCRYPT/DECRYPT' }, 'KeyUsage', 'EC_P256 keys take SIGN/VERIFY'],
      [{ KeySpec: 'EC_P256K', KeyUsage: 'ENCRYPT/DECRYPT' }, 'KeyUsage', 'EC_P256K keys take SIGN/VERIFY'],
      [{ KeyUsage: 'SIGN/VERIFY' }, 'KeyUsage', 'Aliyun_AES_256 keys take ENCRYPT/DECRYPT'],
      [{ KeySpec: 'RSA_2048', Origin: 'EXTERNAL' }, 'Origin', 'an asymmetric key cannot have Origin EXTERNAL'],
      [
        { KeySpec: 'EC_SM2', EnableAutomaticRotation: 'true', RotationInterval: '30d' },
        'EnableAutomaticRotation',
        'asymmetric and EXTERNAL keys do not rotate automatically',
      ],
      [
        { Origin: 'EXTERNAL', EnableAutomaticRotation: 'true', RotationInterval: '30d' },
        'EnableAutomaticRotation',
        'asymmetric and EXTERNAL keys do not rotate automatically',
      ],
      [{ ProtectionLevel: 'hsm' }, 'ProtectionLevel', 'it must be one of SOFTWARE, HSM'],
    ] as const) {
      const params_ = Object.fromEntries(
        Object.entries(params).map(([k, v]) => [k, name === 'rest' && v === 'true' ? true : v]),
      ) as Record<string, string>;
      const body = expectError(await f.createKey(params_), 400, 'InvalidParameter');
      expect(body.Message).toBe(`The specified parameter "${param}" is not valid: ${reason}`);
    }
    expect((await f.listKeys()).body.TotalCount).toBe(before);
  });

  it.each(SIGNERS)(
    '%s %s: a signature made through the alias verifies locally against GetPublicKey',
    async (spec, algorithm) => {
      const k = keyOf(spec);
      const pub = await a.getPublicKey(k.alias, k.versionId);
      expect(pub.status).toBe(200);
      expect(pub.body).toMatchObject({ KeyId: k.keyId, KeyVersionId: k.versionId });
      const pem = pub.body.PublicKey as string;
      expect(pem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
      const digest = algorithm === 'SM2DSA' ? sm2Digest(pem) : sha256(MESSAGE);
      const signed = await a.sign(k.alias, { KeyVersionId: k.versionId, Algorithm: algorithm, Digest: b64(digest) });
      expect(signed.status).toBe(200);
      expect(Object.keys(signed.body).sort()).toEqual(['KeyId', 'KeyVersionId', 'RequestId', 'Value']);
      expect(signed.body).toMatchObject({ KeyId: k.keyId, KeyVersionId: k.versionId });
      const signature = Buffer.from(signed.body.Value, 'base64');
      if (spec.startsWith('RSA')) expect(signature.length).toBe(spec === 'RSA_2048' ? 256 : 384);
      expect(verifiesLocally(algorithm, pem, signature)).toBe(true);
      if (algorithm === 'ECDSA_SHA_256') expect(p256.Signature.fromBytes(signature, 'der').hasHighS()).toBe(false);

      const verified = await a.verify(k.keyId, {
        KeyVersionId: k.versionId,
        Algorithm: algorithm,
        Digest: b64(digest),
        Value: signed.body.Value,
      });
      expect(verified.status).toBe(200);
      expect(verified.body).toMatchObject({ KeyId: k.keyId, KeyVersionId: k.versionId, Value: true });
      const other = Buffer.from(digest);
      other[0]! ^= 1;
      const wrong = await a.verify(k.alias, {
        KeyVersionId: k.versionId,
        Algorithm: algorithm,
        Digest: b64(other),
        Value: signed.body.Value,
      });
      expect(wrong.status).toBe(200);
      expect(wrong.body.Value).toBe(false);
    },
  );

  it('every identifier form reaches the key; the answer names the key id', async () => {
    const k = keyOf('EC_P256');
    for (const id of [
      k.keyId,
      `acs:kms:${region}:${ACCOUNT}:key/${k.keyId}`,
      k.alias,
      `acs:kms:${region}:${ACCOUNT}:${k.alias}`,
    ]) {
      const res = await a.sign(id, {
        KeyVersionId: k.versionId,
        Algorithm: 'ECDSA_SHA_256',
        Digest: b64(sha256(MESSAGE)),
      });
      expect(res.status).toBe(200);
      expect(res.body.KeyId).toBe(k.keyId);
      expect((await a.getPublicKey(id, k.versionId)).body.KeyId).toBe(k.keyId);
    }
    expectError(
      await a.sign('alias/none', {
        KeyVersionId: k.versionId,
        Algorithm: 'ECDSA_SHA_256',
        Digest: b64(sha256(MESSAGE)),
      }),
      404,
      'Forbidden.AliasNotFound',
    );
  });

  it('KeyVersionId: required, and anything but a version of that key is Forbidden.KeyVersionNotFound (404)', async () => {
    const k = keyOf('EC_P256');
    const digest = b64(sha256(MESSAGE));
    expect(expectError(await a.getPublicKey(k.alias, undefined), 400, 'MissingParameter').Message).toBe(
      'The parameter "KeyVersionId" is needed but not provided.',
    );
    expectError(await a.sign(k.alias, { Algorithm: 'ECDSA_SHA_256', Digest: digest }), 400, 'MissingParameter');
    for (const versionId of [
      keyOf('EC_P256K').versionId,
      k.versionId.toUpperCase(),
      randomUUID(),
      'not-a-version',
      `${k.versionId}\u0000`,
    ]) {
      const body = expectError(await a.getPublicKey(k.alias, versionId), 404, 'Forbidden.KeyVersionNotFound');
      expect(body.Message).toBe('The specified Key version is not found.');
      expectError(
        await a.sign(k.alias, { KeyVersionId: versionId, Algorithm: 'ECDSA_SHA_256', Digest: digest }),
        404,
        'Forbidden.KeyVersionNotFound',
      );
    }
  });

  it('a key of the other usage or kind is Rejected.UnsupportedOperation; GetPublicKey works for both usages', async () => {
    const signer = keyOf('RSA_2048');
    const encrypter = keyOf('RSA_2048', 'ENCRYPT/DECRYPT');
    const digest = b64(sha256(MESSAGE));
    expect((await a.getPublicKey(encrypter.alias, encrypter.versionId)).status).toBe(200);
    const refused = expectError(
      await a.sign(encrypter.alias, {
        KeyVersionId: encrypter.versionId,
        Algorithm: 'RSA_PSS_SHA_256',
        Digest: digest,
      }),
      400,
      'Rejected.UnsupportedOperation',
    );
    expect(refused.Message).toBe('Unsupported operation.');
    expectError(
      await a.encrypt(signer.alias, {
        KeyVersionId: signer.versionId,
        Algorithm: 'RSAES_OAEP_SHA_256',
        Plaintext: b64('x'),
      }),
      400,
      'Rejected.UnsupportedOperation',
    );
    expectError(
      await a.decrypt(signer.alias, {
        KeyVersionId: signer.versionId,
        Algorithm: 'RSAES_OAEP_SHA_256',
        CiphertextBlob: b64(Buffer.alloc(256)),
      }),
      400,
      'Rejected.UnsupportedOperation',
    );
    // A symmetric key with a valid Algorithm: the kind decides first (spec 14.1).
    const aes = await f.newKey();
    const aesVersion = (await f.describeKey(aes)).body.KeyMetadata.PrimaryKeyVersion;
    expectError(
      await a.sign(aes, { KeyVersionId: aesVersion, Algorithm: 'RSA_PSS_SHA_256', Digest: digest }),
      400,
      'Rejected.UnsupportedOperation',
    );
    expectError(await a.getPublicKey(aes, aesVersion), 400, 'Rejected.UnsupportedOperation');
  });

  it('Algorithm: unknown is InvalidParameter before lookup; one that does not fit the spec is InvalidParameter after', async () => {
    const k = keyOf('EC_P256');
    const digest = b64(sha256(MESSAGE));
    expect(
      expectError(
        await a.sign('alias/none', { KeyVersionId: k.versionId, Algorithm: 'ECDSA_SHA_384', Digest: digest }),
        400,
        'InvalidParameter',
      ).Message,
    ).toMatch(/^The specified parameter "Algorithm" is not valid/);
    expectError(
      await a.sign('alias/none', { KeyVersionId: k.versionId, Algorithm: 'RSA_PSS_SHA_256', Digest: digest }),
      404,
      'Forbidden.AliasNotFound',
    );
    for (const [key, algorithm] of [
      [keyOf('EC_P256'), 'RSA_PSS_SHA_256'],
      [keyOf('EC_P256K'), 'SM2DSA'],
      [keyOf('EC_SM2'), 'ECDSA_SHA_256'],
      [keyOf('RSA_3072'), 'ECDSA_SHA_256'],
    ] as const) {
      const body = expectError(
        await a.sign(key.alias, { KeyVersionId: key.versionId, Algorithm: algorithm, Digest: digest }),
        400,
        'InvalidParameter',
      );
      expect(body.Message).toMatch(/^The specified parameter "Algorithm" is not valid/);
    }
    const e = keyOf('EC_SM2', 'ENCRYPT/DECRYPT');
    expectError(
      await a.encrypt(e.alias, { KeyVersionId: e.versionId, Algorithm: 'RSAES_OAEP_SHA_1', Plaintext: b64('x') }),
      400,
      'InvalidParameter',
    );
  });

  it('Digest must be 32 bytes of strict Base64; Value not Base64 is InvalidParameter, a raw r‖s is false', async () => {
    const k = keyOf('EC_P256');
    for (const digest of [b64(Buffer.alloc(31)), b64(Buffer.alloc(33)), b64(Buffer.alloc(64)), 'not base64', 'QR==']) {
      const body = expectError(
        await a.sign(k.alias, { KeyVersionId: k.versionId, Algorithm: 'ECDSA_SHA_256', Digest: digest }),
        400,
        'InvalidParameter',
      );
      expect(body.Message).toMatch(/^The specified parameter "Digest" is not valid/);
    }
    expectError(
      await a.sign(k.alias, { KeyVersionId: k.versionId, Algorithm: 'ECDSA_SHA_256', Digest: '' }),
      400,
      'MissingParameter',
    );
    const digest = b64(sha256(MESSAGE));
    const sig = (await a.sign(k.alias, { KeyVersionId: k.versionId, Algorithm: 'ECDSA_SHA_256', Digest: digest })).body
      .Value;
    const raw = b64(Buffer.from(p256.Signature.fromBytes(Buffer.from(sig, 'base64'), 'der').toBytes('compact')));
    expect(
      (await a.verify(k.alias, { KeyVersionId: k.versionId, Algorithm: 'ECDSA_SHA_256', Digest: digest, Value: raw }))
        .body.Value,
    ).toBe(false);
    const body = expectError(
      await a.verify(k.alias, {
        KeyVersionId: k.versionId,
        Algorithm: 'ECDSA_SHA_256',
        Digest: digest,
        Value: 'not base64!',
      }),
      400,
      'InvalidParameter',
    );
    expect(body.Message).toMatch(/^The specified parameter "Value" is not valid/);
  });

  it('RSA: data encrypted locally with the public key decrypts through AsymmetricDecrypt by alias', async () => {
    for (const spec of ['RSA_2048', 'RSA_3072']) {
      const k = keyOf(spec, 'ENCRYPT/DECRYPT');
      const pem = (await a.getPublicKey(k.alias, k.versionId)).body.PublicKey;
      for (const [algorithm, oaepHash] of [
        ['RSAES_OAEP_SHA_256', 'sha256'],
        ['RSAES_OAEP_SHA_1', 'sha1'],
      ]) {
        const ct = publicEncrypt({ key: pem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, MESSAGE);
        const res = await a.decrypt(k.alias, {
          KeyVersionId: k.versionId,
          Algorithm: algorithm,
          CiphertextBlob: b64(ct),
        });
        expect(res.status).toBe(200);
        expect(res.body).toEqual({
          RequestId: res.body.RequestId,
          KeyId: k.keyId,
          KeyVersionId: k.versionId,
          Plaintext: b64(MESSAGE),
        });
        // The other OAEP hash, a corrupted or shortened ciphertext: InvalidParameter naming CiphertextBlob.
        const other = algorithm === 'RSAES_OAEP_SHA_1' ? 'RSAES_OAEP_SHA_256' : 'RSAES_OAEP_SHA_1';
        const tampered = Buffer.from(ct);
        tampered[10]! ^= 1;
        for (const [alg, blob] of [
          [other, ct],
          [algorithm, tampered],
          [algorithm, ct.subarray(1)],
        ] as const) {
          const body = expectError(
            await a.decrypt(k.alias, { KeyVersionId: k.versionId, Algorithm: alg, CiphertextBlob: b64(blob) }),
            400,
            'InvalidParameter',
          );
          expect(body.Message).toMatch(/^The specified parameter "CiphertextBlob" is not valid/);
        }
        // Through the service's own AsymmetricEncrypt, the ciphertext has the modulus length.
        const sealed = await a.encrypt(k.keyId, {
          KeyVersionId: k.versionId,
          Algorithm: algorithm,
          Plaintext: b64(MESSAGE),
        });
        expect(sealed.status).toBe(200);
        expect(Buffer.from(sealed.body.CiphertextBlob, 'base64').length).toBe(spec === 'RSA_2048' ? 256 : 384);
        const back = await a.decrypt(k.alias, {
          KeyVersionId: k.versionId,
          Algorithm: algorithm,
          CiphertextBlob: sealed.body.CiphertextBlob,
        });
        expect(back.body.Plaintext).toBe(b64(MESSAGE));
      }
    }
  });

  it('plaintext limits of the table: 190/214 bytes (RSA_2048), 318/342 (RSA_3072), 6047 (SM2PKE)', async () => {
    for (const [spec, algorithm, max] of [
      ['RSA_2048', 'RSAES_OAEP_SHA_256', 190],
      ['RSA_2048', 'RSAES_OAEP_SHA_1', 214],
      ['RSA_3072', 'RSAES_OAEP_SHA_256', 318],
      ['RSA_3072', 'RSAES_OAEP_SHA_1', 342],
      ['EC_SM2', 'SM2PKE', 6047],
    ] as const) {
      const k = keyOf(spec, 'ENCRYPT/DECRYPT');
      const ok = await a.encrypt(k.alias, {
        KeyVersionId: k.versionId,
        Algorithm: algorithm,
        Plaintext: b64(Buffer.alloc(max, 7)),
      });
      expect(ok.status).toBe(200);
      if (algorithm === 'SM2PKE') expect(Buffer.from(ok.body.CiphertextBlob, 'base64').length).toBe(6144);
      const body = expectError(
        await a.encrypt(k.alias, {
          KeyVersionId: k.versionId,
          Algorithm: algorithm,
          Plaintext: b64(Buffer.alloc(max + 1, 7)),
        }),
        400,
        'InvalidParameter',
      );
      expect(body.Message).toBe(
        `The specified parameter "Plaintext" is not valid: ${algorithm} with a ${spec} key takes 1 to ${max} bytes`,
      );
    }
  });

  it('SM2PKE: raw C1C3C2 from sm-crypto (04 put in front) and the DER form openssl writes both decrypt by alias', async () => {
    const k = keyOf('EC_SM2', 'ENCRYPT/DECRYPT');
    const pem = (await a.getPublicKey(k.alias, k.versionId)).body.PublicKey as string;
    const raw = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(sm2.doEncrypt(new Uint8Array(MESSAGE), sm2PointHex(pem), 1), 'hex'),
    ]);
    const pemFile = path.join(dir, `${randomUUID()}.pem`);
    const msgFile = path.join(dir, `${randomUUID()}.msg`);
    const outFile = path.join(dir, `${randomUUID()}.ct`);
    writeFileSync(pemFile, pem);
    writeFileSync(msgFile, MESSAGE);
    execFileSync('openssl', ['pkeyutl', '-encrypt', '-pubin', '-inkey', pemFile, '-in', msgFile, '-out', outFile]);
    const der = readFileSync(outFile);
    for (const ct of [raw, der]) {
      const res = await a.decrypt(k.alias, { KeyVersionId: k.versionId, Algorithm: 'SM2PKE', CiphertextBlob: b64(ct) });
      expect(res.status).toBe(200);
      expect(res.body.Plaintext).toBe(b64(MESSAGE));
    }
    // Without its 04, tampered, or for another key: InvalidParameter.
    const tampered = Buffer.from(raw);
    tampered[tampered.length - 1]! ^= 1;
    const other = keyOf('EC_SM2');
    for (const ct of [raw.subarray(1), tampered]) {
      expectError(
        await a.decrypt(k.alias, { KeyVersionId: k.versionId, Algorithm: 'SM2PKE', CiphertextBlob: b64(ct) }),
        400,
        'InvalidParameter',
      );
    }
    expectError(
      await a.decrypt(other.alias, { KeyVersionId: other.versionId, Algorithm: 'SM2PKE', CiphertextBlob: b64(raw) }),
      400,
      'Rejected.UnsupportedOperation',
    );
  });

  it('states (spec 14.6): Disabled and PendingDeletion refuse all five, after RAM and before the key type', async () => {
    const keyId = await f.newKey({ KeySpec: 'EC_P256' });
    const [versionId] = await versionsOf(keyId);
    const digest = b64(sha256(MESSAGE));
    const all = () => [
      a.getPublicKey(keyId, versionId!),
      a.sign(keyId, { KeyVersionId: versionId, Algorithm: 'ECDSA_SHA_256', Digest: digest }),
      a.verify(keyId, { KeyVersionId: versionId, Algorithm: 'ECDSA_SHA_256', Digest: digest, Value: 'AAAA' }),
      // The wrong usage: the state decides first.
      a.encrypt(keyId, { KeyVersionId: versionId, Algorithm: 'SM2PKE', Plaintext: b64('x') }),
      a.decrypt(keyId, { KeyVersionId: versionId, Algorithm: 'SM2PKE', CiphertextBlob: b64('x') }),
    ];
    expect((await f.disableKey(keyId)).status).toBe(200);
    for (const res of await Promise.all(all())) expectError(res, 409, 'Rejected.Disabled');
    expect((await f.scheduleKeyDeletion(keyId, 7)).status).toBe(200);
    for (const res of await Promise.all(all())) expectError(res, 409, 'Rejected.PendingDeletion');
  });

  it('DryRun: every check runs, then DryRunOperationError; a ciphertext that does not decrypt still fails', async () => {
    const k = keyOf('RSA_2048', 'ENCRYPT/DECRYPT');
    const s = keyOf('EC_P256');
    const digest = b64(sha256(MESSAGE));
    for (const res of [
      await a.getPublicKey(s.alias, s.versionId, { DryRun: true }),
      await a.sign(s.alias, { KeyVersionId: s.versionId, Algorithm: 'ECDSA_SHA_256', Digest: digest, DryRun: true }),
      await a.verify(s.alias, {
        KeyVersionId: s.versionId,
        Algorithm: 'ECDSA_SHA_256',
        Digest: digest,
        Value: 'AAAA',
        DryRun: true,
      }),
      await a.encrypt(k.alias, {
        KeyVersionId: k.versionId,
        Algorithm: 'RSAES_OAEP_SHA_1',
        Plaintext: b64('x'),
        DryRun: true,
      }),
    ]) {
      expect(expectError(res, 400, 'DryRunOperationError').Message).toBe(
        'The request would have succeeded if the DryRun parameter was not specified.',
      );
    }
    expectError(
      await a.decrypt(k.alias, {
        KeyVersionId: k.versionId,
        Algorithm: 'RSAES_OAEP_SHA_1',
        CiphertextBlob: b64(Buffer.alloc(256, 1)),
        DryRun: true,
      }),
      400,
      'InvalidParameter',
    );
    expectError(
      await a.sign(s.alias, {
        KeyVersionId: s.versionId,
        Algorithm: 'ECDSA_SHA_256',
        Digest: b64('short'),
        DryRun: true,
      }),
      400,
      'InvalidParameter',
    );
  });

  it('symmetric-only operations on an asymmetric key: UnsupportedOperation "This action is not supported."', async () => {
    const k = keyOf('RSA_2048', 'ENCRYPT/DECRYPT');
    for (const res of [
      await f.encrypt(k.alias, b64('x')),
      await f.generateDataKey(k.alias),
      await f.generateDataKey(k.keyId, {}, false),
    ]) {
      expect(expectError(res, 400, 'UnsupportedOperation').Message).toBe('This action is not supported.');
    }
    // A blob whose ids name an asymmetric version is refused like a blob of no visible version (13.5).
    const aes = await f.newKey();
    const blob = Buffer.from((await f.encrypt(aes, b64('x'))).body.CiphertextBlob, 'base64');
    Buffer.from(k.keyId.replaceAll('-', ''), 'hex').copy(blob, 5);
    Buffer.from(k.versionId.replaceAll('-', ''), 'hex').copy(blob, 21);
    expectError(await f.decrypt(b64(blob)), 400, 'InvalidParameter');
  });

  it('UpdateAlias: an alias of a SIGN/VERIFY key cannot move to an ENCRYPT/DECRYPT key (same KeyUsage)', async () => {
    const signer = await f.newKey({ KeySpec: 'EC_P256' });
    const signer2 = await f.newKey({ KeySpec: 'EC_P256K' });
    const aes = await f.newKey();
    await f.createAlias('alias/signing', signer);
    const body = expectError(await f.updateAlias('alias/signing', aes), 400, 'InvalidParameter');
    expect(body.Message).toBe(
      `The specified parameter "KeyId" is not valid: the key must have the KeyUsage of the alias's current key`,
    );
    const rsaEncrypter = keyOf('RSA_2048', 'ENCRYPT/DECRYPT').keyId;
    expectError(await f.updateAlias('alias/signing', rsaEncrypter), 400, 'InvalidParameter');
    expect((await f.describeKey('alias/signing')).body.KeyMetadata.KeyId).toBe(signer);
    // Another SIGN/VERIFY key is fine, whatever its spec.
    expect((await f.updateAlias('alias/signing', signer2)).status).toBe(200);
    expect((await f.describeKey('alias/signing')).body.KeyMetadata.KeyId).toBe(signer2);
    await f.createAlias('alias/sealing', aes);
    expectError(await f.updateAlias('alias/sealing', signer), 400, 'InvalidParameter');
  });
});
