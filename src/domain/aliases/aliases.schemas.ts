import { z } from 'zod';
import { aliasArn, type Scope } from '../scope.js';

// An alias as both faces answer it.

export const Alias = z
  .object({
    KeyId: z.string().describe('The bare key id the alias points at'),
    AliasName: z.string().meta({ example: 'alias/app' }),
    AliasArn: z.string().meta({ example: 'acs:kms:cn-hangzhou:1234567890123456:alias/app' }),
  })
  .meta({ id: 'Alias' });
export type Alias = z.infer<typeof Alias>;

export const toAlias = (scope: Scope, aliasName: string, keyId: string): Alias => ({
  KeyId: keyId,
  AliasName: aliasName,
  AliasArn: aliasArn(scope, aliasName),
});
