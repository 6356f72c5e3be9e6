import type supertest from 'supertest';
import { type Credentials, DEV_CREDENTIALS, restClient, rpc } from './clients.js';
import type { ContextArg, FaceName } from './faces.js';

// The asymmetric operations (spec 14), ReEncrypt and the data-key exports (16) through
// either face, as faces.ts does for the others. Each call returns the raw response.

type Agent = ReturnType<typeof supertest>;
type Params = Record<string, string | boolean | undefined>;

export function asymmetricFace(
  name: FaceName,
  http: Agent,
  region: string,
  credentials: Credentials = DEV_CREDENTIALS,
) {
  const rest = restClient(http, region, {}, credentials);
  const enc = encodeURIComponent;
  const call = (Action: string, params: Params) =>
    rpc(
      http,
      {
        RegionId: region,
        Action,
        ...Object.fromEntries(
          Object.entries(params).map(([k, v]) => [
            k,
            v === undefined ? undefined : typeof v === 'object' ? JSON.stringify(v) : String(v),
          ]),
        ),
      },
      { method: 'POST', credentials },
    );
  const context = (c: ContextArg) => (name === 'rpc' && typeof c === 'object' ? JSON.stringify(c) : c);
  /** A key-scoped POST: the key in the path on REST, the rest in the body. */
  const keyPost = (action: string, path: string) => (keyId: string, p: Params) =>
    name === 'rpc' ? call(action, { KeyId: keyId, ...p }) : rest.post(`/v1/keys/${enc(keyId)}/${path}`, p);
  const dryRun = (v: boolean | undefined) => (v === undefined ? undefined : name === 'rpc' ? String(v) : v);

  return {
    getPublicKey: (keyId: string, versionId: string | undefined, p: { DryRun?: boolean } = {}) =>
      name === 'rpc'
        ? call('GetPublicKey', { KeyId: keyId, KeyVersionId: versionId, DryRun: dryRun(p.DryRun) })
        : rest.get(
            `/v1/keys/${enc(keyId)}/public-key?${new URLSearchParams({
              ...(versionId !== undefined && { KeyVersionId: versionId }),
              ...(p.DryRun !== undefined && { DryRun: String(p.DryRun) }),
            })}`,
          ),
    sign: (keyId: string, p: { KeyVersionId?: string; Algorithm?: string; Digest?: string; DryRun?: boolean }) =>
      keyPost('AsymmetricSign', 'sign')(keyId, { ...p, DryRun: dryRun(p.DryRun) }),
    verify: (
      keyId: string,
      p: { KeyVersionId?: string; Algorithm?: string; Digest?: string; Value?: string; DryRun?: boolean },
    ) => keyPost('AsymmetricVerify', 'verify')(keyId, { ...p, DryRun: dryRun(p.DryRun) }),
    encrypt: (keyId: string, p: { KeyVersionId?: string; Algorithm?: string; Plaintext?: string; DryRun?: boolean }) =>
      keyPost('AsymmetricEncrypt', 'asymmetric-encrypt')(keyId, { ...p, DryRun: dryRun(p.DryRun) }),
    decrypt: (
      keyId: string,
      p: { KeyVersionId?: string; Algorithm?: string; CiphertextBlob?: string; DryRun?: boolean },
    ) => keyPost('AsymmetricDecrypt', 'asymmetric-decrypt')(keyId, { ...p, DryRun: dryRun(p.DryRun) }),
    reEncrypt: (p: {
      CiphertextBlob?: string;
      DestinationKeyId?: string;
      DestinationEncryptionContext?: ContextArg;
      SourceEncryptionContext?: ContextArg;
      SourceKeyId?: string;
      SourceKeyVersionId?: string;
      SourceEncryptionAlgorithm?: string;
      DryRun?: boolean;
    }) => {
      const body = {
        ...p,
        DestinationEncryptionContext: context(p.DestinationEncryptionContext),
        SourceEncryptionContext: context(p.SourceEncryptionContext),
        DryRun: dryRun(p.DryRun),
      };
      return name === 'rpc' ? call('ReEncrypt', body as Params) : rest.post('/v1/re-encrypt', body);
    },
    generateAndExport: (
      keyId: string,
      p: {
        PublicKeyBlob?: string;
        WrappingKeySpec?: string;
        WrappingAlgorithm?: string;
        NumberOfBytes?: number;
        KeySpec?: string;
        EncryptionContext?: ContextArg;
      },
    ) => {
      const body = { ...p, EncryptionContext: context(p.EncryptionContext) };
      return name === 'rpc'
        ? call('GenerateAndExportDataKey', {
            KeyId: keyId,
            ...(body as unknown as Params),
            NumberOfBytes: p.NumberOfBytes === undefined ? undefined : String(p.NumberOfBytes),
          })
        : rest.post(`/v1/keys/${enc(keyId)}/generate-and-export-data-key`, body);
    },
    exportDataKey: (p: {
      CiphertextBlob?: string;
      PublicKeyBlob?: string;
      WrappingKeySpec?: string;
      WrappingAlgorithm?: string;
      EncryptionContext?: ContextArg;
    }) => {
      const body = { ...p, EncryptionContext: context(p.EncryptionContext) };
      return name === 'rpc' ? call('ExportDataKey', body as Params) : rest.post('/v1/export-data-key', body);
    },
  };
}
