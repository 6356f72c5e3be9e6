import { randomBytes, randomUUID } from 'node:crypto';
import { KmsError } from '../../errors.js';
import type { CallContext } from '../context.js';
import { wrapKeyMaterial } from '../crypto/master-key.js';
import type { ServiceDeps } from '../deps.js';
import { authorize } from '../iam/authorizer.js';
import { keyArn, keyContainerArn } from '../scope.js';
import { toKeyMetadata } from './key-metadata.js';
import { assertKeyState, type KeyOperation } from './key-state.js';
import * as repo from './keys.repo.js';
import type { CreateKeyInput, KeyMetadata, KeySummary } from './keys.schemas.js';
import { resolveKey } from './resolver.js';

export interface Page<T> {
  PageNumber: number;
  PageSize: number;
  TotalCount: number;
  items: T[];
}

/** The aad that binds wrapped material to its key and version row. */
export const materialAad = (keyId: string, versionId: string) => `${keyId}/${versionId}`;

export function createKeysService(deps: ServiceDeps) {
  const { db, clock } = deps;

  async function createKey(ctx: CallContext, input: CreateKeyInput): Promise<KeyMetadata> {
    authorize(ctx, 'kms:CreateKey', [keyContainerArn(ctx)]);
    const now = clock();
    const keyId = randomUUID();
    const external = input.Origin === 'EXTERNAL';
    const versionId = external ? null : randomUUID();
    const row = await db.transaction(async (tx) => {
      await repo.purgeExpired(tx, ctx, now);
      if (!(await repo.reserveQuota(tx, ctx, 'key_count', deps.quotas.keys))) {
        throw new KmsError('Rejected.LimitExceeded');
      }
      const created = await repo.insertKey(tx, ctx, {
        id: keyId,
        state: external ? 'PendingImport' : 'Enabled',
        keySpec: input.KeySpec,
        keyUsage: input.KeyUsage,
        origin: input.Origin,
        protectionLevel: input.ProtectionLevel,
        description: input.Description,
        creator: ctx.principalName,
        creationDate: now,
        primaryKeyVersion: versionId,
      });
      if (versionId) {
        const material = randomBytes(32);
        await repo.insertKeyVersion(tx, ctx, {
          keyId,
          id: versionId,
          wrappedMaterial: wrapKeyMaterial(deps.masterKey, material, materialAad(keyId, versionId)),
          creationDate: now,
        });
        material.fill(0);
      }
      return created;
    });
    return toKeyMetadata(row);
  }

  async function describeKey(ctx: CallContext, keyId: string): Promise<KeyMetadata> {
    const key = await resolveKey(db, ctx, keyId, clock());
    authorize(ctx, 'kms:DescribeKey', [keyArn(ctx, key.id)]);
    assertKeyState('DescribeKey', key.state);
    return toKeyMetadata(key);
  }

  async function listKeys(ctx: CallContext, page: { PageNumber: number; PageSize: number }): Promise<Page<KeySummary>> {
    authorize(ctx, 'kms:ListKeys', [keyContainerArn(ctx)]);
    const now = clock();
    const { total, ids } = await repo.readPurged(db, ctx, now, () =>
      repo.listKeys(db, ctx, page.PageSize, (page.PageNumber - 1) * page.PageSize, now),
    );
    return {
      PageNumber: page.PageNumber,
      PageSize: page.PageSize,
      TotalCount: total,
      items: ids.map((id) => ({ KeyId: id, KeyArn: keyArn(ctx, id) })),
    };
  }

  /**
   * The lifecycle operations share one shape: lock the key, check RAM and state, change
   * it. `next` returns the change (or null for "nothing to change").
   */
  async function changeKey(
    ctx: CallContext,
    operation: KeyOperation,
    keyId: string,
    next: (key: repo.KeyRow, now: Date) => Parameters<typeof repo.updateKey>[3],
  ): Promise<KeyMetadata> {
    const now = clock();
    const row = await db.transaction(async (tx) => {
      await repo.purgeExpired(tx, ctx, now);
      const key = await resolveKey(tx, ctx, keyId, now, { lock: 'update' });
      authorize(ctx, `kms:${operation}`, [keyArn(ctx, key.id)]);
      assertKeyState(operation, key.state);
      return repo.updateKey(tx, ctx, key.id, next(key, now));
    });
    return toKeyMetadata(row);
  }

  const DAY_MS = 86_400_000;

  return {
    createKey,
    describeKey,
    listKeys,
    updateKeyDescription: (ctx: CallContext, keyId: string, description: string) =>
      changeKey(ctx, 'UpdateKeyDescription', keyId, () => ({ description })),
    enableKey: (ctx: CallContext, keyId: string) => changeKey(ctx, 'EnableKey', keyId, () => ({ state: 'Enabled' })),
    disableKey: (ctx: CallContext, keyId: string) => changeKey(ctx, 'DisableKey', keyId, () => ({ state: 'Disabled' })),
    scheduleKeyDeletion: (ctx: CallContext, keyId: string, days: number) =>
      changeKey(ctx, 'ScheduleKeyDeletion', keyId, (_key, now) => ({
        state: 'PendingDeletion',
        deleteDate: new Date(now.getTime() + days * DAY_MS),
      })),
    cancelKeyDeletion: (ctx: CallContext, keyId: string) =>
      // A key still waiting for its imported material goes back to waiting.
      changeKey(ctx, 'CancelKeyDeletion', keyId, (key) => ({
        state: key.origin === 'EXTERNAL' && key.primary_key_version === null ? 'PendingImport' : 'Enabled',
        deleteDate: null,
      })),
  };
}

export type KeysService = ReturnType<typeof createKeysService>;
