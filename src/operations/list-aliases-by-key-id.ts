import { z } from 'zod';
import { sql, statement } from '../db/sql.js';
import type { Alias } from '../domain/aliases/aliases.schemas.js';
import type { Permission } from '../domain/context.js';
import type { KeyState } from '../domain/keys/key-state.js';
import { type Found, findKey } from '../domain/keys/resolver.js';
import { KeyOnlyId } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { AliasPageInput, aliasRows } from './list-aliases.js';
import { type Decision, decided, defineOperation, keyAccessRefusal } from './operation.js';
import { aliasPageRest, aliasPageRpc, KeyPath, ListAliasesResponse, type Page, RegionQuery } from './presenters.js';

// ListAliasesByKeyId (spec section 2): the key (by id or ARN), then a page of its aliases and
// their count. A live key's aliases are all live: no purge is needed.
//
// The aliases' statement is planned once, generically and by index (`plan: 'generic'`, docs/design.md, "The plan
// cache"), and written so that only the by-key index (key_id, account_id, region,
// alias_name) can serve it: key_id is the one condition an index can use, and the scope is
// compared with IS NOT DISTINCT FROM (the columns are NOT NULL: the same as =, but neither
// an index condition nor a constant to the planner). With `account_id = … AND region = …`
// the primary key (account_id, region, alias_name) gives the page's order too, and a
// generic plan, which assumes an average region and an average key, walked it: every alias
// of a 20,000-alias region for a key that had one (127 pages; test/stress/plans.test.ts).
// The price: the page sorts the key's aliases (a top-N sort of what the count reads anyway).
// The key is read by a statement of its own: in one statement with the aliases, the generic
// plan looked the key up through keys_listing (account_id, region, creation_date, id),
// every key of a 5,000-key region (117 pages), in a database many test files share.

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
  async run({ db, clock, masterKey }, ctx, input): Promise<Page<Alias>> {
    // The key as every operation finds it (the resolver, planned with its values), then its
    // aliases, planned generically (see above). Refused before any alias is read.
    const found = await findKey(db, ctx, input.KeyId, clock(), { rotateWith: masterKey });
    const permission = found.key && ctx.permission('kms:ListAliasesByKeyId', [keyArn(ctx, found.key.id)]);
    decided(decideListAliasesByKeyId(found, permission));
    const keyId = found.key!.id;
    const limit = input.PageSize;
    const offset = (input.PageNumber - 1) * input.PageSize;
    const { rows } = await db.query<{ total: number; alias_name: string | null; key_id: string }>(
      statement(
        'list-aliases-by-key-id',
        sql`SELECT t.total, p.alias_name, p.key_id
              FROM (SELECT count(*)::int AS total FROM aliases
                     WHERE key_id = ${keyId}
                       AND account_id IS NOT DISTINCT FROM ${ctx.accountId} AND region IS NOT DISTINCT FROM ${ctx.region}) t
              LEFT JOIN LATERAL (
                SELECT alias_name, key_id FROM aliases
                 WHERE key_id = ${keyId}
                   AND account_id IS NOT DISTINCT FROM ${ctx.accountId} AND region IS NOT DISTINCT FROM ${ctx.region}
                 ORDER BY alias_name LIMIT ${limit} OFFSET ${offset}
              ) p ON true`,
        { plan: 'generic' },
      ),
    );
    return {
      PageNumber: input.PageNumber,
      PageSize: input.PageSize,
      TotalCount: rows[0]?.total ?? 0,
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
