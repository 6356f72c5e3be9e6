import { changeKey, KeyOnlyInput, lifecycleRoute, type NextKey } from './key-change.js';
import { defineOperation } from './operation.js';
import { nothing } from './presenters.js';

// EnableKey (spec section 3): the key becomes Enabled; the state table (key-state.ts) says
// which states refuse it.

export const nextEnableKey: NextKey = () => ({ state: 'Enabled' });

export const enableKey = defineOperation({
  name: 'EnableKey',
  input: KeyOnlyInput,
  run: (deps, ctx, input) => changeKey(deps, ctx, 'EnableKey', input.KeyId, nextEnableKey),
  rpc: nothing,
  rest: [lifecycleRoute('enable', 'Enable a key (EnableKey)')],
});
