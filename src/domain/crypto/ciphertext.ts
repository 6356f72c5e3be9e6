// The ciphertext blob that Encrypt and GenerateDataKey return and Decrypt takes back.
//
// Decrypt has no key parameter, so the blob names the key version that made it. Layout
// (format version 1), all lengths in bytes:
//
//   offset  length  field
//   0       4       magic 'KMSE' (0x4b 0x4d 0x53 0x45)
//   4       1       format version, 0x01
//   5       16      key id, the UUID's 16 raw bytes
//   21      16      key version id, the UUID's 16 raw bytes
//   37      12      AES-GCM IV, fresh random per call
//   49      16      AES-GCM authentication tag
//   65      n       AES-256-GCM ciphertext (n = plaintext length, may be 0)
//
// The associated data is the 37-byte header (magic, version, both ids) followed by the
// canonical encryption context (see encryption-context.ts). Binding the header means a blob
// whose ids were edited to point at another key version fails authentication even if that
// other version happened to hold the same material; binding the context is what makes a
// wrong context fail. Blobs are persisted by callers for years: never change this layout or
// the AAD of version 1; add a new version instead.
//
// Format version 2 (Aliyun_SM4 keys, spec 13.5; Node 20's OpenSSL has no SM4-GCM):
//
//   offset  length  field
//   0       37      header as above, with format version 0x02
//   37      16      SM4-CTR IV (initial counter block), fresh random per call
//   53      32      HMAC-SM3 tag
//   85      n       SM4-CTR ciphertext (n = plaintext length, may be 0)
//
// Encrypt-then-MAC: MAC key = HMAC-SM3(material, "KMSE v2 mac"); tag = HMAC-SM3(MAC key,
// header || IV || uint32be(len(ctx)) || ctx || ciphertext), ctx the canonical encryption
// context. The length prefix keeps a blob made with context C, its ciphertext extended by
// C, from passing with no context. The tag is compared in constant time before decrypting.

import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { invalidParameter } from '../../errors.js';

const MAGIC = Buffer.from('KMSE', 'ascii');
const FORMAT_VERSION = 1;
const UUID_BYTES = 16;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

const SM4_FORMAT_VERSION = 2;
const SM4_IV_BYTES = 16;
const SM3_TAG_BYTES = 32;
const SM4_KEY_BYTES = 16;
const SM4_MAC_LABEL = Buffer.from('KMSE v2 mac', 'ascii');

/** The blob format of each symmetric key spec (spec 13.5); other specs make no blobs. */
export const BLOB_FORMATS: Readonly<Record<string, 1 | 2>> = { Aliyun_AES_256: 1, Aliyun_SM4: 2 };

const VERSION_OFFSET = MAGIC.length;
const KEY_ID_OFFSET = VERSION_OFFSET + 1;
const KEY_VERSION_ID_OFFSET = KEY_ID_OFFSET + UUID_BYTES;
const HEADER_BYTES = KEY_VERSION_ID_OFFSET + UUID_BYTES; // 37
const IV_OFFSET = HEADER_BYTES;
const CIPHERTEXT_OFFSET = IV_OFFSET + IV_BYTES + TAG_BYTES; // 65

/** The smallest well-formed blob: a header, an IV, a tag and an empty ciphertext. */
export const MIN_CIPHERTEXT_BLOB_BYTES = CIPHERTEXT_OFFSET;
/** What format 2 adds to a plaintext (85 bytes): the most any format adds. */
export const MAX_CIPHERTEXT_OVERHEAD_BYTES = HEADER_BYTES + SM4_IV_BYTES + SM3_TAG_BYTES;

const layouts = {
  1: { ivBytes: IV_BYTES, tagBytes: TAG_BYTES },
  2: { ivBytes: SM4_IV_BYTES, tagBytes: SM3_TAG_BYTES },
} as const;

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface EncryptWithKeyInput {
  /** The key's id (a UUID). */
  keyId: string;
  /** The id (a UUID) of the key version whose material is used. */
  keyVersionId: string;
  /** That version's unwrapped key material (32 bytes for format 1, 16 for format 2). */
  material: Buffer;
  /** The blob format, by the version's key spec (BLOB_FORMATS); 1 when absent. */
  format?: 1 | 2;
  plaintext: Buffer;
  /** The canonical encryption context (canonicalEncryptionContext); empty when absent. */
  context: Buffer;
}

