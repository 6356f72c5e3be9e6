import { z } from 'zod';
import { nearMiss } from '../closest-name.js';
import {
  type ErrorCode,
  errorWithReason,
  invalidParameter,
  type KmsError,
  missingParameter,
  unsupportedOperation,
} from '../errors.js';
import { isAliasReference } from './scope.js';

// Parameter schemas, declared once and used by both faces: the RPC dispatcher parses its
// string parameters with them, and the REST routes use them as route schemas (which
// also generate openapi.yaml). A rule that is not plain syntax carries the KMS error
// code in the issue's params, so one mapper (toKmsError) turns any failure into the
// contract's error, in the contract's order (spec section 10).
//
// Every parameter schema carries the reason a value is refused (`because`): what a valid
// value looks like, never the value sent. The mapper appends it to the documented message
// (spec section 5); a refinement may give a reason of its own in its issue's params.

type IssueCode = Extract<ErrorCode, 'InvalidParameter' | 'Unsupported.Alias' | 'UnsupportedOperation'>;
interface IssueParams {
  kmsCode?: IssueCode;
  reason?: string;
}
export const withCode = (kmsCode: IssueCode, reason?: string) => ({
  params: { kmsCode, reason } satisfies IssueParams,
});

/** Why a value of a parameter is refused, registered on the parameter's schema. */
export const reasons = z.registry<{ reason: string }>();

/** The schema, with the reason the mapper gives when a value fails it. */
export const because = <T extends z.ZodType>(schema: T, reason: string): T => {
  reasons.add(schema as z.ZodType, { reason });
  return schema;
};

/** The reason registered on a schema or on the schema it wraps (optional, default, pipe). */
export function reasonOf(schema: z.ZodType | undefined): string | undefined {
  let s: z.ZodType | undefined = schema;
  while (s !== undefined) {
    const found = reasons.get(s)?.reason;
    if (found !== undefined) return found;
    s = s instanceof z.ZodPipe ? (s.in as z.ZodType) : (s._zod.def as { innerType?: z.ZodType }).innerType;
  }
  return undefined;
}

/** The object an operation's input schema parses before its transforms. */
function objectOf(schema: z.ZodType): z.ZodObject | undefined {
  let s: unknown = schema;
  while (s instanceof z.ZodPipe) s = s.in;
  return s instanceof z.ZodObject ? s : undefined;
}

/** The fields an input schema declares, in its declared order (the order of checks). */
export const declaredFields = (schema: z.ZodType): string[] => Object.keys(objectOf(schema)?.shape ?? {});

/** Decimal digits only (spec section 11); REST bodies may send JSON numbers. */
export const intParam = (min: number, max: number, unit = '') =>
  because(
    z
      .union([
        z.number(),
        z
          .string()
          .regex(/^[0-9]{1,10}$/)
          .transform(Number),
      ])
      .pipe(z.number().int().min(min).max(max)),
    `it must be a whole number${unit && ` of ${unit}`} from ${min} to ${max}`,
  );

/** `true` or `false` exactly on RPC; a JSON boolean on REST. */
export const booleanParam = because(
  z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]),
  'it must be true or false',
);

/**
 * DryRun on the operations that take it (spec section 20.1): every check runs, then
 * DryRunOperationError instead of the result.
 */
export const DryRun = booleanParam
  .optional()
  .describe('true: run every check, change nothing, answer DryRunOperationError');

export const PageNumber = intParam(1, 2_147_483_647).default(1).describe('Page to return, from 1.');
export const pageSize = (max: number) => intParam(0, max).default(10).describe(`Entries per page, 0 to ${max}.`);

export const ALIAS_NAME = /^alias\/[A-Za-z0-9_/-]{1,255}$/;

/** Free text that is stored: at most 8192 characters, and no NUL (PostgreSQL text cannot hold one). */
export const Description = because(
  z
    .string()
    .max(8192)
    .refine((s) => !s.includes('\0'), { message: 'NUL character' }),
  'it must be text of at most 8192 characters, without NUL',
).describe('Free text, at most 8192 characters');

