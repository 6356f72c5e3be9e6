import { z } from 'zod';
import { SPEC_RULES } from './key-specs.js';

// The key specs and the key shapes both faces answer (spec section 3).

export const KEY_SPECS_BUILT = Object.keys(SPEC_RULES) as [keyof typeof SPEC_RULES, ...Array<keyof typeof SPEC_RULES>];
// Real KMS specs this emulator knows but has not built: UnsupportedOperation, not InvalidParameter.
export const KEY_SPECS_KNOWN = ['Aliyun_AES_128', 'Aliyun_AES_192', 'RSA_4096'] as const;

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
    AutomaticRotation: z.enum(['Enabled', 'Disabled', 'Suspended']),
    RotationInterval: z
      .string()
      .describe('`<seconds>s` while the rotation policy is on (Enabled or Suspended); else ""'),
    NextRotationDate: z.string().describe('LastRotationDate + RotationInterval while the policy is on; else ""'),
    DeletionProtection: z.enum(['Enabled', 'Disabled']),
    DeletionProtectionDescription: z.string().describe('The text set with deletion protection; "" when Disabled'),
  })
  .meta({ id: 'KeyMetadata', description: 'Key metadata; every field is a string, "" when it has no value.' });
export type KeyMetadata = z.infer<typeof KeyMetadata>;

export const KeySummary = z.object({ KeyId: z.string(), KeyArn: z.string() }).meta({ id: 'KeySummary' });
export type KeySummary = z.infer<typeof KeySummary>;
