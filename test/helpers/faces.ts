import type supertest from 'supertest';
import { catalog, type ErrorCode } from '../../src/errors.js';
import { type Credentials, DEV_CREDENTIALS, restClient, rpc } from './clients.js';

// The same operations through either face, so one test states a rule once and checks
// it on both. Each call returns the raw response; `status(code)` gives the status that
// face must answer for an error code.

type Agent = ReturnType<typeof supertest>;
export type FaceName = 'rpc' | 'rest';

export interface AliasItem {
  KeyId: string;
  AliasName: string;
  AliasArn: string;
}

/** An encryption context: an object (JSON text on RPC, a JSON object on REST) or text sent as is. */
export type ContextArg = Record<string, string> | string | undefined;

export interface DataKeyParams {
  KeySpec?: string;
  NumberOfBytes?: number | string;
  EncryptionContext?: ContextArg;
}

export function face(
  name: FaceName,
  http: Agent,
  region: string,
  headers: Record<string, string> = {},
  credentials: Credentials = DEV_CREDENTIALS,
) {
  const rest = restClient(http, region, headers, credentials);
  const call = (params: Record<string, string | number | undefined>) =>
    rpc(http, { RegionId: region, ...params }, { method: 'POST', headers, credentials });
  const enc = encodeURIComponent;
  const qs = (p: Record<string, number | undefined>) =>
    Object.entries(p)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`)
      .join('&');

  const contextText = (c: ContextArg) => (typeof c === 'object' ? JSON.stringify(c) : c);

  const ops = {
    name,
    status: (code: ErrorCode) => (name === 'rpc' ? catalog[code].rpcStatus : catalog[code].restStatus),
    successStatus: (op: 'create' | 'delete' | 'other') =>
      name === 'rpc' ? 200 : op === 'create' ? 201 : op === 'delete' ? 204 : 200,
    createKey: (params: Record<string, string> = {}) =>
      name === 'rpc' ? call({ Action: 'CreateKey', ...params }) : rest.post('/v1/keys', params),
    describeKey: (keyId: string) =>
      name === 'rpc' ? call({ Action: 'DescribeKey', KeyId: keyId }) : rest.get(`/v1/keys/${enc(keyId)}`),
    listKeys: (p: { PageNumber?: number; PageSize?: number } = {}) =>
      name === 'rpc' ? call({ Action: 'ListKeys', ...p }) : rest.get(`/v1/keys?${qs(p)}`),
    createAlias: (aliasName: string | undefined, keyId: string | undefined) =>
      name === 'rpc'
        ? call({ Action: 'CreateAlias', AliasName: aliasName, KeyId: keyId })
        : rest.post('/v1/aliases', { AliasName: aliasName, KeyId: keyId }),
    updateAlias: (aliasName: string, keyId: string | undefined) =>
      name === 'rpc'
        ? call({ Action: 'UpdateAlias', AliasName: aliasName, KeyId: keyId })
        : rest.put(`/v1/aliases/${enc(aliasName)}`, { KeyId: keyId }),
    deleteAlias: (aliasName: string) =>
      name === 'rpc'
        ? call({ Action: 'DeleteAlias', AliasName: aliasName })
        : rest.delete(`/v1/aliases/${enc(aliasName)}`),
    listAliases: (p: { PageNumber?: number; PageSize?: number | string } = {}) =>
      name === 'rpc'
        ? call({ Action: 'ListAliases', ...p })
        : rest.get(`/v1/aliases?${qs(p as Record<string, number>)}`),
    listAliasesByKeyId: (keyId: string, p: { PageNumber?: number; PageSize?: number } = {}) =>
      name === 'rpc'
        ? call({ Action: 'ListAliasesByKeyId', KeyId: keyId, ...p })
        : rest.get(`/v1/keys/${enc(keyId)}/aliases?${qs(p)}`),
    scheduleKeyDeletion: (keyId: string, days: number) =>
      name === 'rpc'
        ? call({ Action: 'ScheduleKeyDeletion', KeyId: keyId, PendingWindowInDays: days })
        : rest.post(`/v1/keys/${enc(keyId)}/schedule-deletion`, { PendingWindowInDays: days }),
    cancelKeyDeletion: (keyId: string) =>
      name === 'rpc'
        ? call({ Action: 'CancelKeyDeletion', KeyId: keyId })
        : rest.post(`/v1/keys/${enc(keyId)}/cancel-deletion`),
    enableKey: (keyId: string) =>
      name === 'rpc' ? call({ Action: 'EnableKey', KeyId: keyId }) : rest.post(`/v1/keys/${enc(keyId)}/enable`),
    disableKey: (keyId: string) =>
      name === 'rpc' ? call({ Action: 'DisableKey', KeyId: keyId }) : rest.post(`/v1/keys/${enc(keyId)}/disable`),
    setDeletionProtection: (
      key: { ProtectedResourceArn?: string; KeyId?: string },
      enable: boolean | string | undefined,
      description?: string,
    ) =>
      name === 'rpc'
        ? call({
            Action: 'SetDeletionProtection',
            ...key,
            EnableDeletionProtection: enable === undefined ? undefined : String(enable),
            DeletionProtectionDescription: description,
          })
        : rest.put(`/v1/keys/${enc(key.KeyId ?? key.ProtectedResourceArn ?? '')}/deletion-protection`, {
            ...(key.KeyId !== undefined &&
              key.ProtectedResourceArn !== undefined && {
                ProtectedResourceArn: key.ProtectedResourceArn,
              }),
            EnableDeletionProtection: enable,
            DeletionProtectionDescription: description,
          }),
    updateKeyDescription: (keyId: string, description: string) =>
      name === 'rpc'
        ? call({ Action: 'UpdateKeyDescription', KeyId: keyId, Description: description })
        : rest.patch(`/v1/keys/${enc(keyId)}`, { Description: description }),
    encrypt: (keyId: string, plaintext: string | undefined, context?: ContextArg) =>
      name === 'rpc'
        ? call({ Action: 'Encrypt', KeyId: keyId, Plaintext: plaintext, EncryptionContext: contextText(context) })
        : rest.post(`/v1/keys/${enc(keyId)}/encrypt`, { Plaintext: plaintext, EncryptionContext: context }),
    decrypt: (blob: string | undefined, context?: ContextArg) =>
      name === 'rpc'
        ? call({ Action: 'Decrypt', CiphertextBlob: blob, EncryptionContext: contextText(context) })
        : rest.post('/v1/decrypt', { CiphertextBlob: blob, EncryptionContext: context }),
    /** GenerateDataKey, or GenerateDataKeyWithoutPlaintext when `withPlaintext` is false. */
    generateDataKey: (keyId: string, p: DataKeyParams = {}, withPlaintext = true) =>
      name === 'rpc'
        ? call({
            Action: withPlaintext ? 'GenerateDataKey' : 'GenerateDataKeyWithoutPlaintext',
            KeyId: keyId,
            KeySpec: p.KeySpec,
            NumberOfBytes: p.NumberOfBytes,
            EncryptionContext: contextText(p.EncryptionContext),
          })
        : rest.post(`/v1/keys/${enc(keyId)}/generate-data-key${withPlaintext ? '' : '?plaintext=false'}`, p),
    getParametersForImport: (keyId: string, WrappingAlgorithm?: string, WrappingKeySpec?: string) =>
      name === 'rpc'
        ? call({ Action: 'GetParametersForImport', KeyId: keyId, WrappingAlgorithm, WrappingKeySpec })
        : rest.post(`/v1/keys/${enc(keyId)}/import-parameters`, { WrappingAlgorithm, WrappingKeySpec }),
    importKeyMaterial: (
      keyId: string,
      p: { EncryptedKeyMaterial?: string; ImportToken?: string; KeyMaterialExpireUnix?: number },
    ) =>
      name === 'rpc'
        ? call({ Action: 'ImportKeyMaterial', KeyId: keyId, ...p })
        : rest.put(`/v1/keys/${enc(keyId)}/material`, p),
    deleteKeyMaterial: (keyId: string) =>
      name === 'rpc'
        ? call({ Action: 'DeleteKeyMaterial', KeyId: keyId })
        : rest.delete(`/v1/keys/${enc(keyId)}/material`),
    /** Aliases of a list response, whichever face. */
    aliasesOf: (body: Record<string, unknown>): AliasItem[] =>
      name === 'rpc' ? (body.Aliases as { Alias: AliasItem[] }).Alias : (body.Aliases as AliasItem[]),
    keysOf: (body: Record<string, unknown>): Array<{ KeyId: string; KeyArn: string }> =>
      name === 'rpc'
        ? (body.Keys as { Key: Array<{ KeyId: string; KeyArn: string }> }).Key
        : (body.Keys as Array<{ KeyId: string; KeyArn: string }>),
    /** Creates a key and returns its id (fails the test when it cannot). */
    async newKey(params: Record<string, string> = {}): Promise<string> {
      const res = await ops.createKey(params);
      if (res.status !== ops.successStatus('create'))
        throw new Error(`CreateKey: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.KeyMetadata.KeyId as string;
    },
  };
  return ops;
}

export type Face = ReturnType<typeof face>;
export const FACES: FaceName[] = ['rpc', 'rest'];
