import { invalidParameter, KmsError } from '../../errors.js';
import type { CallContext } from '../context.js';
import type { ServiceDeps } from '../deps.js';
import { assertKeyState } from '../keys/key-state.js';
import * as keysRepo from '../keys/keys.repo.js';
import type { Page } from '../keys/keys.service.js';
import { resolveKey } from '../keys/resolver.js';
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

export function createAliasesService(deps: ServiceDeps) {
  const { db, clock } = deps;

  async function createAlias(ctx: CallContext, aliasName: string, keyId: string): Promise<Alias> {
    const now = clock();
    return db.transaction(async (tx) => {
      await keysRepo.purgeExpired(tx, ctx, now);
      // FOR SHARE: a concurrent ScheduleKeyDeletion waits, so the state we check holds.
      const key = await resolveKey(tx, ctx, keyId, now, { lock: 'share' });
      ctx.authorize('kms:CreateAlias', [aliasArn(ctx, aliasName), keyArn(ctx, key.id)]);
      assertKeyState('CreateAlias', key.state);
      if (!(await repo.insertAlias(tx, ctx, aliasName, key.id, now))) throw new KmsError('AliasAlreadyExists');
      if (!(await keysRepo.reserveQuota(tx, ctx, 'alias_count', deps.quotas.aliases))) {
        throw new KmsError('Rejected.LimitExceeded');
      }
      return toAlias(ctx, { alias_name: aliasName, key_id: key.id });
    });
  }

  async function updateAlias(ctx: CallContext, aliasName: string, keyId: string): Promise<Alias> {
    const now = clock();
    return db.transaction(async (tx) => {
      await keysRepo.purgeExpired(tx, ctx, now);
      const alias = await repo.findAliasForUpdate(tx, ctx, aliasName);
      if (!alias) throw new KmsError('Forbidden.AliasNotFound');
      const target = await resolveKey(tx, ctx, keyId, now, { lock: 'share' });
      const current = await resolveKey(tx, ctx, alias.key_id, now);
      ctx.authorize('kms:UpdateAlias', [aliasArn(ctx, aliasName), keyArn(ctx, current.id), keyArn(ctx, target.id)]);
      // Checked even when the alias already points at the target (spec section 10, step 8).
      assertKeyState('UpdateAlias', target.state);
      if (target.key_usage !== current.key_usage) throw invalidParameter('KeyId');
      if (target.id !== current.id) await repo.repointAlias(tx, ctx, aliasName, target.id, now);
      return toAlias(ctx, { alias_name: aliasName, key_id: target.id });
    });
  }

  async function deleteAlias(ctx: CallContext, aliasName: string): Promise<void> {
    const now = clock();
    await db.transaction(async (tx) => {
      await keysRepo.purgeExpired(tx, ctx, now);
      const alias = await repo.findAliasForUpdate(tx, ctx, aliasName);
      if (!alias) throw new KmsError('Forbidden.AliasNotFound');
      ctx.authorize('kms:DeleteAlias', [aliasArn(ctx, aliasName), keyArn(ctx, alias.key_id)]);
      await repo.deleteAlias(tx, ctx, aliasName);
      await keysRepo.releaseQuota(tx, ctx, 'alias_count', deps.quotas.aliases);
    });
  }

  /** The REST read of one alias; RAM checks kms:ListAliases on the alias container. */
  async function getAlias(ctx: CallContext, aliasName: string): Promise<Alias> {
    const now = clock();
    await keysRepo.purgeExpired(db, ctx, now);
    const alias = await repo.findAlias(db, ctx, aliasName);
    if (!alias) throw new KmsError('Forbidden.AliasNotFound');
    ctx.authorize('kms:ListAliases', [aliasContainerArn(ctx)]);
    return toAlias(ctx, alias);
  }

  async function listAliases(ctx: CallContext, page: { PageNumber: number; PageSize: number }): Promise<Page<Alias>> {
    ctx.authorize('kms:ListAliases', [aliasContainerArn(ctx)]);
    await keysRepo.purgeExpired(db, ctx, clock());
    const { total, rows } = await repo.listAliases(db, ctx, page.PageSize, (page.PageNumber - 1) * page.PageSize);
    return { ...page, TotalCount: total, items: rows.map((r) => toAlias(ctx, r)) };
  }

  async function listAliasesByKeyId(
    ctx: CallContext,
    keyId: string,
    page: { PageNumber: number; PageSize: number },
  ): Promise<Page<Alias>> {
    const now = clock();
    await keysRepo.purgeExpired(db, ctx, now);
    const key = await resolveKey(db, ctx, keyId, now);
    ctx.authorize('kms:ListAliasesByKeyId', [keyArn(ctx, key.id)]);
    assertKeyState('ListAliasesByKeyId', key.state);
    const { total, rows } = await repo.listAliasesByKey(
      db,
      ctx,
      key.id,
      page.PageSize,
      (page.PageNumber - 1) * page.PageSize,
    );
    return { ...page, TotalCount: total, items: rows.map((r) => toAlias(ctx, r)) };
  }

  return { createAlias, updateAlias, deleteAlias, getAlias, listAliases, listAliasesByKeyId };
}

export type AliasesService = ReturnType<typeof createAliasesService>;
