import { z } from 'zod';
import { sql, statement } from '../db/sql.js';
import type { Permission } from '../domain/context.js';
import { upkeepResolvedKey } from '../domain/keys/key-upkeep.js';
import { type Found, findKey, keyLookup, type ResolvedKey } from '../domain/keys/resolver.js';
import { AliasName } from '../domain/params.js';
import { aliasArn, keyArn } from '../domain/scope.js';
import { countRows } from '../domain/scope-counters.js';
import { KmsError } from '../errors.js';
import { type Decision, decided, defineOperation, keyAccessRefusal } from './operation.js';
import { AliasPath, nothing, RegionQuery } from './presenters.js';

// DeleteAlias (spec section 2): the key is untouched. It reads the alias's key, checks,
// then deletes only if the alias still points at that key; if not, it reads again. For a
// caller RAM cannot refuse, the read and the conditional delete are one statement.

export const AliasNameInput = z.object({ AliasName });

const ATTEMPTS = 20;

/** Resolution of the alias, RAM on the alias and its key. */
export function decideDeleteAlias(found: Found, permission: Permission | undefined): Decision<'delete'> {
  return keyAccessRefusal('DeleteAlias', found, permission) ?? 'delete';
}

export const deleteAlias = defineOperation({
  name: 'DeleteAlias',
  input: AliasNameInput,
  async run({ db, clock, quotas }, ctx, input): Promise<void> {
    const name = input.AliasName;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const now = clock();
      const lookup = keyLookup(ctx, name, now);
      if (ctx.unrestricted && lookup.select) {
        // A caller RAM cannot refuse: the alias's key read and the alias deleted (if it
        // still points there) in one statement.
        const { rows } = await db.query<ResolvedKey & { deleted: boolean }>(
          statement(
            'delete-alias.at-once',
            sql`WITH cur AS (${lookup.select}),
                gone AS (
                  DELETE FROM aliases a USING cur
                   WHERE a.account_id = ${ctx.accountId} AND a.region = ${ctx.region} AND a.alias_name = ${name}
                     AND a.key_id = cur.id
                  RETURNING 1
                ),
                counted AS (${countRows(ctx, 'alias_count', quotas.aliases, -1, 'gone')})
                SELECT cur.*, EXISTS (SELECT 1 FROM gone) AS deleted FROM cur`,
          ),
        );
        const row = rows[0];
        // What fell due on the key (key-upkeep.ts) is done as the resolver would; DeleteAlias
        // does not look at the key's state.
        if (row) await upkeepResolvedKey(db, row, now);
        const found: Found = row ? { key: row } : { notFound: lookup.notFound };
        const permission =
          found.key && ctx.permission('kms:DeleteAlias', [aliasArn(ctx, name), keyArn(ctx, found.key.id)]);
        decided(decideDeleteAlias(found, permission));
        if (row?.deleted === true) return;
        continue;
      }
      const found = await findKey(db, ctx, name, now);
      const permission =
        found.key && ctx.permission('kms:DeleteAlias', [aliasArn(ctx, name), keyArn(ctx, found.key.id)]);
      decided(decideDeleteAlias(found, permission));
      const { rows } = await db.query<{ deleted: boolean }>(
        statement(
          'delete-alias',
          sql`WITH gone AS (
                DELETE FROM aliases
                 WHERE account_id = ${ctx.accountId} AND region = ${ctx.region} AND alias_name = ${name}
                   AND key_id = ${found.key!.id}
                RETURNING 1
              ),
              counted AS (${countRows(ctx, 'alias_count', quotas.aliases, -1, 'gone')})
              SELECT EXISTS (SELECT 1 FROM gone) AS deleted`,
        ),
      );
      if (rows[0]?.deleted === true) return;
    }
    throw new KmsError('ServiceUnavailableTemporary');
  },
  rpc: nothing,
  rest: [
    {
      method: 'DELETE',
      url: '/v1/aliases/:AliasName',
      slashParam: 'AliasName',
      summary: 'Delete an alias; its key is untouched (DeleteAlias)',
      tags: ['Aliases'],
      status: 204,
      params: AliasPath,
      querystring: RegionQuery,
    },
  ],
});
