// Public-key cryptography of the asymmetric key specs (spec sections 13.2 and 14): key
// pairs, signatures over a given digest, public-key encryption, and the public keys a
// caller gives to wrap an exported data key (16.4). node:crypto where it can; where it
// cannot (spec 13.2's table), RSASSA-PKCS1-v1_5 and EMSA-PSS are encoded here and applied
// with the raw RSA operation, ECDSA over a digest comes from @noble/curves and SM2 from
// sm-crypto-v2.
//
// Key pairs are PKCS#8 DER (private) and SubjectPublicKeyInfo DER (public). A function
// that fails for a reason the caller caused returns false or throws AsymmetricInputError;
// any other throw is a bug or a corrupted row.

import {
  constants,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  privateDecrypt,
  privateEncrypt,
  publicDecrypt,
  publicEncrypt,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { p256 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { ecPrivateScalar, parseSpki } from './der.js';

/** SM2 (sm-crypto-v2), loaded by the first SM2 operation (~60 ms of start-up otherwise). */
const sm2 = () => (createRequire(import.meta.url)('sm-crypto-v2') as typeof import('sm-crypto-v2')).sm2;

export const SIGN_ALGORITHMS = ['RSA_PSS_SHA_256', 'RSA_PKCS1_SHA_256', 'ECDSA_SHA_256', 'SM2DSA'] as const;
export type SignAlgorithm = (typeof SIGN_ALGORITHMS)[number];
export const ENCRYPT_ALGORITHMS = ['RSAES_OAEP_SHA_256', 'RSAES_OAEP_SHA_1', 'SM2PKE'] as const;
export type EncryptAlgorithm = (typeof ENCRYPT_ALGORITHMS)[number];

export type AsymmetricSpec = 'RSA_2048' | 'RSA_3072' | 'EC_P256' | 'EC_P256K' | 'EC_SM2';

export const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  secp256k1: '1.3.132.0.10',
  sm2: '1.2.156.10197.1.301',
} as const;

/** How each asymmetric spec's pair is made and what it is. */
const PAIRS: Record<AsymmetricSpec, { type: 'rsa'; bits: number } | { type: 'ec'; curve: string; oid: string }> = {
  RSA_2048: { type: 'rsa', bits: 2048 },
  RSA_3072: { type: 'rsa', bits: 3072 },
  EC_P256: { type: 'ec', curve: 'prime256v1', oid: OID.prime256v1 },
  EC_P256K: { type: 'ec', curve: 'secp256k1', oid: OID.secp256k1 },
  EC_SM2: { type: 'ec', curve: 'SM2', oid: OID.sm2 },
};

/** Which specs each algorithm serves (spec 14.1's table). */
export const ALGORITHM_SPECS: Record<SignAlgorithm | EncryptAlgorithm, readonly AsymmetricSpec[]> = {
  RSA_PSS_SHA_256: ['RSA_2048', 'RSA_3072'],
  RSA_PKCS1_SHA_256: ['RSA_2048', 'RSA_3072'],
  ECDSA_SHA_256: ['EC_P256', 'EC_P256K'],
  SM2DSA: ['EC_SM2'],
  RSAES_OAEP_SHA_256: ['RSA_2048', 'RSA_3072'],
  RSAES_OAEP_SHA_1: ['RSA_2048', 'RSA_3072'],
  SM2PKE: ['EC_SM2'],
};

export interface KeyPair {
  /** PKCS#8 DER. */
  privateKey: Buffer;
  /** SubjectPublicKeyInfo DER. */
  publicKey: Buffer;
}

const generate = promisify(generateKeyPair);
const DER = {
  publicKeyEncoding: { type: 'spki', format: 'der' },
  privateKeyEncoding: { type: 'pkcs8', format: 'der' },
};

/** A fresh key pair of the spec, off the event loop (RSA takes 0.3–2 s). */
export async function generateAsymmetricPair(spec: AsymmetricSpec): Promise<KeyPair> {
  const how = PAIRS[spec];
  const pair =
    how.type === 'rsa'
      ? await generate('rsa', { modulusLength: how.bits, publicExponent: 65537, ...DER } as never)
      : await generate('ec', { namedCurve: how.curve, ...DER } as never);
  const { privateKey, publicKey } = pair as unknown as { privateKey: Buffer; publicKey: Buffer };
  return { privateKey, publicKey };
}

/**
 * Whether a PKCS#8 private key (DER) is a key of the spec; its public key when it is. For
 * the seed file's fixed pairs.
 */
export function pairFromPrivateKey(spec: AsymmetricSpec, pkcs8: Buffer): KeyPair | undefined {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  } catch {
    return undefined;
  }
  const publicKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const how = PAIRS[spec];
  const spki = parseSpki(publicKey);
  if (how.type === 'rsa') {
    const details = key.asymmetricKeyDetails;
    if (key.asymmetricKeyType !== 'rsa' || details?.modulusLength !== how.bits) return undefined;
    if (details.publicExponent !== 65537n) return undefined;
  } else if (spki.algorithm !== OID.ecPublicKey || spki.curve !== how.oid) {
    return undefined;
  }
  return { privateKey: key.export({ type: 'pkcs8', format: 'der' }), publicKey };
}

