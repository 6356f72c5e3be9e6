import { z } from 'zod';
import { sql, statement } from '../db/sql.js';
import type { Permission } from '../domain/context.js';
import { type Found, findKey } from '../domain/keys/resolver.js';
import { AliasName } from '../domain/params.js';
import { aliasArn, keyArn } from '../domain/scope.js';
import { countRows } from '../domain/scope-counters.js';
import { KmsError } from '../errors.js';
import { type Decision, decided, defineOperation, keyAccessRefusal } from './operation.js';
import { AliasPath, nothing, RegionQuery } from './presenters.js';

// DeleteAlias (spec section 2): the key is untouched. It reads the alias's key, checks,
// then deletes only if the alias still points at that key; if not, it reads again.

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
      const found = await findKey(db, ctx, name, clock());
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
