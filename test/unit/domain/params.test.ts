import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { declaredFields, parseParams, reasonOf } from '../../../src/domain/params.js';
import { KmsError } from '../../../src/errors.js';
import { OPERATIONS } from '../../../src/operations/registry.js';

// The one mapper (params.ts toKmsError): the reason each parameter's schema carries, the
// order of checks, and never a value in a message.

function refusal(schema: z.ZodType, raw: unknown): KmsError {
  try {
    parseParams(schema, raw);
  } catch (err) {
    if (err instanceof KmsError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const inputOf = (name: string) => OPERATIONS.find((o) => o.name === name)!.input as z.ZodType;

describe('parameter reasons', () => {
  it('every parameter of every operation says why a value is refused', () => {
    const without: string[] = [];
    for (const operation of OPERATIONS) {
      const object = (() => {
        let s: unknown = operation.input;
        while (s instanceof z.ZodPipe) s = s.in;
        return s as z.ZodObject;
      })();
      for (const name of declaredFields(operation.input)) {
        const field = object.shape[name] as z.ZodType;
        // Parameters that are not built (notImplemented: an optional unknown) answer
        // UnsupportedOperation with a reason of their own.
        const notBuilt =
          field instanceof z.ZodOptional &&
          (field._zod.def as { innerType: unknown }).innerType instanceof z.ZodUnknown;
        if (!reasonOf(field) && !notBuilt) without.push(`${operation.name}.${name}`);
      }
    }
    expect(without).toEqual([]);
  });

  it('appends the reason to the documented message, never the value', () => {
    const secret = 'alias/value marker 77';
    const err = refusal(inputOf('CreateAlias'), { AliasName: secret, KeyId: 'k' });
    expect([err.code, err.message]).toEqual([
      'InvalidParameter',
      'The specified parameter "AliasName" is not valid: it must start with alias/ followed by 1 to 255 of A-Z a-z 0-9 _ - /',
    ]);
    expect(err.message).not.toContain('marker');
    for (const [operation, raw, message] of [
      [
        'DescribeKey',
        { KeyId: 'k'.repeat(2049) },
        'The specified parameter "KeyId" is not valid: it must be a key id, key ARN, alias name or alias ARN of at most 2048 characters',
      ],
      [
        'EnableKey',
        { KeyId: 'k'.repeat(2049) },
        'The specified parameter "KeyId" is not valid: it must be a key id or key ARN of at most 2048 characters',
      ],
      [
        'EnableKey',
        { KeyId: 'alias/x' },
        'Alias is not valid for this api: this operation takes a key id or key ARN, not an alias',
      ],
      [
        'ListKeys',
        { PageSize: '0' },
        'The specified parameter "PageSize" is not valid: it must be a whole number from 1 to 100',
      ],
      [
        'GenerateDataKey',
        { KeyId: 'k', NumberOfBytes: 2000 },
        'The specified parameter "NumberOfBytes" is not valid: it must be a whole number from 1 to 1024',
      ],
      [
        'Encrypt',
        { KeyId: 'k', Plaintext: 'not base64' },
        'The specified parameter "Plaintext" is not valid: it must be standard Base64 of at most 6144 bytes',
      ],
      [
        'Decrypt',
        { CiphertextBlob: 'AAAA', EncryptionContext: { a: 1 } },
        'The specified parameter "EncryptionContext" is not valid: it must be a JSON object of at most 8192 bytes mapping non-empty keys to string values',
      ],
    ] as const) {
      expect(refusal(inputOf(operation), raw).message).toBe(message);
    }
  });

  it('reports missing parameters before malformed ones, each in declared order', () => {
    const encrypt = inputOf('Encrypt');
    expect(refusal(encrypt, {}).message).toBe('The parameter "KeyId" is needed but not provided.');
    expect(refusal(encrypt, { KeyId: 'k'.repeat(3000) }).message).toBe(
      'The parameter "Plaintext" is needed but not provided.',
    );
    expect(refusal(encrypt, { KeyId: 'k'.repeat(3000), Plaintext: '!' }).message).toMatch(
      /^The specified parameter "KeyId" is not valid: /,
    );
    expect(declaredFields(encrypt)).toEqual(['KeyId', 'Plaintext', 'EncryptionContext', 'DryRun']);
  });
});
