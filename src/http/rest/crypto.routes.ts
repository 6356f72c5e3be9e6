import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import * as C from '../../domain/crypto/crypto.schemas.js';
import { RegionQuery } from './rest.schemas.js';
import { type RestDeps, restRoute } from './rest-route.js';

// The crypto routes (spec section 8): the RPC operations' fields, as JSON. The response
// schemas are allow-lists, so nothing but these fields can reach the wire.

const tags = ['Crypto'];
const AnyKeyPath = z.object({
  KeyId: z.string().describe('Key id, key ARN, alias name or alias ARN (URL-encoded: alias%2Fapp)'),
});
const RequestId = z.string().describe('Uppercase UUID, also sent as the x-acs-request-id header');

const EncryptResponse = C.EncryptResult.extend({ RequestId });
const DecryptResponse = C.DecryptResult.extend({ RequestId });
const DataKeyResponse = C.DataKeyResult.extend({ RequestId });

export function registerCryptoRoutes(app: FastifyInstance, deps: RestDeps) {
  restRoute(app, deps, {
    method: 'POST',
    url: '/v1/keys/:KeyId/encrypt',
    operation: 'Encrypt',
    summary: 'Encrypt up to 6144 bytes under a key (Encrypt)',
    tags,
    status: 200,
    params: AnyKeyPath,
    querystring: RegionQuery,
    body: C.EncryptFields.omit({ KeyId: true, DryRun: true }),
    response: EncryptResponse,
    present: (r) => r,
  });
  restRoute(app, deps, {
    method: 'POST',
    url: '/v1/keys/:KeyId/generate-data-key',
    operation: 'GenerateDataKeyRest',
    summary: 'Generate a data key (GenerateDataKey; with ?plaintext=false, GenerateDataKeyWithoutPlaintext)',
    tags,
    status: 200,
    params: AnyKeyPath,
    querystring: RegionQuery.extend({
      plaintext: z
        .enum(['true', 'false'])
        .optional()
        .describe('false: GenerateDataKeyWithoutPlaintext, the answer has no Plaintext'),
    }),
    body: C.DataKeyFields.omit({ KeyId: true, DryRun: true }).optional(),
    response: DataKeyResponse,
    present: (r) => r,
  });
  restRoute(app, deps, {
    method: 'POST',
    url: '/v1/decrypt',
    operation: 'Decrypt',
    summary: 'Decrypt a ciphertext blob; the blob names its key (Decrypt)',
    tags,
    status: 200,
    querystring: RegionQuery,
    body: C.DecryptFields.omit({ DryRun: true }),
    response: DecryptResponse,
    present: (r) => r,
  });
}
