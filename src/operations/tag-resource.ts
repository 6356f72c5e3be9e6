import { z } from 'zod';
import type { Permission } from '../domain/context.js';
import { MAX_TAGS, RequiredTagsParam, readTags, upsertTags } from '../domain/keys/key-tags.js';
import { type Found, findKey } from '../domain/keys/resolver.js';
import { AnyKeyId, withCode } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { invalidParameter } from '../errors.js';
import { type Decision, decided, defineOperation, keyAccessRefusal } from './operation.js';
import { AnyKeyPath, KeyTag, type KeyTags, keyTagList, nothing, RegionQuery, RequestId } from './presenters.js';

// TagResource (spec section 18): adds tags to a key, an existing tag key taking the new
// value; at most 20 tags on a key, also under concurrent calls (the key row is locked while
// the tags it would have are counted and written). Any state.

/**
 * TagResource and UntagResource name their resource by exactly one of KeyId, SecretName,
 * CertificateId: none is a missing KeyId, more than one names the second, a secret or a
 * certificate is not built here.
 */
export function oneResource<T extends z.ZodRawShape>(shape: T) {
  const names = ['KeyId', 'SecretName', 'CertificateId'] as const;
  return z
    .object({ SecretName: z.unknown().optional(), CertificateId: z.unknown().optional(), ...shape })
    .refine((i) => names.some((n) => (i as Record<string, unknown>)[n] !== undefined), {
      path: ['KeyId'],
      message: 'required',
      when: () => true,
    })
    .superRefine((i, ctx) => {
      const given = names.filter((n) => (i as Record<string, unknown>)[n] !== undefined);
      if (given.length > 1) ctx.addIssue({ code: 'custom', path: [given[1]!], message: 'only one resource' });
      else if (given[0] === 'SecretName' || given[0] === 'CertificateId') {
        ctx.addIssue({ code: 'custom', path: [given[0]], message: 'not built', ...withCode('UnsupportedOperation') });
      }
    });
}

export const TagResourceInput = oneResource({ KeyId: AnyKeyId.optional(), Tags: RequiredTagsParam });

export function decideTagResource(
  found: Found,
  permission: Permission | undefined,
  tagsAfter: number | undefined,
): Decision<'tagged'> {
  return (
    keyAccessRefusal('TagResource', found, permission) ??
    (tagsAfter !== undefined && tagsAfter > MAX_TAGS ? invalidParameter('Tags') : 'tagged')
  );
}

export const tagResource = defineOperation({
  name: 'TagResource',
  input: TagResourceInput,
  async run({ db, clock, masterKey }, ctx, input): Promise<KeyTags> {
    const now = clock();
    const outcome = await db.transaction(async (tx): Promise<Decision<KeyTags>> => {
      const found = await findKey(tx, ctx, input.KeyId as string, now, { lock: 'update', rotateWith: masterKey });
      const permission = found.key && ctx.permission('kms:TagResource', [keyArn(ctx, found.key.id)]);
      const refused = decideTagResource(found, permission, undefined);
      // A refusal commits what came before it: the upkeep of the resolved key (a due
      // rotation) stands whatever the operation answers (spec 20.7 step 6).
      if (refused !== 'tagged') return refused;
      const keyId = found.key!.id;
      // The key row is locked, so no other TagResource changes its tags before the write.
      const tagKeys = new Set([
        ...(await readTags(tx, ctx, keyId)).map((t) => t.TagKey),
        ...input.Tags.map((t) => t.TagKey),
      ]);
      const decision = decideTagResource(found, permission, tagKeys.size);
      if (decision !== 'tagged') return decision;
      await upsertTags(tx, ctx, keyId, input.Tags);
      return { keyId, tags: await readTags(tx, ctx, keyId) };
    });
    return decided(outcome);
  },
  rpc: nothing,
  rest: [
    {
      method: 'POST',
      url: '/v1/keys/:KeyId/tags',
      summary: 'Add tags to a key (TagResource); answers every tag of the key after the change',
      tags: ['Tags'],
      status: 200,
      params: AnyKeyPath,
      querystring: RegionQuery,
      body: z.object({ Tags: z.array(z.object({ TagKey: z.string(), TagValue: z.string() })) }),
      response: z.object({ RequestId, Tags: z.array(KeyTag) }),
      present: (r) => ({ Tags: keyTagList(r) }),
    },
  ],
});
