import type { Alias } from '../../domain/aliases/aliases.schemas.js';
import type { DataKeyResult, DecryptResult, EncryptResult } from '../../domain/crypto/crypto.schemas.js';
import type { KeyMetadata, KeySummary } from '../../domain/keys/keys.schemas.js';
import type { Page } from '../../domain/keys/keys.service.js';
import { type OperationName, operations } from '../../domain/operations.js';

// The RPC face's actions: which operation each Action runs and how Alibaba shapes its
// answer. Lists are always arrays (the SDKs throw on an object).

const nothing = () => ({});
const keyMetadata = (m: KeyMetadata) => ({ KeyMetadata: m });
const page = (p: Page<unknown>) => ({ PageNumber: p.PageNumber, PageSize: p.PageSize, TotalCount: p.TotalCount });
const aliasPage = (p: Page<Alias>) => ({ ...page(p), Aliases: { Alias: p.items } });
const keyPage = (p: Page<KeySummary>) => ({ ...page(p), Keys: { Key: p.items } });
// Field by field: nothing but the documented fields reaches the wire.
const sealed = (r: EncryptResult) => ({
  CiphertextBlob: r.CiphertextBlob,
  KeyId: r.KeyId,
  KeyVersionId: r.KeyVersionId,
});
const opened = (r: DecryptResult) => ({ Plaintext: r.Plaintext, KeyId: r.KeyId, KeyVersionId: r.KeyVersionId });
const dataKey = (r: DataKeyResult) => ({ ...sealed(r), Plaintext: r.Plaintext });

interface RpcAction {
  operation: OperationName;
  // biome-ignore lint/suspicious/noExplicitAny: each presenter takes its own operation's result
  present: (result: any) => Record<string, unknown>;
}

export const rpcActions: Record<string, RpcAction> = {
  CreateKey: { operation: 'CreateKey', present: keyMetadata },
  DescribeKey: { operation: 'DescribeKey', present: keyMetadata },
  ListKeys: { operation: 'ListKeys', present: keyPage },
  UpdateKeyDescription: { operation: 'UpdateKeyDescription', present: nothing },
  EnableKey: { operation: 'EnableKey', present: nothing },
  DisableKey: { operation: 'DisableKey', present: nothing },
  ScheduleKeyDeletion: { operation: 'ScheduleKeyDeletion', present: nothing },
  CancelKeyDeletion: { operation: 'CancelKeyDeletion', present: nothing },
  CreateAlias: { operation: 'CreateAlias', present: nothing },
  UpdateAlias: { operation: 'UpdateAlias', present: nothing },
  DeleteAlias: { operation: 'DeleteAlias', present: nothing },
  ListAliases: { operation: 'ListAliases', present: aliasPage },
  ListAliasesByKeyId: { operation: 'ListAliasesByKeyId', present: aliasPage },
  Encrypt: { operation: 'Encrypt', present: sealed },
  Decrypt: { operation: 'Decrypt', present: opened },
  GenerateDataKey: { operation: 'GenerateDataKey', present: dataKey },
  GenerateDataKeyWithoutPlaintext: { operation: 'GenerateDataKeyWithoutPlaintext', present: sealed },
};

export function findAction(
  name: string,
): (RpcAction & { input: (typeof operations)[OperationName]['input'] }) | undefined {
  if (!Object.hasOwn(rpcActions, name)) return undefined;
  const action = rpcActions[name]!;
  return { ...action, input: operations[action.operation].input };
}
