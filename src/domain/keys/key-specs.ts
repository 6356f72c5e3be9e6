import { randomBytes } from 'node:crypto';
import { type AsymmetricSpec, generateAsymmetricPair } from '../crypto/asymmetric.js';

// The key specs this service builds (spec section 13.1): their kind, the usages each
// allows and the usage when CreateKey names none, and the one function that makes the
// material of a new version of a spec (CreateKey's first version; CreateKeyVersion's next).

/** Bytes of the material of a symmetric key spec (spec 13.1); undefined for other specs. */
export const SYMMETRIC_MATERIAL_BYTES: Readonly<Record<string, number>> = { Aliyun_AES_256: 32, Aliyun_SM4: 16 };

export type KeyKind = 'symmetric' | 'asymmetric';
export type KeyUsage = 'ENCRYPT/DECRYPT' | 'SIGN/VERIFY';

export interface SpecRules {
  kind: KeyKind;
  usages: readonly KeyUsage[];
  defaultUsage: KeyUsage;
}

const SYMMETRIC: SpecRules = { kind: 'symmetric', usages: ['ENCRYPT/DECRYPT'], defaultUsage: 'ENCRYPT/DECRYPT' };
const BOTH: SpecRules = { kind: 'asymmetric', usages: ['ENCRYPT/DECRYPT', 'SIGN/VERIFY'], defaultUsage: 'SIGN/VERIFY' };
const SIGN_ONLY: SpecRules = { kind: 'asymmetric', usages: ['SIGN/VERIFY'], defaultUsage: 'SIGN/VERIFY' };

export const SPEC_RULES = {
  Aliyun_AES_256: SYMMETRIC,
  Aliyun_SM4: SYMMETRIC,
  RSA_2048: BOTH,
  RSA_3072: BOTH,
  EC_P256: SIGN_ONLY,
  EC_P256K: SIGN_ONLY,
  EC_SM2: BOTH,
} as const satisfies Record<string, SpecRules>;

export type BuiltSpec = keyof typeof SPEC_RULES;

export const isAsymmetricSpec = (spec: string): spec is AsymmetricSpec =>
  (SPEC_RULES as Record<string, SpecRules>)[spec]?.kind === 'asymmetric';

/** The material of one key version, before it is wrapped. */
export interface VersionMaterial {
  /** Symmetric: the key bytes; asymmetric: the private key as PKCS#8 DER. Wipe after wrapping. */
  secret: Buffer;
  /** Asymmetric: the public key as SubjectPublicKeyInfo DER; symmetric: null. */
  publicKey: Buffer | null;
}

/**
 * Fresh material for a new version of a key of `spec`. Asymmetric pairs are generated off
 * the event loop and take up to seconds (RSA): call this before any transaction opens.
 */
export async function newVersionMaterial(spec: string): Promise<VersionMaterial> {
  if (isAsymmetricSpec(spec)) {
    const pair = await generateAsymmetricPair(spec);
    return { secret: pair.privateKey, publicKey: pair.publicKey };
  }
  const bytes = SYMMETRIC_MATERIAL_BYTES[spec];
  if (bytes !== undefined) return { secret: randomBytes(bytes), publicKey: null };
  throw new Error(`no material for key spec ${spec}`);
}
