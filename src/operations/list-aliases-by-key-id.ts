import { z } from 'zod';
import { sql, statement } from '../db/sql.js';
import type { Alias } from '../domain/aliases/aliases.schemas.js';
import type { Permission } from '../domain/context.js';
import type { KeyState } from '../domain/keys/key-state.js';
import { type Found, keyLookup } from '../domain/keys/resolver.js';
import { KeyOnlyId } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { AliasPageInput, aliasRows } from './list-aliases.js';
import { type Decision, decided, defineOperation, keyAccessRefusal } from './operation.js';
import { aliasPageRest, aliasPageRpc, KeyPath, ListAliasesResponse, type Page, RegionQuery } from './presenters.js';

// ListAliasesByKeyId (spec section 2): the key (by id or ARN), a page of its aliases and
// their count, in one statement. A live key's aliases are all live: no purge is needed.
//
// Planned once, generically and by index (`plan: 'generic'`, docs/design.md, "The plan
// cache"). The count names only key_id in its WHERE and checks the scope in its FILTER, so
// that no index but the by-key one (led by key_id, holding the scope's columns) can serve
// it: with the scope in the WHERE, a generic plan counted through the primary key, every
// alias of the region, and a custom one with stale statistics by a sequential scan.

export const ListAliasesByKeyIdInput = z.object({ KeyId: KeyOnlyId, ...AliasPageInput.shape });

export function decideListAliasesByKeyId(
  found: Found<{ state: KeyState }>,
  permission: Permission | undefined,
): Decision<'list'> {
  return keyAccessRefusal('ListAliasesByKeyId', found, permission) ?? 'list';
}

export const listAliasesByKeyId = defineOperation({
  name: 'ListAliasesByKeyId',
  input: ListAliasesByKeyIdInput,
  async run({ db, clock }, ctx, input): Promise<Page<Alias>> {
    const lookup = keyLookup(ctx, input.KeyId, clock());
    const keyId = lookup.keyId ?? '';
    const permission = lookup.select && ctx.permission('kms:ListAliasesByKeyId', [keyArn(ctx, keyId)]);
    const limit = input.PageSize;
    const offset = (input.PageNumber - 1) * input.PageSize;
    const { rows } = lookup.select
      ? await db.query<{ state: KeyState; total: number; alias_name: string | null; key_id: string }>(
          statement(
            'list-aliases-by-key-id',
            sql`WITH target AS (${lookup.select})
                SELECT target.state, t.total, p.alias_name, p.key_id
                  FROM target,
                       (SELECT count(*) FILTER (WHERE account_id = ${ctx.accountId} AND region = ${ctx.region})::int AS total
                          FROM aliases WHERE key_id = ${keyId}) t
                  LEFT JOIN LATERAL (
                    SELECT alias_name, key_id FROM aliases
                     WHERE account_id = ${ctx.accountId} AND region = ${ctx.region} AND key_id = ${keyId}
                     ORDER BY alias_name LIMIT ${limit} OFFSET ${offset}
                  ) p ON true`,
            { plan: 'generic' },
          ),
        )
      : { rows: [] };
    const first = rows[0];
    const found: Found<{ state: KeyState }> = first ? { key: { state: first.state } } : { notFound: lookup.notFound };
    decided(decideListAliasesByKeyId(found, first ? permission : undefined));
    return {
      PageNumber: input.PageNumber,
      PageSize: input.PageSize,
      TotalCount: first?.total ?? 0,
      items: aliasRows(ctx, rows),
    };
  },
  rpc: aliasPageRpc,
  rest: [
    {
      method: 'GET',
      url: '/v1/keys/:KeyId/aliases',
      summary: "List a key's aliases (ListAliasesByKeyId)",
      tags: ['Aliases'],
      status: 200,
      params: KeyPath,
      querystring: RegionQuery.extend(AliasPageInput.shape),
      response: ListAliasesResponse,
      present: aliasPageRest,
    },
  ],
});
