import type { z } from 'zod';
import * as A from './aliases/aliases.schemas.js';
import type { AliasesService } from './aliases/aliases.service.js';
import type { CallContext } from './context.js';
import * as C from './crypto/crypto.schemas.js';
import type { CryptoService } from './crypto/crypto.service.js';
import * as K from './keys/keys.schemas.js';
import type { KeysService } from './keys/keys.service.js';

// Every operation once: its input schema (the same for both faces) and the one service
// call it makes. The RPC dispatcher and the REST routes differ only in where the
// parameters come from and how the result is shaped.

export interface Services {
  keys: KeysService;
  aliases: AliasesService;
  crypto: CryptoService;
}

export interface Operation<S extends z.ZodType = z.ZodType, R = unknown> {
  input: S;
  run(services: Services, ctx: CallContext, input: z.output<S>): Promise<R>;
}

const op = <S extends z.ZodType, R>(input: S, run: Operation<S, R>['run']): Operation<S, R> => ({ input, run });

export const operations = {
  CreateKey: op(K.CreateKeyInput, (s, ctx, i) => s.keys.createKey(ctx, i)),
  DescribeKey: op(K.DescribeKeyInput, (s, ctx, i) => s.keys.describeKey(ctx, i.KeyId)),
  ListKeys: op(K.ListKeysInput, (s, ctx, i) => s.keys.listKeys(ctx, i)),
  UpdateKeyDescription: op(K.UpdateKeyDescriptionInput, (s, ctx, i) =>
    s.keys.updateKeyDescription(ctx, i.KeyId, i.Description),
  ),
  EnableKey: op(K.KeyOnlyInput, (s, ctx, i) => s.keys.enableKey(ctx, i.KeyId)),
  DisableKey: op(K.KeyOnlyInput, (s, ctx, i) => s.keys.disableKey(ctx, i.KeyId)),
  ScheduleKeyDeletion: op(K.ScheduleKeyDeletionInput, (s, ctx, i) =>
    s.keys.scheduleKeyDeletion(ctx, i.KeyId, i.PendingWindowInDays),
  ),
  CancelKeyDeletion: op(K.KeyOnlyInput, (s, ctx, i) => s.keys.cancelKeyDeletion(ctx, i.KeyId)),
  CreateAlias: op(A.CreateAliasInput, (s, ctx, i) => s.aliases.createAlias(ctx, i.AliasName, i.KeyId)),
  UpdateAlias: op(A.UpdateAliasInput, (s, ctx, i) => s.aliases.updateAlias(ctx, i.AliasName, i.KeyId)),
  DeleteAlias: op(A.AliasNameInput, (s, ctx, i) => s.aliases.deleteAlias(ctx, i.AliasName)),
  GetAlias: op(A.AliasNameInput, (s, ctx, i) => s.aliases.getAlias(ctx, i.AliasName)),
  ListAliases: op(A.ListAliasesInput, (s, ctx, i) => s.aliases.listAliases(ctx, i)),
  ListAliasesByKeyId: op(A.ListAliasesByKeyIdInput, (s, ctx, i) => s.aliases.listAliasesByKeyId(ctx, i.KeyId, i)),
  Encrypt: op(C.EncryptInput, (s, ctx, i) => s.crypto.encrypt(ctx, i)),
  Decrypt: op(C.DecryptInput, (s, ctx, i) => s.crypto.decrypt(ctx, i)),
  GenerateDataKey: op(C.DataKeyInput, (s, ctx, i) => s.crypto.generateDataKey(ctx, i)),
  GenerateDataKeyWithoutPlaintext: op(C.DataKeyInput, (s, ctx, i) => s.crypto.generateDataKeyWithoutPlaintext(ctx, i)),
  // REST only: one route serves both data key operations (`?plaintext=false`, spec section 8).
  GenerateDataKeyRest: op(C.RestDataKeyInput, (s, ctx, i) =>
    i.withPlaintext ? s.crypto.generateDataKey(ctx, i) : s.crypto.generateDataKeyWithoutPlaintext(ctx, i),
  ),
} as const;

export type OperationName = keyof typeof operations;
export type OperationResult<N extends OperationName> = Awaited<ReturnType<(typeof operations)[N]['run']>>;
