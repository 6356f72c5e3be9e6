import { z } from 'zod';
import { intParam, KeyOnlyId } from '../domain/params.js';
import { KmsError } from '../errors.js';
import { changeKey, lifecycleRoute, type NextKey } from './key-change.js';
import { defineOperation } from './operation.js';
import { nothing } from './presenters.js';

// ScheduleKeyDeletion (spec section 3): the key waits PendingWindowInDays, then is purged
// with its versions and aliases. A key under deletion protection is refused (section 19).

const DAY_MS = 86_400_000;

export const ScheduleKeyDeletionInput = z.object({
  KeyId: KeyOnlyId,
  PendingWindowInDays: intParam(7, 366, 'days').describe('Days until the key is deleted, 7 to 366.'),
});

/** A protected key is not scheduled (spec section 19), whatever its state allows. */
export const nextScheduleKeyDeletion =
  (days: number): NextKey =>
  (key, now) =>
    key.deletion_protection
      ? new KmsError('Rejected.StateModifiedFailed')
      : { state: 'PendingDeletion', deleteDate: new Date(now.getTime() + days * DAY_MS) };

export const scheduleKeyDeletion = defineOperation({
  name: 'ScheduleKeyDeletion',
  input: ScheduleKeyDeletionInput,
  run: (deps, ctx, input) =>
    changeKey(deps, ctx, 'ScheduleKeyDeletion', input.KeyId, nextScheduleKeyDeletion(input.PendingWindowInDays)),
  rpc: nothing,
  rest: [
    lifecycleRoute(
      'schedule-deletion',
      'Schedule the deletion of a key (ScheduleKeyDeletion)',
      ScheduleKeyDeletionInput.omit({ KeyId: true }),
    ),
  ],
});
