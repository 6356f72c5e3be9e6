import { z } from 'zod';
import { AliasName, KeyOnlyId, NewAliasName, PageNumber, pageSize } from '../params.js';

// Inputs and outputs of the alias operations, shared by the RPC and REST faces.

export const CreateAliasInput = z.object({ AliasName: NewAliasName, KeyId: KeyOnlyId });
export const UpdateAliasInput = z.object({ AliasName, KeyId: KeyOnlyId });
export const UpdateAliasBody = z.object({ KeyId: KeyOnlyId });
export const AliasNameInput = z.object({ AliasName });
export const ListAliasesInput = z.object({ PageNumber, PageSize: pageSize(100) });
export const ListAliasesByKeyIdInput = z.object({ KeyId: KeyOnlyId, PageNumber, PageSize: pageSize(100) });
export const PageQuery = z.object({ PageNumber, PageSize: pageSize(100) });

export const Alias = z
  .object({
    KeyId: z.string().describe('The bare key id the alias points at'),
    AliasName: z.string().meta({ example: 'alias/app' }),
    AliasArn: z.string().meta({ example: 'acs:kms:cn-hangzhou:1234567890123456:alias/app' }),
  })
  .meta({ id: 'Alias' });
export type Alias = z.infer<typeof Alias>;
