// Verification of Alibaba Cloud request signatures: V1 (HMAC-SHA1 over the RPC parameters)
// and the header-signed family over a canonical request (ACS3-HMAC-SHA256, ACS3-HMAC-SM3,
// ACS4-HMAC-SHA256: spec sections 6 and 20.3), plus HTTP Basic for the REST face.
//
// Pure functions: the caller hands over the request as received (decoded parameters, raw
// body, lower-cased headers) and a secret lookup; nothing here touches the network, the
// database or the clock (the caller passes `now`). Nonce replay is the caller's job: a
// verified signature returns its nonce and timestamp for the caller to record.
//
// Error messages name the piece of the signature that is wrong, never a value: no secret,
// signature, parameter or header value ever appears in a KmsError raised here.

import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { KmsError } from '../../errors.js';

export interface SignedRequest {
  /** HTTP method as received, e.g. 'GET' or 'POST'. */
  method: string;
  /** Raw path as received, without the query string, e.g. '/' or '/v1/aliases/alias%2Fapp'. */
  path: string;
  /** Decoded query pairs in received order. */
  query: ReadonlyArray<readonly [string, string]>;
  /** Decoded application/x-www-form-urlencoded body pairs ([] when the body is not a form). */
  form: Array<[string, string]>;
  /** Headers with lower-cased names. */
  headers: Record<string, string | undefined>;
  /** Raw body bytes (an empty Buffer when there is none). */
  body: Buffer;
}

/** Returns the secret of an access key, or undefined when the key does not exist. */
export type SecretLookup = (accessKeyId: string) => string | undefined;

export type SignatureVersion = 'V1' | 'V3';

export interface VerifiedSignature {
  accessKeyId: string;
  version: SignatureVersion;
  nonce: string;
  timestamp: Date;
  /** V3 only: the signed header names, lower-cased and sorted. Headers not listed are not trusted. */
  signedHeaders?: string[];
}

/** A request's timestamp may be this far from the server's clock, in either direction. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export const V3_ALGORITHM = 'ACS3-HMAC-SHA256';
/** The header-signed algorithms this service verifies ("V3" for short). */
export const HEADER_ALGORITHMS = ['ACS3-HMAC-SHA256', 'ACS3-HMAC-SM3', 'ACS4-HMAC-SHA256'] as const;
export type HeaderAlgorithm = (typeof HEADER_ALGORITHMS)[number];

/** The algorithm an Authorization header names, when it is one of ours. */
export function headerAlgorithmOf(authorization: string | undefined): HeaderAlgorithm | undefined {
  return HEADER_ALGORITHMS.find((a) => authorization?.startsWith(`${a} `));
}

/** Which face a request came to: the required signed headers differ. */
export type SignedFace = 'rpc' | 'rest';

/** On the REST face the signed method and path name the operation (spec section 20.3). */
export const REST_REQUIRED_SIGNED_HEADERS = [
  'host',
  'x-acs-content-sha256',
  'x-acs-date',
  'x-acs-signature-nonce',
] as const;

/** Headers every V3 request must sign (spec section 6). */
export const V3_REQUIRED_SIGNED_HEADERS = [
  'host',
  'x-acs-action',
  'x-acs-content-sha256',
  'x-acs-date',
  'x-acs-signature-nonce',
  'x-acs-version',
] as const;

// ---------------------------------------------------------------------------------------
// Shared helpers

const incomplete = (reason: string) =>
  new KmsError('IncompleteSignature', `The request signature does not conform to Aliyun standards: ${reason}.`);

const mismatch = () => new KmsError('SignatureDoesNotMatch');

const expired = () => new KmsError('InvalidTimeStamp.Expired');

