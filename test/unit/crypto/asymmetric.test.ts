import { execFileSync } from 'node:child_process';
import { constants, createHash, createPrivateKey, publicEncrypt, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { p256 } from '@noble/curves/nist.js';
import { sm2 } from 'sm-crypto-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AsymmetricSpec,
  decryptWithPrivateKey,
  encryptWithPublicKey,
  generateAsymmetricPair,
  isWrappingPublicKey,
  type KeyPair,
  pairFromPrivateKey,
  publicKeyPem,
  signDigest,
  verifyDigest,
} from '../../../src/domain/crypto/asymmetric.js';
import { ecPrivateScalar, parseSpki } from '../../../src/domain/crypto/der.js';

// The cryptography of spec 13.2 and 14, checked against implementations outside this
// module (node:crypto over the message, openssl), and the traps 13.2 lists, one test each.

const SPECS: AsymmetricSpec[] = ['RSA_2048', 'RSA_3072', 'EC_P256', 'EC_P256K', 'EC_SM2'];
const pairs = new Map<AsymmetricSpec, KeyPair>();
const message = Buffer.from('the message that was signed');
const sha256 = (m: Buffer) => createHash('sha256').update(m).digest();
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'asym-'));
  for (const spec of SPECS) pairs.set(spec, await generateAsymmetricPair(spec));
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pairOf = (spec: AsymmetricSpec) => pairs.get(spec)!;
const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

describe('key pairs', () => {
  it.each(SPECS)('%s: PKCS#8 and SPKI that node and openssl read, PEM as spec 14.2 prints it', (spec) => {
    const pem = publicKeyPem(pairOf(spec).publicKey);
    expect(pem).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END PUBLIC KEY-----\n$/,
    );
    const file = join(dir, `${spec}.pem`);
    writeFileSync(file, pem);
    const text = openssl(['pkey', '-pubin', '-in', file, '-noout', '-text']);
    const expected = {
      RSA_2048: /Public-Key: \(2048 bit\)/,
      RSA_3072: /Public-Key: \(3072 bit\)/,
      EC_P256: /prime256v1/,
      EC_P256K: /secp256k1/,
      EC_SM2: /SM2/,
    }[spec];
    expect(text).toMatch(expected);
    expect(pairFromPrivateKey(spec, pairOf(spec).privateKey)?.publicKey).toEqual(pairOf(spec).publicKey);
  });

  it('refuses a private key of another spec', () => {
    expect(pairFromPrivateKey('RSA_3072', pairOf('RSA_2048').privateKey)).toBeUndefined();
    expect(pairFromPrivateKey('EC_P256', pairOf('EC_SM2').privateKey)).toBeUndefined();
    expect(pairFromPrivateKey('EC_SM2', pairOf('EC_P256K').privateKey)).toBeUndefined();
    expect(pairFromPrivateKey('EC_P256', Buffer.from('not a key'))).toBeUndefined();
  });

  it('Node reports no type for an SM2 key read from DER; the curve OID is read from the DER (trap)', () => {
    const key = createPrivateKey({ key: pairOf('EC_SM2').privateKey, format: 'der', type: 'pkcs8' });
    expect(key.asymmetricKeyType).toBeUndefined();
    expect(parseSpki(pairOf('EC_SM2').publicKey).curve).toBe('1.2.156.10197.1.301');
  });
});