export interface ParsedCiphertextBlob {
  formatVersion: 1 | 2;
  /** Lowercase hyphenated UUID. */
  keyId: string;
  /** Lowercase hyphenated UUID. */
  keyVersionId: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

/** Encrypts under one key version's material and returns the self-describing blob. */
export function encryptWithKey(input: EncryptWithKeyInput): Buffer {
  if (input.format === SM4_FORMAT_VERSION) return encryptSm4(input);
  assertMaterial(input.material);
  const header = buildHeader(input.keyId, input.keyVersionId, FORMAT_VERSION);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', input.material, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.concat([header, input.context]));
  const ciphertext = Buffer.concat([cipher.update(input.plaintext), cipher.final()]);
  return Buffer.concat([header, iv, cipher.getAuthTag(), ciphertext]);
}

/**
 * Why a blob that is well-formed Base64 is refused, whatever the cause: a structure that does
 * not parse, a key version the caller cannot see, or a failed authentication. One reason for
 * all, so the answer tells a blob of another account apart from none of the others.
 */
export const CIPHERTEXT_REASON =
  'it is not a blob from Encrypt or GenerateDataKey that decrypts here with this EncryptionContext';

/**
 * Reads the header of a blob so the caller can find its key version. Structure only: a blob
 * that parses is not yet authentic; decryptWithKey decides that.
 * Throws InvalidParameter("CiphertextBlob") on a bad magic, an unknown version or a short blob.
 */
export function parseCiphertextBlob(blob: Buffer): ParsedCiphertextBlob {
  const format = blob[VERSION_OFFSET];
  const layout = format === FORMAT_VERSION || format === SM4_FORMAT_VERSION ? layouts[format] : undefined;
  if (
    layout === undefined ||
    blob.length < HEADER_BYTES + layout.ivBytes + layout.tagBytes ||
    !blob.subarray(0, MAGIC.length).equals(MAGIC)
  ) {
    throw invalidParameter('CiphertextBlob', CIPHERTEXT_REASON);
  }
  const tagOffset = IV_OFFSET + layout.ivBytes;
  const ciphertextOffset = tagOffset + layout.tagBytes;
  // Copies, so the parsed result does not alias (and keep alive) the caller's buffer.
  return {
    formatVersion: format as 1 | 2,
    keyId: uuidFromBytes(blob.subarray(KEY_ID_OFFSET, KEY_ID_OFFSET + UUID_BYTES)),
    keyVersionId: uuidFromBytes(blob.subarray(KEY_VERSION_ID_OFFSET, KEY_VERSION_ID_OFFSET + UUID_BYTES)),
    iv: Buffer.from(blob.subarray(IV_OFFSET, tagOffset)),
    tag: Buffer.from(blob.subarray(tagOffset, ciphertextOffset)),
    ciphertext: Buffer.from(blob.subarray(ciphertextOffset)),
  };
}

/**
 * Decrypts a parsed blob with the material of the key version it names. The header is rebuilt
 * from `parsed`'s ids, so the ids are authenticated too.
 * Throws InvalidParameter("CiphertextBlob") when authentication fails: a tampered blob, a
 * different encryption context, or material of another key. A client's mistake, never a 500.
 */
export function decryptWithKey(parsed: ParsedCiphertextBlob, material: Buffer, context: Buffer): Buffer {
  if (parsed.formatVersion === SM4_FORMAT_VERSION) return decryptSm4(parsed, material, context);
  assertMaterial(material);
  const header = buildHeader(parsed.keyId, parsed.keyVersionId, FORMAT_VERSION);
  try {
    const decipher = createDecipheriv('aes-256-gcm', material, parsed.iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.concat([header, context]));
    decipher.setAuthTag(parsed.tag);
    return Buffer.concat([decipher.update(parsed.ciphertext), decipher.final()]);
  } catch {
    // Node's message ("Unsupported state or unable to authenticate data") says nothing
    // useful to a client; the cause is deliberately not attached.
    throw invalidParameter('CiphertextBlob', CIPHERTEXT_REASON);
  }
}

const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Strict standard Base64 (RFC 4648 section 4): alphabet A-Z a-z 0-9 + /, length a multiple
 * of 4, '=' padding exactly where needed, no whitespace, no URL-safe characters, and unused
 * trailing bits zero (so every byte string has exactly one accepted encoding). Node's own
 * decoder accepts all of those and silently skips what it does not understand.
 * Returns undefined when the text is not strict Base64. The empty string decodes to an empty
 * buffer; whether empty means "absent" is the caller's rule.
 */
export function tryDecodeStrictBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !BASE64_PATTERN.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64');
  // The pattern cannot see non-zero trailing bits ('QR==' decodes like 'QQ=='): re-encoding does.
  return decoded.toString('base64') === text ? decoded : undefined;
}

