import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { EncryptionContextParam } from '../domain/crypto/crypto.schemas.js';
import { AnyKeyId, DryRun } from '../domain/params.js';
import { invalidParameter } from '../errors.js';
import { sealUnderKey } from './encrypt.js';
import { exportUnder, WrappingFields, wrappingOf } from './export-data-key.js';
import { DataKeyFields, dataKeyRequest } from './generate-data-key.js';
import { defineOperation } from './operation.js';
import { AnyKeyPath, RegionQuery, RequestId } from './presenters.js';

// GenerateAndExportDataKey (spec 16.2): a data key as GenerateDataKey makes it, sealed under
// the key's primary version and exported under the caller's public key; no Plaintext.

export const GenerateAndExportFields = z.object({
  KeyId: AnyKeyId,
  ...WrappingFields,
  KeySpec: DataKeyFields.shape.KeySpec,
  NumberOfBytes: DataKeyFields.shape.NumberOfBytes,
  EncryptionContext: EncryptionContextParam,
  DryRun,
});
export const GenerateAndExportInput = GenerateAndExportFields.loose().transform((i) => {
  const wrapping = wrappingOf(i);
  const request = dataKeyRequest(i);
  // Choice (the spec names no rule): a data key longer than the wrapping takes is refused
  // before any lookup, naming NumberOfBytes.
  if (request.NumberOfBytes > wrapping.maxBytes) {
    throw invalidParameter('NumberOfBytes', `${wrapping.algorithm} wraps at most ${wrapping.maxBytes} bytes`);
  }
  return { ...request, wrapping };
});

export const GenerateAndExportResult = z.object({
  KeyId: z.string().describe('The resolved key id, never the alias'),
  KeyVersionId: z.string().describe("The key's PrimaryKeyVersion"),
  CiphertextBlob: z.string().describe('Standard Base64 of the data key under the key (Decrypt reads it)'),
  ExportedDataKey: z.string().describe('Standard Base64 of the data key encrypted under PublicKeyBlob'),
});
type GenerateAndExportResult = z.infer<typeof GenerateAndExportResult>;

export const generateAndExportDataKey = defineOperation({
  name: 'GenerateAndExportDataKey',
  input: GenerateAndExportInput,
  async run(deps, ctx, input): Promise<GenerateAndExportResult> {
    const dataKey = randomBytes(input.NumberOfBytes);
    try {
      const sealed = await sealUnderKey(
        deps,
        ctx,
        'GenerateAndExportDataKey',
        input.KeyId,
        dataKey,
        input.EncryptionContext,
        input.DryRun,
      );
      return { ...sealed, ExportedDataKey: exportUnder(input.wrapping, dataKey) };
    } finally {
      dataKey.fill(0);
    }
  },
  rpc: (r) => ({
    KeyId: r.KeyId,
    KeyVersionId: r.KeyVersionId,
    CiphertextBlob: r.CiphertextBlob,
    ExportedDataKey: r.ExportedDataKey,
  }),
  rest: [
    {
      method: 'POST',
      url: '/v1/keys/:KeyId/generate-and-export-data-key',
      summary:
        'Generate a data key, sealed under the key and exported under your public key (GenerateAndExportDataKey)',
      tags: ['Crypto'],
      status: 200,
      params: AnyKeyPath,
      querystring: RegionQuery,
      body: GenerateAndExportFields.omit({ KeyId: true }).extend({ DryRun: z.boolean().optional() }),
      response: GenerateAndExportResult.extend({ RequestId }),
      present: (r) => ({
        KeyId: r.KeyId,
        KeyVersionId: r.KeyVersionId,
        CiphertextBlob: r.CiphertextBlob,
        ExportedDataKey: r.ExportedDataKey,
      }),
    },
  ],
});
