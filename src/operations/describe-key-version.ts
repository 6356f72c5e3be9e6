import { z } from 'zod';
import { sql, statement } from '../db/sql.js';
import type { Permission } from '../domain/context.js';
import { formatDate } from '../domain/keys/key-metadata.js';
import type { KeyState } from '../domain/keys/key-state.js';
import { type Found, findKey } from '../domain/keys/resolver.js';
import { AnyKeyId, because } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { KmsError } from '../errors.js';
import { type Decision, decided, defineOperation, keyAccessRefusal } from './operation.js';
import { AnyKeyPath, type KeyVersion, KeyVersionResponse, oneKeyVersion, RegionQuery } from './presenters.js';

// DescribeKeyVersion (spec section 15.2): any of the four identifiers, every state. A
// KeyVersionId that is no version of the key (of another key, malformed, differently
// cased) is Forbidden.KeyVersionNotFound, found at resolution (20.7 step 6), before RAM.

const VERSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const KeyVersionId = because(z.string().max(2048), 'it must be a key version id of at most 2048 characters')
  .describe('The id of a version of the key (a lowercase UUID)')
  .meta({ example: '2ab1a983-7072-4bbc-a582-584b5bd8****' });

export const DescribeKeyVersionInput = z.object({ KeyId: AnyKeyId, KeyVersionId });

export interface DescribeKeyVersionFacts {
  found: Found<{ state: KeyState }>;
  /** The version, when it is one of the found key's. */
  version: { id: string; creation_date: Date } | undefined;
  permission: Permission | undefined;
}

export function decideDescribeKeyVersion(f: DescribeKeyVersionFacts): Decision<'describe'> {
  if (!f.found.key) return new KmsError(f.found.notFound);
  if (!f.version) return new KmsError('Forbidden.KeyVersionNotFound');
  return keyAccessRefusal('DescribeKeyVersion', f.found, f.permission) ?? 'describe';
}

export const describeKeyVersion = defineOperation({
  name: 'DescribeKeyVersion',
  input: DescribeKeyVersionInput,
  async run({ db, clock, masterKey }, ctx, input): Promise<KeyVersion> {
    const found = await findKey(db, ctx, input.KeyId, clock(), { rotateWith: masterKey });
    // Only a lowercase UUID can name a version: anything else names none, without a lookup.
    const { rows } =
      found.key && VERSION_ID.test(input.KeyVersionId)
        ? await db.query<{ id: string; creation_date: Date }>(
            statement(
              'key-version.describe',
              sql`SELECT id, creation_date FROM key_versions
                   WHERE account_id = ${ctx.accountId} AND region = ${ctx.region} AND id = ${input.KeyVersionId}
                     AND key_id = ${found.key.id}`,
            ),
          )
        : { rows: [] };
    const version = rows[0];
    const permission = found.key && ctx.permission('kms:DescribeKeyVersion', [keyArn(ctx, found.key.id)]);
    decided(decideDescribeKeyVersion({ found, version, permission }));
    return { KeyId: found.key!.id, KeyVersionId: version!.id, CreationDate: formatDate(version!.creation_date) };
  },
  rpc: oneKeyVersion,
  rest: [
    {
      method: 'GET',
      url: '/v1/keys/:KeyId/versions/:KeyVersionId',
      summary: 'Describe a key version (DescribeKeyVersion)',
      tags: ['Key versions'],
      status: 200,
      params: AnyKeyPath.extend({ KeyVersionId: z.string().describe('The version id (URL-encoded)') }),
      querystring: RegionQuery,
      response: KeyVersionResponse,
      present: oneKeyVersion,
    },
  ],
});
