import { presentSealed } from './encrypt.js';
import { DataKeyInput, generateDataKeyUnder } from './generate-data-key.js';
import { defineOperation } from './operation.js';

// GenerateDataKeyWithoutPlaintext (spec section 4): GenerateDataKey without the clear copy.

export const generateDataKeyWithoutPlaintext = defineOperation({
  name: 'GenerateDataKeyWithoutPlaintext',
  input: DataKeyInput,
  run: (deps, ctx, input) => generateDataKeyUnder(deps, ctx, input, false),
  rpc: presentSealed,
  // REST: one route serves both data key operations (generate-data-key-rest.ts).
  rest: [],
});
