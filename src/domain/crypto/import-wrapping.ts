import { constants, createPrivateKey, createPublicKey, privateDecrypt } from 'node:crypto';
import { AsymmetricInputError, decryptWithPrivateKey, generateAsymmetricPair, type KeyPair } from './asymmetric.js';

// The wrapping of imported key material (spec 17.2, 17.3): a fresh key pair per import
// token (made as any asymmetric key's pair is), whose public half wraps the material on the
// caller's side and whose private half unwraps it here. OAEP and SM2PKE decrypt as
// AsymmetricDecrypt does; Node 20 refuses RSAES-PKCS1-v1_5 decryption (the CVE-2023-46809
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

/** A new pair (PKCS#8 and SPKI DER); RSA generation runs on the thread pool, off the event loop. */
export const newWrappingKeyPair = (spec: WrappingKeySpec): Promise<KeyPair> => generateAsymmetricPair(spec);

/**
 * The material `encrypted` holds, or undefined when it does not decrypt with this private
 * key (PKCS#8 DER) and algorithm.
 */
export function unwrapImportedMaterial(
  algorithm: WrappingAlgorithm,
  privateKey: Buffer,
  encrypted: Buffer,
): Buffer | undefined {
  try {
    const key = createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' });
    if (algorithm === 'RSAES_PKCS1_V1_5') {
      if (encrypted.length !== 256) return undefined;
      const block = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, encrypted);
      try {
        return decodeEmePkcs1v15(block);
      } finally {
        block.fill(0);
      }
    }
    const publicKey = createPublicKey(key).export({ type: 'spki', format: 'der' });
    return decryptWithPrivateKey(algorithm, { privateKey, publicKey }, encrypted);
  } catch (err) {
    if (err instanceof AsymmetricInputError || !(err instanceof Error) || 'code' in err) return undefined;
    throw err;
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
