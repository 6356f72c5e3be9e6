import { z } from 'zod';
import { publicKeyPem } from '../domain/crypto/asymmetric.js';
import { AnyKeyId, DryRun } from '../domain/params.js';
import { AsymmetricIds, idsOf, KeyVersionId, usableVersion } from './asymmetric-key.js';
import { decided, defineOperation, unlessDryRun } from './operation.js';
import { AnyKeyPath, RegionQuery, RequestId } from './presenters.js';

// GetPublicKey (spec 14.2): the PEM of a version's public key, for either usage.

export const GetPublicKeyInput = z.object({ KeyId: AnyKeyId, KeyVersionId, DryRun });

export const GetPublicKeyResult = z.object({
  ...AsymmetricIds,
  PublicKey: z.string().describe('PEM of the DER SubjectPublicKeyInfo, with a final newline'),
});
type GetPublicKeyResult = z.infer<typeof GetPublicKeyResult>;

export const getPublicKey = defineOperation({
  name: 'GetPublicKey',
  input: GetPublicKeyInput,
  async run(deps, ctx, input): Promise<GetPublicKeyResult> {
    const version = await usableVersion(deps, ctx, 'GetPublicKey', input.KeyId, input.KeyVersionId, {});
    decided(unlessDryRun(input.DryRun, 'done'));
    return { ...idsOf(version), PublicKey: publicKeyPem(version.publicKey) };
  },
  rpc: (r) => ({ KeyId: r.KeyId, KeyVersionId: r.KeyVersionId, PublicKey: r.PublicKey }),
  rest: [
    {
      method: 'GET',
      url: '/v1/keys/:KeyId/public-key',
      summary: "A key version's public key as PEM (GetPublicKey)",
      tags: ['Asymmetric'],
      status: 200,
      params: AnyKeyPath,
      querystring: RegionQuery.extend({
        KeyVersionId: z.string().describe('A version of the key; required'),
        DryRun: z.enum(['true', 'false']).optional(),
      }),
      response: GetPublicKeyResult.extend({ RequestId }),
      present: (r) => ({ KeyId: r.KeyId, KeyVersionId: r.KeyVersionId, PublicKey: r.PublicKey }),
    },
  ],
});
