import fc from 'fast-check';

// Hostile values for every parameter: hand-picked strings (control characters, NUL bytes,
// number look-alikes, SQL and path metacharacters, prototype keys, odd unicode), random
// ones, huge ones, deep JSON, and strings carrying MARKER, which no answer may echo.

/** Put into hostile values; an error message must never echo it. */
export const MARKER = 'Zq7Xmark';

export const NASTY = [
  ' ',
  '\u0000',
  'a\u0000b',
  '\u0001\u001f\u007f',
  '\r\n',
  '\t',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-1',
  '-0',
  '+5',
  '1e3',
  '0x10',
  '1.5',
  ' 5',
  '5 ',
  '٣', // an Arabic-Indic digit
  '９', // a fullwidth digit
  '99999999999',
  '2147483648',
  '18446744073709551616',
  "' OR '1'='1",
  "'; DROP TABLE aliases; --",
  '"; DELETE FROM keys; --',
  '\\',
  '/',
  '//',
  '../',
  '../../etc/passwd',
  '..%2F..%2F',
  '%00',
  '%',
  '%zz',
  '%E0%A4%A',
  'alias/',
  'alias/../x',
  'alias/./x',
  'alias/a\u0000',
  'alias/acs-x',
  'ALIAS/a',
  'acs:kms:::',
  'acs:kms:cn-x:1:key/',
  'acs:kms:*:*:key/*',
  'key/*',
  '*',
  '?',
  '%s%s%s',
  `$${'{'}7*7}`, // a template-injection probe
  '{{7*7}}',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '{"__proto__":{"polluted":"yes"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '[]',
  '{}',
  '[{}]',
  '{"a":{"b":"c"}}',
  '\u202eevil',
  '\ufeff',
  '\u200b',
  '\ud800',
  '\udfff',
  '\ud83d\ude00',
  'e\u0301',
  'Ω≈ç√∫',
  '𝕂𝕄𝕊',
];

const huge = fc.constantFrom('a'.repeat(300), 'x'.repeat(3000), '9'.repeat(64), `alias/${'z'.repeat(5000)}`);
const marked = fc.string({ maxLength: 10 }).map((s) => `${s}${MARKER}${s}`);
/** Single characters that break parsers, paths, SQL and shells. */
export const chars = fc.constantFrom(
  ...'\u0000\u0001\u001f\u007f\n\r\t %/\\\'"`;:<>&?#=+.*_-~aZ09\u00e9\u200b\ufeff\ud800\udfff'.split(''),
);

/** A hostile string: random, control characters, metacharacters, huge, or a hand-picked one. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: chars, maxLength: 30 }) },
  { weight: 1, arbitrary: fc.string({ unit: chars, maxLength: 20 }).map((s) => `alias/${s}`) },
  { weight: 1, arbitrary: huge },
  { weight: 2, arbitrary: marked },
);

const deep = (depth: number, leaf: unknown): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
  return v;
};

/** A hostile JSON value for a REST body field. */
export const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }), // NaN and Infinity serialize as null
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(0, -1, 1.5, 2 ** 53, -(2 ** 31), 1e308),
  fc.array(hostileString, { maxLength: 3 }),
  fc.dictionary(hostileString, hostileString, { maxKeys: 3 }),
  fc.nat(60).map((d) => deep(d, MARKER)),
);
