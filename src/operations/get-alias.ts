import { type Alias, toAlias } from '../domain/aliases/aliases.schemas.js';
import type { Permission } from '../domain/context.js';
import { type Found, findKey } from '../domain/keys/resolver.js';
import { aliasContainerArn } from '../domain/scope.js';
import { KmsError } from '../errors.js';
import { AliasNameInput } from './delete-alias.js';
import { type Decision, decided, defineOperation, refusal } from './operation.js';
import { AliasPath, AliasResponse, oneAlias, RegionQuery } from './presenters.js';

// The REST read of one alias (no RPC action): resolution, then RAM kms:ListAliases on the
// alias container. An alias of a key past its deletion date is gone here before any purge.

export function decideGetAlias(found: Found, permission: Permission | undefined): Decision<'read'> {
  if (!found.key) return new KmsError(found.notFound);
  return (permission && refusal(permission)) ?? 'read';
}

export const getAlias = defineOperation({
  name: 'GetAlias',
  input: AliasNameInput,
  async run({ db, clock, masterKey }, ctx, input): Promise<Alias> {
    const found = await findKey(db, ctx, input.AliasName, clock(), { rotateWith: masterKey });
    const permission = found.key && ctx.permission('kms:ListAliases', [aliasContainerArn(ctx)]);
    decided(decideGetAlias(found, permission));
    return toAlias(ctx, input.AliasName, found.key!.id);
  },
  rest: [
    {
      method: 'GET',
      url: '/v1/aliases/:AliasName',
      slashParam: 'AliasName',
      summary: 'Read one alias',
      tags: ['Aliases'],
      status: 200,
      params: AliasPath,
      querystring: RegionQuery,
      response: AliasResponse,
      present: oneAlias,
    },
  ],
});
