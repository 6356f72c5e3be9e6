import { z } from 'zod';
import { sql, statement } from '../db/sql.js';
import type { KeySummary } from '../domain/keys/keys.schemas.js';
import { KeySummary as KeySummarySchema } from '../domain/keys/keys.schemas.js';
import { purgeIsDue, readAfterPurgeIfDue } from '../domain/keys/purge.js';
import { intParam, notImplemented, PageNumber } from '../domain/params.js';
import { keyArn, keyContainerArn } from '../domain/scope.js';
import { scopeCount } from '../domain/scope-counters.js';
import { decided, defineOperation, refusal } from './operation.js';
import { type Page, PageResponseFields, RegionQuery, restPage, rpcPage } from './presenters.js';

// ListKeys (spec section 3): RAM on the key container; keys in creation order, the total
// from the scope's counters, in one statement that also says whether a purge is due.

export const ListKeysInput = z.object({
  PageNumber,
  PageSize: intParam(1, 100).default(10).describe('Entries per page, 1 to 100.'),
  Filters: notImplemented(),
});

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
        statement(
          'list-keys',
          sql`SELECT t.total, t.purge_due, p.id
                FROM (SELECT ${scopeCount(ctx, 'key_count')} AS total, ${purgeIsDue(ctx, now)} AS purge_due) t
                LEFT JOIN LATERAL (
                  SELECT id FROM keys WHERE account_id = ${ctx.accountId} AND region = ${ctx.region}
                   ORDER BY creation_date, id LIMIT ${limit} OFFSET ${offset}
                ) p ON true`,
        ),
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
      querystring: RegionQuery.extend(ListKeysInput.omit({ Filters: true }).shape),
      response: z.object({ ...PageResponseFields, Keys: z.array(KeySummarySchema) }),
      present: restPage<KeySummary>('Keys'),
    },
  ],
});
