import { z } from 'zod';
import { verifyDigest } from '../domain/crypto/asymmetric.js';
import { base64Param } from '../domain/crypto/crypto.schemas.js';
import { AnyKeyId, because, DryRun } from '../domain/params.js';
import { AsymmetricIds, Digest, idsOf, KeyVersionId, SignAlgorithmParam, usableVersion } from './asymmetric-key.js';
import { digestRefusal } from './asymmetric-sign.js';
import { decided, defineOperation, unlessDryRun } from './operation.js';
import { AnyKeyPath, RegionQuery, RequestId } from './presenters.js';

// AsymmetricVerify (spec 14.3): a wrong signature is Value false with status 200.

export const AsymmetricVerifyInput = z.object({
  KeyId: AnyKeyId,
  KeyVersionId,
  Algorithm: SignAlgorithmParam,
  Digest,
  Value: because(base64Param(4096), 'it must be the standard Base64 of a signature').describe(
    'Standard Base64 of the signature to check',
  ),
  DryRun,
});

export const AsymmetricVerifyResult = z.object({
  ...AsymmetricIds,
  Value: z.boolean().describe('Whether the signature is valid'),
});
type AsymmetricVerifyResult = z.infer<typeof AsymmetricVerifyResult>;

export const asymmetricVerify = defineOperation({
  name: 'AsymmetricVerify',
  input: AsymmetricVerifyInput,
  async run(deps, ctx, input): Promise<AsymmetricVerifyResult> {
    const version = await usableVersion(deps, ctx, 'AsymmetricVerify', input.KeyId, input.KeyVersionId, {
      usage: 'SIGN/VERIFY',
      algorithm: input.Algorithm,
    });
    decided(digestRefusal(input.Digest));
    decided(unlessDryRun(input.DryRun, 'verify'));
    const valid = verifyDigest(version.spec, input.Algorithm, version.publicKey, input.Digest, input.Value);
    return { ...idsOf(version), Value: valid };
  },
  rpc: (r) => ({ KeyId: r.KeyId, KeyVersionId: r.KeyVersionId, Value: r.Value }),
  rest: [
    {
      method: 'POST',
      url: '/v1/keys/:KeyId/verify',
      summary: 'Verify a signature of a digest (AsymmetricVerify)',
      tags: ['Asymmetric'],
      status: 200,
      params: AnyKeyPath,
      querystring: RegionQuery,
      body: AsymmetricVerifyInput.omit({ KeyId: true }).extend({ DryRun: z.boolean().optional() }),
      response: AsymmetricVerifyResult.extend({ RequestId }),
      present: (r) => ({ KeyId: r.KeyId, KeyVersionId: r.KeyVersionId, Value: r.Value }),
    },
  ],
});