describe('signatures over a given digest, verified outside the module', () => {
  it.each(['RSA_2048', 'RSA_3072'] as const)(
    '%s RSA_PKCS1_SHA_256 verifies with crypto.verify over the message',
    (spec) => {
      const sig = signDigest(spec, 'RSA_PKCS1_SHA_256', pairOf(spec), sha256(message));
      expect(sig.length).toBe(spec === 'RSA_2048' ? 256 : 384);
      expect(verify('sha256', message, publicKeyPem(pairOf(spec).publicKey), sig)).toBe(true);
      // Deterministic.
      expect(signDigest(spec, 'RSA_PKCS1_SHA_256', pairOf(spec), sha256(message))).toEqual(sig);
    },
  );

  it.each(['RSA_2048', 'RSA_3072'] as const)('%s RSA_PSS_SHA_256 verifies with salt length 32', (spec) => {
    const sig = signDigest(spec, 'RSA_PSS_SHA_256', pairOf(spec), sha256(message));
    const key = { key: publicKeyPem(pairOf(spec).publicKey), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
    expect(verify('sha256', message, key, sig)).toBe(true);
    expect(verify('sha256', Buffer.from('other'), key, sig)).toBe(false);
  });

  it('PSS verification accepts any salt length (choice of spec 14.3)', () => {
    const pem = createPrivateKey({ key: pairOf('RSA_2048').privateKey, format: 'der', type: 'pkcs8' });
    for (const saltLength of [0, 20, 32, 64]) {
      const sig = sign('sha256', message, { key: pem, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
      expect(verifyDigest('RSA_2048', 'RSA_PSS_SHA_256', pairOf('RSA_2048').publicKey, sha256(message), sig)).toBe(
        true,
      );
    }
  });

  it.each(['EC_P256', 'EC_P256K'] as const)('%s ECDSA_SHA_256 verifies with crypto.verify; signs low-S', (spec) => {
    const pem = publicKeyPem(pairOf(spec).publicKey);
    for (let i = 0; i < 8; i++) {
      const sig = signDigest(spec, 'ECDSA_SHA_256', pairOf(spec), sha256(message));
      expect(verify('sha256', message, pem, sig)).toBe(true);
      expect(p256.Signature.fromBytes(sig, 'der').hasHighS()).toBe(false);
    }
  });

  it('ECDSA verification accepts the high-S signatures OpenSSL makes (trap: lowS: false)', () => {
    const key = createPrivateKey({ key: pairOf('EC_P256').privateKey, format: 'der', type: 'pkcs8' });
    let highS = 0;
    for (let i = 0; i < 40 && highS < 3; i++) {
      const sig = sign('sha256', message, key);
      if (!p256.Signature.fromBytes(sig, 'der').hasHighS()) continue;
      highS++;
      expect(verifyDigest('EC_P256', 'ECDSA_SHA_256', pairOf('EC_P256').publicKey, sha256(message), sig)).toBe(true);
      // What the default would have done:
      expect(
        p256.verify(sig, sha256(message), parseSpki(pairOf('EC_P256').publicKey).key, {
          prehash: false,
          format: 'der',
        }),
      ).toBe(false);
    }
    expect(highS).toBeGreaterThan(0);
  });

  it('an ECDSA value that is not DER (64 raw bytes r‖s) is false, not an error (choice of 14.3)', () => {
    const der = signDigest('EC_P256', 'ECDSA_SHA_256', pairOf('EC_P256'), sha256(message));
    const raw = Buffer.from(p256.Signature.fromBytes(der, 'der').toBytes('compact'));
    expect(verifyDigest('EC_P256', 'ECDSA_SHA_256', pairOf('EC_P256').publicKey, sha256(message), raw)).toBe(false);
    expect(
      verifyDigest('EC_P256', 'ECDSA_SHA_256', pairOf('EC_P256').publicKey, sha256(message), Buffer.alloc(3)),
    ).toBe(false);
  });

  it('SM2DSA over SM3(Z_A ‖ M) verifies with openssl and distid 1234567812345678', () => {
    const pair = pairOf('EC_SM2');
    const pubHex = parseSpki(pair.publicKey).key.toString('hex');
    const digest = Buffer.from(sm2.getHash(new Uint8Array(message), pubHex, '1234567812345678'), 'hex');
    const sig = signDigest('EC_SM2', 'SM2DSA', pair, digest);
    writeFileSync(join(dir, 'sm2.sig'), sig);
    writeFileSync(join(dir, 'msg'), message);
    writeFileSync(join(dir, 'sm2.pem'), publicKeyPem(pair.publicKey));
    const out = openssl([
      'dgst',
      '-sm3',
      '-verify',
      join(dir, 'sm2.pem'),
      '-sigopt',
      'distid:1234567812345678',
      '-signature',
      join(dir, 'sm2.sig'),
      join(dir, 'msg'),
    ]);
    expect(out).toMatch(/Verified OK/);
    expect(verifyDigest('EC_SM2', 'SM2DSA', pair.publicKey, digest, sig)).toBe(true);
    expect(verifyDigest('EC_SM2', 'SM2DSA', pair.publicKey, sha256(message), sig)).toBe(false);
  });

  it('sm-crypto reads a string digest as UTF-8 text, so digests go in as bytes (trap)', () => {
    const pair = pairOf('EC_SM2');
    const digest = sha256(message);
    const d = ecPrivateScalar(pair.privateKey).toString('hex');
    const pubHex = parseSpki(pair.publicKey).key.toString('hex');
    const fromText = sm2.doSignature(digest.toString('hex'), d, { hash: false, der: true });
    expect(sm2.doVerifySignature(new Uint8Array(digest), fromText, pubHex, { hash: false, der: true })).toBe(false);
    const sig = signDigest('EC_SM2', 'SM2DSA', pair, digest);
    expect(sm2.doVerifySignature(new Uint8Array(digest), sig.toString('hex'), pubHex, { hash: false, der: true })).toBe(
      true,
    );
  });
});

describe('public-key encryption', () => {
  it.each([
    ['RSA_2048', 'RSAES_OAEP_SHA_256', 'sha256'],
    ['RSA_2048', 'RSAES_OAEP_SHA_1', 'sha1'],
    ['RSA_3072', 'RSAES_OAEP_SHA_256', 'sha256'],
  ] as const)('%s %s: node publicEncrypt → decrypts', (spec, algorithm, oaepHash) => {
    const pair = pairOf(spec);
    const ct = publicEncrypt(
      { key: publicKeyPem(pair.publicKey), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash },
      message,
    );
    expect(decryptWithPrivateKey(algorithm, pair, ct)).toEqual(message);
    expect(() =>
      decryptWithPrivateKey(algorithm === 'RSAES_OAEP_SHA_1' ? 'RSAES_OAEP_SHA_256' : 'RSAES_OAEP_SHA_1', pair, ct),
    ).toThrow('does not decrypt');
    expect(() => decryptWithPrivateKey(algorithm, pair, ct.subarray(1))).toThrow('wrong length');
  });

  it('SM2PKE: raw C1C3C2 with 04, 97 bytes over the plaintext; OpenSSL DER form decrypts too', () => {
    const pair = pairOf('EC_SM2');
    const ct = encryptWithPublicKey('SM2PKE', pair.publicKey, message);
    expect(ct[0]).toBe(4);
    expect(ct.length).toBe(message.length + 97);
    expect(decryptWithPrivateKey('SM2PKE', pair, ct)).toEqual(message);
    writeFileSync(join(dir, 'sm2.pem'), publicKeyPem(pair.publicKey));
    writeFileSync(join(dir, 'msg'), message);
    execFileSync('openssl', [
      'pkeyutl',
      '-encrypt',
      '-pubin',
      '-inkey',
      join(dir, 'sm2.pem'),
      '-in',
      join(dir, 'msg'),
      '-out',
      join(dir, 'sm2.ct'),
    ]);
    const der = execFileSync('cat', [join(dir, 'sm2.ct')]);
    expect(der[0]).toBe(0x30);
    expect(decryptWithPrivateKey('SM2PKE', pair, der)).toEqual(message);
  });

  it('SM2PKE: a wrong key, a tampered input or a missing 04 fails (sm-crypto answers [] or throws: trap)', async () => {
    const pair = pairOf('EC_SM2');
    const ct = encryptWithPublicKey('SM2PKE', pair.publicKey, message);
    const other = await generateAsymmetricPair('EC_SM2');
    const tampered = Buffer.from(ct);
    tampered[tampered.length - 1]! ^= 1;
    expect(() => decryptWithPrivateKey('SM2PKE', pair, tampered)).toThrow();
    expect(() => decryptWithPrivateKey('SM2PKE', pair, ct.subarray(1))).toThrow();
    expect(() => decryptWithPrivateKey('SM2PKE', pair, Buffer.alloc(200, 4))).toThrow();
    // A raw ciphertext over 6144 bytes is refused before any work (spec 14.4).
    const long = encryptWithPublicKey('SM2PKE', pair.publicKey, Buffer.alloc(6048, 1));
    expect(long.length).toBe(6145);
    expect(() => decryptWithPrivateKey('SM2PKE', pair, long)).toThrow('too long');
    expect(
      decryptWithPrivateKey('SM2PKE', pair, encryptWithPublicKey('SM2PKE', pair.publicKey, Buffer.alloc(6047, 1)))
        .length,
    ).toBe(6047);
    expect(() => decryptWithPrivateKey('SM2PKE', other, ct)).toThrow();
    expect(decryptWithPrivateKey('SM2PKE', pair, ct)).toEqual(message);
  });
});

describe('wrapping public keys (spec 16.4)', () => {
  it('takes an RSA 2048 SPKI for RSA_2048 and an SM2 SPKI for EC_SM2, nothing else', () => {
    expect(isWrappingPublicKey('RSA_2048', pairOf('RSA_2048').publicKey)).toBe(true);
    expect(isWrappingPublicKey('RSA_2048', pairOf('RSA_3072').publicKey)).toBe(false);
    expect(isWrappingPublicKey('RSA_2048', pairOf('EC_SM2').publicKey)).toBe(false);
    expect(isWrappingPublicKey('EC_SM2', pairOf('EC_SM2').publicKey)).toBe(true);
    expect(isWrappingPublicKey('EC_SM2', pairOf('EC_P256').publicKey)).toBe(false);
    expect(isWrappingPublicKey('EC_SM2', pairOf('RSA_2048').publicKey)).toBe(false);
    expect(isWrappingPublicKey('EC_SM2', Buffer.from('garbage'))).toBe(false);
    const offCurve = Buffer.from(pairOf('EC_SM2').publicKey);
    offCurve[offCurve.length - 1]! ^= 1;
    expect(isWrappingPublicKey('EC_SM2', offCurve)).toBe(false);
  });
});
