import { z } from 'zod';
import { sql, statement } from '../db/sql.js';
import { type Alias, toAlias } from '../domain/aliases/aliases.schemas.js';
import { purgeIsDue, readAfterPurgeIfDue } from '../domain/keys/purge.js';
import { PageNumber, pageSize } from '../domain/params.js';
import { aliasContainerArn } from '../domain/scope.js';
import { scopeCount } from '../domain/scope-counters.js';
import { decided, defineOperation, refusal } from './operation.js';
import { aliasPageRest, aliasPageRpc, ListAliasesResponse, type Page, RegionQuery } from './presenters.js';

// ListAliases (spec section 2): RAM on the alias container; names in byte order, the total
// from the scope's counters, in one statement that also says whether a purge is due.

/** A page of aliases: ListAliases's input, and the page part of ListAliasesByKeyId's. */
export const AliasPageInput = z.object({ PageNumber, PageSize: pageSize(100) });

export const listAliases = defineOperation({
  name: 'ListAliases',
  input: AliasPageInput,
  async run({ db, clock }, ctx, input): Promise<Page<Alias>> {
    decided(refusal(ctx.permission('kms:ListAliases', [aliasContainerArn(ctx)])) ?? 'list');
    const now = clock();
    const limit = input.PageSize;
    const offset = (input.PageNumber - 1) * input.PageSize;
    const read = async () => {
      const { rows } = await db.query<{ total: number; purge_due: boolean; alias_name: string | null; key_id: string }>(
        statement(
          'list-aliases',
          sql`SELECT t.total, t.purge_due, p.alias_name, p.key_id
                FROM (SELECT ${scopeCount(ctx, 'alias_count')} AS total, ${purgeIsDue(ctx, now)} AS purge_due) t
                LEFT JOIN LATERAL (
                  SELECT alias_name, key_id FROM aliases WHERE account_id = ${ctx.accountId} AND region = ${ctx.region}
                   ORDER BY alias_name LIMIT ${limit} OFFSET ${offset}
                ) p ON true`,
          { plan: 'generic' },
        ),
      );
      return { purgeDue: rows[0]?.purge_due ?? false, total: rows[0]?.total ?? 0, rows };
    };
    const { total, rows } = await readAfterPurgeIfDue(db, ctx, now, read);
    return { ...input, TotalCount: total, items: aliasRows(ctx, rows) };
  },
  rpc: aliasPageRpc,
  rest: [
    {
      method: 'GET',
      url: '/v1/aliases',
      summary: 'List aliases in byte order of their names (ListAliases)',
      tags: ['Aliases'],
      status: 200,
      querystring: RegionQuery.extend(AliasPageInput.shape),
      response: ListAliasesResponse,
      present: aliasPageRest,
    },
  ],
});

/** The aliases of a page read with LEFT JOIN LATERAL (an empty page is one row of NULLs). */
export function aliasRows(
  scope: Parameters<typeof toAlias>[0],
  rows: ReadonlyArray<{ alias_name: string | null; key_id: string }>,
): Alias[] {
  return rows.flatMap((r) => (r.alias_name === null ? [] : [toAlias(scope, r.alias_name, r.key_id)]));
}
