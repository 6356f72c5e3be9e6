import { randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { computeSignatureV1, formatTimestamp, percentEncode } from '../../../src/http/auth/signature.js';
import { type Credentials, DEV_CREDENTIALS } from '../../helpers/clients.js';

// A small HTTP client for the stress tests: real sockets on 127.0.0.1, a hard timeout on
// every request (a hang is a failure, never a stuck test), raw paths and bodies sent
// exactly as given, and V1 signing of any list of pairs (duplicates included).

export interface WireResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined. */
  // biome-ignore lint/suspicious/noExplicitAny: bodies are checked field by field
  json: any;
  ms: number;
}

export interface WireRequest {
  method: string;
  /** Sent as is: no normalization, no encoding. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export class RequestTimeout extends Error {
  override name = 'RequestTimeout';
}

/** One request on a fresh connection; rejects with RequestTimeout after timeoutMs. */
export function send(base: { host: string; port: number }, req: WireRequest, timeoutMs = 5000): Promise<WireResponse> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body);
    const headers: Record<string, string> = { connection: 'close', ...req.headers };
    if (body !== undefined && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined) {
      headers['content-length'] = String(body.length);
    }
    const r = http.request(
      { host: base.host, port: base.port, method: req.method, path: req.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, ms: Date.now() - started });
        });
      },
    );
    const timer = setTimeout(() => {
      r.destroy(new RequestTimeout(`${req.method} ${req.path.slice(0, 120)}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    r.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (body !== undefined) r.write(body);
    r.end();
  });
}

/**
 * Raw bytes on a socket (for requests an HTTP client refuses to send); resolves with
 * everything the server wrote before closing, or what it wrote within timeoutMs.
 */
export function sendRaw(
  base: { host: string; port: number },
  bytes: string | Buffer,
  opts: { timeoutMs?: number; keepOpen?: boolean } = {},
): Promise<{ text: string; status: number; ms: number; timedOut: boolean }> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(base.port, base.host);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ text, status, ms: Date.now() - started, timedOut });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      // A complete response with a Content-Length: no need to wait for the close.
      const text = Buffer.concat(chunks).toString('utf8');
      const head = text.indexOf('\r\n\r\n');
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, head))?.[1];
      if (head !== -1 && length !== undefined && Buffer.byteLength(text) - head - 4 >= Number(length)) finish(false);
    });
    socket.on('end', () => finish(false));
    socket.on('close', () => finish(false));
    socket.on('error', (err) => {
      if (chunks.length > 0) finish(false);
      else if (!done) {
        done = true;
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.write(bytes);
    if (!opts.keepOpen) socket.end();
  });
}

/** A raw HTTP/1.1 response turned into a WireResponse (headers lower-cased, chunked bodies joined). */
export function parseRaw(raw: { text: string; status: number; ms: number }): WireResponse {
  const i = raw.text.indexOf('\r\n\r\n');
  const head = i === -1 ? raw.text : raw.text.slice(0, i);
  let body = i === -1 ? '' : raw.text.slice(i + 4);
  const headers: http.IncomingHttpHeaders = {};
  for (const line of head.split('\r\n').slice(1)) {
    const c = line.indexOf(':');
    if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  if (/chunked/i.test(String(headers['transfer-encoding'] ?? ''))) {
    let out = '';
    let rest = body;
    for (;;) {
      const nl = rest.indexOf('\r\n');
      const size = Number.parseInt(rest.slice(0, nl), 16);
      if (!size) break;
      out += rest.slice(nl + 2, nl + 2 + size);
      rest = rest.slice(nl + 2 + size + 2);
    }
    body = out;
  }
  let json: unknown;
  try {
    json = body ? JSON.parse(body) : undefined;
  } catch {
    json = undefined;
  }
  return { status: raw.status, headers, text: body, json, ms: raw.ms };
}

export type Pairs = Array<[string, string]>;

export interface SignOptions {
  credentials?: Credentials;
  method?: 'GET' | 'POST' | 'HEAD';
  timestamp?: Date;
  nonce?: string;
  /** Which pairs travel in a form body instead of the query (POST only). */
  inForm?: (name: string, index: number) => boolean;
}

export const encodePairs = (pairs: Pairs) => pairs.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');

/**
 * Signs any list of parameters with signature V1 (duplicates, odd names and values
 * included), the way the SDKs do, and lays them out in the query and/or a form body.
 */
export function signedRpc(params: Pairs, opts: SignOptions = {}): WireRequest {
  const credentials = opts.credentials ?? DEV_CREDENTIALS;
  const method = opts.method ?? 'GET';
  const pairs: Pairs = [
    ['AccessKeyId', credentials.accessKeyId],
    ['SignatureMethod', 'HMAC-SHA1'],
    ['SignatureVersion', '1.0'],
    ['SignatureNonce', opts.nonce ?? randomUUID()],
    ['Timestamp', formatTimestamp(opts.timestamp ?? new Date())],
    ...params,
  ];
  pairs.push(['Signature', computeSignatureV1(method, pairs, credentials.secret)]);
  const form = method === 'POST' && opts.inForm ? pairs.filter(([k], i) => opts.inForm!(k, i)) : [];
  const query = pairs.filter((p) => !form.includes(p));
  const req: WireRequest = { method, path: `/?${encodePairs(query)}` };
  if (form.length > 0) {
    req.body = encodePairs(form);
    req.headers = { 'content-type': 'application/x-www-form-urlencoded' };
  }
  return req;
}

export const basicAuthorization = (c: Credentials = DEV_CREDENTIALS) =>
  `Basic ${Buffer.from(`${c.accessKeyId}:${c.secret}`).toString('base64')}`;

/** Percent-encodes every byte of the UTF-8 of s except the unreserved ones (a lone surrogate becomes U+FFFD). */
export const encodeSegment = (s: string) => percentEncode(s);

export const UUID_UPPER = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

/** Why a response is not the contract's error envelope, or undefined when it is. */
export function envelopeProblem(res: { status: number; headers: http.IncomingHttpHeaders; json: unknown }) {
  const body = res.json as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object') return 'the body is not a JSON object';
  for (const field of ['RequestId', 'HostId', 'Code', 'Message', 'Recommend']) {
    if (typeof body[field] !== 'string') return `the envelope lacks ${field}`;
  }
  if (!UUID_UPPER.test(String(body.RequestId))) return 'RequestId is not an uppercase UUID';
  const type = String(res.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) return `content type ${type}`;
  return undefined;
}
