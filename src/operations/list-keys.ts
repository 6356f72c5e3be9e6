import { z } from 'zod';
import { sql, statement } from '../db/sql.js';
import { FiltersParam, hasFilters, type KeyFilters, keyMatches } from '../domain/keys/key-filters.js';
import type { KeySummary } from '../domain/keys/keys.schemas.js';
import { KeySummary as KeySummarySchema } from '../domain/keys/keys.schemas.js';
import { purgeIsDue, readAfterPurgeIfDue } from '../domain/keys/purge.js';
import { intParam, PageNumber } from '../domain/params.js';
import { keyArn, keyContainerArn, type Scope } from '../domain/scope.js';
import { scopeCount } from '../domain/scope-counters.js';
import { decided, defineOperation, refusal } from './operation.js';
import { type Page, PageResponseFields, RegionQuery, restPage, rpcPage } from './presenters.js';

// ListKeys (spec sections 3 and 18.3): RAM on the key container; keys in creation order,
// optionally filtered, in one statement that also says whether a purge is due.

export const ListKeysInput = z.object({
  PageNumber,
  PageSize: intParam(1, 100).default(10).describe('Entries per page, 1 to 100.'),
  Filters: FiltersParam,
});

/**
 * One page, the total and whether a purge is due, in one statement. Without filters the
 * total comes from the scope's counters; with them, the matching keys are counted.
 */
function listStatement(scope: Scope, filters: KeyFilters, now: Date, limit: number, offset: number) {
  const inScope = sql`k.account_id = ${scope.accountId} AND k.region = ${scope.region}`;
  const total = hasFilters(filters)
    ? sql`(SELECT count(*)::int FROM keys k WHERE ${inScope} AND ${keyMatches(filters)})`
    : scopeCount(scope, 'key_count');
  return statement(
    hasFilters(filters) ? 'list-keys-filtered' : 'list-keys',
    sql`SELECT t.total, t.purge_due, p.id
          FROM (SELECT ${total} AS total, ${purgeIsDue(scope, now)} AS purge_due) t
          LEFT JOIN LATERAL (
            SELECT k.id FROM keys k WHERE ${inScope} AND ${keyMatches(filters)}
             ORDER BY k.creation_date, k.id LIMIT ${limit} OFFSET ${offset}
          ) p ON true`,
    // A filtered page counts matching keys through the tags: its plan is left to the values.
    hasFilters(filters) ? {} : { plan: 'generic' },
  );
}

export const listKeys = defineOperation({
  name: 'ListKeys',
  input: ListKeysInput,
  async run({ db, clock }, ctx, input): Promise<Page<KeySummary>> {
    decided(refusal(ctx.permission('kms:ListKeys', [keyContainerArn(ctx)])) ?? 'list');
    const now = clock();
    const limit = input.PageSize;
    const offset = (input.PageNumber - 1) * input.PageSize;
    const read = async () => {
      const { rows } = await db.query<{ total: number; purge_due: boolean; id: string | null }>(
        listStatement(ctx, input.Filters, now, limit, offset),
      );
      return { purgeDue: rows[0]?.purge_due ?? false, total: rows[0]?.total ?? 0, rows };
    };
    const { total, rows } = await readAfterPurgeIfDue(db, ctx, now, read);
    return {
      PageNumber: input.PageNumber,
      PageSize: input.PageSize,
      TotalCount: total,
      items: rows.flatMap((r) => (r.id === null ? [] : [{ KeyId: r.id, KeyArn: keyArn(ctx, r.id) }])),
    };
  },
  rpc: rpcPage<KeySummary>('Keys', 'Key'),
  rest: [
    {
      method: 'GET',
      url: '/v1/keys',
      summary: 'List keys (ListKeys)',
      tags: ['Keys'],
      status: 200,
      querystring: RegionQuery.extend(ListKeysInput.omit({ Filters: true }).shape).extend({
        Filters: z.string().optional().describe('The JSON of the filters, URL-encoded'),
      }),
      response: z.object({ ...PageResponseFields, Keys: z.array(KeySummarySchema) }),
      present: restPage<KeySummary>('Keys'),
    },
  ],
});
