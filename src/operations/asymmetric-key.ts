import { z } from 'zod';
import type { CallContext, Permission } from '../domain/context.js';
import {
  ALGORITHM_SPECS,
  type AsymmetricSpec,
  ENCRYPT_ALGORITHMS,
  type EncryptAlgorithm,
  type KeyPair,
  SIGN_ALGORITHMS,
  type SignAlgorithm,
} from '../domain/crypto/asymmetric.js';
import { base64Param } from '../domain/crypto/crypto.schemas.js';
import type { ServiceDeps } from '../domain/deps.js';
import { asBuffer, withClearMaterial } from '../domain/keys/key-material.js';
import { isAsymmetricSpec, type KeyUsage } from '../domain/keys/key-specs.js';
import { type KeyOperation, stateRefusal } from '../domain/keys/key-state.js';
import { type Found, findKey, type ResolvedKey } from '../domain/keys/resolver.js';
import { because, oneOf } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { invalidParameter, KmsError } from '../errors.js';
import { type Decision, decided, refusal } from './operation.js';

// What the five asymmetric operations share (spec 14.1): the KeyVersionId and Algorithm
// parameters, and the checks on the key and version in the contract's order (20.7):
// the key (404), the version (404 Forbidden.KeyVersionNotFound), RAM on the key's ARN (403),
// the state (409), then the key type: an asymmetric key of the operation's usage
// (Rejected.UnsupportedOperation), the algorithm fitting its spec (InvalidParameter).

export const KeyVersionId = because(z.string().max(2048), 'it must be the id of a version of the key')
  .describe('A version of the key (ListKeyVersions); required')
  .meta({ example: '2a7c1d9e-6c1e-4a8e-9f3a-0b5b3d5e8f10' });

export const SignAlgorithmParam = oneOf(SIGN_ALGORITHMS).describe(
  'RSA_PSS_SHA_256 or RSA_PKCS1_SHA_256 (RSA keys), ECDSA_SHA_256 (EC_P256, EC_P256K), SM2DSA (EC_SM2)',
);
export const EncryptAlgorithmParam = oneOf(ENCRYPT_ALGORITHMS).describe(
  'RSAES_OAEP_SHA_256 or RSAES_OAEP_SHA_1 (RSA keys), SM2PKE (EC_SM2)',
);

/** Standard Base64 of a 32-byte digest; its length is checked against the algorithm (step 9). */
export const Digest = because(base64Param(1024), 'it must be standard Base64 of a 32-byte digest').describe(
  'Standard Base64 of the 32-byte digest (SHA-256(M); SM3(Z_A ‖ M) for SM2DSA), never the message',
);

/** A key version that an asymmetric operation may use. */
export interface UsableVersion {
  key: ResolvedKey;
  spec: AsymmetricSpec;
  versionId: string;
  wrapped: Uint8Array;
  publicKey: Buffer;
}

export interface AsymmetricNeeds {
  /** The usage the operation needs; undefined for GetPublicKey (either usage). */
  usage?: KeyUsage;
  algorithm?: SignAlgorithm | EncryptAlgorithm;
}

/** Resolution, version, RAM, state, key type and algorithm, in that order. */
export function decideAsymmetricKey(
  operation: KeyOperation,
  found: Found,
  permission: Permission | undefined,
  needs: AsymmetricNeeds,
): Decision<UsableVersion> {
  if (!found.key) return new KmsError(found.notFound);
  const key = found.key;
  if (!key.version_id || !key.version_material) return new KmsError('Forbidden.KeyVersionNotFound');
  const refused = (permission && refusal(permission)) ?? stateRefusal(operation, key.state);
  if (refused) return refused;
  if (!isAsymmetricSpec(key.key_spec) || !key.version_public_key || (needs.usage && key.key_usage !== needs.usage)) {
    return new KmsError('Rejected.UnsupportedOperation');
  }
  if (needs.algorithm && !ALGORITHM_SPECS[needs.algorithm].includes(key.key_spec)) {
    return invalidParameter('Algorithm', `${needs.algorithm} does not fit a ${key.key_spec} key`);
  }
  return {
    key,
    spec: key.key_spec,
    versionId: key.version_id,
    wrapped: key.version_material,
    publicKey: asBuffer(key.version_public_key),
  };
}

/** Resolves the key and its version, asks RAM, and decides (spec 20.7 steps 6 to 9). */
export async function usableVersion(
  { db, clock }: ServiceDeps,
  ctx: CallContext,
  operation: KeyOperation,
  identifier: string,
  versionId: string,
  needs: AsymmetricNeeds,
): Promise<UsableVersion> {
  const found = await findKey(db, ctx, identifier, clock(), { version: versionId });
  const permission =
    found.key?.version_id && found.key.version_material
      ? ctx.permission(`kms:${operation}`, [keyArn(ctx, found.key.id)])
      : undefined;
  return decided(decideAsymmetricKey(operation, found, permission, needs));
}

/** Runs `use` with the version's key pair; the private key is wiped afterwards. */
export function withKeyPair<T>(masterKey: Buffer, v: UsableVersion, use: (pair: KeyPair) => T): T {
  return withClearMaterial(masterKey, v.key.id, v.versionId, v.wrapped, (privateKey) =>
    use({ privateKey, publicKey: v.publicKey }),
  );
}

/** The answer's ids: the key id (never the alias) and the version. */
export const idsOf = (v: UsableVersion) => ({ KeyId: v.key.id, KeyVersionId: v.versionId });

export const AsymmetricIds = {
  KeyId: z.string().describe('The resolved key id, never the alias'),
  KeyVersionId: z.string().describe('The key version used'),
};
