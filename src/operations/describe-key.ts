import { z } from 'zod';
import type { Permission } from '../domain/context.js';
import { toKeyMetadata } from '../domain/keys/key-metadata.js';
import type { KeyMetadata } from '../domain/keys/keys.schemas.js';
import { type Found, findKey } from '../domain/keys/resolver.js';
import { AnyKeyId } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { type Decision, decided, defineOperation, keyAccessRefusal } from './operation.js';
import { AnyKeyPath, KeyMetadataResponse, keyMetadata, RegionQuery } from './presenters.js';

// DescribeKey (spec section 3): any of the four identifiers; every state may be described.

export const DescribeKeyInput = z.object({ KeyId: AnyKeyId });

export function decideDescribeKey(found: Found, permission: Permission | undefined): Decision<KeyMetadata> {
  return keyAccessRefusal('DescribeKey', found, permission) ?? toKeyMetadata(found.key!);
}

export const describeKey = defineOperation({
  name: 'DescribeKey',
  input: DescribeKeyInput,
  async run({ db, clock, masterKey }, ctx, input) {
    const found = await findKey(db, ctx, input.KeyId, clock(), { rotateWith: masterKey });
    const permission = found.key && ctx.permission('kms:DescribeKey', [keyArn(ctx, found.key.id)]);
    return decided(decideDescribeKey(found, permission));
  },
  rpc: keyMetadata,
  rest: [
    {
      method: 'GET',
      url: '/v1/keys/:KeyId',
      summary: 'Describe a key by any identifier (DescribeKey)',
      tags: ['Keys'],
      status: 200,
      params: AnyKeyPath,
      querystring: RegionQuery,
      response: KeyMetadataResponse,
      present: keyMetadata,
    },
  ],
});
