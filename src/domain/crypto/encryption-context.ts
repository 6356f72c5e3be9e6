// EncryptionContext: a flat map of string to string that a client binds to a ciphertext.
// Decrypt must present the same map, in any key order, or the ciphertext does not decrypt.
//
// It reaches the service in three forms, and every form ends in the same validation:
//
// 1. JSON text, `EncryptionContext={"k":"v"}`: what the API reference documents, and what
//    @alicloud/pop-core sends when the caller passes a JSON string. (pop-core does not
//    flatten objects: an object value goes on the wire as `[object Object]`, which is
//    refused here as malformed JSON.)
// 2. Flattened, one parameter per entry, `EncryptionContext.<k>=<v>`: what
//    @alicloud/kms20160120@1.2.0 sends (rpc-client -> @alicloud/rpc-util `query()`, in the
//    URL query, even for POST), and what @alicloud/openapi-client `callApi` sends when the
//    caller builds its query with @alicloud/openapi-util `query()`. Both walk the object as
//    `prefix + '.' + key` with the key verbatim (no escaping: a key containing '.' stays as
//    is), the value as `String(value)`. rpc-util sends a null/undefined value as '' where
//    openapi-util drops the entry. A nested object would become
//    `EncryptionContext.<k>.<sub>=<v>`, indistinguishable from a key containing a dot; it is
//    read as that dotted key. Observed on the wire for {"b":"two","a":"one","x.y":"dot","é":"ü"}:
//      EncryptionContext.b=two&EncryptionContext.a=one&EncryptionContext.x.y=dot&EncryptionContext.%C3%A9=%C3%BC
// 3. A JSON object in a REST request body.
//
// Rules (the same for all forms): a plain object; keys non-empty strings; values strings
// (empty allowed); all text well-formed Unicode (a lone surrogate has no UTF-8 encoding, so it
// would make two different keys canonicalize alike); at most MAX_ENCRYPTION_CONTEXT_BYTES of
// UTF-8 over all keys and values. `{}` counts as absent. Violations are
// InvalidParameter("EncryptionContext"), naming the parameter and never a value.

import { invalidParameter, type KmsError } from '../../errors.js';

export type EncryptionContext = Readonly<Record<string, string>>;

export const ENCRYPTION_CONTEXT_PARAM = 'EncryptionContext';
/** The prefix of the flattened form's parameter names. */
export const FLATTENED_PREFIX = `${ENCRYPTION_CONTEXT_PARAM}.`;
/** The largest context accepted, counted as UTF-8 bytes of every key and value (choice). */
export const MAX_ENCRYPTION_CONTEXT_BYTES = 8192;

// In a /u regular expression, \p{Cs} matches only unpaired surrogates: a valid pair is read as
// one astral code point.
const LONE_SURROGATE = /\p{Cs}/u;

/** Why a context is refused: the rules above, in a message's words. */
export const ENCRYPTION_CONTEXT_REASON = `it must be a JSON object of at most ${MAX_ENCRYPTION_CONTEXT_BYTES} bytes mapping non-empty keys to string values`;

const invalid = (reason = ENCRYPTION_CONTEXT_REASON): KmsError => invalidParameter(ENCRYPTION_CONTEXT_PARAM, reason);

/**
 * Validates an already-parsed value (a REST body field, or the result of JSON.parse) and
 * returns a frozen copy. `{}` is returned as `{}`; resolveEncryptionContext treats it as absent.
 */
export function validateEncryptionContext(value: unknown): EncryptionContext {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid();
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw invalid();

  let totalBytes = 0;
  const entries: Array<[string, string]> = [];
  for (const [key, entryValue] of Object.entries(value)) {
    if (typeof entryValue !== 'string' || key.length === 0) throw invalid();
    if (LONE_SURROGATE.test(key) || LONE_SURROGATE.test(entryValue)) throw invalid();
    totalBytes += Buffer.byteLength(key, 'utf8') + Buffer.byteLength(entryValue, 'utf8');
    if (totalBytes > MAX_ENCRYPTION_CONTEXT_BYTES) throw invalid();
    entries.push([key, entryValue]);
  }
  // Object.fromEntries defines own properties, so a key named "__proto__" stays a plain
  // entry instead of replacing the prototype.
  return Object.freeze(Object.fromEntries(entries));
}

