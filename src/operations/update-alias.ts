import { z } from 'zod';
import type { Queryable } from '../db/database.js';
import { sql, statement } from '../db/sql.js';
import { type Alias, toAlias } from '../domain/aliases/aliases.schemas.js';
import type { CallContext, Permission } from '../domain/context.js';
import type { ServiceDeps } from '../domain/deps.js';
import { refusedStates, stateRefusal } from '../domain/keys/key-state.js';
import { type Found, findKeys, type KeyLookup, keyLookup } from '../domain/keys/resolver.js';
import { AliasName, KeyOnlyId } from '../domain/params.js';
import { aliasArn, keyArn } from '../domain/scope.js';
import { invalidParameter, KmsError } from '../errors.js';
import { type Decision, decided, defineOperation, refusal } from './operation.js';
import { AliasPath, AliasResponse, nothing, oneAlias, RegionQuery } from './presenters.js';

// UpdateAlias (spec section 2): re-points an alias at a key of the same usage. It reads
// the alias's key and the target in one statement, checks, then writes only if the alias
// still points where it did and the target still qualifies; if not, it reads again.

export const UpdateAliasInput = z.object({ AliasName, KeyId: KeyOnlyId });

/** Attempts before giving up (only endless interference gets there). */
const ATTEMPTS = 20;

export interface UpdateAliasFacts {
  /** The key the alias points at. */
  current: Found;
  target: Found;
  /** Undefined unless both were found. */
  permission: Permission | undefined;
}

/**
 * Resolution (alias, then target), RAM on the alias and both keys, the target's state
 * (checked even when the alias already points at it), the same usage.
 */
export function decideUpdateAlias(f: UpdateAliasFacts): Decision<'unchanged' | 'repoint'> {
  if (!f.current.key) return new KmsError(f.current.notFound);
  if (!f.target.key) return new KmsError(f.target.notFound);
  const refused = (f.permission && refusal(f.permission)) ?? stateRefusal('UpdateAlias', f.target.key.state);
  if (refused) return refused;
  if (f.target.key.key_usage !== f.current.key.key_usage) {
    return invalidParameter('KeyId', "the key must have the KeyUsage of the alias's current key");
  }
  return f.target.key.id === f.current.key.id ? 'unchanged' : 'repoint';
}

/**
 * Re-points the alias from `from` to the target (locked FOR SHARE), unless the alias has
 * meanwhile moved or gone, or the target has meanwhile come to a state that refuses
 * UpdateAlias or changed its usage: false then.
 */
async function repointIfUnchanged(
  q: Queryable,
  ctx: CallContext,
  target: KeyLookup,
  name: string,
  from: string,
  keyUsage: string,
  now: Date,
): Promise<boolean> {
  const { rows } = await q.query(
    statement(
      'update-alias',
      sql`WITH target AS (${target.select})
          UPDATE aliases a SET key_id = target.id, updated_at = ${now}
            FROM target
           WHERE a.account_id = ${ctx.accountId} AND a.region = ${ctx.region} AND a.alias_name = ${name}
             AND a.key_id = ${from}
             AND NOT (target.state = ANY(${refusedStates('UpdateAlias')}::text[])) AND target.key_usage = ${keyUsage}
          RETURNING 1`,
    ),
  );
  return rows.length === 1;
}

async function run({ db, clock }: ServiceDeps, ctx: CallContext, input: z.output<typeof UpdateAliasInput>) {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const now = clock();
    const [current, target] = (await findKeys(db, ctx, [input.AliasName, input.KeyId], now)) as [Found, Found];
    const permission =
      current.key &&
      target.key &&
      ctx.permission('kms:UpdateAlias', [
        aliasArn(ctx, input.AliasName),
        keyArn(ctx, current.key.id),
        keyArn(ctx, target.key.id),
      ]);
    const outcome = decided(decideUpdateAlias({ current, target, permission }));
    const [from, to] = [current.key!, target.key!];
    const done =
      outcome === 'unchanged' ||
      (await repointIfUnchanged(
        db,
        ctx,
        keyLookup(ctx, to.id, now, { lock: 'share' }),
        input.AliasName,
        from.id,
        from.key_usage,
        now,
      ));
    if (done) return toAlias(ctx, input.AliasName, to.id);
  }
  throw new KmsError('ServiceUnavailableTemporary');
}

export const updateAlias = defineOperation<typeof UpdateAliasInput, Alias>({
  name: 'UpdateAlias',
  input: UpdateAliasInput,
  run,
  rpc: nothing,
  rest: [
    {
      method: 'PUT',
      url: '/v1/aliases/:AliasName',
      slashParam: 'AliasName',
      summary: 'Point an alias at another key (UpdateAlias)',
      tags: ['Aliases'],
      status: 200,
      params: AliasPath,
      querystring: RegionQuery,
      body: UpdateAliasInput.omit({ AliasName: true }),
      response: AliasResponse,
      present: oneAlias,
    },
  ],
});
