import { constants, createPrivateKey, generateKeyPair, privateDecrypt } from 'node:crypto';
import { promisify } from 'node:util';
import { generateSm2KeyPair, sm2Decrypt } from './sm2.js';

// The wrapping of imported key material (spec 17.2, 17.3): a fresh key pair per import
// token, whose public half wraps the material on the caller's side and whose private half
// unwraps it here. Node 20 refuses RSAES-PKCS1-v1_5 decryption (the CVE-2023-46809
// mitigation), so that padding is removed in code after a raw RSA decryption (13.2).

export const WRAPPINGS = {
  RSA_2048: ['RSAES_PKCS1_V1_5', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
  EC_SM2: ['SM2PKE'],
} as const;
export type WrappingKeySpec = keyof typeof WRAPPINGS;
export type WrappingAlgorithm = (typeof WRAPPINGS)[WrappingKeySpec][number];
export const WRAPPING_KEY_SPECS = Object.keys(WRAPPINGS) as WrappingKeySpec[];
export const WRAPPING_ALGORITHMS = [...new Set(Object.values(WRAPPINGS).flat())] as WrappingAlgorithm[];

export const wrappingFits = (spec: WrappingKeySpec, algorithm: WrappingAlgorithm): boolean =>
  (WRAPPINGS[spec] as readonly string[]).includes(algorithm);

export interface WrappingKeyPair {
  /** DER SubjectPublicKeyInfo, for the caller. */
  publicKeyDer: Buffer;
  /** RSA: PKCS#8 DER; SM2: the private scalar. Stored only wrapped under the master key. */
  privateKey: Buffer;
}

const generateRsa = promisify(generateKeyPair);

/** A new pair; RSA generation runs on the thread pool, off the event loop. */
export async function newWrappingKeyPair(spec: WrappingKeySpec): Promise<WrappingKeyPair> {
  if (spec === 'EC_SM2') return generateSm2KeyPair();
  const { publicKey, privateKey } = await generateRsa('rsa', {
    modulusLength: 2048,
    publicExponent: 0x10001,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
  });
  return { publicKeyDer: publicKey, privateKey };
}

const RSA_2048_BYTES = 256;

/** The material `encrypted` holds, or undefined when it does not decrypt with this pair and algorithm. */
export function unwrapImportedMaterial(
  algorithm: WrappingAlgorithm,
  privateKey: Buffer,
  encrypted: Buffer,
): Buffer | undefined {
  if (algorithm === 'SM2PKE') return sm2Decrypt(privateKey, encrypted);
  if (encrypted.length !== RSA_2048_BYTES) return undefined;
  const key = createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' });
  try {
    if (algorithm === 'RSAES_PKCS1_V1_5') {
      const block = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, encrypted);
      try {
        return decodeEmePkcs1v15(block);
      } finally {
        block.fill(0);
      }
    }
    return privateDecrypt(
      {
        key,
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: algorithm === 'RSAES_OAEP_SHA_256' ? 'sha256' : 'sha1',
      },
      encrypted,
    );
  } catch {
    return undefined;
  }
}

/**
 * EME-PKCS1-v1_5 decoding (RFC 8017 §7.2.2): EM = 00 ‖ 02 ‖ PS ‖ 00 ‖ M with PS at least
 * 8 nonzero bytes. Scans the whole block whatever it finds, so the time taken does not
 * say where a malformed block went wrong; every failure is the same undefined.
 */
export function decodeEmePkcs1v15(em: Buffer): Buffer | undefined {
  let good = em.length >= 11 && em[0] === 0x00 && em[1] === 0x02 ? 1 : 0;
  let separator = 0;
  for (let i = 2; i < em.length; i++) {
    const isZero = em[i] === 0 ? 1 : 0;
    const first = isZero & (separator === 0 ? 1 : 0);
    separator = first ? i : separator;
  }
  good &= separator >= 10 ? 1 : 0;
  return good === 1 ? Buffer.from(em.subarray(separator + 1)) : undefined;
}
