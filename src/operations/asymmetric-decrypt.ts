import { z } from 'zod';
import { AsymmetricInputError, decryptWithPrivateKey, type EncryptAlgorithm } from '../domain/crypto/asymmetric.js';
import { encodeBase64 } from '../domain/crypto/ciphertext.js';
import { base64Param } from '../domain/crypto/crypto.schemas.js';
import type { ServiceDeps } from '../domain/deps.js';
import { AnyKeyId, because, DryRun } from '../domain/params.js';
import { invalidParameter } from '../errors.js';
import {
  AsymmetricIds,
  EncryptAlgorithmParam,
  idsOf,
  KeyVersionId,
  type UsableVersion,
  usableVersion,
  withKeyPair,
} from './asymmetric-key.js';
import { decided, defineOperation, unlessDryRun } from './operation.js';
import { AnyKeyPath, RegionQuery, RequestId } from './presenters.js';

// AsymmetricDecrypt (spec 14.4): a ciphertext that does not decrypt with this key, version
// and algorithm is InvalidParameter naming CiphertextBlob, as Decrypt answers.

export const AsymmetricCiphertextBlob = because(
  base64Param(6144 + 128),
  'it must be standard Base64 of a ciphertext from AsymmetricEncrypt',
).describe('Standard Base64 of the ciphertext (SM2PKE: raw C1C3C2 or the DER form OpenSSL writes)');

export const AsymmetricDecryptInput = z.object({
  KeyId: AnyKeyId,
  KeyVersionId,
  Algorithm: EncryptAlgorithmParam,
  CiphertextBlob: AsymmetricCiphertextBlob,
  DryRun,
});

const CIPHERTEXT_REASON = 'it does not decrypt with this key version and Algorithm';

/** Decrypts with the version's private key (step 11); the caller wipes the plaintext. */
export function decryptWithVersion(
  { masterKey }: ServiceDeps,
  version: UsableVersion,
  algorithm: EncryptAlgorithm,
  ciphertext: Buffer,
  parameter = 'CiphertextBlob',
): Buffer {
  return withKeyPair(masterKey, version, (pair) => {
    try {
      return decryptWithPrivateKey(algorithm, pair, ciphertext);
    } catch (err) {
      if (err instanceof AsymmetricInputError) throw invalidParameter(parameter, CIPHERTEXT_REASON);
      throw err;
    }
  });
}

export const AsymmetricDecryptResult = z.object({
  ...AsymmetricIds,
  Plaintext: z.string().describe('Standard Base64 of the plaintext'),
});
type AsymmetricDecryptResult = z.infer<typeof AsymmetricDecryptResult>;

export const asymmetricDecrypt = defineOperation({
  name: 'AsymmetricDecrypt',
  input: AsymmetricDecryptInput,
  async run(deps, ctx, input): Promise<AsymmetricDecryptResult> {
    const version = await usableVersion(deps, ctx, 'AsymmetricDecrypt', input.KeyId, input.KeyVersionId, {
      usage: 'ENCRYPT/DECRYPT',
      algorithm: input.Algorithm,
    });
    const plaintext = decryptWithVersion(deps, version, input.Algorithm, input.CiphertextBlob);
    try {
      decided(unlessDryRun(input.DryRun, 'decrypted'));
      return { ...idsOf(version), Plaintext: encodeBase64(plaintext) };
    } finally {
      plaintext.fill(0);
    }
  },
  rpc: (r) => ({ KeyId: r.KeyId, KeyVersionId: r.KeyVersionId, Plaintext: r.Plaintext }),
  rest: [
    {
      method: 'POST',
      url: '/v1/keys/:KeyId/asymmetric-decrypt',
      summary: "Decrypt with a key version's private key (AsymmetricDecrypt)",
      tags: ['Asymmetric'],
      status: 200,
      params: AnyKeyPath,
      querystring: RegionQuery,
      body: AsymmetricDecryptInput.omit({ KeyId: true }).extend({ DryRun: z.boolean().optional() }),
      response: AsymmetricDecryptResult.extend({ RequestId }),
      present: (r) => ({ KeyId: r.KeyId, KeyVersionId: r.KeyVersionId, Plaintext: r.Plaintext }),
    },
  ],
});
