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
    ...rotationFields(row),
    DeletionProtection: row.deletion_protection ? 'Enabled' : 'Disabled',
    DeletionProtectionDescription: row.deletion_protection ? row.deletion_protection_description : '',
  };
}

/**
 * The policy as KeyMetadata shows it (spec 13.4, 15.3): Suspended while the policy is on and
 * the key is Disabled or PendingDeletion; the interval and next date show while it is on.
 */
export function rotationFields(row: Pick<KeyRow, 'state' | 'rotation_interval_s' | 'next_rotation_date'>) {
  if (row.rotation_interval_s === null) {
    return { AutomaticRotation: 'Disabled', RotationInterval: '', NextRotationDate: '' } as const;
  }
  return {
    AutomaticRotation: row.state === 'Enabled' ? 'Enabled' : 'Suspended',
    RotationInterval: `${row.rotation_interval_s}s`,
    NextRotationDate: formatDate(row.next_rotation_date),
  } as const;
}
