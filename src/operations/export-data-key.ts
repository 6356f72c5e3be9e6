import { z } from 'zod';
import {
  encryptWithPublicKey,
  isWrappingPublicKey,
  maxPlaintextBytes,
  type WrappingKeySpec,
} from '../domain/crypto/asymmetric.js';
import { decryptWithKey, encodeBase64, parseCiphertextBlob } from '../domain/crypto/ciphertext.js';
import {
  base64Param,
  CiphertextBlob,
  EncryptionContextParam,
  encryptionContextOf,
} from '../domain/crypto/crypto.schemas.js';
import { canonicalEncryptionContext } from '../domain/crypto/encryption-context.js';
import { withClearMaterial } from '../domain/keys/key-material.js';
import { because, DryRun, oneOf } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { invalidParameter } from '../errors.js';
import { decideDecrypt, findBlobVersion } from './decrypt.js';
import { type Decision, decided, defineOperation, unlessDryRun } from './operation.js';
import { RegionQuery, RequestId } from './presenters.js';

// ExportDataKey (spec 16.3): decrypts a data key's blob as Decrypt does and hands the data
// key out encrypted under the caller's public key (the wrapping parameters of 16.4, shared
// with GenerateAndExportDataKey).

const WRAPPING_ALGORITHMS = { RSA_2048: ['RSAES_OAEP_SHA_256', 'RSAES_OAEP_SHA_1'], EC_SM2: ['SM2PKE'] } as const;
type WrappingAlgorithm = (typeof WRAPPING_ALGORITHMS)[WrappingKeySpec][number];

export const WrappingFields = {
  PublicKeyBlob: because(
    base64Param(2048),
    'it must be standard Base64 of a DER SubjectPublicKeyInfo of the WrappingKeySpec',
  ).describe('Standard Base64 of the DER SubjectPublicKeyInfo to wrap the data key with (not PEM)'),
  WrappingKeySpec: oneOf(['RSA_2048', 'EC_SM2']).describe('RSA_2048 or EC_SM2'),
  WrappingAlgorithm: oneOf(['RSAES_OAEP_SHA_256', 'RSAES_OAEP_SHA_1', 'SM2PKE']).describe(
    'RSAES_OAEP_SHA_256 or RSAES_OAEP_SHA_1 with RSA_2048; SM2PKE with EC_SM2',
  ),
};

export interface Wrapping {
  publicKey: Buffer;
  algorithm: WrappingAlgorithm;
  /** The largest data key the wrapping takes. */
  maxBytes: number;
}

/** The pair and the blob (20.7 step 5): the algorithm fits the spec, the blob is a key of it. */
export function wrappingOf(i: {
  PublicKeyBlob: Buffer;
  WrappingKeySpec: WrappingKeySpec;
  WrappingAlgorithm: string;
}): Wrapping {
  const allowed: readonly string[] = WRAPPING_ALGORITHMS[i.WrappingKeySpec];
  if (!allowed.includes(i.WrappingAlgorithm)) {
    throw invalidParameter('WrappingAlgorithm', `${i.WrappingKeySpec} takes ${allowed.join(' or ')}`);
  }
  if (!isWrappingPublicKey(i.WrappingKeySpec, i.PublicKeyBlob)) {
    throw invalidParameter(
      'PublicKeyBlob',
      i.WrappingKeySpec === 'RSA_2048'
        ? 'it must be a DER SubjectPublicKeyInfo of an RSA key with a 2048-bit modulus'
        : 'it must be a DER SubjectPublicKeyInfo of a key on the SM2 curve',
    );
  }
  const algorithm = i.WrappingAlgorithm as WrappingAlgorithm;
  return { publicKey: i.PublicKeyBlob, algorithm, maxBytes: maxPlaintextBytes(algorithm, 256) };
}

/** The data key under the caller's public key; each call gives different bytes. */
export const exportUnder = (w: Wrapping, dataKey: Buffer) =>
  encodeBase64(encryptWithPublicKey(w.algorithm, w.publicKey, dataKey));

export const ExportDataKeyFields = z.object({
  CiphertextBlob,
  ...WrappingFields,
  EncryptionContext: EncryptionContextParam,
  DryRun,
});
export const ExportDataKeyInput = ExportDataKeyFields.loose().transform((i) => ({
  CiphertextBlob: i.CiphertextBlob,
  wrapping: wrappingOf(i),
  EncryptionContext: encryptionContextOf(i),
  DryRun: i.DryRun,
}));

/** Step 11: a data key too long for the wrapping (choice of 16.3: naming CiphertextBlob). */
export const wrapSizeRefusal = (w: Wrapping, dataKey: Buffer): Decision<'fits'> =>
  dataKey.length <= w.maxBytes
    ? 'fits'
    : invalidParameter('CiphertextBlob', `its plaintext is longer than ${w.algorithm} can wrap (${w.maxBytes} bytes)`);

export const ExportDataKeyResult = z.object({
  KeyId: z.string().describe("The blob's key id"),
  KeyVersionId: z.string().describe("The blob's key version"),
  ExportedDataKey: z.string().describe('Standard Base64 of the data key encrypted under PublicKeyBlob'),
});
type ExportDataKeyResult = z.infer<typeof ExportDataKeyResult>;

export const exportDataKey = defineOperation({
  name: 'ExportDataKey',
  input: ExportDataKeyInput,
  async run({ db, clock, masterKey }, ctx, input): Promise<ExportDataKeyResult> {
    const parsed = parseCiphertextBlob(input.CiphertextBlob);
    const found = await findBlobVersion({ db, clock, masterKey }, ctx, parsed);
    const permission = found && ctx.permission('kms:ExportDataKey', [keyArn(ctx, found.id)]);
    const version = decided(decideDecrypt(found, permission, 'ExportDataKey'));
    const dataKey = withClearMaterial(masterKey, version.id, version.version_id, version.wrapped_material, (m) =>
      decryptWithKey(parsed, m, canonicalEncryptionContext(input.EncryptionContext)),
    );
    try {
      decided(wrapSizeRefusal(input.wrapping, dataKey));
      decided(unlessDryRun(input.DryRun, 'export'));
      return {
        KeyId: version.id,
        KeyVersionId: version.version_id,
        ExportedDataKey: exportUnder(input.wrapping, dataKey),
      };
    } finally {
      dataKey.fill(0);
    }
  },
  rpc: (r) => ({ KeyId: r.KeyId, KeyVersionId: r.KeyVersionId, ExportedDataKey: r.ExportedDataKey }),
  rest: [
    {
      method: 'POST',
      url: '/v1/export-data-key',
      summary: "Re-wrap a data key's blob under your public key (ExportDataKey)",
      tags: ['Crypto'],
      status: 200,
      querystring: RegionQuery,
      body: ExportDataKeyFields.extend({ DryRun: z.boolean().optional() }),
      response: ExportDataKeyResult.extend({ RequestId }),
      present: (r) => ({ KeyId: r.KeyId, KeyVersionId: r.KeyVersionId, ExportedDataKey: r.ExportedDataKey }),
    },
  ],
});
