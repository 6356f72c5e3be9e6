import { z } from 'zod';
import type { CallContext, Permission } from '../domain/context.js';
import type { EncryptAlgorithm } from '../domain/crypto/asymmetric.js';
import {
  BLOB_FORMATS,
  CIPHERTEXT_REASON,
  decryptWithKey,
  encodeBase64,
  encryptWithKey,
  type ParsedCiphertextBlob,
  parseCiphertextBlob,
} from '../domain/crypto/ciphertext.js';
import { base64Param, EncryptionContextParam } from '../domain/crypto/crypto.schemas.js';
import {
  canonicalEncryptionContext,
  ENCRYPTION_CONTEXT_REASON,
  type EncryptionContext,
  FLATTENED_PREFIX,
  fromFlattened,
  resolveEncryptionContext,
} from '../domain/crypto/encryption-context.js';
import type { ServiceDeps } from '../domain/deps.js';
import { withClearMaterial } from '../domain/keys/key-material.js';
import { isAsymmetricSpec } from '../domain/keys/key-specs.js';
import { stateRefusal } from '../domain/keys/key-state.js';
import type { KeyVersionRow } from '../domain/keys/keys.store.js';
import { type Found, findKey, type ResolvedKey } from '../domain/keys/resolver.js';
import { AnyKeyId, because, DryRun } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { actionNotSupported, invalidParameter, KmsError, missingParameter } from '../errors.js';
import { decryptWithVersion } from './asymmetric-decrypt.js';
import { decideAsymmetricKey, EncryptAlgorithmParam, KeyVersionId, type UsableVersion } from './asymmetric-key.js';
import { findBlobVersion } from './decrypt.js';
import { type Decision, decided, defineOperation, refusal, unlessDryRun } from './operation.js';
import { RegionQuery, RequestId } from './presenters.js';

// ReEncrypt (spec 16.1): decrypts a blob (one of this service's symmetric blobs, or a
// public-key ciphertext when SourceEncryptionAlgorithm is given) and encrypts the plaintext
// under the destination's primary version, which never leaves the service. RAM asks
// kms:ReEncryptFrom on the source key, then kms:ReEncryptTo on the destination.

export const ReEncryptFields = z.object({
  CiphertextBlob: because(base64Param(6144 + 128), 'it must be standard Base64 of a ciphertext').describe(
    'A blob from Encrypt or GenerateDataKey, or (with SourceEncryptionAlgorithm) a public-key ciphertext',
  ),
  DestinationKeyId: AnyKeyId.describe('A symmetric ENCRYPT/DECRYPT key: key id, key ARN, alias name or alias ARN'),
  DestinationEncryptionContext: EncryptionContextParam,
  SourceEncryptionContext: EncryptionContextParam,
  SourceKeyId: AnyKeyId.optional().describe('The source key; required with SourceEncryptionAlgorithm'),
  SourceKeyVersionId: KeyVersionId.optional().describe(
    'The source key version; required with SourceEncryptionAlgorithm',
  ),
  SourceEncryptionAlgorithm: EncryptAlgorithmParam.optional().describe(
    'Present exactly when the source is a public-key ciphertext',
  ),
  DryRun,
});

/** A context parameter in either form (JSON text, or `<Name>.<key>` flattened), named in its errors. */
function contextParam(raw: Record<string, unknown>, name: string): EncryptionContext | undefined {
  try {
    const prefix = `${name}.`;
    const flattened: Array<[string, string]> = [];
    for (const [k, v] of Object.entries(raw)) {
      if (!k.startsWith(prefix)) continue;
      if (typeof v !== 'string') throw invalidParameter(name);
      flattened.push([`${FLATTENED_PREFIX}${k.slice(prefix.length)}`, v]);
    }
    const given = raw[name];
    return resolveEncryptionContext({
      json: typeof given === 'string' ? given : undefined,
      object: typeof given === 'object' ? given : undefined,
      flattened: fromFlattened(flattened),
    });
  } catch (err) {
    if (err instanceof KmsError && err.code === 'InvalidParameter') {
      throw invalidParameter(name, ENCRYPTION_CONTEXT_REASON);
    }
    throw err;
  }
}

type Source =
  | { kind: 'asymmetric'; keyId: string; versionId: string; algorithm: EncryptAlgorithm }
  | { kind: 'symmetric'; keyId?: string; context: EncryptionContext | undefined };