const UNESCAPED_BY_URI_COMPONENT = /[!'()*]/g;

/**
 * RFC 3986 percent-encoding of a decoded value, as every Alibaba signer does it: only
 * A-Z a-z 0-9 - _ . ~ stay as they are; a space is %20 (never '+'), '*' is %2A, '~' stays.
 * encodeURIComponent already leaves exactly the unreserved set plus !'()* alone, so only
 * those five need fixing. A lone surrogate (which encodeURIComponent refuses) cannot come
 * out of percent-decoding, but a caller's string might hold one: it is encoded as the
 * UTF-8 of U+FFFD, which is what Buffer.from does.
 */
export function percentEncode(value: string): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(value);
  } catch {
    encoded = encodeURIComponent(Buffer.from(value, 'utf8').toString('utf8'));
  }
  return encoded.replace(UNESCAPED_BY_URI_COMPONENT, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

// The Node SDKs sort parameter names with Array.prototype.sort's default comparison (UTF-16
// code units). For the ASCII names of every KMS parameter that is byte order; using the same
// comparison keeps us byte-identical to the SDKs even for exotic names. The sort is stable,
// so a name given twice keeps its received order (the RPC layer refuses duplicates anyway).
const byName = (a: readonly [string, string], b: readonly [string, string]): number =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;

/** Constant-time comparison of two strings; the length of the expected value is not secret. */
function constantTimeEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Compares two secrets in constant time without revealing their lengths: both sides are
 * hashed first, so timingSafeEqual always sees two 32-byte buffers.
 */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** Longest nonce kept: every SDK sends a UUID or 32 hex digits; the index takes far more. */
export const MAX_NONCE_LENGTH = 255;
const CONTROL = /\p{Cc}/u;

/** A nonce is stored for 15 minutes: one the database could not hold is refused up front. */
function checkNonce(nonce: string, name: string): void {
  if (nonce.length > MAX_NONCE_LENGTH || CONTROL.test(nonce)) {
    throw incomplete(`${name} must be at most ${MAX_NONCE_LENGTH} characters without control characters`);
  }
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/**
 * Parses an ISO 8601 UTC timestamp as the SDKs send it (`2016-03-28T03:13:08Z`, optionally
 * with a fraction of a second). Returns null for anything else, including impossible dates
 * such as February 30 and offsets other than Z.
 */
export function parseTimestamp(value: string): Date | null {
  const m = TIMESTAMP.exec(value);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const millis = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0;
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis));
  // Date.UTC rolls over out-of-range fields (Feb 30 -> Mar 2); a round trip catches that.
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    return null;
  }
  return date;
}

