import { z } from 'zod';
import type { Queryable } from '../db/database.js';
import { type SqlFragment, sql, statement } from '../db/sql.js';
import { type Alias, toAlias } from '../domain/aliases/aliases.schemas.js';
import type { CallContext, Permission } from '../domain/context.js';
import type { ServiceDeps } from '../domain/deps.js';
import { refusedStates, stateRefusal } from '../domain/keys/key-state.js';
import { upkeepResolvedKey } from '../domain/keys/key-upkeep.js';
import { type Found, findKeys, type KeyLookup, keyLookup, type ResolvedKey } from '../domain/keys/resolver.js';
import { AliasName, KeyOnlyId } from '../domain/params.js';
import { aliasArn, keyArn } from '../domain/scope.js';
import { invalidParameter, KmsError } from '../errors.js';
import { type Decision, decided, defineOperation, refusal } from './operation.js';
import { AliasPath, AliasResponse, nothing, oneAlias, RegionQuery } from './presenters.js';

// UpdateAlias (spec section 2): re-points an alias at a key of the same usage. It reads
// the alias's key and the target in one statement, checks, then writes only if the alias
// still points where it did and the target still qualifies; if not, it reads again. For a
// caller RAM cannot refuse, the read and the conditional write are one statement.

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

/**
 * For a caller RAM cannot refuse (`ctx.unrestricted`): the alias's key and the target
 * (locked FOR SHARE) read, and the alias re-pointed if they qualify, in one statement. It
 * writes only where the decision says 'repoint'; `moved` is false when it did not write,
 * also when another writer moved the alias meanwhile (the caller reads again).
 */
async function readAndRepoint(
  q: Queryable,
  ctx: CallContext,
  current: KeyLookup & { select: SqlFragment },
  target: KeyLookup & { select: SqlFragment },
  name: string,
  now: Date,
): Promise<{ current: Found; target: Found; moved: boolean }> {
  const { rows } = await q.query<ResolvedKey & { ord: number; moved: boolean }>(
    statement(
      'update-alias.at-once',
      sql`WITH cur AS (${current.select}),
          target AS (${target.select}),
          moved AS (
            UPDATE aliases a SET key_id = target.id, updated_at = ${now}
              FROM cur, target
             WHERE a.account_id = ${ctx.accountId} AND a.region = ${ctx.region} AND a.alias_name = ${name}
               AND a.key_id = cur.id AND target.id <> cur.id
               AND NOT (target.state = ANY(${refusedStates('UpdateAlias')}::text[]))
               AND target.key_usage = cur.key_usage
            RETURNING 1
          )
          SELECT 0 AS ord, cur.*, EXISTS (SELECT 1 FROM moved) AS moved FROM cur
          UNION ALL
          SELECT 1 AS ord, target.*, EXISTS (SELECT 1 FROM moved) AS moved FROM target`,
    ),
  );
  const found = (ord: number, lookup: KeyLookup): Found => {
    const row = rows.find((r) => r.ord === ord);
    if (!row) return { notFound: lookup.notFound };
    const { ord: _ord, moved: _moved, ...key } = row;
    return { key };
  };
  // What fell due on either key (key-upkeep.ts) is done as the resolver would; UpdateAlias's
  // decision reads nothing the upkeep changes (the state it refuses, PendingDeletion, and the usage).
  for (const row of rows) await upkeepResolvedKey(q, row, now);
  return { current: found(0, current), target: found(1, target), moved: rows.some((r) => r.moved) };
}

function permissionOf(ctx: CallContext, name: string, current: Found, target: Found): Permission | undefined {
  return (
    current.key &&
    target.key &&
    ctx.permission('kms:UpdateAlias', [aliasArn(ctx, name), keyArn(ctx, current.key.id), keyArn(ctx, target.key.id)])
  );
}

async function run({ db, clock }: ServiceDeps, ctx: CallContext, input: z.output<typeof UpdateAliasInput>) {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const now = clock();
    const currentLookup = keyLookup(ctx, input.AliasName, now);
    const targetLookup = keyLookup(ctx, input.KeyId, now, { lock: 'share' });
    if (ctx.unrestricted && currentLookup.select && targetLookup.select) {
      const r = await readAndRepoint(
        db,
        ctx,
        { ...currentLookup, select: currentLookup.select },
        { ...targetLookup, select: targetLookup.select },
        input.AliasName,
        now,
      );
      const permission = permissionOf(ctx, input.AliasName, r.current, r.target);
      const outcome = decided(decideUpdateAlias({ current: r.current, target: r.target, permission }));
      if (outcome === 'unchanged' || r.moved) return toAlias(ctx, input.AliasName, r.target.key!.id);
      continue;
    }
    const [current, target] = (await findKeys(db, ctx, [input.AliasName, input.KeyId], now)) as [Found, Found];
    const permission = permissionOf(ctx, input.AliasName, current, target);
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
