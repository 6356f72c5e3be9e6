import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Queryable } from '../db/database.js';
import type { CallContext, Permission } from '../domain/context.js';
import type { ServiceDeps } from '../domain/deps.js';
import { wrapNewMaterial } from '../domain/keys/key-material.js';
import { toKeyMetadata } from '../domain/keys/key-metadata.js';
import type { KeyRow } from '../domain/keys/key-rows.js';
import { isAsymmetricSpec, newVersionMaterial, SPEC_RULES, type VersionMaterial } from '../domain/keys/key-specs.js';
import { OptionalTagsParam, upsertTags } from '../domain/keys/key-tags.js';
import { KEY_SPECS_BUILT, KEY_SPECS_KNOWN } from '../domain/keys/keys.schemas.js';
import { insertKey, insertKeyVersion } from '../domain/keys/keys.store.js';
import { purgeExpired } from '../domain/keys/purge.js';
import { EnableAutomaticRotation, intervalRequiredWhenEnabled, RotationInterval } from '../domain/keys/rotation.js';
import { Description, notImplemented, oneOf, onlyBuilt } from '../domain/params.js';
import { keyContainerArn, type Scope } from '../domain/scope.js';
import { countOneMore, quotaRefusal, withinQuota } from '../domain/scope-counters.js';
import { invalidParameter } from '../errors.js';
import { type Decision, decided, defineOperation, refusal } from './operation.js';
import { KeyMetadataResponse, keyMetadata, RegionQuery } from './presenters.js';

// CreateKey (spec section 3): RAM on the key container, then the key quota; a key of
// Origin EXTERNAL waits for imported material and has no version yet.

export const CreateKeyFields = z.object({
  KeySpec: oneOf([...KEY_SPECS_BUILT, ...KEY_SPECS_KNOWN])
    .refine((s) => (KEY_SPECS_BUILT as readonly string[]).includes(s), onlyBuilt(KEY_SPECS_BUILT))
    .default('Aliyun_AES_256'),
  KeyUsage: oneOf(['ENCRYPT/DECRYPT', 'SIGN/VERIFY'])
    .optional()
    .describe('SIGN/VERIFY by default for a spec that can sign, else ENCRYPT/DECRYPT'),
  Origin: oneOf(['Aliyun_KMS', 'EXTERNAL']).default('Aliyun_KMS'),
  ProtectionLevel: oneOf(['SOFTWARE', 'HSM'])
    .default('SOFTWARE')
    .describe('HSM is recorded and behaves exactly like SOFTWARE'),
  Description: Description.default(''),
  EnableAutomaticRotation: EnableAutomaticRotation.default(false),
  RotationInterval: RotationInterval.optional(),
  Tags: OptionalTagsParam,
  Policy: notImplemented(),
  DKMSInstanceId: notImplemented(),
  DryRun: notImplemented(['false']),
});

/**
 * The combinations of spec 13.1 and 13.3, after every field's own syntax (20.7 step 5): a
 * usage the spec allows (the spec's default when absent), no EXTERNAL asymmetric key, no
 * automatic rotation of an asymmetric or EXTERNAL key.
 */
export function createKeyCombination(i: z.output<typeof CreateKeyFields>) {
  const rules = SPEC_RULES[i.KeySpec as keyof typeof SPEC_RULES];
  const usage = i.KeyUsage ?? rules.defaultUsage;
  if (!(rules.usages as readonly string[]).includes(usage)) {
    throw invalidParameter('KeyUsage', `${i.KeySpec} keys take ${rules.usages.join(' or ')}`);
  }
  const asymmetric = rules.kind === 'asymmetric';
  if (asymmetric && i.Origin === 'EXTERNAL') {
    throw invalidParameter('Origin', 'an asymmetric key cannot have Origin EXTERNAL');
  }
  if (i.EnableAutomaticRotation === true && (asymmetric || i.Origin === 'EXTERNAL')) {
    throw invalidParameter('EnableAutomaticRotation', 'asymmetric and EXTERNAL keys do not rotate automatically');
  }
  return { ...i, KeyUsage: usage };
}

export const CreateKeyInput = CreateKeyFields.refine(...intervalRequiredWhenEnabled).transform(createKeyCombination);
export type CreateKeyInput = z.output<typeof CreateKeyInput>;

export interface CreateKeyFacts {
  permission: Permission;
  /** The scope's key count with this key (null without a quota); undefined before it is counted. */
  keysAfter?: number | null;
  quota: number;
}

