import { asymmetricDecrypt } from './asymmetric-decrypt.js';
import { asymmetricEncrypt } from './asymmetric-encrypt.js';
import { asymmetricSign } from './asymmetric-sign.js';
import { asymmetricVerify } from './asymmetric-verify.js';
import { cancelKeyDeletion } from './cancel-key-deletion.js';
import { createAlias } from './create-alias.js';
import { createKey } from './create-key.js';
import { createKeyVersion } from './create-key-version.js';
import { decrypt } from './decrypt.js';
import { deleteAlias } from './delete-alias.js';
import { deleteKeyMaterial } from './delete-key-material.js';
import { describeKey } from './describe-key.js';
import { describeKeyVersion } from './describe-key-version.js';
import { describeRegions } from './describe-regions.js';
import { disableKey } from './disable-key.js';
import { enableKey } from './enable-key.js';
import { encrypt } from './encrypt.js';
import { exportDataKey } from './export-data-key.js';
import { generateAndExportDataKey } from './generate-and-export-data-key.js';
import { generateDataKey } from './generate-data-key.js';
import { generateDataKeyRest } from './generate-data-key-rest.js';
import { generateDataKeyWithoutPlaintext } from './generate-data-key-without-plaintext.js';
import { getAlias } from './get-alias.js';
import { getParametersForImport } from './get-parameters-for-import.js';
import { getPublicKey } from './get-public-key.js';
import { importKeyMaterial } from './import-key-material.js';
import { listAliases } from './list-aliases.js';
import { listAliasesByKeyId } from './list-aliases-by-key-id.js';
import { listKeyVersions } from './list-key-versions.js';
import { listKeys } from './list-keys.js';
import { listResourceTags } from './list-resource-tags.js';
import type { Operation } from './operation.js';
import { reEncrypt } from './re-encrypt.js';
import { scheduleKeyDeletion } from './schedule-key-deletion.js';
import { setDeletionProtection } from './set-deletion-protection.js';
import { tagResource } from './tag-resource.js';
import { untagResource } from './untag-resource.js';
import { updateAlias } from './update-alias.js';
import { updateKeyDescription } from './update-key-description.js';
import { updateRotationPolicy } from './update-rotation-policy.js';

// Every operation, once. The RPC action table (http/rpc), the REST routes (http/rest) and
// openapi.yaml are derived from this list, in this order; adding an operation is one
// module and one line here.

// biome-ignore lint/suspicious/noExplicitAny: each module pairs its own input and result
export const OPERATIONS: ReadonlyArray<Operation<any, any>> = [
  createKey,
  listKeys,
  describeKey,
  updateKeyDescription,
  enableKey,
  disableKey,
  cancelKeyDeletion,
  scheduleKeyDeletion,
  setDeletionProtection,
  tagResource,
  untagResource,
  listResourceTags,
  getParametersForImport,
  importKeyMaterial,
  deleteKeyMaterial,
  listAliasesByKeyId,
  createKeyVersion,
  listKeyVersions,
  describeKeyVersion,
  updateRotationPolicy,
  encrypt,
  generateDataKey,
  generateDataKeyWithoutPlaintext,
  generateDataKeyRest,
  decrypt,
  reEncrypt,
  generateAndExportDataKey,
  exportDataKey,
  getPublicKey,
  asymmetricSign,
  asymmetricVerify,
  asymmetricEncrypt,
  asymmetricDecrypt,
  createAlias,
  listAliases,
  getAlias,
  updateAlias,
  deleteAlias,
  describeRegions,
];

/** The operations the RPC face answers, by Action. */
export const RPC_ACTIONS: ReadonlyMap<string, Operation> = new Map(
  OPERATIONS.filter((o) => o.rpc !== undefined).map((o) => [o.name, o]),
);