export const AliasName = because(
  z.string().regex(ALIAS_NAME),
  'it must start with alias/ followed by 1 to 255 of A-Z a-z 0-9 _ - /',
)
  .describe('`alias/` followed by 1 to 255 characters from A-Z a-z 0-9 _ - /')
  .meta({ example: 'alias/app' });

export const NewAliasName = AliasName.refine((n) => !n.startsWith('alias/acs'), {
  message: 'reserved prefix',
  ...withCode('InvalidParameter', 'names that start with alias/acs are reserved'),
});

const MAX_IDENTIFIER = 2048;

/** Any of the four identifier forms: key id, key ARN, alias name, alias ARN. */
export const AnyKeyId = because(
  z.string().max(MAX_IDENTIFIER),
  `it must be a key id, key ARN, alias name or alias ARN of at most ${MAX_IDENTIFIER} characters`,
)
  .describe('Key id, key ARN, alias name or alias ARN')
  .meta({ example: 'alias/app' });

/** A key id or key ARN only; an alias here is Unsupported.Alias, without any lookup. */
export const KeyOnlyId = because(
  z
    .string()
    .max(MAX_IDENTIFIER)
    .refine((v) => !isAliasReference(v), {
      message: 'alias not allowed',
      ...withCode('Unsupported.Alias', 'this operation takes a key id or key ARN, not an alias'),
    }),
  `it must be a key id or key ARN of at most ${MAX_IDENTIFIER} characters`,
)
  .describe('Key id or key ARN')
  .meta({ example: '0b5b3d5e-6c1e-4a8e-9f3a-2b7c1d9e8f10' });

/** One of the given values; the reason lists them. */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  because(z.enum(values), `it must be ${values.length === 1 ? values[0] : `one of ${values.join(', ')}`}`);

/**
 * Values this emulator knows but has not built: UnsupportedOperation naming the parameter,
 * not InvalidParameter. The refinement goes on the schema of every known value.
 */
export const onlyBuilt = (built: readonly string[]) => ({
  message: 'not built',
  ...withCode('UnsupportedOperation', `takes only ${built.join(' or ')} in this emulator`),
});

/**
 * A parameter the service does not implement. Absent (or the value that means "off") is
 * fine; anything else is UnsupportedOperation naming it, never silently ignored.
 */
export const notImplemented = (allowed: readonly string[] = []) =>
  z
    .unknown()
    .refine((v) => v === undefined || (typeof v === 'string' && allowed.includes(v)) || v === false, {
      message: 'not implemented',
      ...withCode(
        'UnsupportedOperation',
        `is not built in this emulator${allowed.length > 0 ? ` (only ${allowed.join(' or ')} is accepted)` : ''}`,
      ),
    })
    .optional();

/** Why a RegionId is refused (the region comes from the request before its parameters are parsed). */
export const REGION_ID_REASON =
  'it must look like cn-hangzhou: lowercase letters, then hyphen-separated letters and digits';

/** Parameters whose empty value is a value, not absence (spec section 20.2). */
const emptyIsValue = z.registry<Record<string, never>>();

/** The parameter schema, marked so that an empty value reaches it instead of counting as absent. */
export const takesEmptyValue = <T extends z.ZodType>(schema: T): T => {
  emptyIsValue.add(schema as z.ZodType, {});
  return schema;
};

/** The fields of an input schema whose empty value is a value. */
function fieldsTakingEmpty(schema: z.ZodType | undefined): Set<string> {
  const shape = schema ? (objectOf(schema)?.shape ?? {}) : {};
  return new Set(Object.entries(shape).flatMap(([name, s]) => (emptyIsValue.has(s as z.ZodType) ? [name] : [])));
}

/** Empty values count as absent (spec section 11), except for the fields that take one. */
export function dropEmpty(raw: unknown, schema?: z.ZodType): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const keep = fieldsTakingEmpty(schema);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    // An empty value is absent, except inside a flattened EncryptionContext, where
    // `EncryptionContext.k=` is the entry k with an empty value.
    if ((v === '' && !k.startsWith('EncryptionContext.') && !keep.has(k)) || v === null || v === undefined) continue;
    out[k] = v;
  }
  return out;
}

