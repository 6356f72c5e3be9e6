import { keyArn } from '../scope.js';
import type { KeyRow } from './key-rows.js';
import type { KeyMetadata } from './keys.schemas.js';

/** UTC `yyyy-MM-ddTHH:mm:ssZ`, as Alibaba prints dates; "" for no value. */
export function formatDate(d: Date | null | undefined): string {
  return d ? `${d.toISOString().slice(0, 19)}Z` : '';
}

export function toKeyMetadata(row: KeyRow): KeyMetadata {
  return {
    KeyId: row.id,
    Arn: keyArn({ accountId: row.account_id, region: row.region }, row.id),
    KeyState: row.state,
    KeySpec: row.key_spec,
    KeyUsage: row.key_usage,
    CreationDate: formatDate(row.creation_date),
    Creator: row.creator,
    Description: row.description,
    Origin: row.origin,
    ProtectionLevel: row.protection_level,
    PrimaryKeyVersion: row.primary_key_version ?? '',
    DeleteDate: formatDate(row.delete_date),
    MaterialExpireTime: formatDate(row.material_expire_time),
    LastRotationDate: formatDate(row.last_rotation_date),
    AutomaticRotation: 'Disabled',
    DeletionProtection: row.deletion_protection ? 'Enabled' : 'Disabled',
    DeletionProtectionDescription: row.deletion_protection ? row.deletion_protection_description : '',
  };
}
