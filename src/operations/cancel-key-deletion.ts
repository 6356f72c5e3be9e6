import { changeKey, KeyOnlyInput, lifecycleRoute, type NextKey } from './key-change.js';
import { defineOperation } from './operation.js';
import { nothing } from './presenters.js';

// CancelKeyDeletion (spec section 3): the key leaves PendingDeletion; one still waiting
// for its imported material (none imported yet, or deleted or expired since) goes back to
// waiting (spec 17.1: the stored flag decides, not PrimaryKeyVersion, which stays).

export const nextCancelKeyDeletion: NextKey = (key) => ({
  state: key.has_material ? 'Enabled' : 'PendingImport',
  deleteDate: null,
});

export const cancelKeyDeletion = defineOperation({
  name: 'CancelKeyDeletion',
  input: KeyOnlyInput,
  run: (deps, ctx, input) => changeKey(deps, ctx, 'CancelKeyDeletion', input.KeyId, nextCancelKeyDeletion),
  rpc: nothing,
  rest: [lifecycleRoute('cancel-deletion', 'Cancel a scheduled deletion (CancelKeyDeletion)')],
});
