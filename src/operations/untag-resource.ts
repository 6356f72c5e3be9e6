import { z } from 'zod';
import type { Permission } from '../domain/context.js';
import { deleteTags, parseTagKeys, TagKeysParam } from '../domain/keys/key-tags.js';
import { type Found, findKey } from '../domain/keys/resolver.js';
import { KeyOnlyId } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { type Decision, decided, defineOperation, keyAccessRefusal } from './operation.js';
import { nothing, RegionQuery } from './presenters.js';
import { oneResource } from './tag-resource.js';

// UntagResource (spec section 18): removes tag keys from a key; keys it does not have are
// ignored. Any state. REST removes one tag key per call, named in the path.

export const UntagResourceInput = oneResource({ KeyId: KeyOnlyId.optional(), TagKeys: TagKeysParam });

/** REST: DELETE /v1/keys/{KeyId}/tags/{TagKey}, one tag key. */
const RestUntagInput = z
  .object({
    KeyId: KeyOnlyId,
    TagKey: z.string().refine((k) => parseTagKeys([k]) !== undefined, { message: '1 to 128 characters' }),
  })
  .transform((i) => ({ KeyId: i.KeyId, TagKeys: [i.TagKey] }) as z.output<typeof UntagResourceInput>);

export function decideUntagResource(found: Found, permission: Permission | undefined): Decision<'untag'> {
  return keyAccessRefusal('UntagResource', found, permission) ?? 'untag';
}

export const untagResource = defineOperation({
  name: 'UntagResource',
  input: UntagResourceInput,
  async run({ db, clock, masterKey }, ctx, input): Promise<void> {
    const found = await findKey(db, ctx, input.KeyId as string, clock(), { rotateWith: masterKey });
    const permission = found.key && ctx.permission('kms:UntagResource', [keyArn(ctx, found.key.id)]);
    decided(decideUntagResource(found, permission));
    await deleteTags(db, ctx, found.key!.id, input.TagKeys);
  },
  rpc: nothing,
  rest: [
    {
      method: 'DELETE',
      url: '/v1/keys/:KeyId/tags/:TagKey',
      summary: 'Remove one tag from a key (UntagResource); 204 also when the key had no such tag',
      tags: ['Tags'],
      status: 204,
      input: RestUntagInput,
      params: z.object({
        KeyId: z.string().describe('Key id or key ARN (URL-encoded)'),
        TagKey: z.string().describe('The tag key, URL-encoded (tag keys may hold / \\ :)'),
      }),
      querystring: RegionQuery,
    },
  ],
});
