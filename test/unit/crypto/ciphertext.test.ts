import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decodeStrictBase64,
  decryptWithKey,
  encodeBase64,
  encryptWithKey,
  MIN_CIPHERTEXT_BLOB_BYTES,
  parseCiphertextBlob,
  tryDecodeStrictBase64,
} from '../../../src/domain/crypto/ciphertext.js';
import { canonicalEncryptionContext } from '../../../src/domain/crypto/encryption-context.js';
import { KmsError } from '../../../src/errors.js';

const keyId = '0b4f5f8e-8a2c-4d7e-9f10-2a3b4c5d6e7f';
const keyVersionId = 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f';
const material = randomBytes(32);
const plaintext = Buffer.from('marker-plaintext-7f3a the secret');
const context = canonicalEncryptionContext({ app: 'billing', env: 'prod' });

function encrypt(overrides: Partial<Parameters<typeof encryptWithKey>[0]> = {}): Buffer {
  return encryptWithKey({ keyId, keyVersionId, material, plaintext, context, ...overrides });
}

function decrypt(blob: Buffer, withMaterial = material, withContext = context): Buffer {
  return decryptWithKey(parseCiphertextBlob(blob), withMaterial, withContext);
}

/** Runs fn and returns what it threw, failing the test if it did not throw. */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

/** The reason of each InvalidParameter here: a blob that does not decrypt (one reason for every cause), or Base64. */
const REASONS: Record<string, string> = {
  CiphertextBlob: 'it is not a blob from Encrypt or GenerateDataKey that decrypts here with this EncryptionContext',
  Plaintext: 'it must be standard Base64',
};

function expectInvalidParameter(fn: () => unknown, name: 'CiphertextBlob' | 'Plaintext'): void {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(KmsError);
  expect((err as KmsError).code).toBe('InvalidParameter');
  expect((err as KmsError).message).toBe(`The specified parameter "${name}" is not valid: ${REASONS[name]}`);
}

