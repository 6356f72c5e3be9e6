import { changeKey, KeyOnlyInput, lifecycleRoute, type NextKey } from './key-change.js';
import { defineOperation } from './operation.js';
import { nothing } from './presenters.js';

// DisableKey (spec section 3): the key becomes Disabled; the state table (key-state.ts) says
// which states refuse it.

export const nextDisableKey: NextKey = () => ({ state: 'Disabled' });

export const disableKey = defineOperation({
  name: 'DisableKey',
  input: KeyOnlyInput,
  run: (deps, ctx, input) => changeKey(deps, ctx, 'DisableKey', input.KeyId, nextDisableKey),
  rpc: nothing,
  rest: [lifecycleRoute('disable', 'Disable a key (DisableKey)')],
});
