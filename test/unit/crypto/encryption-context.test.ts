import { describe, expect, it } from 'vitest';
import {
  canonicalEncryptionContext,
  fromFlattened,
  MAX_ENCRYPTION_CONTEXT_BYTES,
  parseEncryptionContextJson,
  resolveEncryptionContext,
  validateEncryptionContext,
} from '../../../src/domain/crypto/encryption-context.js';
import { KmsError } from '../../../src/errors.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

const RULES = 'it must be a JSON object of at most 8192 bytes mapping non-empty keys to string values';
const REPEATED = 'each key may be given once';
const TWO_FORMS = 'give it in one form only, the JSON text or EncryptionContext.<key> parameters';

function expectInvalidContext(fn: () => unknown, reason = RULES): void {
  const err = thrown(fn);
  expect(err).toBeInstanceOf(KmsError);
  expect((err as KmsError).code).toBe('InvalidParameter');
  expect((err as KmsError).message).toBe(`The specified parameter "EncryptionContext" is not valid: ${reason}`);
}

describe('parseEncryptionContextJson', () => {
  it('parses a JSON object of strings', () => {
    expect(parseEncryptionContextJson('{"app":"billing","env":"prod"}')).toEqual({ app: 'billing', env: 'prod' });
    expect(parseEncryptionContextJson(' { "a" : "" } ')).toEqual({ a: '' });
    expect(parseEncryptionContextJson('{}')).toEqual({});
    expect(parseEncryptionContextJson('{"é":"\\u00fc","😀":"x"}')).toEqual({ é: 'ü', '😀': 'x' });
  });

  it('returns a frozen object', () => {
    expect(Object.isFrozen(parseEncryptionContextJson('{"a":"b"}'))).toBe(true);
  });

  it('keeps "__proto__" as an ordinary key, without touching the prototype', () => {
    const ctx = parseEncryptionContextJson('{"__proto__":"x","constructor":"y"}');
    expect(Object.getPrototypeOf(ctx)).toBe(Object.prototype);
    expect(Object.keys(ctx).sort()).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(ctx, '__proto__')?.value).toBe('x');
    expect(canonicalEncryptionContext(ctx).toString()).toBe('[["__proto__","x"],["constructor","y"]]');
  });

  it('takes the last of duplicate keys, as JSON.parse does', () => {
    expect(parseEncryptionContextJson('{"a":"1","a":"2"}')).toEqual({ a: '2' });
  });

  const rejected: Array<[string, string]> = [
    ['empty text', ''],
    ['not JSON', 'app=billing'],
    ['truncated JSON', '{"a":"b"'],
    ['single quotes', "{'a':'b'}"],
    ['trailing comma', '{"a":"b",}'],
    ['pop-core object value', '[object Object]'],
    ['a string', '"a"'],
    ['a number', '1'],
    ['null', 'null'],
    ['true', 'true'],
    ['an array', '[]'],
    ['an array of pairs', '[["a","b"]]'],
    ['a number value', '{"a":1}'],
    ['a boolean value', '{"a":true}'],
    ['a null value', '{"a":null}'],
    ['an object value', '{"a":{"b":"c"}}'],
    ['an array value', '{"a":["b"]}'],
    ['deep nesting', `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`],
    ['deep nesting at the top', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
    ['an empty key', '{"":"v"}'],
    ['a lone high surrogate in a key', '{"\\ud800":"v"}'],
    ['a lone low surrogate in a value', '{"k":"\\udc00"}'],
    ['a reversed surrogate pair', '{"k":"\\ude00\\ud83d"}'],
  ];
  for (const [what, text] of rejected) {
    it(`rejects ${what}`, () => expectInvalidContext(() => parseEncryptionContextJson(text)));
  }

  it('accepts a valid surrogate pair written as escapes', () => {
    expect(parseEncryptionContextJson('{"\\ud83d\\ude00":"ok"}')).toEqual({ '😀': 'ok' });
  });

  it(`accepts exactly ${MAX_ENCRYPTION_CONTEXT_BYTES} bytes of keys and values and refuses one more`, () => {
    const value = 'v'.repeat(MAX_ENCRYPTION_CONTEXT_BYTES - 3);
    expect(parseEncryptionContextJson(JSON.stringify({ key: value }))).toEqual({ key: value });
    expectInvalidContext(() => parseEncryptionContextJson(JSON.stringify({ key: `${value}v` })));
    // Counted in UTF-8 bytes, not characters: 'é' is 2 bytes.
    const accented = 'é'.repeat((MAX_ENCRYPTION_CONTEXT_BYTES - 2) / 2);
    expect(parseEncryptionContextJson(JSON.stringify({ k: accented, l: '' }))).toEqual({ k: accented, l: '' });
    expectInvalidContext(() => parseEncryptionContextJson(JSON.stringify({ k: accented, lm: '' })));
  });

  it('counts the total over all entries', () => {
    const many = Object.fromEntries(Array.from({ length: 1024 }, (_, i) => [`k${String(i).padStart(4, '0')}`, 'vvv']));
    // 1024 entries * (5 + 3) bytes = 8192
    expect(Object.keys(parseEncryptionContextJson(JSON.stringify(many)))).toHaveLength(1024);
    expectInvalidContext(() => parseEncryptionContextJson(JSON.stringify({ ...many, z: '' })));
  });

  it('never echoes the value in its error', () => {
    const err = thrown(() => parseEncryptionContextJson('{"secret-marker":1}')) as Error;
    expect(err.message).not.toContain('secret-marker');
    expect(err.cause).toBeUndefined();
  });
});

