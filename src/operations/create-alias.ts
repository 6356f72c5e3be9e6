import { z } from 'zod';
import { type Queryable, transactionIf } from '../db/database.js';
import { sql, statement } from '../db/sql.js';
import { toAlias } from '../domain/aliases/aliases.schemas.js';
import type { CallContext, Permission } from '../domain/context.js';
import type { ServiceDeps } from '../domain/deps.js';
import { type KeyState, refusedStates, stateRefusal } from '../domain/keys/key-state.js';
import { purgeScope } from '../domain/keys/purge.js';
import { type Found, type KeyLookup, keyLookup } from '../domain/keys/resolver.js';
import { KeyOnlyId, NewAliasName } from '../domain/params.js';
import { aliasArn, keyArn, type Scope } from '../domain/scope.js';
import { countRows, quotaRefusal, withinQuota } from '../domain/scope-counters.js';
import { KmsError } from '../errors.js';
import { type Decision, decided, defineOperation, refusal } from './operation.js';
import { AliasResponse, nothing, oneAlias, RegionQuery } from './presenters.js';

// CreateAlias (spec section 2), in one statement: the key (locked FOR SHARE, so the state
// checked holds until the alias is in), the insert, and the count. The statement inserts
// only what decideCreateAlias allows; the decision then names the rule that held it back.
// Aliases of keys past their deletion date neither hold a name nor count towards the
// quota: when the name or the quota stands in the way, the scope is purged once and the
// whole operation runs again.

export const CreateAliasInput = z.object({ AliasName: NewAliasName, KeyId: KeyOnlyId });

export interface CreateAliasFacts {
  found: Found<{ id: string; state: KeyState }>;
  /** Undefined when no key was found. */
  permission: Permission | undefined;
  inserted: boolean;
  /** The scope's alias count after the insert (null without a quota). */
  aliasesAfter: number | null;
  quota: number;
  /** Whether the scope was purged after a first attempt: undefined before any. */
  purged?: boolean;
}

export const PURGE_AND_RETRY = 'purge-and-retry';

/** Resolution, RAM, key state, a free name, the quota (spec section 10). */
export function decideCreateAlias(f: CreateAliasFacts): Decision<'created' | typeof PURGE_AND_RETRY> {
  if (!f.found.key) return new KmsError(f.found.notFound);
  const refused = (f.permission && refusal(f.permission)) ?? stateRefusal('CreateAlias', f.found.key.state);
  if (refused) return refused;
  if (!f.inserted) return f.purged === undefined ? PURGE_AND_RETRY : new KmsError('AliasAlreadyExists');
  if (!withinQuota(f.aliasesAfter, f.quota)) {
    return f.purged === undefined ? PURGE_AND_RETRY : quotaRefusal('aliases', f.quota);
  }
  return 'created';
}

export interface Written {
  keyId: string | null;
  state: KeyState | null;
  inserted: boolean;
  total: number | null;
}

/** The one statement: inserts when the caller may, the state allows and the name is free. */
export async function insertAlias(
  q: Queryable,
  ctx: Scope,
  lookup: KeyLookup,
  name: string,
  allowed: boolean,
  quota: number,
  now: Date,
): Promise<Written> {
  if (!lookup.select) return { keyId: null, state: null, inserted: false, total: null };
  const { rows } = await q.query<Written>(
    statement(
      'create-alias',
      sql`WITH target AS (${lookup.select}),
          ins AS (
            INSERT INTO aliases (account_id, region, alias_name, key_id, created_at, updated_at)
            SELECT ${ctx.accountId}, ${ctx.region}, ${name}, target.id, ${now}, ${now} FROM target
             WHERE ${allowed}::boolean AND NOT (target.state = ANY(${refusedStates('CreateAlias')}::text[]))
            ON CONFLICT (account_id, region, alias_name) DO NOTHING
            RETURNING 1
          ),
          counted AS (${countRows(ctx, 'alias_count', quota, 1, 'ins')})
          SELECT target.id AS "keyId", target.state, EXISTS (SELECT 1 FROM ins) AS inserted,
                 (SELECT total FROM counted) AS total
            FROM target`,
    ),
  );
  return rows[0] ?? { keyId: null, state: null, inserted: false, total: null };
}

async function run({ db, clock, quotas }: ServiceDeps, ctx: CallContext, input: z.output<typeof CreateAliasInput>) {
  const quota = quotas.aliases;
  let purged: boolean | undefined;
  for (;;) {
    const now = clock();
    const lookup = keyLookup(ctx, input.KeyId, now, { lock: 'share' });
    const permission =
      lookup.select && ctx.permission('kms:CreateAlias', [aliasArn(ctx, input.AliasName), keyArn(ctx, lookup.keyId!)]);
    const factsOf = (w: Written): CreateAliasFacts => ({
      found: w.keyId && w.state ? { key: { id: w.keyId, state: w.state } } : { notFound: lookup.notFound },
      permission,
      inserted: w.inserted,
      aliasesAfter: w.total,
      quota,
      ...(purged !== undefined && { purged }),
    });
    const write = (q: Queryable) =>
      insertAlias(q, ctx, lookup, input.AliasName, permission?.allowed === true, quota, now);
    // With a quota the count may come out over it: then the insert is rolled back.
    const written =
      quota === 0
        ? await write(db)
        : await transactionIf(db, write, (w) => decideCreateAlias(factsOf(w)) === 'created');
    const outcome = decideCreateAlias(factsOf(written));
    if (outcome !== PURGE_AND_RETRY) {
      decided(outcome);
      return toAlias(ctx, input.AliasName, written.keyId!);
    }
    purged = await purgeScope(db, ctx, now);
    if (!purged) decided(decideCreateAlias({ ...factsOf(written), purged }));
  }
}

export const createAlias = defineOperation({
  name: 'CreateAlias',
  input: CreateAliasInput,
  run,
  rpc: nothing,
  rest: [
    {
      method: 'POST',
      url: '/v1/aliases',
      summary: 'Create an alias (CreateAlias)',
      tags: ['Aliases'],
      status: 201,
      querystring: RegionQuery,
      body: CreateAliasInput,
      response: AliasResponse,
      present: oneAlias,
    },
  ],
});
