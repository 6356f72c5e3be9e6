import { z } from 'zod';
import type { Permission } from '../domain/context.js';
import {
  BLOB_FORMATS,
  CIPHERTEXT_REASON,
  decryptWithKey,
  encodeBase64,
  type ParsedCiphertextBlob,
  parseCiphertextBlob,
} from '../domain/crypto/ciphertext.js';
import {
  CiphertextBlob,
  DecryptResult,
  EncryptionContextParam,
  encryptionContextOf,
} from '../domain/crypto/crypto.schemas.js';
import { canonicalEncryptionContext } from '../domain/crypto/encryption-context.js';
import type { ServiceDeps } from '../domain/deps.js';
import { withClearMaterial } from '../domain/keys/key-material.js';
import { isAsymmetricSpec } from '../domain/keys/key-specs.js';
import { upkeepResolvedKey } from '../domain/keys/key-upkeep.js';
import { findKeyVersion, type KeyVersionRow } from '../domain/keys/keys.store.js';
import { DryRun } from '../domain/params.js';
import { keyArn, type Scope } from '../domain/scope.js';
import { invalidParameter } from '../errors.js';
import { type Decision, decided, defineOperation, keyAccessRefusal, unlessDryRun } from './operation.js';
import { RegionQuery, RequestId } from './presenters.js';

// Decrypt (spec section 4): the blob names its key and version. Structure is checked
// before any lookup; a blob of another account or region, of a purged key, or with forged
// ids cannot be told apart from a corrupted one (InvalidParameter CiphertextBlob).

export const DecryptFields = z.object({
  CiphertextBlob,
  EncryptionContext: EncryptionContextParam,
  DryRun,
});
export const DecryptInput = DecryptFields.loose().transform((i) => ({
  CiphertextBlob: i.CiphertextBlob,
  EncryptionContext: encryptionContextOf(i),
  DryRun: i.DryRun,
}));

/**
 * The version a blob names, if the caller can see it and the blob's format is its spec's
 * (spec 13.5): a blob of another format, or naming an asymmetric version, names nothing.
 */
export const versionOfBlob = (
  parsed: Pick<ParsedCiphertextBlob, 'formatVersion'>,
  version: KeyVersionRow | undefined,
): KeyVersionRow | undefined =>
  version && BLOB_FORMATS[version.key_spec] === parsed.formatVersion ? version : undefined;

/**
 * The version a parsed blob names (Decrypt, ExportDataKey, ReEncrypt's symmetric source),
 * or undefined when it names nothing the caller can use. The blob resolved its key, so a
 * due rotation runs now (spec 15.3); it never changes which version decrypts.
 */
export async function findBlobVersion(
  { db, clock, masterKey }: Pick<ServiceDeps, 'db' | 'clock' | 'masterKey'>,
  scope: Scope,
  parsed: ParsedCiphertextBlob,
): Promise<KeyVersionRow | undefined> {
  const now = clock();
  const found = versionOfBlob(parsed, await findKeyVersion(db, scope, parsed.keyId, parsed.keyVersionId, now));
  // Now the upkeep that needs the master key (a due rotation); it never changes which
  // version decrypts, so the row found stays the answer.
  if (found) await upkeepResolvedKey(db, found, now, masterKey);
  return found;
}

/**
 * A blob naming a version the caller cannot see, or a version of an asymmetric key (which
 * makes no such blobs: spec 13.5), is InvalidParameter at resolution; then RAM and state.
 */
export function decideDecrypt(
  version: KeyVersionRow | undefined,
  permission: Permission | undefined,
  operation: 'Decrypt' | 'ExportDataKey' | 'ReEncrypt' = 'Decrypt',
): Decision<KeyVersionRow> {
  if (!version || isAsymmetricSpec(version.key_spec)) return invalidParameter('CiphertextBlob', CIPHERTEXT_REASON);
  return keyAccessRefusal(operation, { key: version }, permission) ?? version;
}

export const decrypt = defineOperation({
  name: 'Decrypt',
  input: DecryptInput,
  async run({ db, clock, masterKey }, ctx, input): Promise<DecryptResult> {
    const parsed = parseCiphertextBlob(input.CiphertextBlob);
    const found = await findBlobVersion({ db, clock, masterKey }, ctx, parsed);
    const permission = found && ctx.permission('kms:Decrypt', [keyArn(ctx, found.id)]);
    const version = decided(decideDecrypt(found, permission));
    const plaintext = withClearMaterial(masterKey, version.id, version.version_id, version.wrapped_material, (m) =>
      decryptWithKey(parsed, m, canonicalEncryptionContext(input.EncryptionContext)),
    );
    try {
      // Blob authentication and the context (step 11) came first; then DryRun (step 12).
      decided(unlessDryRun(input.DryRun, 'decrypted'));
      return { Plaintext: encodeBase64(plaintext), KeyId: version.id, KeyVersionId: version.version_id };
    } finally {
      plaintext.fill(0);
    }
  },
  rpc: (r) => ({ Plaintext: r.Plaintext, KeyId: r.KeyId, KeyVersionId: r.KeyVersionId }),
  rest: [
    {
      method: 'POST',
      url: '/v1/decrypt',
      summary: 'Decrypt a ciphertext blob; the blob names its key (Decrypt)',
      tags: ['Crypto'],
      status: 200,
      querystring: RegionQuery,
      body: DecryptFields.extend({ DryRun: z.boolean().optional() }),
      response: DecryptResult.extend({ RequestId }),
      present: (r) => r,
    },
  ],
});