/** `yyyy-MM-ddTHH:mm:ssZ`, the format of the V1 `Timestamp` and the V3 `x-acs-date`. */
export function formatTimestamp(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function checkTimestamp(value: string | undefined, now: Date): Date {
  const timestamp = value === undefined ? null : parseTimestamp(value);
  if (!timestamp || Math.abs(timestamp.getTime() - now.getTime()) > MAX_CLOCK_SKEW_MS) throw expired();
  return timestamp;
}

function lookupSecret(lookup: SecretLookup, accessKeyId: string): string {
  const secret = lookup(accessKeyId);
  if (secret === undefined) throw new KmsError('InvalidAccessKeyId.NotFound');
  return secret;
}

/**
 * V3 if an `Authorization: ACS3-HMAC-SHA256 ...` header is present (it wins over any
 * Signature parameter), V1 if a `Signature` parameter is in the query or the form, else null.
 */
export function detectSignatureVersion(
  req: Pick<SignedRequest, 'query' | 'form' | 'headers'>,
): SignatureVersion | null {
  if (headerAlgorithmOf(req.headers.authorization)) return 'V3';
  const hasSignature = (pairs: ReadonlyArray<readonly [string, string]>) =>
    pairs.some(([name]) => name === 'Signature');
  if (hasSignature(req.query) || hasSignature(req.form)) return 'V1';
  return null;
}

/**
 * Verifies the request's signature and returns who signed it. Order of checks (spec
 * section 10): the shape of the signature (IncompleteSignature), the access key
 * (InvalidAccessKeyId.NotFound), the signature itself (SignatureDoesNotMatch), then the
 * timestamp (InvalidTimeStamp.Expired), so an unauthenticated caller learns nothing about
 * the clock. The nonce is returned, not checked: replay is the caller's concern.
 */
export function verifySignature(
  req: SignedRequest,
  lookup: SecretLookup,
  now: Date,
  face: SignedFace = 'rpc',
): VerifiedSignature {
  switch (detectSignatureVersion(req)) {
    case 'V3':
      return verifyV3(req, lookup, now, face);
    case 'V1':
      return verifyV1(req, lookup, now);
    default:
      throw incomplete('no supported signature was found');
  }
}

// ---------------------------------------------------------------------------------------
// Signature V1: HMAC-SHA1 over the sorted, re-encoded query and form parameters

/**
 * The canonicalized query string of V1: every parameter except `Signature`, sorted by
 * name, name and value re-encoded from their decoded form, joined with '=' and '&'.
 */
export function canonicalizeV1(params: ReadonlyArray<readonly [string, string]>): string {
  return params
    .filter(([name]) => name !== 'Signature')
    .sort(byName)
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&');
}

/** `METHOD&%2F&percentEncode(canonicalized query)`: the path of an RPC request is always '/'. */
export function stringToSignV1(method: string, params: ReadonlyArray<readonly [string, string]>): string {
  return `${method}&${percentEncode('/')}&${percentEncode(canonicalizeV1(params))}`;
}

/** Base64 HMAC-SHA1 of the V1 string to sign, keyed with `secret + '&'`. */
export function computeSignatureV1(
  method: string,
  params: ReadonlyArray<readonly [string, string]>,
  secret: string,
): string {
  return createHmac('sha1', `${secret}&`).update(stringToSignV1(method, params), 'utf8').digest('base64');
}

/** The one value of a signature parameter; a signature parameter given twice is malformed. */
function signatureParam(params: ReadonlyArray<readonly [string, string]>, name: string): string | undefined {
  let found: string | undefined;
  let count = 0;
  for (const [n, v] of params) {
    if (n === name) {
      found = v;
      count += 1;
    }
  }
  if (count > 1) throw incomplete(`${name} is given more than once`);
  return found === '' ? undefined : found;
}

function verifyV1(req: SignedRequest, lookup: SecretLookup, now: Date): VerifiedSignature {
  const params = [...req.query, ...req.form];
  const accessKeyId = signatureParam(params, 'AccessKeyId');
  const signature = signatureParam(params, 'Signature');
  const method = signatureParam(params, 'SignatureMethod');
  const version = signatureParam(params, 'SignatureVersion');
  const timestamp = signatureParam(params, 'Timestamp');
  const nonce = signatureParam(params, 'SignatureNonce');

  if (accessKeyId === undefined) throw incomplete('AccessKeyId is missing');
  if (signature === undefined) throw incomplete('Signature is missing');
  if (method !== 'HMAC-SHA1') throw incomplete('SignatureMethod must be HMAC-SHA1');
  if (version !== '1.0') throw incomplete('SignatureVersion must be 1.0');
  if (timestamp === undefined) throw incomplete('Timestamp is missing');
  if (nonce === undefined) throw incomplete('SignatureNonce is missing');
  checkNonce(nonce, 'SignatureNonce');

  const secret = lookupSecret(lookup, accessKeyId);
  if (!constantTimeEqual(signature, computeSignatureV1(req.method, params, secret))) throw mismatch();

  return { accessKeyId, version: 'V1', nonce, timestamp: checkTimestamp(timestamp, now) };
}

// ---------------------------------------------------------------------------------------
// Signature V3: ACS3-HMAC-SHA256 over a canonical request

export interface AuthorizationV3 {
  algorithm: HeaderAlgorithm;
  accessKeyId: string;
  /** ACS4 only: the credential's date (yyyyMMdd), region and product, which derive the key. */
  scope?: { date: string; region: string; product: string };
  /** Lower-cased and sorted, as they go into the canonical request. */
  signedHeaders: string[];
  /** Lower-case hex. */
  signature: string;
}

const HEX_256 = /^[0-9a-f]{64}$/i;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;

/**
 * Parses `<algorithm> Credential=<credential>,SignedHeaders=<a;b;c>,Signature=<hex>`, where
 * the credential is the access key id (ACS3) or `<ak>/<yyyyMMdd>/<region>/<product>/aliyun_v4_request`
 * (ACS4). Spaces after the commas are tolerated; anything else malformed is IncompleteSignature.
 */
export function parseAuthorizationV3(header: string | undefined): AuthorizationV3 {
  const algorithm = headerAlgorithmOf(header);
  if (header === undefined || algorithm === undefined) {
    throw incomplete(`the Authorization header must use ${HEADER_ALGORITHMS.join(', ')}`);
  }
  const fields = new Map<string, string>();
  for (const part of header.slice(algorithm.length + 1).split(',')) {
    const item = part.trim();
    const eq = item.indexOf('=');
    const key = eq > 0 ? item.slice(0, eq) : '';
    if (key !== 'Credential' && key !== 'SignedHeaders' && key !== 'Signature') {
      throw incomplete('the Authorization header is malformed');
    }
    if (fields.has(key)) throw incomplete(`the Authorization header gives ${key} more than once`);
    fields.set(key, item.slice(eq + 1));
  }

  const credential = fields.get('Credential');
  const signedHeaderList = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credential) throw incomplete('the Authorization header has no Credential');
  if (!signedHeaderList) throw incomplete('the Authorization header has no SignedHeaders');
  if (!signature) throw incomplete('the Authorization header has no Signature');
  if (!HEX_256.test(signature)) throw incomplete('the Signature in the Authorization header is not 64 hex digits');

  const signedHeaders = signedHeaderList.split(';').map((name) => name.toLowerCase());
  if (signedHeaders.some((name) => !HEADER_NAME.test(name))) throw incomplete('SignedHeaders is malformed');
  if (new Set(signedHeaders).size !== signedHeaders.length) throw incomplete('SignedHeaders lists a header twice');
  signedHeaders.sort();

  const base = { algorithm, signedHeaders, signature: signature.toLowerCase() };
  if (algorithm !== 'ACS4-HMAC-SHA256') return { ...base, accessKeyId: credential };
  const [accessKeyId, date, region, product, terminal, ...rest] = credential.split('/');
  if (!accessKeyId || !date || !/^[0-9]{8}$/.test(date) || !region || !product) {
    throw incomplete('the ACS4 Credential must be <AccessKeyId>/<yyyyMMdd>/<region>/<product>/aliyun_v4_request');
  }
  if (terminal !== 'aliyun_v4_request' || rest.length > 0) {
    throw incomplete('the ACS4 Credential must end in aliyun_v4_request');
  }
  return { ...base, accessKeyId, scope: { date, region, product } };
}

