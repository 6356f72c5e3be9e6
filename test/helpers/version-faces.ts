import type supertest from 'supertest';
import { basicAuth, type Credentials, DEV_CREDENTIALS, restClient, rpc } from './clients.js';
import type { FaceName } from './faces.js';

// The key version and rotation operations (spec section 15) through either face, beside
// faces.ts, and the admin API's clock (spec 21.2) that moves the service clock.

type Agent = ReturnType<typeof supertest>;

export interface KeyVersionItem {
  KeyId: string;
  KeyVersionId: string;
  CreationDate: string;
}

export function versionFace(name: FaceName, http: Agent, region: string, credentials: Credentials = DEV_CREDENTIALS) {
  const rest = restClient(http, region, {}, credentials);
  const call = (params: Record<string, string | number | undefined>) =>
    rpc(http, { RegionId: region, ...params }, { method: 'POST', credentials });
  const enc = encodeURIComponent;
  return {
    createKeyVersion: (keyId: string) =>
      name === 'rpc'
        ? call({ Action: 'CreateKeyVersion', KeyId: keyId })
        : rest.post(`/v1/keys/${enc(keyId)}/versions`),
    listKeyVersions: (keyId: string, p: { PageNumber?: number; PageSize?: number } = {}) => {
      if (name === 'rpc') return call({ Action: 'ListKeyVersions', KeyId: keyId, ...p });
      const qs = Object.entries(p)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${v}`)
        .join('&');
      return rest.get(`/v1/keys/${enc(keyId)}/versions${qs ? `?${qs}` : ''}`);
    },
    describeKeyVersion: (keyId: string, versionId: string) =>
      name === 'rpc'
        ? call({ Action: 'DescribeKeyVersion', KeyId: keyId, KeyVersionId: versionId })
        : rest.get(`/v1/keys/${enc(keyId)}/versions/${enc(versionId)}`),
    /** `enable` as a boolean goes as `true`/`false` on RPC and a JSON boolean on REST; a string as is. */
    updateRotationPolicy: (keyId: string, enable: boolean | string | undefined, interval?: string) =>
      name === 'rpc'
        ? call({
            Action: 'UpdateRotationPolicy',
            KeyId: keyId,
            EnableAutomaticRotation: enable === undefined ? undefined : String(enable),
            RotationInterval: interval,
          })
        : rest.put(`/v1/keys/${enc(keyId)}/rotation-policy`, {
            EnableAutomaticRotation: enable,
            RotationInterval: interval,
          }),
    /** CreateKey's rotation parameters as each face sends them. */
    rotationParams: (interval: string): Record<string, string> =>
      (name === 'rpc'
        ? { EnableAutomaticRotation: 'true', RotationInterval: interval }
        : { EnableAutomaticRotation: true, RotationInterval: interval }) as unknown as Record<string, string>,
    versionsOf: (body: Record<string, unknown>): KeyVersionItem[] =>
      name === 'rpc'
        ? (body.KeyVersions as { KeyVersion: KeyVersionItem[] }).KeyVersion
        : (body.KeyVersions as KeyVersionItem[]),
  };
}

/** Moves the service clock forward through the admin API; answers the new offset. */
export async function advanceServiceClock(http: Agent, seconds: number): Promise<number> {
  const res = await http
    .post('/_emulator/clock')
    .set('authorization', basicAuth(DEV_CREDENTIALS))
    .send({ AdvanceSeconds: seconds });
  if (res.status !== 200) throw new Error(`clock: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.OffsetSeconds as number;
}

/** The service clock's time: the base clock (the wall clock in these tests) plus the admin API's offset. */
export async function serviceNow(http: Agent): Promise<Date> {
  const res = await http.get('/_emulator/clock').set('authorization', basicAuth(DEV_CREDENTIALS));
  if (res.status !== 200) throw new Error(`clock: ${res.status} ${JSON.stringify(res.body)}`);
  return new Date(Date.now() + (res.body.OffsetSeconds as number) * 1000);
}
