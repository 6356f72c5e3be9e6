import { sm2 } from 'sm-crypto-v2';

// SM2 public-key encryption (GB/T 32918.4) where node:crypto cannot do it (spec 13.2):
// sm-crypto-v2 does the arithmetic; this module holds the byte layouts. A ciphertext is
// the raw C1C3C2 form `04 ‖ x1 ‖ y1 ‖ C3 ‖ C2` (spec 14.4), or the GM/T 0009 DER form
// `SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING, ciphertext OCTET STRING }` that
// OpenSSL 3 writes.

/** SubjectPublicKeyInfo prefix for an uncompressed point on the SM2 curve (id-ecPublicKey, 1.2.156.10197.1.301). */
const SM2_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex');
const COORDINATE = 32;
const HASH = 32;

export interface Sm2KeyPair {
  /** DER SubjectPublicKeyInfo. */
  publicKeyDer: Buffer;
  /** The private scalar d, 32 bytes. */
  privateKey: Buffer;
}

export function generateSm2KeyPair(): Sm2KeyPair {
  const pair = sm2.generateKeyPairHex();
  return {
    publicKeyDer: Buffer.concat([SM2_SPKI_PREFIX, Buffer.from(pair.publicKey, 'hex')]),
    privateKey: Buffer.from(pair.privateKey.padStart(2 * COORDINATE, '0'), 'hex'),
  };
}

/** The uncompressed point of an SM2 SubjectPublicKeyInfo, or undefined when it is not one. */
export function sm2PublicPoint(spki: Buffer): Buffer | undefined {
  if (spki.length !== SM2_SPKI_PREFIX.length + 1 + 2 * COORDINATE) return undefined;
  if (!spki.subarray(0, SM2_SPKI_PREFIX.length).equals(SM2_SPKI_PREFIX)) return undefined;
  const point = spki.subarray(SM2_SPKI_PREFIX.length);
  return point[0] === 0x04 ? point : undefined;
}

/** Encrypts to the raw C1C3C2 form (with the leading 04). */
export function sm2Encrypt(publicPoint: Buffer, plaintext: Buffer): Buffer {
  const hex = sm2.doEncrypt(new Uint8Array(plaintext), publicPoint.toString('hex'), 1) as string;
  return Buffer.concat([Buffer.from([0x04]), Buffer.from(hex, 'hex')]);
}

/**
 * Decrypts either form; undefined for anything that does not decrypt (wrong key, tampered,
 * malformed). An empty result counts as a failure: plaintext is at least one byte.
 */
export function sm2Decrypt(privateKey: Buffer, ciphertext: Buffer): Buffer | undefined {
  const raw = ciphertext[0] === 0x04 ? ciphertext : fromDer(ciphertext);
  if (!raw || raw.length <= 1 + 2 * COORDINATE + HASH) return undefined;
  try {
    const out = sm2.doDecrypt(raw.subarray(1).toString('hex'), privateKey.toString('hex'), 1, {
      output: 'array',
    }) as Uint8Array;
    return out.length > 0 ? Buffer.from(out) : undefined;
  } catch {
    return undefined;
  }
}

/** The raw form of a GM/T 0009 DER ciphertext, or undefined when it is not one. */
function fromDer(der: Buffer): Buffer | undefined {
  const seq = readTlv(der, 0, 0x30);
  if (!seq || seq.end !== der.length) return undefined;
  const x = readTlv(der, seq.start, 0x02);
  const y = x && readTlv(der, x.end, 0x02);
  const hash = y && readTlv(der, y.end, 0x04);
  const body = hash && readTlv(der, hash.end, 0x04);
  if (!x || !y || !hash || !body || body.end !== seq.end || hash.end - hash.start !== HASH) return undefined;
  const coordinate = (t: { start: number; end: number }) => {
    const v = der.subarray(t.start, t.end);
    const trimmed = v.length > COORDINATE && v[0] === 0 ? v.subarray(v.length - COORDINATE) : v;
    return trimmed.length > COORDINATE
      ? undefined
      : Buffer.concat([Buffer.alloc(COORDINATE - trimmed.length), trimmed]);
  };
  const cx = coordinate(x);
  const cy = coordinate(y);
  if (!cx || !cy) return undefined;
  return Buffer.concat([
    Buffer.from([0x04]),
    cx,
    cy,
    der.subarray(hash.start, hash.end),
    der.subarray(body.start, body.end),
  ]);
}

/** One DER tag-length-value at `at` with the expected tag: where its value starts and ends. */
function readTlv(der: Buffer, at: number, tag: number): { start: number; end: number } | undefined {
  if (der[at] !== tag || at + 1 >= der.length) return undefined;
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 3 || start + bytes > der.length) return undefined;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  const end = start + length;
  return end <= der.length ? { start, end } : undefined;
}