/**
 * The canonical query string of V3: query parameters (never the form body, which the
 * payload hash covers) sorted by name, names and values RFC 3986-encoded.
 *
 * @alicloud/openapi-util 0.3.x (used by @alicloud/openapi-client 0.4.15) encodes the
 * values but leaves the names as they are. For names made only of unreserved characters,
 * which is every KMS parameter, the two are byte-identical; for other names Alibaba's V3
 * documentation says to encode, and encoding keeps the canonical form unambiguous (a raw
 * name holding '&' or '=' could pass one parameter off as two).
 */
export function canonicalQueryV3(query: ReadonlyArray<readonly [string, string]>): string {
  return [...query]
    .sort(byName)
    .map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`)
    .join('&');
}

/**
 * METHOD \n canonical URI \n canonical query \n canonical headers \n signed headers \n
 * payload hash. The canonical URI is the path exactly as received; each canonical header is
 * `name:trimmed value\n`, so the canonical-headers block ends with a newline of its own.
 */
export function canonicalRequestV3(
  req: Pick<SignedRequest, 'method' | 'path' | 'query' | 'headers'>,
  signedHeaders: readonly string[],
  hashedPayload: string,
): string {
  const canonicalHeaders = signedHeaders.map((name) => `${name}:${(req.headers[name] ?? '').trim()}\n`).join('');
  return [
    req.method,
    req.path,
    canonicalQueryV3(req.query),
    canonicalHeaders,
    signedHeaders.join(';'),
    hashedPayload,
  ].join('\n');
}

export function stringToSignV3(canonicalRequest: string, algorithm: HeaderAlgorithm = V3_ALGORITHM): string {
  return `${algorithm}\n${payloadHash(algorithm, canonicalRequest)}`;
}

/** Hex hash of a payload or canonical request: SM3 for ACS3-HMAC-SM3, else SHA-256. */
export function payloadHash(algorithm: HeaderAlgorithm, data: Buffer | string): string {
  return algorithm === 'ACS3-HMAC-SM3' ? createHash('sm3').update(data).digest('hex') : sha256Hex(data);
}

/** ACS4's signing key: the secret through the credential's date, region and product. */
export function signingKeyV4(secret: string, scope: { date: string; region: string; product: string }): Buffer {
  let key = createHmac('sha256', `aliyun_v4${secret}`).update(scope.date, 'utf8').digest();
  for (const part of [scope.region, scope.product, 'aliyun_v4_request']) {
    key = createHmac('sha256', key).update(part, 'utf8').digest();
  }
  return key;
}

/**
 * Lower-case hex signature of a canonical request: HMAC-SHA256 (ACS3-HMAC-SHA256) or
 * HMAC-SM3 (ACS3-HMAC-SM3) keyed with the secret itself, or HMAC-SHA256 keyed with ACS4's
 * derived key.
 */
export function computeSignatureV3(
  canonicalRequest: string,
  secret: string,
  algorithm: HeaderAlgorithm = V3_ALGORITHM,
  scope?: AuthorizationV3['scope'],
): string {
  const toSign = stringToSignV3(canonicalRequest, algorithm);
  if (algorithm === 'ACS4-HMAC-SHA256') {
    if (!scope) throw new Error('ACS4 needs the credential scope');
    return createHmac('sha256', signingKeyV4(secret, scope)).update(toSign, 'utf8').digest('hex');
  }
  const hmac = algorithm === 'ACS3-HMAC-SM3' ? 'sm3' : 'sha256';
  return createHmac(hmac, secret).update(toSign, 'utf8').digest('hex');
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * ACS4's older signers wrote a parameter with an empty value as its name alone; the
 * canonical request with that form, for a query that holds an empty value.
 */
function legacyEmptyValueQuery(query: ReadonlyArray<readonly [string, string]>): string | undefined {
  if (!query.some(([, value]) => value === '')) return undefined;
  return [...query]
    .sort(byName)
    .map(([name, value]) => (value === '' ? percentEncode(name) : `${percentEncode(name)}=${percentEncode(value)}`))
    .join('&');
}

function verifyV3(req: SignedRequest, lookup: SecretLookup, now: Date, face: SignedFace): VerifiedSignature {
  const auth = parseAuthorizationV3(req.headers.authorization);
  for (const name of face === 'rest' ? REST_REQUIRED_SIGNED_HEADERS : V3_REQUIRED_SIGNED_HEADERS) {
    if (!auth.signedHeaders.includes(name)) throw incomplete(`SignedHeaders must include ${name}`);
  }
  for (const name of auth.signedHeaders) {
    if (req.headers[name] === undefined) throw incomplete(`the signed header ${name} is missing`);
  }
  const nonce = req.headers['x-acs-signature-nonce']?.trim();
  if (!nonce) throw incomplete('x-acs-signature-nonce is empty');
  checkNonce(nonce, 'x-acs-signature-nonce');
  const date = req.headers['x-acs-date']?.trim();
  if (auth.scope && auth.scope.date !== date?.slice(0, 10).replaceAll('-', '')) {
    throw incomplete('the date of the ACS4 Credential is not the date of x-acs-date');
  }

  const secret = lookupSecret(lookup, auth.accessKeyId);

  // The payload hash the client claims (lower-case hex, as every SDK writes it; SM3 for
  // ACS3-HMAC-SM3, in the same header) must be the hash of the body that arrived; it is
  // also the last line of the canonical request.
  const bodyHash = payloadHash(auth.algorithm, req.body);
  if ((req.headers['x-acs-content-sha256'] ?? '').trim() !== bodyHash) throw mismatch();

  const canonical = canonicalRequestV3(req, auth.signedHeaders, bodyHash);
  const expected = computeSignatureV3(canonical, secret, auth.algorithm, auth.scope);
  let matches = constantTimeEqual(auth.signature, expected);
  const legacy = auth.algorithm === 'ACS4-HMAC-SHA256' ? legacyEmptyValueQuery(req.query) : undefined;
  if (!matches && legacy !== undefined) {
    const lines = canonical.split('\n');
    lines[2] = legacy;
    matches = constantTimeEqual(
      auth.signature,
      computeSignatureV3(lines.join('\n'), secret, auth.algorithm, auth.scope),
    );
  }
  if (!matches) throw mismatch();

  return {
    accessKeyId: auth.accessKeyId,
    version: 'V3',
    nonce,
    timestamp: checkTimestamp(date, now),
    signedHeaders: auth.signedHeaders,
  };
}

// ---------------------------------------------------------------------------------------
// HTTP Basic (REST face, for curl)

export interface BasicCredentials {
  accessKeyId: string;
  secret: string;
}

const BASIC = /^Basic +([A-Za-z0-9+/]+={0,2})$/i;

/**
 * Parses `Authorization: Basic base64(AccessKeyId:AccessKeySecret)`. Returns null when the
 * header is absent, is not Basic, or does not decode to a non-empty id and secret.
 */
export function parseBasicAuth(header: string | undefined): BasicCredentials | null {
  const m = header === undefined ? null : BASIC.exec(header.trim());
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) return null;
  return { accessKeyId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/**
 * Checks Basic credentials against the lookup: unknown access key is
 * InvalidAccessKeyId.NotFound, a wrong secret SignatureDoesNotMatch (spec section 6).
 * Returns the access key id.
 */
export function verifyBasicAuth(credentials: BasicCredentials, lookup: SecretLookup): string {
  const secret = lookupSecret(lookup, credentials.accessKeyId);
  if (!secretsEqual(credentials.secret, secret)) throw mismatch();
  return credentials.accessKeyId;
}

// ---------------------------------------------------------------------------------------
// Signing helpers, for tests and the benchmark: they produce requests the verifier accepts,
// both as the verifier's input and as what goes on the wire.

export interface WireRequest extends SignedRequest {
  /** Path plus the encoded query string, ready for an HTTP client. */
  url: string;
}

const encodePairs = (pairs: ReadonlyArray<readonly [string, string]>): string =>
  pairs.map(([name, value]) => `${percentEncode(name)}=${percentEncode(value)}`).join('&');

export interface SignV1Options {
  accessKeyId: string;
  secret: string;
  /** `Action`, `Version` and the operation's parameters. They override the signature parameters, so tests can break them. */
  params: Record<string, string>;
  method?: string;
  /** Where every parameter, including Signature, travels: the query string (default) or a form body. */
  placement?: 'query' | 'form';
  timestamp?: Date;
  nonce?: string;
  host?: string;
}

export function signV1(opts: SignV1Options): WireRequest {
  const method = opts.method ?? 'GET';
  const params: Array<[string, string]> = Object.entries({
    AccessKeyId: opts.accessKeyId,
    SignatureMethod: 'HMAC-SHA1',
    SignatureVersion: '1.0',
    SignatureNonce: opts.nonce ?? randomUUID(),
    Timestamp: formatTimestamp(opts.timestamp ?? new Date()),
    ...opts.params,
  });
  params.push(['Signature', computeSignatureV1(method, params, opts.secret)]);

  const headers: Record<string, string> = { host: opts.host ?? 'localhost' };
  if (opts.placement === 'form') {
    const body = Buffer.from(encodePairs(params), 'utf8');
    headers['content-type'] = 'application/x-www-form-urlencoded';
    return { method, path: '/', url: '/', query: [], form: params, headers, body };
  }
  return {
    method,
    path: '/',
    url: `/?${encodePairs(params)}`,
    query: params,
    form: [],
    headers,
    body: Buffer.alloc(0),
  };
}

export interface SignV3Options {
  accessKeyId: string;
  secret: string;
  action: string;
  version: string;
  method?: string;
  /** Path as it goes on the wire (already encoded); '/' for the RPC face. */
  path?: string;
  query?: Record<string, string>;
  /** Sent as an application/x-www-form-urlencoded body. */
  form?: Record<string, string>;
  /** A raw body, when not a form; give its content type too. */
  body?: Buffer | string;
  contentType?: string;
  /** Extra headers; like the SDK, every x-acs-* header and content-type are signed. */
  headers?: Record<string, string>;
  host?: string;
  timestamp?: Date;
  nonce?: string;
}

export function signV3(opts: SignV3Options): WireRequest {
  const method = opts.method ?? 'POST';
  const path = opts.path ?? '/';
  const query = Object.entries(opts.query ?? {});
  const form = Object.entries(opts.form ?? {});
  let body: Buffer = Buffer.alloc(0);
  let contentType = opts.contentType;
  if (opts.form) {
    body = Buffer.from(encodePairs(form), 'utf8');
    contentType = 'application/x-www-form-urlencoded';
  } else if (opts.body !== undefined) {
    body = Buffer.isBuffer(opts.body) ? opts.body : Buffer.from(opts.body, 'utf8');
  }

  const headers: Record<string, string> = {
    host: opts.host ?? 'localhost',
    'x-acs-action': opts.action,
    'x-acs-version': opts.version,
    'x-acs-date': formatTimestamp(opts.timestamp ?? new Date()),
    'x-acs-signature-nonce': opts.nonce ?? randomUUID(),
    'x-acs-content-sha256': sha256Hex(body),
  };
  if (contentType !== undefined) headers['content-type'] = contentType;
  for (const [name, value] of Object.entries(opts.headers ?? {})) headers[name.toLowerCase()] = value;

  const signedHeaders = Object.keys(headers)
    .filter((name) => name === 'host' || name === 'content-type' || name.startsWith('x-acs-'))
    .sort();
  const canonical = canonicalRequestV3({ method, path, query, headers }, signedHeaders, sha256Hex(body));
  headers.authorization =
    `${V3_ALGORITHM} Credential=${opts.accessKeyId},SignedHeaders=${signedHeaders.join(';')},` +
    `Signature=${computeSignatureV3(canonical, opts.secret)}`;

  const url = query.length > 0 ? `${path}?${encodePairs(query)}` : path;
  return { method, path, url, query, form, headers, body };
}
