import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { CallContext, Permission } from '../domain/context.js';
import { base64Param } from '../domain/crypto/crypto.schemas.js';
import { unwrapImportedMaterial } from '../domain/crypto/import-wrapping.js';
import type { ServiceDeps } from '../domain/deps.js';
import {
  findImportToken,
  type ImportToken,
  materialFingerprint,
  notExternalRefusal,
  sameFingerprint,
  storedFingerprint,
  storeImportedMaterial,
  withTokenPrivateKey,
} from '../domain/keys/imported-material.js';
import { SYMMETRIC_MATERIAL_BYTES, wrapNewMaterial } from '../domain/keys/key-material.js';
import { toKeyMetadata } from '../domain/keys/key-metadata.js';
import type { KeyRow } from '../domain/keys/key-rows.js';
import type { KeyMetadata } from '../domain/keys/keys.schemas.js';
import { purgeExpired } from '../domain/keys/purge.js';
import { type Found, findKey } from '../domain/keys/resolver.js';
import { because, intParam, KeyOnlyId } from '../domain/params.js';
import { keyArn } from '../domain/scope.js';
import { invalidParameter, KmsError } from '../errors.js';
import { type Decision, decided, defineOperation, keyAccessRefusal } from './operation.js';
import { KeyMetadataResponse, KeyPath, keyMetadata, nothing, RegionQuery } from './presenters.js';

// ImportKeyMaterial (spec 17.3): after the key's checks (found, RAM, state, origin), the
// token (known, for this key, not expired), then the material (decrypts, has the spec's
// length, equals what was imported before), all in one transaction with the key locked,
// so two imports of one key cannot both make its first version.

const MAX_TOKEN_CHARS = 4096;
const MAX_EXPIRE_UNIX = 9_999_999_999;

export const ImportKeyMaterialInput = z.object({
  KeyId: KeyOnlyId,
  EncryptedKeyMaterial: because(
    base64Param(4096),
    'it must be standard Base64 of the material encrypted with the PublicKey of GetParametersForImport',
  ).describe('Standard Base64 of the key material encrypted with the PublicKey of GetParametersForImport'),
  ImportToken: because(
    z.string().max(MAX_TOKEN_CHARS),
    `it must be the ImportToken of GetParametersForImport, at most ${MAX_TOKEN_CHARS} characters`,
  ).describe('The ImportToken of GetParametersForImport'),
  KeyMaterialExpireUnix: intParam(0, MAX_EXPIRE_UNIX, 'seconds since 1970')
    .optional()
    .describe('When the material expires, in seconds since 1970; absent or 0: never'),
});
export type ImportKeyMaterialInput = z.output<typeof ImportKeyMaterialInput>;

/** Step 5 (spec 20.7): an expiry, when given, is not earlier than the service clock. */
export function decideExpiry(expireUnix: number | undefined, now: Date): Decision<Date | null> {
  if (!expireUnix) return null;
  const at = new Date(expireUnix * 1000);
  return at.getTime() < Math.floor(now.getTime() / 1000) * 1000
    ? invalidParameter('KeyMaterialExpireUnix', 'it must be 0 or a time (seconds since 1970) not before now')
    : at;
}

/** Steps 6 to 9: found, allowed, a state that takes material, an EXTERNAL key. */
export function decideImportKey(found: Found, permission: Permission | undefined): Decision<KeyRow> {
  const refused = keyAccessRefusal('ImportKeyMaterial', found, permission);
  if (refused) return refused;
  return notExternalRefusal(found.key!) ?? found.key!;
}

/** Step 11, the token: known, issued for this key, not expired. */
export function decideToken(token: ImportToken | undefined, keyId: string, now: Date): Decision<ImportToken> {
  if (!token || token.key_id !== keyId) return new KmsError('InvalidImportToken');
  return token.expires_at.getTime() <= now.getTime() ? new KmsError('ExpiredImportToken') : token;
}

/** Step 11, the material: it decrypted, has the spec's length, and is what was imported before, if anything. */
export function decideMaterial(
  material: Buffer | undefined,
  keySpec: string,
  stored: Uint8Array | null,
  fingerprint: (m: Buffer) => Buffer,
): Decision<Buffer> {
  if (!material || material.length !== SYMMETRIC_MATERIAL_BYTES[keySpec]) return new KmsError('InvalidKeyMaterial');
  const computed = fingerprint(material);
  if (stored !== null && !sameFingerprint(stored, computed)) return new KmsError('InvalidKeyMaterial');
  return computed;
}

async function run({ db, clock, masterKey }: ServiceDeps, ctx: CallContext, input: ImportKeyMaterialInput) {
  const now = clock();
  const expireTime = decided(decideExpiry(input.KeyMaterialExpireUnix, now));
  const row = await db.transaction(async (tx) => {
    await purgeExpired(tx, ctx, now);
    const found = await findKey(tx, ctx, input.KeyId, now, { lock: 'update' });
    const permission = found.key && ctx.permission('kms:ImportKeyMaterial', [keyArn(ctx, found.key.id)]);
    const key = decided(decideImportKey(found, permission));
    const token = decided(decideToken(await findImportToken(tx, ctx, input.ImportToken), key.id, now));
    const material = withTokenPrivateKey(masterKey, token, (privateKey) =>
      unwrapImportedMaterial(token.wrapping_algorithm, privateKey, input.EncryptedKeyMaterial),
    );
    try {
      const fingerprint = decided(
        decideMaterial(material, key.key_spec, await storedFingerprint(tx, ctx, key.id), (m) =>
          materialFingerprint(masterKey, key.id, m),
        ),
      );
      const versionId = key.primary_key_version ?? randomUUID();
      return await storeImportedMaterial(tx, ctx, {
        keyId: key.id,
        versionId,
        firstImport: key.primary_key_version === null,
        // decideMaterial passed: the material is there.
        wrappedMaterial: wrapNewMaterial(masterKey, key.id, versionId, material!),
        fingerprint,
        expireTime,
        now,
      });
    } finally {
      material?.fill(0);
    }
  });
  return toKeyMetadata(row);
}

export const importKeyMaterial = defineOperation({
  name: 'ImportKeyMaterial',
  input: ImportKeyMaterialInput,
  run,
  rpc: nothing,
  rest: [
    {
      method: 'PUT',
      url: '/v1/keys/:KeyId/material',
      summary: 'Import key material into an EXTERNAL key (ImportKeyMaterial); answers the key',
      tags: ['Import'],
      status: 200,
      params: KeyPath,
      querystring: RegionQuery,
      body: z.object({
        EncryptedKeyMaterial: z.string(),
        ImportToken: z.string(),
        KeyMaterialExpireUnix: z.number().int().optional(),
      }),
      response: KeyMetadataResponse,
      present: (m: KeyMetadata) => keyMetadata(m),
    },
  ],
});