export const ReEncryptInput = ReEncryptFields.loose().transform((i) => {
  let source: Source;
  if (i.SourceEncryptionAlgorithm !== undefined) {
    // Conditional parameters (20.7 step 4), in their order; SourceEncryptionContext is ignored.
    if (i.SourceKeyId === undefined) throw missingParameter('SourceKeyId');
    if (i.SourceKeyVersionId === undefined) throw missingParameter('SourceKeyVersionId');
    source = {
      kind: 'asymmetric',
      keyId: i.SourceKeyId,
      versionId: i.SourceKeyVersionId,
      algorithm: i.SourceEncryptionAlgorithm,
    };
  } else {
    source = {
      kind: 'symmetric',
      ...(i.SourceKeyId !== undefined && { keyId: i.SourceKeyId }),
      context: contextParam(i, 'SourceEncryptionContext'),
    };
  }
  return {
    CiphertextBlob: i.CiphertextBlob,
    DestinationKeyId: i.DestinationKeyId,
    DestinationEncryptionContext: contextParam(i, 'DestinationEncryptionContext'),
    source,
    DryRun: i.DryRun,
  };
});
type ReEncryptInput = z.output<typeof ReEncryptInput>;

/** What was read about the source: a symmetric blob's version (and SourceKeyId's key), or a key and version. */
export type SourceFacts =
  | { kind: 'symmetric'; version: KeyVersionRow | undefined; named?: Found }
  | { kind: 'asymmetric'; found: Found; algorithm: EncryptAlgorithm };

export interface ReEncryptFacts {
  source: SourceFacts;
  destination: Found;
  /** kms:ReEncryptFrom on the source key, kms:ReEncryptTo on the destination; undefined until both resolve. */
  from?: Permission;
  to?: Permission;
}

export type ReEncryptPlan =
  | { kind: 'symmetric'; source: KeyVersionRow; destination: ResolvedKey }
  | { kind: 'asymmetric'; source: UsableVersion; destination: ResolvedKey };

/** The key a source names, once resolved; undefined when it did not resolve. */
export function sourceKeyOf(s: SourceFacts): { id: string; state: ResolvedKey['state'] } | undefined {
  if (s.kind === 'symmetric') {
    if (!s.version || isAsymmetricSpec(s.version.key_spec) || (s.named && !s.named.key)) return undefined;
    return s.version;
  }
  return s.found.key?.version_id ? s.found.key : undefined;
}

/** Steps 6 to 9 for source then destination (spec 16.1 and 20.7). */
export function decideReEncrypt(f: ReEncryptFacts): Decision<ReEncryptPlan> {
  const s = f.source;
  // 6. Resolution, in parameter order: the blob (or the source key and version), then the destination.
  if (s.kind === 'symmetric') {
    if (!s.version || isAsymmetricSpec(s.version.key_spec))
      return invalidParameter('CiphertextBlob', CIPHERTEXT_REASON);
    if (s.named && !s.named.key) return new KmsError(s.named.notFound);
  } else {
    if (!s.found.key) return new KmsError(s.found.notFound);
    if (!s.found.key.version_id) return new KmsError('Forbidden.KeyVersionNotFound');
  }
  if (!f.destination.key) return new KmsError(f.destination.notFound);
  const source = sourceKeyOf(s)!;
  const destination = f.destination.key;
  // 7. RAM: from, then to. 8. States: source, then destination.
  const refused =
    (f.from && refusal(f.from)) ??
    (f.to && refusal(f.to)) ??
    stateRefusal('ReEncrypt', source.state) ??
    stateRefusal('ReEncrypt', destination.state);
  if (refused) return refused;
  // 9. Key types: the source (as Decrypt or AsymmetricDecrypt), then the destination.
  let plan: ReEncryptPlan;
  if (s.kind === 'symmetric') {
    if (s.named?.key && s.named.key.id !== s.version!.id) {
      return invalidParameter('SourceKeyId', "it must be the blob's key");
    }
    plan = { kind: 'symmetric', source: s.version!, destination };
  } else {
    const usable = decideAsymmetricKey('ReEncrypt', s.found, undefined, {
      usage: 'ENCRYPT/DECRYPT',
      algorithm: s.algorithm,
    });
    if (usable instanceof KmsError) return usable;
    plan = { kind: 'asymmetric', source: usable, destination };
  }
  if (isAsymmetricSpec(destination.key_spec) || destination.key_usage !== 'ENCRYPT/DECRYPT') {
    return actionNotSupported();
  }
  return plan;
}