/** As tryDecodeStrictBase64, but throws InvalidParameter naming `paramName` (never its value). */
export function decodeStrictBase64(text: string, paramName: string): Buffer {
  const decoded = tryDecodeStrictBase64(text);
  if (decoded === undefined) throw invalidParameter(paramName, 'it must be standard Base64');
  return decoded;
}

/** Standard Base64 with padding, the form every response uses. */
export function encodeBase64(buf: Buffer): string {
  return buf.toString('base64');
}

// Format 2: SM4-CTR, then HMAC-SM3 over everything that came before and the context.

function encryptSm4(input: EncryptWithKeyInput): Buffer {
  assertSm4Material(input.material);
  const header = buildHeader(input.keyId, input.keyVersionId, SM4_FORMAT_VERSION);
  const iv = randomBytes(SM4_IV_BYTES);
  const cipher = createCipheriv('sm4-ctr', input.material, iv);
  const ciphertext = Buffer.concat([cipher.update(input.plaintext), cipher.final()]);
  const tag = sm4Tag(input.material, header, iv, input.context, ciphertext);
  return Buffer.concat([header, iv, tag, ciphertext]);
}

function decryptSm4(parsed: ParsedCiphertextBlob, material: Buffer, context: Buffer): Buffer {
  assertSm4Material(material);
  const header = buildHeader(parsed.keyId, parsed.keyVersionId, SM4_FORMAT_VERSION);
  const expected = sm4Tag(material, header, parsed.iv, context, parsed.ciphertext);
  if (parsed.tag.length !== expected.length || !timingSafeEqual(parsed.tag, expected)) {
    throw invalidParameter('CiphertextBlob', CIPHERTEXT_REASON);
  }
  const decipher = createDecipheriv('sm4-ctr', material, parsed.iv);
  return Buffer.concat([decipher.update(parsed.ciphertext), decipher.final()]);
}

function sm4Tag(material: Buffer, header: Buffer, iv: Buffer, context: Buffer, ciphertext: Buffer): Buffer {
  const macKey = createHmac('sm3', material).update(SM4_MAC_LABEL).digest();
  try {
    const contextLength = Buffer.alloc(4);
    contextLength.writeUInt32BE(context.length);
    return createHmac('sm3', macKey)
      .update(header)
      .update(iv)
      .update(contextLength)
      .update(context)
      .update(ciphertext)
      .digest();
  } finally {
    macKey.fill(0);
  }
}

function assertSm4Material(material: Buffer): void {
  if (material.length !== SM4_KEY_BYTES) throw new Error(`SM4 key material must be ${SM4_KEY_BYTES} bytes`);
}

function buildHeader(keyId: string, keyVersionId: string, format: 1 | 2): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header[VERSION_OFFSET] = format;
  uuidToBytes(keyId, 'keyId').copy(header, KEY_ID_OFFSET);
  uuidToBytes(keyVersionId, 'keyVersionId').copy(header, KEY_VERSION_ID_OFFSET);
  return header;
}

// A malformed id or material here is a bug in the caller (ids come from the database), not a
// client error: a plain Error, which the service answers as InternalFailure.
function uuidToBytes(uuid: string, what: string): Buffer {
  if (!UUID_PATTERN.test(uuid)) throw new Error(`${what} is not a UUID`);
  return Buffer.from(uuid.replaceAll('-', ''), 'hex');
}

function uuidFromBytes(bytes: Buffer): string {
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function assertMaterial(material: Buffer): void {
  if (material.length !== KEY_BYTES) throw new Error(`key material must be ${KEY_BYTES} bytes`);
}
