import type supertest from 'supertest';

// Thin clients over supertest for the two faces, so tests read as requests.

type Agent = ReturnType<typeof supertest>;

export interface RpcOptions {
  method?: 'GET' | 'POST';
  /** POST only: send the parameters as a form body instead of the query. */
  form?: boolean;
  headers?: Record<string, string>;
}

export function rpc(http: Agent, params: Record<string, string | number | undefined>, opts: RpcOptions = {}) {
  const all: Record<string, string> = { Version: '2016-01-20', Format: 'JSON' };
  for (const [k, v] of Object.entries(params)) if (v !== undefined) all[k] = String(v);
  const qs = new URLSearchParams(all).toString();
  const method = opts.method ?? 'GET';
  let req =
    method === 'GET' ? http.get(`/?${qs}`) : opts.form ? http.post('/').type('form').send(qs) : http.post(`/?${qs}`);
  for (const [k, v] of Object.entries(opts.headers ?? {})) req = req.set(k, v);
  return req;
}

export function restClient(http: Agent, region: string, headers: Record<string, string> = {}) {
  const withRegion = (path: string) => `${path}${path.includes('?') ? '&' : '?'}RegionId=${region}`;
  const set = (r: supertest.Test) => {
    for (const [k, v] of Object.entries(headers)) r = r.set(k, v);
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