/** PEM of the SubjectPublicKeyInfo, 64-character lines and a final newline (spec 14.2). */
export function publicKeyPem(spki: Buffer): string {
  return createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }) as string;
}

// ---------------------------------------------------------------------------------------
// Signatures over a given 32-byte digest (spec 14.3).

/** DigestInfo(SHA-256) without the digest (RFC 8017 section 9.2, note 1). */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
const HASH_BYTES = 32;
const PSS_SALT_BYTES = 32;

const rsaPrivate = (pkcs8: Buffer) => createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
const rsaPublic = (spki: Buffer) => createPublicKey({ key: spki, format: 'der', type: 'spki' });
const modulusBits = (key: KeyObject) => key.asymmetricKeyDetails?.modulusLength ?? 0;

function mgf1Sha256(seed: Buffer, length: number): Buffer {
  const out: Buffer[] = [];
  for (let counter = 0; out.length * HASH_BYTES < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    out.push(createHash('sha256').update(seed).update(c).digest());
  }
  return Buffer.concat(out).subarray(0, length);
}

/** EMSA-PSS-ENCODE (RFC 8017 section 9.1.1) of a given SHA-256 digest, MGF1-SHA-256. */
function emsaPssEncode(digest: Buffer, emBits: number, salt: Buffer): Buffer {
  const emLen = Math.ceil(emBits / 8);
  const h = createHash('sha256').update(Buffer.alloc(8)).update(digest).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - salt.length - HASH_BYTES - 2), Buffer.from([1]), salt]);
  const mask = mgf1Sha256(h, emLen - HASH_BYTES - 1);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

/** EMSA-PSS-VERIFY (RFC 8017 section 9.1.2), any salt length (spec 14.3, choice). */
function emsaPssVerify(digest: Buffer, em: Buffer, emBits: number): boolean {
  const emLen = Math.ceil(emBits / 8);
  if (em.length !== emLen || em[emLen - 1] !== 0xbc || emLen < HASH_BYTES + 2) return false;
  const maskedDb = em.subarray(0, emLen - HASH_BYTES - 1);
  const h = em.subarray(emLen - HASH_BYTES - 1, emLen - 1);
  const topBits = 8 * emLen - emBits;
  if (topBits > 0 && (maskedDb[0]! & (0xff << (8 - topBits)) & 0xff) !== 0) return false;
  const db = mgf1Sha256(h, maskedDb.length);
  for (let i = 0; i < db.length; i++) db[i]! ^= maskedDb[i]!;
  db[0]! &= 0xff >> topBits;
  const one = db.findIndex((b) => b !== 0);
  if (one === -1 || db[one] !== 1) return false;
  const salt = db.subarray(one + 1);
  const expected = createHash('sha256').update(Buffer.alloc(8)).update(digest).update(salt).digest();
  return timingSafeEqual(expected, h);
}

/** The raw uncompressed EC point (65 bytes) of an SPKI. */
const ecPoint = (spki: Buffer) => parseSpki(spki).key;

const ECDSA_CURVES = { EC_P256: p256, EC_P256K: secp256k1 } as const;

