import { z } from 'zod';
import type { CallContext, Permission } from '../domain/context.js';
import type { ServiceDeps } from '../domain/deps.js';
import { toKeyMetadata } from '../domain/keys/key-metadata.js';
import type { KeyRow } from '../domain/keys/key-rows.js';
import type { KeyOperation } from '../domain/keys/key-state.js';
import type { KeyMetadata } from '../domain/keys/keys.schemas.js';
import { type KeyChange, updateKey } from '../domain/keys/keys.store.js';
import { purgeExpired } from '../domain/keys/purge.js';
import { type Found, findKey } from '../domain/keys/resolver.js';
import { rotateDueKey } from '../domain/keys/rotation.js';
import { KeyOnlyId } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { KmsError } from '../errors.js';
import { type Decision, decided, keyAccessRefusal } from './operation.js';
import { KeyMetadataResponse, KeyPath, keyMetadata, RegionQuery, type RestRoute } from './presenters.js';

// The key lifecycle operations share one shape (EnableKey, DisableKey,
// ScheduleKeyDeletion, CancelKeyDeletion, UpdateKeyDescription, SetDeletionProtection,
// UpdateRotationPolicy): in one transaction, purge the scope, lock the key (running its due
// rotation), check it, change it. Each module gives only its change.

export const KeyOnlyInput = z.object({ KeyId: KeyOnlyId });

/** The change an operation makes to a key it may change, or the condition that refuses it. */
export type NextKey = (key: KeyRow, now: Date) => Decision<KeyChange>;

export function decideKeyChange(
  operation: KeyOperation,
  found: Found,
  permission: Permission | undefined,
  next: NextKey,
  now: Date,
): Decision<KeyChange> {
  return keyAccessRefusal(operation, found, permission) ?? next(found.key!, now);
}

export async function changeKey(
  { db, clock, masterKey }: ServiceDeps,
  ctx: CallContext,
  operation: KeyOperation,
  keyId: string,
  next: NextKey,
): Promise<KeyMetadata> {
  const now = clock();
  const outcome = await db.transaction(async (tx) => {
    await purgeExpired(tx, ctx, now);
    const found = await findKey(tx, ctx, keyId, now, { lock: 'update', rotateWith: masterKey });
    const permission = found.key && ctx.permission(`kms:${operation}`, [keyArn(ctx, found.key.id)]);
    const change = decideKeyChange(operation, found, permission, next, now);
    // A refusal commits what came before it: the purge and the upkeep of the resolved key
    // (a due rotation, expired material) stand whatever the operation answers (spec 20.7
    // step 6); the operation itself has changed nothing yet.
    if (change instanceof KmsError) return change;
    const changed = await updateKey(tx, ctx, found.key!.id, change);
    // A policy set with its next date already passed rotates at once (spec 15.3). Nothing
    // else rotates here: EnableKey and CancelKeyDeletion leave it to the next request.
    if (typeof change.rotationIntervalS !== 'number') return changed;
    return (await rotateDueKey(tx, masterKey, ctx, changed, now))?.key ?? changed;
  });
  return toKeyMetadata(decided(outcome));
}

/** The REST route of a lifecycle verb: POST /v1/keys/{KeyId}/<verb>, answering the key. */
export const lifecycleRoute = (
  verb: string,
  summary: string,
  body?: RestRoute<KeyMetadata>['body'],
): RestRoute<KeyMetadata> => ({
  method: 'POST',
  url: `/v1/keys/:KeyId/${verb}`,
  summary,
  tags: ['Keys'],
  status: 200,
  params: KeyPath,
  querystring: RegionQuery,
  ...(body && { body }),
  response: KeyMetadataResponse,
  present: keyMetadata,
});