describe('ciphertext blob', () => {
  it('round-trips and names its key and key version', () => {
    const blob = encrypt();
    const parsed = parseCiphertextBlob(blob);
    expect(parsed.keyId).toBe(keyId);
    expect(parsed.keyVersionId).toBe(keyVersionId);
    expect(parsed.formatVersion).toBe(1);
    expect(decryptWithKey(parsed, material, context)).toEqual(plaintext);
  });

  it('has the documented layout: KMSE | 0x01 | key id | key version id | iv | tag | ciphertext', () => {
    const blob = encrypt();
    expect(blob.subarray(0, 4).toString('ascii')).toBe('KMSE');
    expect(blob[4]).toBe(1);
    expect(blob.subarray(5, 21).toString('hex')).toBe(keyId.replaceAll('-', ''));
    expect(blob.subarray(21, 37).toString('hex')).toBe(keyVersionId.replaceAll('-', ''));
    expect(blob.length).toBe(37 + 12 + 16 + plaintext.length);
    expect(MIN_CIPHERTEXT_BLOB_BYTES).toBe(65);
    const parsed = parseCiphertextBlob(blob);
    expect(parsed.iv).toEqual(blob.subarray(37, 49));
    expect(parsed.tag).toEqual(blob.subarray(49, 65));
    expect(parsed.ciphertext).toEqual(blob.subarray(65));
  });

  it('does not contain the plaintext', () => {
    expect(encrypt().includes(plaintext)).toBe(false);
  });

  it('round-trips an empty plaintext, a 1-byte one and a 6144-byte one', () => {
    for (const size of [0, 1, 6144]) {
      const p = randomBytes(size);
      expect(decrypt(encrypt({ plaintext: p }))).toEqual(p);
    }
  });

  it('round-trips with an absent context (empty canonical form)', () => {
    const empty = canonicalEncryptionContext(undefined);
    const blob = encrypt({ context: empty });
    expect(decrypt(blob, material, empty)).toEqual(plaintext);
    expectInvalidParameter(() => decrypt(blob, material, context), 'CiphertextBlob');
  });

  it('uses a fresh IV: two encryptions of the same plaintext differ', () => {
    const a = encrypt();
    const b = encrypt();
    expect(a.equals(b)).toBe(false);
    expect(parseCiphertextBlob(a).iv.equals(parseCiphertextBlob(b).iv)).toBe(false);
    expect(decrypt(a)).toEqual(decrypt(b));
  });

  it('accepts uppercase ids and reports them in lowercase', () => {
    const blob = encrypt({ keyId: keyId.toUpperCase(), keyVersionId: keyVersionId.toUpperCase() });
    const parsed = parseCiphertextBlob(blob);
    expect(parsed.keyId).toBe(keyId);
    expect(parsed.keyVersionId).toBe(keyVersionId);
    expect(decryptWithKey(parsed, material, context)).toEqual(plaintext);
  });

  it('rejects a flip of any single byte with InvalidParameter, never another error', () => {
    const blob = encrypt();
    for (let i = 0; i < blob.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const tampered = Buffer.from(blob);
        tampered[i] = (tampered[i] ?? 0) ^ mask;
        expectInvalidParameter(() => decrypt(tampered), 'CiphertextBlob');
      }
    }
  });

  it('rejects every truncation with InvalidParameter', () => {
    const blob = encrypt();
    for (let length = 0; length < blob.length; length++) {
      expectInvalidParameter(() => decrypt(blob.subarray(0, length)), 'CiphertextBlob');
    }
  });

  it('rejects a blob with bytes appended', () => {
    const blob = encrypt();
    expectInvalidParameter(() => decrypt(Buffer.concat([blob, Buffer.from([0])])), 'CiphertextBlob');
  });

  it('rejects a bad magic, an unknown format version and a short blob at parse time', () => {
    const blob = encrypt();
    const badMagic = Buffer.from(blob);
    badMagic.write('KMSF', 0, 'ascii');
    expectInvalidParameter(() => parseCiphertextBlob(badMagic), 'CiphertextBlob');
    for (const version of [0, 3, 255]) {
      const other = Buffer.from(blob);
      other[4] = version;
      expectInvalidParameter(() => parseCiphertextBlob(other), 'CiphertextBlob');
    }
    expectInvalidParameter(() => parseCiphertextBlob(Buffer.alloc(0)), 'CiphertextBlob');
    expectInvalidParameter(() => parseCiphertextBlob(blob.subarray(0, 64)), 'CiphertextBlob');
    expect(() => parseCiphertextBlob(blob.subarray(0, 65))).not.toThrow();
    expectInvalidParameter(() => parseCiphertextBlob(randomBytes(200)), 'CiphertextBlob');
  });

  it('rejects a different context, a missing context and an extra entry', () => {
    const blob = encrypt();
    const others: Array<Record<string, string>> = [
      { app: 'billing', env: 'dev' },
      { app: 'billing' },
      { app: 'billing', env: 'prod', x: 'y' },
    ];
    for (const other of others) {
      expectInvalidParameter(() => decrypt(blob, material, canonicalEncryptionContext(other)), 'CiphertextBlob');
    }
    expectInvalidParameter(() => decrypt(blob, material, Buffer.alloc(0)), 'CiphertextBlob');
  });

  it('decrypts whatever the key order of the context', () => {
    const blob = encrypt({ context: canonicalEncryptionContext({ b: '2', a: '1', c: '3' }) });
    expect(decrypt(blob, material, canonicalEncryptionContext({ c: '3', a: '1', b: '2' }))).toEqual(plaintext);
  });

  it("rejects another key's material", () => {
    expectInvalidParameter(() => decrypt(encrypt(), randomBytes(32)), 'CiphertextBlob');
  });

  it('authenticates the ids: a blob re-labelled with another key version fails even with the same material', () => {
    const blob = encrypt();
    const relabelled = Buffer.from(blob);
    Buffer.from(randomUUID().replaceAll('-', ''), 'hex').copy(relabelled, 21);
    expectInvalidParameter(() => decrypt(relabelled), 'CiphertextBlob');

    const parsed = parseCiphertextBlob(blob);
    expectInvalidParameter(
      () => decryptWithKey({ ...parsed, keyId: randomUUID() }, material, context),
      'CiphertextBlob',
    );
    expectInvalidParameter(
      () => decryptWithKey({ ...parsed, keyVersionId: randomUUID() }, material, context),
      'CiphertextBlob',
    );
  });

  it('does not alias the input buffer in the parsed result', () => {
    const blob = encrypt();
    const parsed = parseCiphertextBlob(blob);
    blob.fill(0);
    expect(decryptWithKey(parsed, material, context)).toEqual(plaintext);
  });

  it('treats malformed ids or material from the caller as a bug (plain Error, no value echoed)', () => {
    const err = thrown(() => encrypt({ keyId: 'not-a-uuid' }));
    expect(err).not.toBeInstanceOf(KmsError);
    expect((err as Error).message).toBe('keyId is not a UUID');
    expect(() => encrypt({ keyVersionId: `${keyVersionId}0` })).toThrow('keyVersionId is not a UUID');
    expect(() => encrypt({ material: randomBytes(16) })).toThrow('key material must be 32 bytes');
    const parsed = parseCiphertextBlob(encrypt());
    const err2 = thrown(() => decryptWithKey(parsed, randomBytes(31), context));
    expect(err2).not.toBeInstanceOf(KmsError);
  });

  it('puts neither plaintext nor material in any error', () => {
    const blob = encrypt();
    const tampered = Buffer.from(blob);
    tampered[70] = (tampered[70] ?? 0) ^ 1;
    const err = thrown(() => decrypt(tampered)) as Error;
    const everything = `${err.message} ${err.stack ?? ''} ${String(err.cause ?? '')}`;
    expect(everything).not.toContain('marker-plaintext');
    expect(everything).not.toContain(material.toString('base64'));
    expect(everything).not.toContain(material.toString('hex'));
    expect(err.cause).toBeUndefined();
  });
});

