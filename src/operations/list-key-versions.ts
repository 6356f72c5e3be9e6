import { z } from 'zod';
import { sql, statement } from '../db/sql.js';
import type { Permission } from '../domain/context.js';
import { formatDate } from '../domain/keys/key-metadata.js';
import type { KeyState } from '../domain/keys/key-state.js';
import { type Found, findKey } from '../domain/keys/resolver.js';
import { AnyKeyId, PageNumber, pageSize } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { type Decision, decided, defineOperation, keyAccessRefusal } from './operation.js';
import {
  AnyKeyPath,
  type KeyVersion,
  KeyVersionSchema,
  type Page,
  PageResponseFields,
  RegionQuery,
  restPage,
  rpcPage,
} from './presenters.js';

// ListKeyVersions (spec section 15.2): any of the four identifiers, every state; a page of
// the key's versions by CreationDate, then KeyVersionId in byte order, and their count.

const KeyVersionPage = z.object({ PageNumber, PageSize: pageSize(100) });
export const ListKeyVersionsInput = z.object({ KeyId: AnyKeyId, ...KeyVersionPage.shape });

export function decideListKeyVersions(
  found: Found<{ state: KeyState }>,
  permission: Permission | undefined,
): Decision<'list'> {
  return keyAccessRefusal('ListKeyVersions', found, permission) ?? 'list';
}

export const listKeyVersions = defineOperation({
  name: 'ListKeyVersions',
  input: ListKeyVersionsInput,
  async run({ db, clock, masterKey }, ctx, input): Promise<Page<KeyVersion>> {
    const found = await findKey(db, ctx, input.KeyId, clock(), { rotateWith: masterKey });
    const permission = found.key && ctx.permission('kms:ListKeyVersions', [keyArn(ctx, found.key.id)]);
    decided(decideListKeyVersions(found, permission));
    const keyId = found.key!.id;
    const { rows } = await db.query<{ total: number; id: string | null; creation_date: Date | null }>(
      statement(
        'key-version.page',
        sql`SELECT t.total, p.id, p.creation_date
              FROM (SELECT count(*)::int AS total FROM key_versions
                     WHERE key_id = ${keyId} AND account_id = ${ctx.accountId} AND region = ${ctx.region}) t
              LEFT JOIN LATERAL (
                SELECT id, creation_date FROM key_versions
                 WHERE key_id = ${keyId} AND account_id = ${ctx.accountId} AND region = ${ctx.region}
                 ORDER BY creation_date, id COLLATE "C"
                 LIMIT ${input.PageSize} OFFSET ${(input.PageNumber - 1) * input.PageSize}
              ) p ON true`,
      ),
    );
    return {
      PageNumber: input.PageNumber,
      PageSize: input.PageSize,
      TotalCount: rows[0]?.total ?? 0,
      items: rows.flatMap((r) =>
        r.id === null ? [] : [{ KeyId: keyId, KeyVersionId: r.id, CreationDate: formatDate(r.creation_date) }],
      ),
    };
  },
  rpc: rpcPage<KeyVersion>('KeyVersions', 'KeyVersion'),
  rest: [
    {
      method: 'GET',
      url: '/v1/keys/:KeyId/versions',
      summary: "List a key's versions (ListKeyVersions)",
      tags: ['Key versions'],
      status: 200,
      params: AnyKeyPath,
      querystring: RegionQuery.extend(KeyVersionPage.shape),
      response: z.object({ ...PageResponseFields, KeyVersions: z.array(KeyVersionSchema) }),
      present: restPage<KeyVersion>('KeyVersions'),
    },
  ],
});
