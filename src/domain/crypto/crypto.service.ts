import { randomBytes } from 'node:crypto';
import { invalidParameter } from '../../errors.js';
import type { CallContext } from '../context.js';
import type { ServiceDeps } from '../deps.js';
import { authorize } from '../iam/authorizer.js';
import { assertKeyState, type KeyOperation } from '../keys/key-state.js';
import * as keysRepo from '../keys/keys.repo.js';
import { materialAad } from '../keys/keys.service.js';
import { resolveKey } from '../keys/resolver.js';
import { keyArn } from '../scope.js';
import { decryptWithKey, encodeBase64, encryptWithKey, parseCiphertextBlob } from './ciphertext.js';
import type {
  DataKeyInput,
  DataKeyResult,
  DecryptInput,
  DecryptResult,
  EncryptInput,
  EncryptResult,
} from './crypto.schemas.js';
import { canonicalEncryptionContext, type EncryptionContext } from './encryption-context.js';
import { unwrapKeyMaterial } from './master-key.js';

// Encrypt, Decrypt, GenerateDataKey and GenerateDataKeyWithoutPlaintext (spec section 4),
// in the order of checks of section 10: the schema has done missing parameters and syntax;
// here come resolution (404), RAM (403) and key state (409), then the crypto.
//
// These operations only read, so they do not purge: the resolver and findKeyVersion
// already treat a key past its deletion date as gone (as DescribeKey does).

const asBuffer = (bytes: Uint8Array) =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export function createCryptoService(deps: ServiceDeps) {
  const { db, clock, masterKey } = deps;

  /** Runs `use` with a key version's clear material and wipes it afterwards. */
  function withMaterial<T>(keyId: string, versionId: string, wrapped: Uint8Array, use: (material: Buffer) => T): T {
    // A failure here is a wrong master key or a corrupted row: a plain Error, answered as
    // InternalFailure and logged without any key bytes.
    const material = unwrapKeyMaterial(masterKey, asBuffer(wrapped), materialAad(keyId, versionId));
    try {
      return use(material);
    } finally {
      material.fill(0);
    }
  }

  /** Resolve, authorize, check state, and encrypt `plaintext` under the key's primary version. */
  async function encryptUnder(
    ctx: CallContext,
    operation: KeyOperation,
    identifier: string,
    plaintext: Buffer,
    context: EncryptionContext | undefined,
  ): Promise<EncryptResult> {
    const key = await resolveKey(db, ctx, identifier, clock(), { withMaterial: true });
    // When an alias stands in for the key, only the key's ARN is checked (spec section 6).
    authorize(ctx, `kms:${operation}`, [keyArn(ctx, key.id)]);
    assertKeyState(operation, key.state);
    const versionId = key.primary_key_version;
    // Only a key waiting for imported material has no version, and the guard refused it.
    if (!versionId || !key.wrapped_material) throw new Error(`key ${key.id} in state ${key.state} has no material`);
    const blob = withMaterial(key.id, versionId, key.wrapped_material, (material) =>
      encryptWithKey({
        keyId: key.id,
        keyVersionId: versionId,
        material,
        plaintext,
        context: canonicalEncryptionContext(context),
      }),
    );
    return { CiphertextBlob: encodeBase64(blob), KeyId: key.id, KeyVersionId: versionId };
  }

  async function encrypt(ctx: CallContext, input: EncryptInput): Promise<EncryptResult> {
    return encryptUnder(ctx, 'Encrypt', input.KeyId, input.Plaintext, input.EncryptionContext);
  }

  async function generateDataKey(
    ctx: CallContext,
    input: DataKeyInput,
    withPlaintext: boolean,
  ): Promise<DataKeyResult> {
    const dataKey = randomBytes(input.NumberOfBytes);
    try {
      const operation = withPlaintext ? 'GenerateDataKey' : 'GenerateDataKeyWithoutPlaintext';
      const sealed = await encryptUnder(ctx, operation, input.KeyId, dataKey, input.EncryptionContext);
      return withPlaintext ? { ...sealed, Plaintext: encodeBase64(dataKey) } : sealed;
    } finally {
      dataKey.fill(0);
    }
  }

  async function decrypt(ctx: CallContext, input: DecryptInput): Promise<DecryptResult> {
    // Structure only (a syntax check, before any lookup); authenticity is decided below.
    const parsed = parseCiphertextBlob(input.CiphertextBlob);
    const version = await keysRepo.findKeyVersion(db, ctx, parsed.keyId, parsed.keyVersionId, clock());
    // Another account's or region's blob, a purged key, or forged ids: the caller cannot
    // tell these apart from a corrupted blob (choice, spec section 4).
    if (!version) throw invalidParameter('CiphertextBlob');
    authorize(ctx, 'kms:Decrypt', [keyArn(ctx, version.id)]);
    assertKeyState('Decrypt', version.state);
    const plaintext = withMaterial(version.id, version.version_id, version.wrapped_material, (material) =>
      decryptWithKey(parsed, material, canonicalEncryptionContext(input.EncryptionContext)),
    );
    try {
      return { Plaintext: encodeBase64(plaintext), KeyId: version.id, KeyVersionId: version.version_id };
    } finally {
      plaintext.fill(0);
    }
  }

  return {
    encrypt,
    decrypt,
    generateDataKey: (ctx: CallContext, input: DataKeyInput) => generateDataKey(ctx, input, true),
    generateDataKeyWithoutPlaintext: (ctx: CallContext, input: DataKeyInput) => generateDataKey(ctx, input, false),
  };
}

export type CryptoService = ReturnType<typeof createCryptoService>;
