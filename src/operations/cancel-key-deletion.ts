import { changeKey, KeyOnlyInput, lifecycleRoute, type NextKey } from './key-change.js';
import { defineOperation } from './operation.js';
import { nothing } from './presenters.js';

// CancelKeyDeletion (spec section 3): the key leaves PendingDeletion; one still waiting
// for its imported material goes back to waiting.

export const nextCancelKeyDeletion: NextKey = (key) => ({
  state: key.origin === 'EXTERNAL' && key.primary_key_version === null ? 'PendingImport' : 'Enabled',
  deleteDate: null,
});

export const cancelKeyDeletion = defineOperation({
  name: 'CancelKeyDeletion',
  input: KeyOnlyInput,
  run: (deps, ctx, input) => changeKey(deps, ctx, 'CancelKeyDeletion', input.KeyId, nextCancelKeyDeletion),
  rpc: nothing,
  rest: [lifecycleRoute('cancel-deletion', 'Cancel a scheduled deletion (CancelKeyDeletion)')],
});
