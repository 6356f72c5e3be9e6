import { z } from 'zod';
import { invalidParameter } from '../../errors.js';
import { because } from '../params.js';
import { MIN_CIPHERTEXT_BLOB_BYTES, tryDecodeStrictBase64 } from './ciphertext.js';
import {
  ENCRYPTION_CONTEXT_PARAM,
  ENCRYPTION_CONTEXT_REASON,
  type EncryptionContext,
  FLATTENED_PREFIX,
  fromFlattened,
  resolveEncryptionContext,
} from './encryption-context.js';

// The parameters and results the crypto operations share (spec section 4); each
// operation's module (src/operations) assembles its own input from them.

/** The largest plaintext Encrypt takes, in bytes (decoded). */
export const MAX_PLAINTEXT_BYTES = 6144;
/** The largest data key GenerateDataKey makes, in bytes. */
export const MAX_DATA_KEY_BYTES = 1024;
const MAX_BLOB_BYTES = MIN_CIPHERTEXT_BLOB_BYTES + MAX_PLAINTEXT_BYTES;

const base64Length = (bytes: number) => Math.ceil(bytes / 3) * 4;

/** Strict standard Base64 of at most `maxBytes`, decoded to a Buffer (the issue never carries the value). */
export const base64Param = (maxBytes: number) =>
  z
    .string()
    .max(base64Length(maxBytes))
    .transform((text, ctx) => {
      const decoded = tryDecodeStrictBase64(text);
      if (decoded === undefined || decoded.length > maxBytes) {
        ctx.addIssue({ code: 'custom', message: 'not strict Base64 or too long' });
        return z.NEVER;
      }
      return decoded;
    });

export const Plaintext = because(
  base64Param(MAX_PLAINTEXT_BYTES),
  `it must be standard Base64 of at most ${MAX_PLAINTEXT_BYTES} bytes`,
).describe(`Standard Base64 of the data to encrypt, at most ${MAX_PLAINTEXT_BYTES} bytes decoded`);

export const CiphertextBlob = because(
  base64Param(MAX_BLOB_BYTES),
  'it must be standard Base64 of a blob from Encrypt or GenerateDataKey',
).describe('Standard Base64 of a blob from Encrypt or GenerateDataKey');

export const EncryptionContextParam = because(
  z.union([
    z.record(z.string(), z.string()).describe('REST: a JSON object of string to string'),
    z.string().describe('RPC: the JSON text of such an object'),
  ]),
  ENCRYPTION_CONTEXT_REASON,
)
  .optional()
  .describe(
    'Bound to the ciphertext; Decrypt must present the same map (key order does not matter). ' +
      'RPC also accepts the flattened form EncryptionContext.<key>=<value>, but not both forms at once.',
  )
  .meta({ example: { purpose: 'backup' } });

/**
 * The request's encryption context, whichever form it came in (encryption-context.ts).
 *
 * The flattened RPC form has no parameter named `EncryptionContext`, so its mistakes cannot
 * be a schema issue: the one mapper (params.ts toKmsError) would report an issue on an
 * absent name as MissingParameter. This runs after the object has parsed (a pipe stops at
 * the first failing stage), so throwing InvalidParameter here keeps the order of checks:
 * missing parameters, then the other parameters' syntax, then the context, then resolution.
 */
export function encryptionContextOf(raw: Record<string, unknown>): EncryptionContext | undefined {
  const flattened: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(raw)) {
    if (!name.startsWith(FLATTENED_PREFIX)) continue;
    if (typeof value !== 'string') throw invalidParameter(ENCRYPTION_CONTEXT_PARAM, ENCRYPTION_CONTEXT_REASON);
    flattened.push([name, value]);
  }
  const given = raw[ENCRYPTION_CONTEXT_PARAM];
  return resolveEncryptionContext({
    json: typeof given === 'string' ? given : undefined,
    object: typeof given === 'object' ? given : undefined,
    flattened: fromFlattened(flattened),
  });
}

// Results. Every field is standard Base64 or an id; the data key's plaintext is the only
// secret, and only GenerateDataKey returns it.

const Base64 = z.string().describe('Standard Base64');
const KeyId = z.string().describe('The resolved key id, never the alias');

export const EncryptResult = z.object({
  CiphertextBlob: Base64,
  KeyId,
  KeyVersionId: z.string().describe("The key's PrimaryKeyVersion"),
});
export type EncryptResult = z.infer<typeof EncryptResult>;

export const DecryptResult = z.object({
  Plaintext: Base64,
  KeyId,
  KeyVersionId: z.string().describe('The key version that made the ciphertext'),
});
export type DecryptResult = z.infer<typeof DecryptResult>;

export const DataKeyResult = EncryptResult.extend({
  Plaintext: Base64.optional().describe('The data key; absent for GenerateDataKeyWithoutPlaintext'),
});
export type DataKeyResult = z.infer<typeof DataKeyResult>;
