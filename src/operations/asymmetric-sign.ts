import { z } from 'zod';
import { signDigest } from '../domain/crypto/asymmetric.js';
import { encodeBase64 } from '../domain/crypto/ciphertext.js';
import { AnyKeyId, DryRun } from '../domain/params.js';
import { invalidParameter } from '../errors.js';
import {
  AsymmetricIds,
  Digest,
  idsOf,
  KeyVersionId,
  SignAlgorithmParam,
  usableVersion,
  withKeyPair,
} from './asymmetric-key.js';
import { type Decision, decided, defineOperation, unlessDryRun } from './operation.js';
import { AnyKeyPath, RegionQuery, RequestId } from './presenters.js';

// AsymmetricSign (spec 14.3): signs a given 32-byte digest, never hashing again.

export const DIGEST_BYTES = 32;

export const AsymmetricSignInput = z.object({
  KeyId: AnyKeyId,
  KeyVersionId,
  Algorithm: SignAlgorithmParam,
  Digest,
  DryRun,
});

/** Every algorithm of the table takes a 32-byte digest (step 9). */
export const digestRefusal = (digest: Buffer): Decision<'fits'> =>
  digest.length === DIGEST_BYTES ? 'fits' : invalidParameter('Digest', `it must be a ${DIGEST_BYTES}-byte digest`);

export const AsymmetricSignResult = z.object({ ...AsymmetricIds, Value: z.string().describe('Base64 signature') });
type AsymmetricSignResult = z.infer<typeof AsymmetricSignResult>;

export const asymmetricSign = defineOperation({
  name: 'AsymmetricSign',
  input: AsymmetricSignInput,
  async run(deps, ctx, input): Promise<AsymmetricSignResult> {
    const version = await usableVersion(deps, ctx, 'AsymmetricSign', input.KeyId, input.KeyVersionId, {
      usage: 'SIGN/VERIFY',
      algorithm: input.Algorithm,
    });
    decided(digestRefusal(input.Digest));
    decided(unlessDryRun(input.DryRun, 'sign'));
    const signature = withKeyPair(deps.masterKey, version, (pair) =>
      signDigest(version.spec, input.Algorithm, pair, input.Digest),
    );
    return { ...idsOf(version), Value: encodeBase64(signature) };
  },
  rpc: (r) => ({ KeyId: r.KeyId, KeyVersionId: r.KeyVersionId, Value: r.Value }),
  rest: [
    {
      method: 'POST',
      url: '/v1/keys/:KeyId/sign',
      summary: 'Sign a digest with a key version (AsymmetricSign)',
      tags: ['Asymmetric'],
      status: 200,
      params: AnyKeyPath,
      querystring: RegionQuery,
      body: AsymmetricSignInput.omit({ KeyId: true }).extend({ DryRun: z.boolean().optional() }),
      response: AsymmetricSignResult.extend({ RequestId }),
      present: (r) => ({ KeyId: r.KeyId, KeyVersionId: r.KeyVersionId, Value: r.Value }),
    },
  ],
});