/** RAM, then the quota (which is only known once the key is counted). */
export function decideCreateKey(f: CreateKeyFacts): Decision<'create'> {
  return (
    refusal(f.permission) ??
    (f.keysAfter !== undefined && !withinQuota(f.keysAfter, f.quota) ? quotaRefusal('keys', f.quota) : 'create')
  );
}

export interface NewKeyPlan {
  id: string;
  /** Null for a key that waits for imported material. */
  versionId: string | null;
  input: CreateKeyInput;
  creator: string;
  now: Date;
  /**
   * The first version's material (newVersionMaterial, or fixed by the seed file); required
   * for an asymmetric key, fresh random material for a symmetric key without it.
   */
  material?: VersionMaterial;
}

/** Inserts a key, its tags and, unless it waits for imported material, its first version. */
export async function insertKeyWithVersion(
  tx: Queryable,
  masterKey: Buffer,
  scope: Scope,
  key: NewKeyPlan,
): Promise<KeyRow> {
  // An asymmetric key has no primary version (spec 13.4); its versions are named per call.
  const asymmetric = isAsymmetricSpec(key.input.KeySpec);
  if (asymmetric && key.versionId && !key.material?.publicKey) throw new Error('an asymmetric key needs its key pair');
  const row = await insertKey(tx, scope, {
    id: key.id,
    state: key.versionId ? 'Enabled' : 'PendingImport',
    keySpec: key.input.KeySpec,
    keyUsage: key.input.KeyUsage,
    origin: key.input.Origin,
    protectionLevel: key.input.ProtectionLevel,
    description: key.input.Description,
    creator: key.creator,
    creationDate: key.now,
    primaryKeyVersion: asymmetric ? null : key.versionId,
    lastRotationDate: key.versionId ? key.now : null,
    hasMaterial: key.versionId !== null,
    rotationIntervalS: key.input.EnableAutomaticRotation ? (key.input.RotationInterval ?? null) : null,
  });
  await upsertTags(tx, scope, key.id, key.input.Tags);
  if (key.versionId) {
    const material = key.material ?? (await newVersionMaterial(key.input.KeySpec));
    try {
      await insertKeyVersion(tx, scope, {
        keyId: key.id,
        id: key.versionId,
        wrappedMaterial: wrapNewMaterial(masterKey, key.id, key.versionId, material.secret),
        creationDate: key.now,
        publicKey: material.publicKey,
      });
    } finally {
      if (key.material === undefined) material.secret.fill(0);
    }
  }
  return row;
}

async function run(deps: ServiceDeps, ctx: CallContext, input: CreateKeyInput) {
  const permission = ctx.permission('kms:CreateKey', [keyContainerArn(ctx)]);
  decided(decideCreateKey({ permission, quota: deps.quotas.keys }));
  // A key pair takes up to seconds to make: before the transaction opens (spec 13.2).
  const material = input.Origin === 'EXTERNAL' ? undefined : await newVersionMaterial(input.KeySpec);
  try {
    const now = deps.clock();
    const key: NewKeyPlan = {
      id: randomUUID(),
      versionId: material ? randomUUID() : null,
      input,
      creator: ctx.principalName,
      now,
      ...(material && { material }),
    };
    const row = await deps.db.transaction(async (tx) => {
      await purgeExpired(tx, ctx, now);
      const keysAfter = await countOneMore(tx, ctx, 'key_count', deps.quotas.keys);
      decided(decideCreateKey({ permission, keysAfter, quota: deps.quotas.keys }));
      return insertKeyWithVersion(tx, deps.masterKey, ctx, key);
    });
    return toKeyMetadata(row);
  } finally {
    material?.secret.fill(0);
  }
}

export const createKey = defineOperation({
  name: 'CreateKey',
  input: CreateKeyInput,
  run,
  rpc: keyMetadata,
  rest: [
    {
      method: 'POST',
      url: '/v1/keys',
      summary: 'Create a key (CreateKey)',
      tags: ['Keys'],
      status: 201,
      querystring: RegionQuery,
      body: CreateKeyFields.partial()
        .extend({
          Tags: z.array(z.object({ TagKey: z.string(), TagValue: z.string() })).optional(),
          EnableAutomaticRotation: z.boolean().optional(),
          RotationInterval: z.string().optional().describe('Required when EnableAutomaticRotation is true, e.g. 365d'),
        })
        .optional(),
      response: KeyMetadataResponse,
      present: keyMetadata,
    },
  ],
});
