// A minimal DER reader: enough to take a SubjectPublicKeyInfo or a PKCS#8 EC key apart
// (spec section 13.2: Node reports no type or curve for an SM2 key, so the curve OID is
// read from the DER). Definite lengths only, as DER requires; anything else throws.

export interface Tlv {
  tag: number;
  /** The value's bytes (a view into the input). */
  value: Buffer;
  /** Offset just after this element. */
  end: number;
}

/** The element at `offset`; throws on a truncated or indefinite-length element. */
export function readTlv(der: Buffer, offset = 0): Tlv {
  if (offset + 2 > der.length) throw new Error('DER: truncated');
  const tag = der[offset]!;
  let length = der[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > der.length) throw new Error('DER: bad length');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  const end = start + length;
  if (end > der.length) throw new Error('DER: truncated');
  return { tag, value: der.subarray(start, end), end };
}

/** The elements of a constructed value (a SEQUENCE's contents), in order. */
export function readChildren(value: Buffer): Tlv[] {
  const out: Tlv[] = [];
  let offset = 0;
  while (offset < value.length) {
    const tlv = readTlv(value, offset);
    out.push(tlv);
    offset = tlv.end;
  }
  return out;
}

/** One whole element that fills `der` exactly, with the expected tag. */
export function readWhole(der: Buffer, tag: number): Tlv {
  const tlv = readTlv(der, 0);
  if (tlv.tag !== tag || tlv.end !== der.length) throw new Error('DER: unexpected structure');
  return tlv;
}

/** Dotted text of an OBJECT IDENTIFIER's value. */
export function oidText(value: Buffer): string {
  if (value.length === 0) throw new Error('DER: empty OID');
  const parts: number[] = [Math.floor(value[0]! / 40), value[0]! % 40];
  let n = 0;
  for (const byte of value.subarray(1)) {
    n = n * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(n);
      n = 0;
    }
  }
  return parts.join('.');
}

export const DER_SEQUENCE = 0x30;
export const DER_INTEGER = 0x02;
export const DER_BIT_STRING = 0x03;
export const DER_OCTET_STRING = 0x04;
export const DER_OID = 0x06;

export interface SubjectPublicKeyInfo {
  algorithm: string;
  /** The named curve of an EC key; undefined for RSA. */
  curve: string | undefined;
  /** The subjectPublicKey BIT STRING's bytes (without the unused-bits byte). */
  key: Buffer;
}

/** Takes a DER SubjectPublicKeyInfo apart; throws when it is not one. */
export function parseSpki(der: Buffer): SubjectPublicKeyInfo {
  const [algorithmId, bits] = readChildren(readWhole(der, DER_SEQUENCE).value);
  if (algorithmId?.tag !== DER_SEQUENCE || bits?.tag !== DER_BIT_STRING) throw new Error('DER: not an SPKI');
  const [oid, parameter] = readChildren(algorithmId.value);
  if (oid?.tag !== DER_OID || bits.value[0] !== 0) throw new Error('DER: not an SPKI');
  return {
    algorithm: oidText(oid.value),
    curve: parameter?.tag === DER_OID ? oidText(parameter.value) : undefined,
    key: bits.value.subarray(1),
  };
}

/** The private scalar of a PKCS#8 EC key (32 bytes for the curves here), left-padded. */
export function ecPrivateScalar(pkcs8: Buffer, bytes = 32): Buffer {
  const [, , privateKey] = readChildren(readWhole(pkcs8, DER_SEQUENCE).value);
  if (privateKey?.tag !== DER_OCTET_STRING) throw new Error('DER: not a PKCS#8 key');
  const [, scalar] = readChildren(readWhole(privateKey.value, DER_SEQUENCE).value);
  if (scalar?.tag !== DER_OCTET_STRING || scalar.value.length > bytes) throw new Error('DER: not an EC private key');
  return Buffer.concat([Buffer.alloc(bytes - scalar.value.length), scalar.value]);
}

/** The curve OID named in a PKCS#8 EC key's algorithm identifier. */
export function pkcs8Curve(pkcs8: Buffer): string | undefined {
  const [, algorithmId] = readChildren(readWhole(pkcs8, DER_SEQUENCE).value);
  if (algorithmId?.tag !== DER_SEQUENCE) throw new Error('DER: not a PKCS#8 key');
  const [, parameter] = readChildren(algorithmId.value);
  return parameter?.tag === DER_OID ? oidText(parameter.value) : undefined;
}
