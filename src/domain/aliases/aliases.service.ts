import { invalidParameter, KmsError } from '../../errors.js';
import type { CallContext } from '../context.js';
import type { ServiceDeps } from '../deps.js';
import { authorize, denial } from '../iam/authorizer.js';
import { assertKeyState } from '../keys/key-state.js';
import * as keysRepo from '../keys/keys.repo.js';
import type { Page } from '../keys/keys.service.js';
import { keyLookup, type ResolvedKey, resolveKey, resolveKeys } from '../keys/resolver.js';
import { aliasArn, aliasContainerArn, keyArn, type Scope } from '../scope.js';
import * as repo from './aliases.repo.js';
import type { Alias } from './aliases.schemas.js';

// Every alias rule of spec section 2, in the order of checks of section 10:
// resolution (404), RAM (403), key state (409), same usage, uniqueness, quota.

const toAlias = (scope: Scope, row: repo.AliasRow): Alias => ({
  KeyId: row.key_id,
  AliasName: row.alias_name,
  AliasArn: aliasArn(scope, row.alias_name),
});

/** Attempts of an optimistic write before it gives up (only endless interference gets there). */
const ATTEMPTS = 20;

/** The RAM check, decided now and raised later: the order of checks puts it after resolution. */
function permission(ctx: CallContext, action: string, resources: string[]): KmsError | undefined {
  const p = ctx.permission(action, resources);
  return p.allowed ? undefined : denial(p);
}

export function createAliasesService(deps: ServiceDeps) {
  const { db, clock } = deps;
  const quota = deps.quotas.aliases;

  // The writes take one to three statements and no transaction of their own (a round trip
  // to the database costs more than the work here): CreateAlias decides everything in one
  // statement; UpdateAlias and DeleteAlias read, check, then write only if what they read
  // still holds, and read again if not.

  async function createAlias(ctx: CallContext, aliasName: string, keyId: string): Promise<Alias> {
    // Aliases of keys past their deletion date neither hold a name nor count towards the
    // quota. They are purged only when they stand in the way: then once, and again from the top.
    for (let attempt = 0; ; attempt++) {
      const now = clock();
      const lookup = keyLookup(ctx, keyId, now, { lock: 'share' });
      // CreateAlias takes no alias as KeyId (the parameter schema refuses it), so the key id
      // is known before the lookup.
      if (lookup.keyId === undefined) throw new KmsError('Unsupported.Alias');
      const denied = permission(ctx, 'kms:CreateAlias', [aliasArn(ctx, aliasName), keyArn(ctx, lookup.keyId)]);
      const purge = async () => (await db.transaction((tx) => keysRepo.purgeExpired(tx, ctx, now))) > 0;
      let overQuota = false;
      const created =
        quota === 0
          ? await repo.createAliasInOneStatement(db, lookup, aliasName, !denied, quota)
          : await db
              .transaction(async (tx) => {
                const r = await repo.createAliasInOneStatement(tx, lookup, aliasName, !denied, quota);
                if (r?.inserted && (r.total ?? Number.POSITIVE_INFINITY) > quota) {
                  overQuota = true;
                  throw new KmsError('Rejected.LimitExceeded'); // rolls the insert back
                }
                return r;
              })
              .catch(async (err: unknown) => {
                if (overQuota && attempt === 0 && (await purge())) return 'again' as const;
                throw err;
              });
      if (created === 'again') continue;
      if (!created) throw new KmsError(lookup.notFound);
      if (denied) throw denied;
      assertKeyState('CreateAlias', created.state);
      if (created.inserted) return toAlias(ctx, { alias_name: aliasName, key_id: created.keyId });
      if (attempt > 0 || !(await purge())) throw new KmsError('AliasAlreadyExists');
    }
  }

  async function updateAlias(ctx: CallContext, aliasName: string, keyId: string): Promise<Alias> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const now = clock();
      // An alias of a key past its deletion date is gone, as the resolver sees it.
      const [current, target] = (await resolveKeys(db, ctx, [aliasName, keyId], now)) as [ResolvedKey, ResolvedKey];
      authorize(ctx, 'kms:UpdateAlias', [aliasArn(ctx, aliasName), keyArn(ctx, current.id), keyArn(ctx, target.id)]);
      // Checked even when the alias already points at the target (spec section 10, step 8).
      assertKeyState('UpdateAlias', target.state);
      if (target.key_usage !== current.key_usage) throw invalidParameter('KeyId');
      const done =
        target.id === current.id ||
        (await repo.repointAliasIfUnchanged(
          db,
          keyLookup(ctx, target.id, now, { lock: 'share' }),
          aliasName,
          current.id,
          current.key_usage,
        ));
      if (done) return toAlias(ctx, { alias_name: aliasName, key_id: target.id });
    }
    throw new KmsError('ServiceUnavailableTemporary');
  }

  async function deleteAlias(ctx: CallContext, aliasName: string): Promise<void> {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const key = await resolveKey(db, ctx, aliasName, clock());
      authorize(ctx, 'kms:DeleteAlias', [aliasArn(ctx, aliasName), keyArn(ctx, key.id)]);
      if (await repo.deleteAliasIfUnchanged(db, ctx, aliasName, key.id, quota)) return;
    }
    throw new KmsError('ServiceUnavailableTemporary');
  }

  /** The REST read of one alias; RAM checks kms:ListAliases on the alias container. */
  async function getAlias(ctx: CallContext, aliasName: string): Promise<Alias> {
    // The resolver finds the alias's key only if it is live: an alias of a key past its
    // deletion date is gone here before any purge, as for the other alias operations.
    const key = await resolveKey(db, ctx, aliasName, clock());
    authorize(ctx, 'kms:ListAliases', [aliasContainerArn(ctx)]);
    return toAlias(ctx, { alias_name: aliasName, key_id: key.id });
  }

  async function listAliases(ctx: CallContext, page: { PageNumber: number; PageSize: number }): Promise<Page<Alias>> {
    authorize(ctx, 'kms:ListAliases', [aliasContainerArn(ctx)]);
    const now = clock();
    const { total, rows } = await keysRepo.readPurged(db, ctx, now, () =>
      repo.listAliases(db, ctx, page.PageSize, (page.PageNumber - 1) * page.PageSize, now),
    );
    return { ...page, TotalCount: total, items: rows.map((r) => toAlias(ctx, r)) };
  }

  async function listAliasesByKeyId(
    ctx: CallContext,
    keyId: string,
    page: { PageNumber: number; PageSize: number },
  ): Promise<Page<Alias>> {
    const lookup = keyLookup(ctx, keyId, clock());
    // The parameter schema refuses an alias here, so the key id is known before the lookup.
    if (lookup.keyId === undefined) throw new KmsError('Unsupported.Alias');
    const denied = permission(ctx, 'kms:ListAliasesByKeyId', [keyArn(ctx, lookup.keyId)]);
    const found = await repo.listAliasesOfKey(db, lookup, page.PageSize, (page.PageNumber - 1) * page.PageSize);
    if (!found) throw new KmsError(lookup.notFound);
    if (denied) throw denied;
    assertKeyState('ListAliasesByKeyId', found.state);
    return { ...page, TotalCount: found.total, items: found.rows.map((r) => toAlias(ctx, r)) };
  }

  return { createAlias, updateAlias, deleteAlias, getAlias, listAliases, listAliasesByKeyId };
}

export type AliasesService = ReturnType<typeof createAliasesService>;