/** Parses the JSON-text form. Anything but a JSON object of strings is InvalidParameter. */
export function parseEncryptionContextJson(text: string): EncryptionContext {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid();
  }
  // Duplicate keys in the text: the last one wins, as JSON.parse (and most parsers) decide.
  return validateEncryptionContext(parsed);
}

/**
 * Collects the flattened form from a request's parameters: every `EncryptionContext.<k>=<v>`
 * pair becomes entry k -> v (k is everything after the first '.'). Other parameters are
 * ignored, including a plain `EncryptionContext` (the JSON form). Returns undefined when the
 * request has no flattened entry. A key given twice is InvalidParameter.
 * Empty values are entries like any other: the parameter layer must not drop
 * `EncryptionContext.<k>=` as an "empty parameter", or a context with an empty value would
 * encrypt and decrypt differently depending on the form the client used.
 */
export function fromFlattened(params: Iterable<readonly [string, string]>): EncryptionContext | undefined {
  const entries = new Map<string, string>();
  for (const [name, value] of params) {
    if (!name.startsWith(FLATTENED_PREFIX)) continue;
    const key = name.slice(FLATTENED_PREFIX.length);
    if (entries.has(key)) throw invalid('each key may be given once');
    entries.set(key, value);
  }
  if (entries.size === 0) return undefined;
  return validateEncryptionContext(Object.fromEntries(entries));
}

export interface EncryptionContextInput {
  /** The JSON-text form (RPC `EncryptionContext`). '' counts as absent. */
  json?: string | undefined;
  /** The flattened form, as collected by fromFlattened. */
  flattened?: Readonly<Record<string, string>> | undefined;
  /** The REST body's object form, not yet validated. */
  object?: unknown;
}

/**
 * The one entry point for a request's context, whichever form it came in. Returns undefined
 * when absent or `{}`. More than one form in one request is InvalidParameter, even if they
 * agree: there is no sensible merge.
 */
export function resolveEncryptionContext(input: EncryptionContextInput): EncryptionContext | undefined {
  const hasJson = input.json !== undefined && input.json !== '';
  const hasFlattened = input.flattened !== undefined && Object.keys(input.flattened).length > 0;
  const hasObject = input.object !== undefined && input.object !== null;
  if (Number(hasJson) + Number(hasFlattened) + Number(hasObject) > 1) {
    throw invalid('give it in one form only, the JSON text or EncryptionContext.<key> parameters');
  }

  let context: EncryptionContext | undefined;
  if (hasJson) context = parseEncryptionContextJson(input.json as string);
  else if (hasFlattened) context = validateEncryptionContext(input.flattened);
  else if (hasObject) context = validateEncryptionContext(input.object);
  return context === undefined || Object.keys(context).length === 0 ? undefined : context;
}

/**
 * The canonical bytes of a context, used as AES-GCM associated data: entries sorted by the
 * UTF-8 bytes of their keys, serialized as the JSON text of an array of [key, value] pairs.
 * Absent or empty gives an empty buffer.
 *
 * UTF-8 byte order equals code point order, not JavaScript's UTF-16 order: '\u{ff61}' sorts
 * before '\u{1f600}' in UTF-8 but after it in UTF-16 (0xff61 > 0xd83d). The JSON array of
 * pairs is unambiguous whatever the keys and values contain.
 * Every stored ciphertext's AAD depends on this exact output: never change it.
 */
export function canonicalEncryptionContext(ctx: EncryptionContext | undefined): Buffer {
  if (ctx === undefined) return Buffer.alloc(0);
  const valid = validateEncryptionContext(ctx);
  const entries = Object.entries(valid).map(([key, value]) => ({ key, keyBytes: Buffer.from(key, 'utf8'), value }));
  if (entries.length === 0) return Buffer.alloc(0);
  entries.sort((a, b) => Buffer.compare(a.keyBytes, b.keyBytes));
  return Buffer.from(JSON.stringify(entries.map(({ key, value }) => [key, value])), 'utf8');
}
