import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { CallContext } from '../domain/context.js';
import { encodeBase64 } from '../domain/crypto/ciphertext.js';
import {
  type DataKeyResult,
  EncryptionContextParam,
  encryptionContextOf,
  MAX_DATA_KEY_BYTES,
} from '../domain/crypto/crypto.schemas.js';
import type { ServiceDeps } from '../domain/deps.js';
import { AnyKeyId, DryRun, intParam, oneOf } from '../domain/params.js';
import { presentSealed, sealUnderKey } from './encrypt.js';
import { defineOperation } from './operation.js';

// GenerateDataKey (spec section 4): a random data key, returned in the clear and sealed
// under the key, with Encrypt's checks. GenerateDataKeyWithoutPlaintext shares this file's
// input and generator.

export const DataKeyFields = z.object({
  KeyId: AnyKeyId,
  KeySpec: oneOf(['AES_256', 'AES_128']).optional().describe('AES_256 (32 bytes, the default) or AES_128 (16)'),
  NumberOfBytes: intParam(1, MAX_DATA_KEY_BYTES)
    .optional()
    .describe(`Length of the data key, 1 to ${MAX_DATA_KEY_BYTES} bytes; wins over KeySpec`),
  EncryptionContext: EncryptionContextParam,
  DryRun,
});
export const dataKeyRequest = (i: z.output<typeof DataKeyFields> & Record<string, unknown>) => ({
  KeyId: i.KeyId,
  NumberOfBytes: i.NumberOfBytes ?? (i.KeySpec === 'AES_128' ? 16 : 32),
  EncryptionContext: encryptionContextOf(i),
  DryRun: i.DryRun,
});
export const DataKeyInput = DataKeyFields.loose().transform(dataKeyRequest);
export type DataKeyInput = z.output<typeof DataKeyInput>;

/** A fresh data key sealed under the key; its plaintext only when asked for, and wiped after. */
export async function generateDataKeyUnder(
  deps: ServiceDeps,
  ctx: CallContext,
  input: DataKeyInput,
  withPlaintext: boolean,
): Promise<DataKeyResult> {
  const dataKey = randomBytes(input.NumberOfBytes);
  try {
    const operation = withPlaintext ? 'GenerateDataKey' : 'GenerateDataKeyWithoutPlaintext';
    const sealed = await sealUnderKey(
      deps,
      ctx,
      operation,
      input.KeyId,
      dataKey,
      input.EncryptionContext,
      input.DryRun,
    );
    return withPlaintext ? { ...sealed, Plaintext: encodeBase64(dataKey) } : sealed;
  } finally {
    dataKey.fill(0);
  }
}

export const generateDataKey = defineOperation({
  name: 'GenerateDataKey',
  input: DataKeyInput,
  run: (deps, ctx, input) => generateDataKeyUnder(deps, ctx, input, true),
  rpc: (r) => ({ ...presentSealed(r), Plaintext: r.Plaintext }),
  // REST: one route serves both data key operations (generate-data-key-rest.ts).
  rest: [],
});
