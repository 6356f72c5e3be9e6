import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Permission } from '../domain/context.js';
import {
  newWrappingKeyPair,
  WRAPPING_ALGORITHMS,
  WRAPPING_KEY_SPECS,
  type WrappingKeySpec,
  wrappingFits,
} from '../domain/crypto/import-wrapping.js';
import { insertImportToken, notExternalRefusal, TOKEN_LIFETIME_MS } from '../domain/keys/imported-material.js';
import { formatDate } from '../domain/keys/key-metadata.js';
import type { KeyRow } from '../domain/keys/key-rows.js';
import { type Found, findKey } from '../domain/keys/resolver.js';
import { KeyOnlyId, oneOf, withCode } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { invalidParameter, KmsError } from '../errors.js';
import { type Decision, decided, defineOperation, keyAccessRefusal } from './operation.js';
import { KeyPath, RegionQuery, RequestId } from './presenters.js';

// GetParametersForImport (spec 17.2): a new wrapping key pair and an import token for an
// EXTERNAL key, in any state. The pair is made after every check and before the token is
// stored; the token is bound to the key, the wrapping spec, the algorithm and the pair.

export const GetParametersForImportInput = z
  .object({
    KeyId: KeyOnlyId,
    WrappingAlgorithm: oneOf(WRAPPING_ALGORITHMS as [string, ...string[]]),
    WrappingKeySpec: oneOf(WRAPPING_KEY_SPECS as [string, ...string[]]),
  })
  .refine((i) => wrappingFits(i.WrappingKeySpec as WrappingKeySpec, i.WrappingAlgorithm as never), {
    path: ['WrappingAlgorithm'],
    message: 'not for this spec',
    ...withCode(
      'InvalidParameter',
      'RSA_2048 takes RSAES_PKCS1_V1_5, RSAES_OAEP_SHA_1 or RSAES_OAEP_SHA_256; EC_SM2 takes SM2PKE',
    ),
  });

export interface ImportParameters {
  KeyId: string;
  ImportToken: string;
  PublicKey: string;
  TokenExpireTime: string;
}

/** Found, allowed, any state; then the key must be EXTERNAL, and SM2 wrapping needs an HSM key. */
export function decideGetParametersForImport(
  found: Found,
  permission: Permission | undefined,
  wrappingKeySpec: string,
): Decision<KeyRow> {
  const refused = keyAccessRefusal('GetParametersForImport', found, permission);
  if (refused) return refused;
  const key = found.key!;
  const origin = notExternalRefusal(key);
  if (origin) return origin;
  if (wrappingKeySpec === 'EC_SM2' && key.protection_level !== 'HSM') {
    return invalidParameter('WrappingKeySpec', 'EC_SM2 wraps key material only for keys with ProtectionLevel HSM');
  }
  return key;
}

export const getParametersForImport = defineOperation({
  name: 'GetParametersForImport',
  input: GetParametersForImportInput,
  async run({ db, clock, masterKey }, ctx, input): Promise<ImportParameters> {
    const now = clock();
    const found = await findKey(db, ctx, input.KeyId, now);
    const permission = found.key && ctx.permission('kms:GetParametersForImport', [keyArn(ctx, found.key.id)]);
    const key = decided(decideGetParametersForImport(found, permission, input.WrappingKeySpec));
    const spec = input.WrappingKeySpec as WrappingKeySpec;
    const pair = await newWrappingKeyPair(spec);
    const token = randomBytes(48).toString('base64');
    const expiresAt = new Date(now.getTime() + TOKEN_LIFETIME_MS);
    try {
      const stored = await insertImportToken(db, masterKey, ctx, {
        token,
        key_id: key.id,
        wrapping_key_spec: spec,
        wrapping_algorithm: input.WrappingAlgorithm as never,
        privateKey: pair.privateKey,
        expires_at: expiresAt,
      });
      // The key was purged between the lookup and the insert.
      if (!stored) throw new KmsError('Forbidden.KeyNotFound');
    } finally {
      pair.privateKey.fill(0);
    }
    return {
      KeyId: key.id,
      ImportToken: token,
      PublicKey: pair.publicKey.toString('base64'),
      TokenExpireTime: formatDate(expiresAt),
    };
  },
  rpc: (r) => ({ ...r }),
  rest: [
    {
      method: 'POST',
      url: '/v1/keys/:KeyId/import-parameters',
      summary: 'Get a wrapping public key and an import token for an EXTERNAL key (GetParametersForImport)',
      tags: ['Import'],
      status: 200,
      params: KeyPath,
      querystring: RegionQuery,
      body: z.object({
        WrappingAlgorithm: z.enum(WRAPPING_ALGORITHMS as [string, ...string[]]),
        WrappingKeySpec: z.enum(WRAPPING_KEY_SPECS as [string, ...string[]]),
      }),
      response: z.object({
        RequestId,
        KeyId: z.string(),
        ImportToken: z.string().describe('Opaque; valid for 24 hours, any number of times, for this key only'),
        PublicKey: z.string().describe('Standard Base64 of the DER SubjectPublicKeyInfo that wraps the material'),
        TokenExpireTime: z.string(),
      }),
      present: (r) => ({ ...r }),
    },
  ],
});
