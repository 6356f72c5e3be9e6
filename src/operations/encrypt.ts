import { z } from 'zod';
import type { CallContext, Permission } from '../domain/context.js';
import { BLOB_FORMATS, encodeBase64, encryptWithKey } from '../domain/crypto/ciphertext.js';
import {
  EncryptionContextParam,
  EncryptResult,
  encryptionContextOf,
  Plaintext,
} from '../domain/crypto/crypto.schemas.js';
import { canonicalEncryptionContext, type EncryptionContext } from '../domain/crypto/encryption-context.js';
import type { ServiceDeps } from '../domain/deps.js';
import { withClearMaterial } from '../domain/keys/key-material.js';
import { isAsymmetricSpec } from '../domain/keys/key-specs.js';
import type { KeyOperation } from '../domain/keys/key-state.js';
import { type Found, findKey, type ResolvedKey } from '../domain/keys/resolver.js';
import { AnyKeyId, DryRun } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { actionNotSupported } from '../errors.js';
import { type Decision, decided, defineOperation, keyAccessRefusal, unlessDryRun } from './operation.js';
import { AnyKeyPath, RegionQuery, RequestId } from './presenters.js';

// Encrypt (spec section 4): any of the four identifiers; the schema has done missing
// parameters and syntax, then come resolution, RAM (when an alias stands in, only the
// key's ARN) and key state, then the crypto. A read: it does not purge (the resolver
// already treats a key past its deletion date as gone).

export const EncryptFields = z.object({
  KeyId: AnyKeyId,
  Plaintext,
  EncryptionContext: EncryptionContextParam,
  DryRun,
});
// `.loose()` keeps the flattened `EncryptionContext.<k>` parameters for the last stage,
// which returns only the declared fields.
export const EncryptInput = EncryptFields.loose().transform((i) => ({
  KeyId: i.KeyId,
  Plaintext: i.Plaintext,
  EncryptionContext: encryptionContextOf(i),
  DryRun: i.DryRun,
}));

export function decideSeal(
  operation: KeyOperation,
  found: Found,
  permission: Permission | undefined,
  dryRun?: boolean,
): Decision<ResolvedKey> {
  return (
    keyAccessRefusal(operation, found, permission) ??
    symmetricOnlyRefusal(found.key!) ??
    unlessDryRun(dryRun, found.key!)
  );
}

/** Step 9 of a symmetric-only operation (spec 14.1): an asymmetric key is UnsupportedOperation. */
export const symmetricOnlyRefusal = (key: { key_spec: string }) =>
  isAsymmetricSpec(key.key_spec) ? actionNotSupported() : undefined;

/**
 * Resolve (running a due rotation first), authorize, check state, and encrypt `plaintext`
 * under the key's primary version, in the blob format of its spec.
 */
export async function sealUnderKey(
  { db, clock, masterKey }: ServiceDeps,
  ctx: CallContext,
  operation: KeyOperation,
  identifier: string,
  plaintext: Buffer,
  context: EncryptionContext | undefined,
  dryRun?: boolean,
): Promise<EncryptResult> {
  const found = await findKey(db, ctx, identifier, clock(), { withMaterial: true, rotateWith: masterKey });
  const permission = found.key && ctx.permission(`kms:${operation}`, [keyArn(ctx, found.key.id)]);
  const key = decided(decideSeal(operation, found, permission, dryRun));
  const versionId = key.primary_key_version;
  // Only a key waiting for imported material has no version, and the state guard refused it.
  if (!versionId || !key.wrapped_material) throw new Error(`key ${key.id} in state ${key.state} has no material`);
  const blob = withClearMaterial(masterKey, key.id, versionId, key.wrapped_material, (material) =>
    encryptWithKey({
      keyId: key.id,
      keyVersionId: versionId,
      material,
      format: BLOB_FORMATS[key.key_spec],
      plaintext,
      context: canonicalEncryptionContext(context),
    }),
  );
  return { CiphertextBlob: encodeBase64(blob), KeyId: key.id, KeyVersionId: versionId };
}

/** Field by field: nothing but the documented fields reaches the wire. */
export const presentSealed = (r: EncryptResult) => ({
  CiphertextBlob: r.CiphertextBlob,
  KeyId: r.KeyId,
  KeyVersionId: r.KeyVersionId,
});

export const encrypt = defineOperation({
  name: 'Encrypt',
  input: EncryptInput,
  run: (deps, ctx, input) =>
    sealUnderKey(deps, ctx, 'Encrypt', input.KeyId, input.Plaintext, input.EncryptionContext, input.DryRun),
  rpc: presentSealed,
  rest: [
    {
      method: 'POST',
      url: '/v1/keys/:KeyId/encrypt',
      summary: 'Encrypt up to 6144 bytes under a key (Encrypt)',
      tags: ['Crypto'],
      status: 200,
      params: AnyKeyPath,
      querystring: RegionQuery,
      body: EncryptFields.omit({ KeyId: true }).extend({ DryRun: z.boolean().optional() }),
      response: EncryptResult.extend({ RequestId }),
      present: (r) => r,
    },
  ],
});
