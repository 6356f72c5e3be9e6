import { z } from 'zod';
import { AnyKeyId, Description, intParam, KeyOnlyId, notImplemented, PageNumber } from '../params.js';

// Inputs and outputs of the key operations, shared by the RPC and REST faces.

export const KEY_SPECS_BUILT = ['Aliyun_AES_256'] as const;
// Real KMS specs this emulator knows but has not built: UnsupportedOperation, not InvalidParameter.
const KEY_SPECS_KNOWN = [
  'Aliyun_AES_128',
  'Aliyun_AES_192',
  'Aliyun_SM4',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'EC_P256',
  'EC_P256K',
  'EC_SM2',
] as const;

export const CreateKeyInput = z.object({
  KeySpec: z
    .enum([...KEY_SPECS_BUILT, ...KEY_SPECS_KNOWN])
    .refine((s) => (KEY_SPECS_BUILT as readonly string[]).includes(s), {
      message: 'not built',
      params: { kmsCode: 'UnsupportedOperation' },
    })
    .default('Aliyun_AES_256'),
  KeyUsage: z.enum(['ENCRYPT/DECRYPT']).default('ENCRYPT/DECRYPT'),
  Origin: z.enum(['Aliyun_KMS', 'EXTERNAL']).default('Aliyun_KMS'),
  ProtectionLevel: z
    .enum(['SOFTWARE', 'HSM'])
    .refine((p) => p === 'SOFTWARE', { message: 'not built', params: { kmsCode: 'UnsupportedOperation' } })
    .default('SOFTWARE'),
  Description: Description.default(''),
  EnableAutomaticRotation: notImplemented(['false']),
  RotationInterval: notImplemented(),
  Tags: notImplemented(),
  Policy: notImplemented(),
  DKMSInstanceId: notImplemented(),
  DryRun: notImplemented(['false']),
});
export type CreateKeyInput = z.output<typeof CreateKeyInput>;

export const DescribeKeyInput = z.object({ KeyId: AnyKeyId });
export const KeyOnlyInput = z.object({ KeyId: KeyOnlyId });

export const ListKeysInput = z.object({
  PageNumber,
  PageSize: intParam(1, 100).default(10).describe('Entries per page, 1 to 100.'),
  Filters: notImplemented(),
});

export const UpdateKeyDescriptionInput = z.object({ KeyId: KeyOnlyId, Description });
export const UpdateKeyDescriptionBody = UpdateKeyDescriptionInput.omit({ KeyId: true });

export const ScheduleKeyDeletionInput = z.object({
  KeyId: KeyOnlyId,
  PendingWindowInDays: intParam(7, 366).describe('Days until the key is deleted, 7 to 366.'),
});
export const ScheduleKeyDeletionBody = ScheduleKeyDeletionInput.omit({ KeyId: true });

export const KeyMetadata = z
  .object({
    KeyId: z.string(),
    Arn: z.string(),
    KeyState: z.enum(['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport']),
    KeySpec: z.string(),
    KeyUsage: z.string(),
    CreationDate: z.string(),
    Creator: z.string(),
    Description: z.string(),
    Origin: z.string(),
    ProtectionLevel: z.string(),
    PrimaryKeyVersion: z.string(),
    DeleteDate: z.string(),
    MaterialExpireTime: z.string(),
    LastRotationDate: z.string(),
    AutomaticRotation: z.string(),
  })
  .meta({ id: 'KeyMetadata', description: 'Key metadata; every field is a string, "" when it has no value.' });
export type KeyMetadata = z.infer<typeof KeyMetadata>;

export const KeySummary = z.object({ KeyId: z.string(), KeyArn: z.string() }).meta({ id: 'KeySummary' });
export type KeySummary = z.infer<typeof KeySummary>;