/**
 * The one mapper from schema failures to KMS errors: every missing parameter is reported
 * before any malformed one, each in the schema's declared order, and a malformed one with
 * the reason its schema gives. `unknown` are fields the schema does not declare, on a face
 * that refuses them (REST): they count as malformed, after every declared field, and a
 * missing parameter that one of them misspells names it.
 */
export function toKmsError(
  schema: z.ZodType,
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  unknown: readonly string[] = [],
): KmsError {
  const order = declaredFields(schema);
  const rank = (name: string) => {
    const i = order.indexOf(name);
    return i === -1 ? order.length : i;
  };
  const present = (name: string) =>
    input !== null && typeof input === 'object' && (input as Record<string, unknown>)[name] !== undefined;
  const named = issues.map((issue) => ({ issue, name: String(issue.path[0] ?? 'Body') }));
  const missing = named.filter((n) => n.issue.path.length >= 1 && !present(n.name));
  if (missing.length > 0) {
    missing.sort((a, b) => rank(a.name) - rank(b.name));
    const name = missing[0]!.name;
    const misspelt = unknown.find((u) => nearMiss(u, [name]) === name);
    return missingParameter(name, misspelt && `the request has "${misspelt}" instead`);
  }
  named.sort((a, b) => rank(a.name) - rank(b.name));
  const first = named[0];
  if (!first) {
    if (unknown.length > 0) return unknownField(unknown[0]!, order);
    return invalidParameter('Body');
  }
  const params = (first.issue as { params?: IssueParams }).params;
  const reason = params?.reason ?? reasonOf(objectOf(schema)?.shape[first.name] as z.ZodType | undefined);
  if (params?.kmsCode === 'Unsupported.Alias') return errorWithReason('Unsupported.Alias', reason ?? '');
  if (params?.kmsCode === 'UnsupportedOperation') {
    return unsupportedOperation(`the parameter "${first.name}" ${params.reason ?? 'is not built in this emulator'}`);
  }
  return invalidParameter(first.name, reason);
}

/** Says that a request field is not a field of this request, and which one it may have meant. */
export const UNKNOWN_FIELD_REASON = 'this request takes no such field';

function unknownField(name: string, fields: readonly string[]): KmsError {
  const suggestion = nearMiss(name, fields);
  if (suggestion) return invalidParameter(name, `${UNKNOWN_FIELD_REASON}; did you mean "${suggestion}"?`);
  // A flattened form such as EncryptionContext.<key> (the RPC wire form of a map).
  const prefix = fields.find((f) => name.startsWith(`${f}.`));
  if (prefix) return invalidParameter(name, `${UNKNOWN_FIELD_REASON}; "${prefix}" takes a JSON object`);
  return invalidParameter(name, UNKNOWN_FIELD_REASON);
}

export interface ParseOptions {
  /**
   * What a field the schema does not declare means. RPC: `ignore`, as Alibaba does (common
   * parameters such as Format or SignatureType travel with every request). REST, our own
   * design: `refuse`, as InvalidParameter naming it after every declared field is checked.
   */
  unknownFields?: 'ignore' | 'refuse';
}

export function parseParams<S extends z.ZodType>(schema: S, raw: unknown, options: ParseOptions = {}): z.output<S> {
  let unknown: string[] = [];
  let known = raw;
  if (options.unknownFields === 'refuse' && raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    // Judged before empty values are dropped: {"Descripton": ""} is a mistake too. An
    // unknown field never reaches the schema, so a flattened EncryptionContext.<k> sent to
    // the REST face is refused rather than read as a context.
    const fields = new Set(declaredFields(schema));
    const entries = Object.entries(raw as Record<string, unknown>);
    unknown = entries.map(([name]) => name).filter((name) => !fields.has(name));
    if (unknown.length > 0) known = Object.fromEntries(entries.filter(([name]) => fields.has(name)));
  }
  const input = dropEmpty(known, schema);
  const result = schema.safeParse(input);
  if (result.success && unknown.length === 0) return result.data;
  throw toKmsError(schema, result.success ? [] : result.error.issues, input, unknown);
}