describe('validateEncryptionContext (REST object form)', () => {
  it('accepts a plain object and a null-prototype object', () => {
    expect(validateEncryptionContext({ a: 'b' })).toEqual({ a: 'b' });
    const bare = Object.assign(Object.create(null) as Record<string, string>, { a: 'b' });
    expect(validateEncryptionContext(bare)).toEqual({ a: 'b' });
  });

  it('rejects non-plain objects and non-objects', () => {
    for (const value of [new Map([['a', 'b']]), new Date(), Buffer.from('a'), ['a'], 'a', 1, true, null, undefined]) {
      expectInvalidContext(() => validateEncryptionContext(value));
    }
  });
});

describe('fromFlattened (SDK 1.x form)', () => {
  it('collects EncryptionContext.<k>=<v> parameters and ignores the others', () => {
    const params: Array<[string, string]> = [
      ['Action', 'Encrypt'],
      ['KeyId', 'alias/app'],
      ['EncryptionContext.b', 'two'],
      ['EncryptionContext.a', 'one'],
      ['Plaintext', 'aGk='],
    ];
    expect(fromFlattened(params)).toEqual({ a: 'one', b: 'two' });
  });

  it('keeps everything after the first dot as the key, dots included', () => {
    expect(fromFlattened([['EncryptionContext.x.y', 'dot']])).toEqual({ 'x.y': 'dot' });
    expect(fromFlattened([['EncryptionContext..', 'v']])).toEqual({ '.': 'v' });
  });

  it('keeps empty values (rpc-util sends a null value as an empty string)', () => {
    expect(fromFlattened([['EncryptionContext.empty', '']])).toEqual({ empty: '' });
  });

  it('accepts any UTF-8 key and value', () => {
    expect(fromFlattened([['EncryptionContext.é', 'ü']])).toEqual({ é: 'ü' });
  });

  it('accepts a Map or URLSearchParams directly', () => {
    expect(fromFlattened(new Map([['EncryptionContext.a', '1']]))).toEqual({ a: '1' });
    expect(fromFlattened(new URLSearchParams('EncryptionContext.a=1&EncryptionContext.%C3%A9=%C3%BC'))).toEqual({
      a: '1',
      é: 'ü',
    });
  });

  it('returns undefined when there is no flattened entry, including for the JSON form', () => {
    expect(fromFlattened([])).toBeUndefined();
    expect(fromFlattened([['EncryptionContext', '{"a":"b"}']])).toBeUndefined();
    expect(fromFlattened([['encryptioncontext.a', 'b']])).toBeUndefined();
    expect(fromFlattened([['EncryptionContextX.a', 'b']])).toBeUndefined();
  });

  it('rejects an empty key, a repeated key and an oversized context', () => {
    expectInvalidContext(() => fromFlattened([['EncryptionContext.', 'v']]));
    expectInvalidContext(
      () =>
        fromFlattened([
          ['EncryptionContext.a', '1'],
          ['EncryptionContext.a', '2'],
        ]),
      REPEATED,
    );
    expectInvalidContext(() => fromFlattened([['EncryptionContext.k', 'v'.repeat(MAX_ENCRYPTION_CONTEXT_BYTES)]]));
  });

  it('keeps "__proto__" as an ordinary key', () => {
    const ctx = fromFlattened([['EncryptionContext.__proto__', 'x']]);
    expect(ctx === undefined ? undefined : Object.getPrototypeOf(ctx)).toBe(Object.prototype);
    expect(ctx === undefined ? [] : Object.entries(ctx)).toEqual([['__proto__', 'x']]);
  });

  it('matches the JSON form of the same context, canonically', () => {
    const flattened = fromFlattened([
      ['EncryptionContext.b', 'two'],
      ['EncryptionContext.a', 'one'],
    ]);
    const json = parseEncryptionContextJson('{"a":"one","b":"two"}');
    expect(canonicalEncryptionContext(flattened)).toEqual(canonicalEncryptionContext(json));
  });
});