export function signDigest(spec: AsymmetricSpec, algorithm: SignAlgorithm, pair: KeyPair, digest: Buffer): Buffer {
  switch (algorithm) {
    case 'RSA_PKCS1_SHA_256':
      return privateEncrypt(
        { key: rsaPrivate(pair.privateKey), padding: constants.RSA_PKCS1_PADDING },
        Buffer.concat([SHA256_DIGEST_INFO, digest]),
      );
    case 'RSA_PSS_SHA_256': {
      const key = rsaPrivate(pair.privateKey);
      const em = emsaPssEncode(digest, modulusBits(key) - 1, randomBytes(PSS_SALT_BYTES));
      const k = Math.ceil(modulusBits(key) / 8);
      return privateEncrypt(
        { key, padding: constants.RSA_NO_PADDING },
        Buffer.concat([Buffer.alloc(k - em.length), em]),
      );
    }
    case 'ECDSA_SHA_256': {
      const curve = ECDSA_CURVES[spec as 'EC_P256' | 'EC_P256K'];
      const d = ecPrivateScalar(pair.privateKey);
      try {
        return Buffer.from(curve.sign(digest, d, { prehash: false, format: 'der', lowS: true }));
      } finally {
        d.fill(0);
      }
    }
    case 'SM2DSA': {
      const d = ecPrivateScalar(pair.privateKey);
      try {
        // A string would be read as UTF-8 text (spec 13.2's trap): the digest goes in as bytes.
        return Buffer.from(
          sm2().doSignature(new Uint8Array(digest), d.toString('hex'), { hash: false, der: true }),
          'hex',
        );
      } finally {
        d.fill(0);
      }
    }
  }
}

