import { randomBytes } from 'node:crypto';
import { unwrapKeyMaterial, wrapKeyMaterial } from '../crypto/master-key.js';

// Key material is stored wrapped by the master key, bound to its key and version row; it
// is clear only inside `withClearMaterial` and wiped afterwards.

/** The aad that binds wrapped material to its key and version row. */
export const materialAad = (keyId: string, versionId: string) => `${keyId}/${versionId}`;

/** pg returns a Buffer for bytea, PGlite a Uint8Array. */
export const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** New material (or the given material) for a version, wrapped; fresh material is wiped. */
export function wrapNewMaterial(masterKey: Buffer, keyId: string, versionId: string, given?: Buffer): Buffer {
  const material = given ?? randomBytes(32);
  try {
    return wrapKeyMaterial(masterKey, material, materialAad(keyId, versionId));
  } finally {
    if (given === undefined) material.fill(0);
  }
}

/**
 * Runs `use` with a version's clear material and wipes it afterwards. A failure to unwrap
 * is a wrong master key or a corrupted row: a plain Error, answered as InternalFailure and
 * logged without any key bytes.
 */
export function withClearMaterial<T>(
  masterKey: Buffer,
  keyId: string,
  versionId: string,
  wrapped: Uint8Array | null,
  use: (material: Buffer) => T,
): T {
  // Only a key that is not Enabled lacks material (spec 17.1), and the state guard refused it.
  if (wrapped === null) throw new Error(`key ${keyId} version ${versionId} holds no material`);
  const material = unwrapKeyMaterial(masterKey, asBuffer(wrapped), materialAad(keyId, versionId));
  try {
    return use(material);
  } finally {
    material.fill(0);
  }
}
