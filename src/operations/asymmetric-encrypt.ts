import { z } from 'zod';
import {
  type EncryptAlgorithm,
  encryptWithPublicKey,
  maxPlaintextBytes,
  modulusBytes,
} from '../domain/crypto/asymmetric.js';
import { encodeBase64 } from '../domain/crypto/ciphertext.js';
import { Plaintext } from '../domain/crypto/crypto.schemas.js';
import { AnyKeyId, DryRun } from '../domain/params.js';
import { invalidParameter } from '../errors.js';
import {
  AsymmetricIds,
  EncryptAlgorithmParam,
  idsOf,
  KeyVersionId,
  type UsableVersion,
  usableVersion,
} from './asymmetric-key.js';
import { type Decision, decided, defineOperation, unlessDryRun } from './operation.js';
import { AnyKeyPath, RegionQuery, RequestId } from './presenters.js';

// AsymmetricEncrypt (spec 14.4): RSAES-OAEP or SM2PKE under a version's public key.

export const AsymmetricEncryptInput = z.object({
  KeyId: AnyKeyId,
  KeyVersionId,
  Algorithm: EncryptAlgorithmParam,
  Plaintext,
  DryRun,
});

/** The largest plaintext of the algorithm with this key (spec 14.1's table). */
export const plaintextLimit = (algorithm: EncryptAlgorithm, v: UsableVersion) =>
  maxPlaintextBytes(algorithm, algorithm === 'SM2PKE' ? 0 : modulusBytes(v.publicKey));

/** Step 9: 1 byte up to the algorithm's limit. */
export function plaintextRefusal(algorithm: EncryptAlgorithm, v: UsableVersion, plaintext: Buffer): Decision<'fits'> {
  const limit = plaintextLimit(algorithm, v);
  return plaintext.length >= 1 && plaintext.length <= limit
    ? 'fits'
    : invalidParameter('Plaintext', `${algorithm} with a ${v.spec} key takes 1 to ${limit} bytes`);
}

export const AsymmetricEncryptResult = z.object({
  ...AsymmetricIds,
  CiphertextBlob: z.string().describe('Standard Base64 of the ciphertext'),
});
type AsymmetricEncryptResult = z.infer<typeof AsymmetricEncryptResult>;

export const asymmetricEncrypt = defineOperation({
  name: 'AsymmetricEncrypt',
  input: AsymmetricEncryptInput,
  async run(deps, ctx, input): Promise<AsymmetricEncryptResult> {
    const version = await usableVersion(deps, ctx, 'AsymmetricEncrypt', input.KeyId, input.KeyVersionId, {
      usage: 'ENCRYPT/DECRYPT',
      algorithm: input.Algorithm,
    });
    decided(plaintextRefusal(input.Algorithm, version, input.Plaintext));
    decided(unlessDryRun(input.DryRun, 'encrypt'));
    const ciphertext = encryptWithPublicKey(input.Algorithm, version.publicKey, input.Plaintext);
    return { ...idsOf(version), CiphertextBlob: encodeBase64(ciphertext) };
  },
  rpc: (r) => ({ KeyId: r.KeyId, KeyVersionId: r.KeyVersionId, CiphertextBlob: r.CiphertextBlob }),
  rest: [
    {
      method: 'POST',
      url: '/v1/keys/:KeyId/asymmetric-encrypt',
      summary: "Encrypt with a key version's public key (AsymmetricEncrypt)",
      tags: ['Asymmetric'],
      status: 200,
      params: AnyKeyPath,
      querystring: RegionQuery,
      body: AsymmetricEncryptInput.omit({ KeyId: true }).extend({ DryRun: z.boolean().optional() }),
      response: AsymmetricEncryptResult.extend({ RequestId }),
      present: (r) => ({ KeyId: r.KeyId, KeyVersionId: r.KeyVersionId, CiphertextBlob: r.CiphertextBlob }),
    },
  ],
});
