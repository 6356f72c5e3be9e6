import { z } from 'zod';
import { DataKeyResult } from '../domain/crypto/crypto.schemas.js';
import { oneOf } from '../domain/params.js';
import { DataKeyFields, dataKeyRequest, generateDataKeyUnder } from './generate-data-key.js';
import { defineOperation } from './operation.js';
import { AnyKeyPath, RegionQuery, RequestId } from './presenters.js';

// The REST face's one route for both data key operations (spec section 8):
// `?plaintext=false` asks for GenerateDataKeyWithoutPlaintext. No RPC action.

export const RestDataKeyInput = DataKeyFields.extend({
  plaintext: oneOf(['true', 'false']).default('true'),
})
  .loose()
  .transform((i) => ({ ...dataKeyRequest(i), withPlaintext: i.plaintext === 'true' }));

export const generateDataKeyRest = defineOperation({
  name: 'GenerateDataKeyRest',
  input: RestDataKeyInput,
  run: (deps, ctx, input) => generateDataKeyUnder(deps, ctx, input, input.withPlaintext),
  rest: [
    {
      method: 'POST',
      url: '/v1/keys/:KeyId/generate-data-key',
      summary: 'Generate a data key (GenerateDataKey; with ?plaintext=false, GenerateDataKeyWithoutPlaintext)',
      tags: ['Crypto'],
      status: 200,
      params: AnyKeyPath,
      querystring: RegionQuery.extend({
        plaintext: z
          .enum(['true', 'false'])
          .optional()
          .describe('false: GenerateDataKeyWithoutPlaintext, the answer has no Plaintext'),
      }),
      body: DataKeyFields.omit({ KeyId: true }).extend({ DryRun: z.boolean().optional() }).optional(),
      response: DataKeyResult.extend({ RequestId }),
      present: (r) => r,
    },
  ],
});
