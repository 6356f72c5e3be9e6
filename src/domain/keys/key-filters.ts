import { z } from 'zod';
import { type SqlFragment, sql } from '../../db/sql.js';
import { because, withCode } from '../params.js';
import { KEY_STATES } from './key-state.js';
import { KEY_SPECS_BUILT, KEY_SPECS_KNOWN } from './keys.schemas.js';

// ListKeys `Filters` (spec section 18.3): a JSON array of up to 10 {Key, Values} entries;
// values of one key combine with OR, different keys with AND, an entry without values is
// ignored.

const ALLOWED = {
  KeyState: [...KEY_STATES],
  KeySpec: [
    ...new Set<string>([
      ...KEY_SPECS_BUILT,
      'Aliyun_SM4',
      'RSA_2048',
      'RSA_3072',
      'EC_P256',
      'EC_P256K',
      'EC_SM2',
      ...KEY_SPECS_KNOWN,
    ]),
  ],
  KeyUsage: ['ENCRYPT/DECRYPT', 'SIGN/VERIFY'],
  ProtectionLevel: ['SOFTWARE', 'HSM'],
  CreatorType: ['User', 'Service'],
} as const;
/** Filter keys of newer references that this service does not build. */
const NOT_BUILT = new Set(['DKMSInstanceId', 'KeyId', 'AliasName', 'Creator', 'TagKey', 'TagValue']);

export type FilterKey = keyof typeof ALLOWED;
export type KeyFilters = Partial<Record<FilterKey, string[]>>;

type Parsed = { filters: KeyFilters } | { problem: 'invalid' | 'not built' };

export function parseFilters(value: unknown): Parsed {
  let list: unknown;
  try {
    list = typeof value === 'string' ? JSON.parse(value) : value;
  } catch {
    return { problem: 'invalid' };
  }
  if (!Array.isArray(list) || list.length > 10) return { problem: 'invalid' };
  const filters: KeyFilters = {};
  for (const entry of list) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return { problem: 'invalid' };
    const { Key, Values } = entry as Record<string, unknown>;
    if (typeof Key === 'string' && NOT_BUILT.has(Key)) return { problem: 'not built' };
    if (typeof Key !== 'string' || !Object.hasOwn(ALLOWED, Key)) return { problem: 'invalid' };
    const allowed: readonly string[] = ALLOWED[Key as FilterKey];
    if (!Array.isArray(Values) || Values.length > 10 || !Values.every((v) => allowed.includes(v as string))) {
      return { problem: 'invalid' };
    }
    if (Values.length === 0) continue;
    filters[Key as FilterKey] = [...new Set([...(filters[Key as FilterKey] ?? []), ...(Values as string[])])];
  }
  return { filters };
}

/** The `Filters` parameter: absent is no filter. */
const FILTERS_TEXT =
  'a JSON array of up to 10 {"Key","Values"}: KeyState, KeySpec, KeyUsage, ProtectionLevel or CreatorType, ' +
  'each with up to 10 of its values';

export const FiltersParam = because(
  z
    .unknown()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined) return {};
      const parsed = parseFilters(value);
      if ('filters' in parsed) return parsed.filters;
      ctx.addIssue({
        code: 'custom',
        message: parsed.problem,
        ...(parsed.problem === 'not built' ? withCode('UnsupportedOperation') : {}),
      });
      return z.NEVER;
    })
    .describe(
      'A JSON array of up to 10 {"Key","Values"}: KeyState, KeySpec, KeyUsage, ProtectionLevel or CreatorType, ' +
        'each with up to 10 values; values of one key are ORed, keys ANDed',
    )
    .meta({ example: '[{"Key":"KeyState","Values":["Enabled"]}]' }),
  `it must be ${FILTERS_TEXT}`,
);

export const hasFilters = (f: KeyFilters) => Object.keys(f).length > 0;

/** SQL: the key (aliased `k`) matches the filters. */
export function keyMatches(f: KeyFilters): SqlFragment {
  const any = (column: SqlFragment, values: string[] | undefined) =>
    values ? sql` AND ${column} = ANY(${values}::text[])` : sql``;
  // Every key of this service is made by a user; none by a cloud service.
  const creator = f.CreatorType && !f.CreatorType.includes('User') ? sql` AND false` : sql``;
  return sql`true${any(sql`k.state`, f.KeyState)}${any(sql`k.key_spec`, f.KeySpec)}${any(sql`k.key_usage`, f.KeyUsage)}${any(
    sql`k.protection_level`,
    f.ProtectionLevel,
  )}${creator}`;
}
