import { z } from 'zod';
import type { Permission } from '../domain/context.js';
import { readTags } from '../domain/keys/key-tags.js';
import { type Found, findKey } from '../domain/keys/resolver.js';
import { KeyOnlyId } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { type Decision, decided, defineOperation, keyAccessRefusal } from './operation.js';
import { KeyPath, KeyTag, type KeyTags, keyTagList, RegionQuery, RequestId } from './presenters.js';

// ListResourceTags (spec section 18): a key's tags in byte order of their keys. Any state.

export const ListResourceTagsInput = z.object({ KeyId: KeyOnlyId });

export function decideListResourceTags(found: Found, permission: Permission | undefined): Decision<'list'> {
  return keyAccessRefusal('ListResourceTags', found, permission) ?? 'list';
}

export const listResourceTags = defineOperation({
  name: 'ListResourceTags',
  input: ListResourceTagsInput,
  async run({ db, clock, masterKey }, ctx, input): Promise<KeyTags> {
    const found = await findKey(db, ctx, input.KeyId, clock(), { rotateWith: masterKey });
    const permission = found.key && ctx.permission('kms:ListResourceTags', [keyArn(ctx, found.key.id)]);
    decided(decideListResourceTags(found, permission));
    return { keyId: found.key!.id, tags: await readTags(db, ctx, found.key!.id) };
  },
  rpc: (r) => ({ Tags: { Tag: keyTagList(r) } }),
  rest: [
    {
      method: 'GET',
      url: '/v1/keys/:KeyId/tags',
      summary: "List a key's tags (ListResourceTags)",
      tags: ['Tags'],
      status: 200,
      params: KeyPath,
      querystring: RegionQuery,
      response: z.object({ RequestId, Tags: z.array(KeyTag) }),
      present: (r) => ({ Tags: keyTagList(r) }),
    },
  ],
});
