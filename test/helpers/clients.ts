import type supertest from 'supertest';
import { signV1 } from '../../src/http/auth/signature.js';

// Thin clients over supertest for the two faces, so tests read as requests.

type Agent = ReturnType<typeof supertest>;

/** The default account's root access key (config defaults). */
export const DEV_CREDENTIALS = { accessKeyId: 'LTAI5tKmsEmulatorDevKey', secret: 'KmsEmulatorDevSecretDoNotUseInProd' };

export interface Credentials {
  accessKeyId: string;
  secret: string;
}

export interface RpcOptions {
  method?: 'GET' | 'POST' | 'HEAD';
  /** POST only: send the parameters as a form body instead of the query. */
  form?: boolean;
  headers?: Record<string, string>;
  /** Signs with signature V1 (the dev root key by default); null sends no signature. */
  credentials?: Credentials | null;
}

export function rpc(http: Agent, params: Record<string, string | number | undefined>, opts: RpcOptions = {}) {
  const all: Record<string, string> = { Version: '2016-01-20', Format: 'JSON' };
  for (const [k, v] of Object.entries(params)) if (v !== undefined) all[k] = String(v);
  const method = opts.method ?? 'GET';
  const credentials = opts.credentials === undefined ? DEV_CREDENTIALS : opts.credentials;
  let url: string;
  let form: string | undefined;
  if (credentials) {
    const signed = signV1({ ...credentials, params: all, method, placement: opts.form ? 'form' : 'query' });
    url = signed.url;
    form = opts.form ? signed.body.toString() : undefined;
  } else {
    const qs = new URLSearchParams(all).toString();
    url = opts.form ? '/' : `/?${qs}`;
    form = opts.form ? qs : undefined;
  }
  let req =
    method === 'GET'
      ? http.get(url)
      : method === 'HEAD'
        ? http.head(url)
        : form !== undefined
          ? http.post(url).type('form').send(form)
          : http.post(url);
  for (const [k, v] of Object.entries(opts.headers ?? {})) req = req.set(k, v);
  return req;
}

export const basicAuth = (c: Credentials) => `Basic ${Buffer.from(`${c.accessKeyId}:${c.secret}`).toString('base64')}`;

export function restClient(
  http: Agent,
  region: string,
  headers: Record<string, string> = {},
  credentials: Credentials | null = DEV_CREDENTIALS,
) {
  const withRegion = (path: string) => `${path}${path.includes('?') ? '&' : '?'}RegionId=${region}`;
  const all = credentials ? { authorization: basicAuth(credentials), ...headers } : headers;
  const set = (r: supertest.Test) => {
    for (const [k, v] of Object.entries(all)) r = r.set(k, v);
    return r;
  };
  return {
    get: (path: string) => set(http.get(withRegion(path))),
    delete: (path: string) => set(http.delete(withRegion(path))),
    post: (path: string, body?: unknown) => set(http.post(withRegion(path))).send(body as object),
    put: (path: string, body?: unknown) => set(http.put(withRegion(path))).send(body as object),
    patch: (path: string, body?: unknown) => set(http.patch(withRegion(path))).send(body as object),
  };
}

export const UUID_UPPER = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

/** Asserts the Alibaba error envelope and returns it. */
export function expectError(
  res: { status: number; body: Record<string, unknown>; headers: Record<string, string> },
  status: number,
  code: string,
) {
  const body = res.body;
  if (res.status !== status || body.Code !== code) {
    throw new Error(`expected ${status} ${code}, got ${res.status} ${JSON.stringify(body)}`);
  }
  for (const field of ['RequestId', 'HostId', 'Code', 'Message', 'Recommend']) {
    if (typeof body[field] !== 'string') throw new Error(`envelope lacks ${field}: ${JSON.stringify(body)}`);
  }
  if (!UUID_UPPER.test(String(body.RequestId))) throw new Error(`RequestId not an uppercase UUID: ${body.RequestId}`);
  if (!String(res.headers['content-type']).startsWith('application/json')) {
    throw new Error(`error content type ${res.headers['content-type']}`);
  }
  return body;
}