/** Whether `signature` is a valid signature of `digest` by the pair's public key; never throws for bad input. */
export function verifyDigest(
  spec: AsymmetricSpec,
  algorithm: SignAlgorithm,
  publicKey: Buffer,
  digest: Buffer,
  signature: Buffer,
): boolean {
  try {
    switch (algorithm) {
      case 'RSA_PKCS1_SHA_256': {
        const key = rsaPublic(publicKey);
        if (signature.length !== Math.ceil(modulusBits(key) / 8)) return false;
        const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
        const expected = Buffer.concat([SHA256_DIGEST_INFO, digest]);
        return recovered.length === expected.length && timingSafeEqual(recovered, expected);
      }
      case 'RSA_PSS_SHA_256': {
        const key = rsaPublic(publicKey);
        const bits = modulusBits(key);
        if (signature.length !== Math.ceil(bits / 8)) return false;
        const em = publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, signature);
        const emLen = Math.ceil((bits - 1) / 8);
        // The raw result has the modulus's length; EM is its last emLen bytes.
        if (em.subarray(0, em.length - emLen).some((b) => b !== 0)) return false;
        return emsaPssVerify(digest, em.subarray(em.length - emLen), bits - 1);
      }
      case 'ECDSA_SHA_256':
        // lowS: false, because about half of OpenSSL's ECDSA signatures are high-S (spec 13.2's trap).
        return ECDSA_CURVES[spec as 'EC_P256' | 'EC_P256K'].verify(signature, digest, ecPoint(publicKey), {
          prehash: false,
          format: 'der',
          lowS: false,
        });
      case 'SM2DSA':
        return sm2().doVerifySignature(
          new Uint8Array(digest),
          signature.toString('hex'),
          ecPoint(publicKey).toString('hex'),
          {
            hash: false,
            der: true,
          },
        );
    }
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------
// Public-key encryption (spec 14.4 and 16.4).

const OAEP_HASH = { RSAES_OAEP_SHA_256: 'sha256', RSAES_OAEP_SHA_1: 'sha1' } as const;
/** SM2PKE: 0x04 ‖ x1 ‖ y1 (65 bytes) and C3 (32 bytes) around the ciphertext. */
export const SM2_OVERHEAD = 97;
export const SM2_MAX_CIPHERTEXT = 6144;

/** The largest plaintext an algorithm takes with a key of `modulusBytes` (RSA) (spec 14.1's table). */
export function maxPlaintextBytes(algorithm: EncryptAlgorithm, modulusBytes: number): number {
  if (algorithm === 'SM2PKE') return SM2_MAX_CIPHERTEXT - SM2_OVERHEAD;
  const hashBytes = algorithm === 'RSAES_OAEP_SHA_256' ? 32 : 20;
  return modulusBytes - 2 * hashBytes - 2;
}

/** The modulus length in bytes of an RSA SubjectPublicKeyInfo (0 for other keys). */
export const modulusBytes = (spki: Buffer) => Math.ceil(modulusBits(rsaPublic(spki)) / 8);

/** Encrypts under a public key (SPKI DER); the plaintext's size was checked by the caller. */
export function encryptWithPublicKey(algorithm: EncryptAlgorithm, publicKey: Buffer, plaintext: Buffer): Buffer {
  if (algorithm === 'SM2PKE') {
    // sm-crypto-v2 answers C1 without its 0x04 prefix; the raw form of spec 14.4 has it.
    const hex = sm2().doEncrypt(new Uint8Array(plaintext), ecPoint(publicKey).toString('hex'), 1);
    return Buffer.concat([Buffer.from([4]), Buffer.from(hex, 'hex')]);
  }
  return publicEncrypt(
    { key: rsaPublic(publicKey), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: OAEP_HASH[algorithm] },
    plaintext,
  );
}

/** A ciphertext that does not decrypt with the key and algorithm: the caller's mistake. */
export class AsymmetricInputError extends Error {}

/**
 * Decrypts with the pair's private key. Throws AsymmetricInputError when the ciphertext does
 * not decrypt (another key or algorithm, corrupted, wrong length): never a 500.
 */
export function decryptWithPrivateKey(algorithm: EncryptAlgorithm, pair: KeyPair, ciphertext: Buffer): Buffer {
  if (algorithm === 'SM2PKE') return sm2Decrypt(pair, ciphertext);
  const key = rsaPrivate(pair.privateKey);
  if (ciphertext.length !== Math.ceil(modulusBits(key) / 8)) throw new AsymmetricInputError('wrong length');
  try {
    return privateDecrypt(
      { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: OAEP_HASH[algorithm] },
      ciphertext,
    );
  } catch {
    throw new AsymmetricInputError('does not decrypt');
  }
}

/**
 * SM2PKE in the raw C1C3C2 form (0x04 first) or the GM/T 0009 DER form OpenSSL writes
 * (spec 14.4). sm-crypto answers [] for a wrong key or a tampered input, sm-crypto-v2
 * throws: either is a failure, and so is an empty plaintext (spec 13.2's trap).
 */
function sm2Decrypt(pair: KeyPair, ciphertext: Buffer): Buffer {
  const der = ciphertext[0] === 0x30;
  if (der ? ciphertext.length > SM2_MAX_CIPHERTEXT + 16 : ciphertext.length > SM2_MAX_CIPHERTEXT) {
    throw new AsymmetricInputError('too long');
  }
  if (!der && (ciphertext[0] !== 4 || ciphertext.length <= SM2_OVERHEAD)) throw new AsymmetricInputError('not SM2');
  const d = ecPrivateScalar(pair.privateKey);
  try {
    // The leading 04 is stripped before the call (spec 13.2's trap).
    const input = (der ? ciphertext : ciphertext.subarray(1)).toString('hex');
    const out = sm2().doDecrypt(input, d.toString('hex'), 1, { output: 'array', asn1: der });
    if (!out || out.length === 0) throw new AsymmetricInputError('does not decrypt');
    return Buffer.from(out);
  } catch (err) {
    if (err instanceof AsymmetricInputError) throw err;
    throw new AsymmetricInputError('does not decrypt');
  } finally {
    d.fill(0);
  }
}

// ---------------------------------------------------------------------------------------
// The caller's wrapping public key (spec 16.4).

export type WrappingKeySpec = 'RSA_2048' | 'EC_SM2';

/**
 * Whether `der` is a SubjectPublicKeyInfo of the wrapping spec: an RSA key with a 2048-bit
 * modulus, or an id-ecPublicKey on the SM2 curve with a point on it. Node reports no type or
 * curve for SM2 keys, so the OIDs are read from the DER.
 */
export function isWrappingPublicKey(spec: WrappingKeySpec, der: Buffer): boolean {
  try {
    const spki = parseSpki(der);
    if (spec === 'RSA_2048') {
      if (spki.algorithm !== OID.rsaEncryption) return false;
      const key = rsaPublic(der);
      return key.asymmetricKeyType === 'rsa' && modulusBits(key) === 2048;
    }
    return (
      spki.algorithm === OID.ecPublicKey &&
      spki.curve === OID.sm2 &&
      spki.key.length === 65 &&
      spki.key[0] === 4 &&
      sm2().verifyPublicKey(spki.key.toString('hex'))
    );
  } catch {
    return false;
  }
}