describe('resolveEncryptionContext', () => {
  it('is absent when no form is given', () => {
    expect(resolveEncryptionContext({})).toBeUndefined();
    expect(resolveEncryptionContext({ json: undefined, flattened: undefined, object: undefined })).toBeUndefined();
  });

  it('treats {} and an empty string as absent', () => {
    expect(resolveEncryptionContext({ json: '{}' })).toBeUndefined();
    expect(resolveEncryptionContext({ json: ' { } ' })).toBeUndefined();
    expect(resolveEncryptionContext({ json: '' })).toBeUndefined();
    expect(resolveEncryptionContext({ flattened: {} })).toBeUndefined();
    expect(resolveEncryptionContext({ object: {} })).toBeUndefined();
    expect(resolveEncryptionContext({ object: null })).toBeUndefined();
  });

  it('takes each form alone', () => {
    expect(resolveEncryptionContext({ json: '{"a":"1"}' })).toEqual({ a: '1' });
    expect(resolveEncryptionContext({ flattened: { a: '1' } })).toEqual({ a: '1' });
    expect(resolveEncryptionContext({ object: { a: '1' } })).toEqual({ a: '1' });
  });

  it('refuses two forms in one request, even when they agree', () => {
    expectInvalidContext(() => resolveEncryptionContext({ json: '{"a":"1"}', flattened: { a: '1' } }), TWO_FORMS);
    expectInvalidContext(() => resolveEncryptionContext({ json: '{}', flattened: { a: '1' } }), TWO_FORMS);
    expectInvalidContext(() => resolveEncryptionContext({ json: '{"a":"1"}', object: { a: '1' } }), TWO_FORMS);
    expectInvalidContext(() => resolveEncryptionContext({ flattened: { a: '1' }, object: { a: '1' } }), TWO_FORMS);
  });

  it('validates whichever form it is given', () => {
    expectInvalidContext(() => resolveEncryptionContext({ json: '[]' }));
    expectInvalidContext(() => resolveEncryptionContext({ object: { a: 1 } }));
    expectInvalidContext(() => resolveEncryptionContext({ object: 'a' }));
    expectInvalidContext(() => resolveEncryptionContext({ flattened: { '': 'v' } }));
  });
});

describe('canonicalEncryptionContext', () => {
  it('is empty for an absent or empty context', () => {
    expect(canonicalEncryptionContext(undefined)).toEqual(Buffer.alloc(0));
    expect(canonicalEncryptionContext({})).toEqual(Buffer.alloc(0));
  });

  it('is the JSON of [key, value] pairs sorted by key', () => {
    expect(canonicalEncryptionContext({ b: '2', a: '1' }).toString('utf8')).toBe('[["a","1"],["b","2"]]');
  });

  it('does not depend on key order', () => {
    const keys = ['zeta', 'alpha', 'Beta', 'é', '😀', 'ｱ', '10', '9', 'a.b'];
    const entries = keys.map((k, i) => [k, `v${i}`] as const);
    const expected = canonicalEncryptionContext(Object.fromEntries(entries));
    for (let round = 0; round < 20; round++) {
      const shuffled = [...entries].sort(() => Math.random() - 0.5);
      expect(canonicalEncryptionContext(Object.fromEntries(shuffled))).toEqual(expected);
    }
    // Integer-like keys are enumerated first by JavaScript; sorting must not care.
    expect(canonicalEncryptionContext({ b: 'x', 10: 'y', 9: 'z' }).toString()).toBe('[["10","y"],["9","z"],["b","x"]]');
  });

  it('sorts by UTF-8 bytes, not by JavaScript (UTF-16) string order', () => {
    // U+FF71 (UTF-8 EF BD B1, UTF-16 FF71) and U+1F600 (UTF-8 F0 9F 98 80, UTF-16 D83D DE00):
    // JavaScript puts the emoji first, UTF-8 byte order puts U+FF71 first.
    const halfwidth = '\u{ff71}';
    const emoji = '\u{1f600}';
    expect([halfwidth, emoji].sort()).toEqual([emoji, halfwidth]);
    const canonical = canonicalEncryptionContext({ [emoji]: 'e', [halfwidth]: 'h' }).toString('utf8');
    expect(canonical).toBe(
      JSON.stringify([
        [halfwidth, 'h'],
        [emoji, 'e'],
      ]),
    );
    // Byte order also puts uppercase before lowercase and ASCII before everything else.
    expect(canonicalEncryptionContext({ b: '', B: '', é: '', z: '' }).toString()).toBe(
      '[["B",""],["b",""],["z",""],["é",""]]',
    );
  });

  it('is unambiguous where naive concatenation would not be', () => {
    const a = canonicalEncryptionContext({ a: 'b=c' });
    const b = canonicalEncryptionContext({ 'a=b': 'c' });
    const c = canonicalEncryptionContext({ a: '', b: '' });
    const d = canonicalEncryptionContext({ a: '","b' });
    expect(new Set([a, b, c, d].map((x) => x.toString('hex'))).size).toBe(4);
  });

  it('encodes non-ASCII as UTF-8 bytes', () => {
    expect(canonicalEncryptionContext({ é: 'ü' })).toEqual(Buffer.from('[["é","ü"]]', 'utf8'));
  });

  it('refuses an invalid context rather than canonicalize it', () => {
    expectInvalidContext(() => canonicalEncryptionContext({ a: 1 } as unknown as Record<string, string>));
    expectInvalidContext(() => canonicalEncryptionContext({ '\ud800': 'x' }));
  });
});
