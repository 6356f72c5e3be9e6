import { createCipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  decryptWithKey,
  encryptWithKey,
  MAX_CIPHERTEXT_OVERHEAD_BYTES,
  parseCiphertextBlob,
} from '../../../src/domain/crypto/ciphertext.js';
import { canonicalEncryptionContext } from '../../../src/domain/crypto/encryption-context.js';
import { KmsError } from '../../../src/errors.js';

// Blob format 2 (spec 13.5): SM4-CTR, then HMAC-SM3 over the header, IV, the context's
// length and bytes, and the ciphertext. The layout is checked against an independent
// reading of the spec's text, not against the module's own helpers.

const keyId = '0b4f5f8e-8a2c-4d7e-9f10-2a3b4c5d6e7f';
const keyVersionId = 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f';
const material = randomBytes(16);
const plaintext = Buffer.from('marker-plaintext-sm4 the secret');
const context = canonicalEncryptionContext({ app: 'billing' });

const encrypt = (over: Partial<Parameters<typeof encryptWithKey>[0]> = {}) =>
  encryptWithKey({ keyId, keyVersionId, material, plaintext, context, format: 2, ...over });
const decrypt = (blob: Buffer, withContext = context, withMaterial = material) =>
  decryptWithKey(parseCiphertextBlob(blob), withMaterial, withContext);

function expectRefused(fn: () => unknown): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(KmsError);
  expect((err as KmsError).code).toBe('InvalidParameter');
  expect((err as KmsError).message).toMatch(/"CiphertextBlob"/);
}

const uuidBytes = (u: string) => Buffer.from(u.replaceAll('-', ''), 'hex');

describe('ciphertext blob format 2 (Aliyun_SM4)', () => {
  it('has the layout of spec 13.5, checked by an independent SM4-CTR and HMAC-SM3', () => {
    const blob = encrypt();
    expect(blob.length).toBe(85 + plaintext.length);
    expect(MAX_CIPHERTEXT_OVERHEAD_BYTES).toBe(85);
    expect(blob.subarray(0, 4).toString('ascii')).toBe('KMSE');
    expect(blob[4]).toBe(2);
    expect(blob.subarray(5, 21)).toEqual(uuidBytes(keyId));
    expect(blob.subarray(21, 37)).toEqual(uuidBytes(keyVersionId));
    const header = blob.subarray(0, 37);
    const iv = blob.subarray(37, 53);
    const tag = blob.subarray(53, 85);
    const ciphertext = blob.subarray(85);

    const expectedCipher = createCipheriv('sm4-ctr', material, iv);
    expect(Buffer.concat([expectedCipher.update(plaintext), expectedCipher.final()])).toEqual(ciphertext);
    const macKey = createHmac('sm3', material).update('KMSE v2 mac').digest();
    const length = Buffer.alloc(4);
    length.writeUInt32BE(context.length);
    const expectedTag = createHmac('sm3', macKey)
      .update(Buffer.concat([header, iv, length, context, ciphertext]))
      .digest();
    expect(timingSafeEqual(expectedTag, tag)).toBe(true);

    expect(decrypt(blob)).toEqual(plaintext);
    expect(decrypt(encrypt({ plaintext: Buffer.alloc(0) }))).toEqual(Buffer.alloc(0));
    expect(parseCiphertextBlob(blob).formatVersion).toBe(2);
  });

  it('refuses a wrong context, another key, a tampered byte anywhere and a short blob', () => {
    const blob = encrypt();
    expectRefused(() => decrypt(blob, Buffer.alloc(0)));
    expectRefused(() => decrypt(blob, canonicalEncryptionContext({ app: 'other' })));
    expectRefused(() => decrypt(blob, context, randomBytes(16)));
    for (const at of [5, 21, 40, 60, 90]) {
      const bad = Buffer.from(blob);
      bad[at]! ^= 1;
      expectRefused(() => decrypt(bad));
    }
    expectRefused(() => parseCiphertextBlob(blob.subarray(0, 84)));
    expect(() => parseCiphertextBlob(blob.subarray(0, 85))).not.toThrow();
  });

  it('binds the context with its length: a context moved into the ciphertext does not pass without it', () => {
    const blob = encrypt();
    // Without the length prefix, MAC(header | IV | C | X) with context C equals
    // MAC(header | IV | C | X) with no context and ciphertext C | X.
    const forged = Buffer.concat([blob.subarray(0, 85), context, blob.subarray(85)]);
    expectRefused(() => decrypt(forged, Buffer.alloc(0)));
  });

  it('keeps format 1 unchanged and never reads one format as the other', () => {
    const aes = encryptWithKey({ keyId, keyVersionId, material: randomBytes(32), plaintext, context });
    expect(aes[4]).toBe(1);
    expect(aes.length).toBe(65 + plaintext.length);
    const sm4AsAes = Buffer.from(encrypt());
    sm4AsAes[4] = 1;
    expectRefused(() => decryptWithKey(parseCiphertextBlob(sm4AsAes), randomBytes(32), context));
    // Material of the wrong size for the format is a bug in the caller, not a client error.
    expect(() => decrypt(encrypt(), context, randomBytes(32))).toThrow(/SM4 key material must be 16 bytes/);
  });
});