describe('strict Base64', () => {
  it('round-trips every length from 0 to 64 bytes', () => {
    for (let n = 0; n <= 64; n++) {
      const bytes = randomBytes(n);
      const text = encodeBase64(bytes);
      expect(decodeStrictBase64(text, 'Plaintext')).toEqual(bytes);
    }
  });

  it('decodes known vectors (RFC 4648 section 10)', () => {
    const vectors: Array<[string, string]> = [
      ['', ''],
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg=='],
      ['fooba', 'Zm9vYmE='],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, encoded] of vectors) {
      expect(decodeStrictBase64(encoded, 'Plaintext').toString('utf8')).toBe(plain);
      expect(encodeBase64(Buffer.from(plain))).toBe(encoded);
    }
    expect(decodeStrictBase64('+/+/', 'Plaintext')).toEqual(Buffer.from([0xfb, 0xff, 0xbf]));
  });

  const rejected: Array<[string, string]> = [
    ['missing padding', 'Zg'],
    ['missing one pad', 'Zg='],
    ['too much padding', 'Zg==='],
    ['padding where none is due', 'Zm9v===='],
    ['padding in the middle', 'Zg==Zm9v'],
    ['a lone padding group', '===='],
    ['length not a multiple of 4', 'Zm9vY'],
    ['non-zero trailing bits (one pad)', 'Zm9='],
    ['non-zero trailing bits (two pads)', 'Zh=='],
    ['url-safe minus', 'ab-d'],
    ['url-safe underscore', 'ab_d'],
    ['leading space', ' Zm9v'],
    ['trailing space', 'Zm9v '],
    ['trailing newline', 'Zm9v\n'],
    ['inner newline (MIME style)', 'Zm9v\nYmFy'],
    ['tab', 'Zm9v\tYmFy'],
    ['carriage return', 'Zm9vYmFy\r\n'],
    ['non-alphabet character', 'Zm9*'],
    ['dot', 'Zm9.'],
    ['non-ASCII letter', 'Zm9é'],
    ['a full-width letter', 'Ｚm9v'],
    ['a NUL', 'Zm9\u0000'],
    ['percent-encoded plus', 'ab%2B'],
  ];
  for (const [what, text] of rejected) {
    it(`rejects ${what}`, () => {
      expect(tryDecodeStrictBase64(text)).toBeUndefined();
      expectInvalidParameter(() => decodeStrictBase64(text, 'Plaintext'), 'Plaintext');
    });
  }

  it('names the parameter and never echoes the value', () => {
    const err = thrown(() => decodeStrictBase64('c2VjcmV0 ', 'CiphertextBlob')) as KmsError;
    expect(err.message).toBe('The specified parameter "CiphertextBlob" is not valid: it must be standard Base64');
    expect(err.message).not.toContain('c2VjcmV0');
  });
});