async function readFacts(
  { db, clock, masterKey }: ServiceDeps,
  ctx: CallContext,
  input: ReEncryptInput,
  parsed: ParsedCiphertextBlob | undefined,
): Promise<ReEncryptFacts> {
  const now = clock();
  let source: SourceFacts;
  if (input.source.kind === 'symmetric') {
    const version = await findBlobVersion({ db, clock, masterKey }, ctx, parsed!);
    const named =
      input.source.keyId === undefined
        ? undefined
        : await findKey(db, ctx, input.source.keyId, now, { rotateWith: masterKey });
    source = { kind: 'symmetric', version, ...(named && { named }) };
  } else {
    const found = await findKey(db, ctx, input.source.keyId, now, { version: input.source.versionId });
    source = { kind: 'asymmetric', found, algorithm: input.source.algorithm };
  }
  const destination = await findKey(db, ctx, input.DestinationKeyId, now, {
    withMaterial: true,
    rotateWith: masterKey,
  });
  const sourceKey = sourceKeyOf(source);
  if (!sourceKey || !destination.key) return { source, destination };
  return {
    source,
    destination,
    from: ctx.permission('kms:ReEncryptFrom', [keyArn(ctx, sourceKey.id)]),
    to: ctx.permission('kms:ReEncryptTo', [keyArn(ctx, destination.key.id)]),
  };
}

export const ReEncryptResult = z.object({
  CiphertextBlob: z.string().describe('Standard Base64 of the new blob, under the destination key'),
  KeyId: z.string().describe('The source key id (the key that decrypted)'),
  KeyVersionId: z.string().describe('The source key version'),
});
type ReEncryptResult = z.infer<typeof ReEncryptResult>;

export const reEncrypt = defineOperation({
  name: 'ReEncrypt',
  input: ReEncryptInput,
  async run(deps, ctx, input): Promise<ReEncryptResult> {
    // A symmetric blob that does not parse is refused before any lookup (step 5).
    const parsed = input.source.kind === 'symmetric' ? parseCiphertextBlob(input.CiphertextBlob) : undefined;
    const plan = decided(decideReEncrypt(await readFacts(deps, ctx, input, parsed)));
    // 11. The source decrypts.
    const plaintext =
      plan.kind === 'symmetric'
        ? withClearMaterial(deps.masterKey, plan.source.id, plan.source.version_id, plan.source.wrapped_material, (m) =>
            decryptWithKey(
              parsed!,
              m,
              canonicalEncryptionContext(input.source.kind === 'symmetric' ? input.source.context : undefined),
            ),
          )
        : decryptWithVersion(
            deps,
            plan.source,
            (input.source as { algorithm: EncryptAlgorithm }).algorithm,
            input.CiphertextBlob,
          );
    try {
      decided(unlessDryRun(input.DryRun, 're-encrypt'));
      const destination = plan.destination;
      const versionId = destination.primary_key_version;
      if (!versionId || !destination.wrapped_material) throw new Error(`key ${destination.id} has no primary version`);
      const blob = withClearMaterial(
        deps.masterKey,
        destination.id,
        versionId,
        destination.wrapped_material,
        (material) =>
          encryptWithKey({
            keyId: destination.id,
            keyVersionId: versionId,
            material,
            format: BLOB_FORMATS[destination.key_spec],
            plaintext,
            context: canonicalEncryptionContext(input.DestinationEncryptionContext),
          }),
      );
      const [keyId, keyVersionId] =
        plan.kind === 'symmetric'
          ? [plan.source.id, plan.source.version_id]
          : [plan.source.key.id, plan.source.versionId];
      return { CiphertextBlob: encodeBase64(blob), KeyId: keyId, KeyVersionId: keyVersionId };
    } finally {
      plaintext.fill(0);
    }
  },
  rpc: (r) => ({ CiphertextBlob: r.CiphertextBlob, KeyId: r.KeyId, KeyVersionId: r.KeyVersionId }),
  rest: [
    {
      method: 'POST',
      url: '/v1/re-encrypt',
      summary: 'Decrypt a ciphertext and encrypt it under another key, inside the service (ReEncrypt)',
      tags: ['Crypto'],
      status: 200,
      querystring: RegionQuery,
      body: ReEncryptFields.extend({ DryRun: z.boolean().optional() }),
      response: ReEncryptResult.extend({ RequestId }),
      present: (r) => ({ CiphertextBlob: r.CiphertextBlob, KeyId: r.KeyId, KeyVersionId: r.KeyVersionId }),
    },
  ],
});
