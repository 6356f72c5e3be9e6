import { unwrapKeyMaterial, wrapKeyMaterial } from '../crypto/master-key.js';
import { newVersionMaterial } from './key-specs.js';

// Key material is stored wrapped by the master key, bound to its key and version row; it
// is clear only inside `withClearMaterial` and wiped afterwards.

/** The aad that binds wrapped material to its key and version row. */
export const materialAad = (keyId: string, versionId: string) => `${keyId}/${versionId}`;

/** pg returns a Buffer for bytea, PGlite a Uint8Array. */
export const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export { SYMMETRIC_MATERIAL_BYTES } from './key-specs.js';

/** A new version's material of `keySpec` (key-specs.ts), wrapped; the clear secret is wiped. */
export async function wrapFreshMaterial(
  masterKey: Buffer,
  keySpec: string,
  keyId: string,
  versionId: string,
): Promise<{ wrapped: Buffer; publicKey: Buffer | null }> {
  const material = await newVersionMaterial(keySpec);
  return {
    wrapped: wrapNewMaterial(masterKey, keyId, versionId, material.secret, { wipe: true }),
    publicKey: material.publicKey,
  };
}

/** The given material for a version, wrapped; wiped afterwards when `wipe` says so. */
export function wrapNewMaterial(
  masterKey: Buffer,
  keyId: string,
  versionId: string,
  material: Buffer,
  { wipe = false }: { wipe?: boolean } = {},
): Buffer {
  try {
    return wrapKeyMaterial(masterKey, material, materialAad(keyId, versionId));
  } finally {
    if (wipe) material.fill(0);
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
