import { z } from 'zod';
import { type ErrorCode, invalidParameter, KmsError, missingParameter, unsupportedOperation } from '../errors.js';
import { isAliasReference } from './scope.js';

// Parameter schemas, declared once and used by both faces: the RPC dispatcher parses its
// string parameters with them, and the REST routes use them as route schemas (which
// also generate openapi.yaml). A rule that is not plain syntax carries the KMS error
// code in the issue's params, so one mapper (toKmsError) turns any failure into the
// contract's error, in the contract's order (spec section 10).

type IssueCode = Extract<ErrorCode, 'InvalidParameter' | 'Unsupported.Alias' | 'UnsupportedOperation'>;
export const withCode = (kmsCode: IssueCode) => ({ params: { kmsCode } });

/** Decimal digits only (spec section 11); REST bodies may send JSON numbers. */
export const intParam = (min: number, max: number) =>
  z
    .union([
      z.number(),
      z
        .string()
        .regex(/^[0-9]{1,10}$/)
        .transform(Number),
    ])
    .pipe(z.number().int().min(min).max(max));

/** `true` or `false` exactly on RPC; a JSON boolean on REST. */
export const booleanParam = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

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
export const Description = z
  .string()
  .max(8192)
  .refine((s) => !s.includes('\0'), { message: 'NUL character' })
  .describe('Free text, at most 8192 characters');

export const AliasName = z
  .string()
  .regex(ALIAS_NAME)
  .describe('`alias/` followed by 1 to 255 characters from A-Z a-z 0-9 _ - /')
  .meta({ example: 'alias/app' });

export const NewAliasName = AliasName.refine((n) => !n.startsWith('alias/acs'), {
  message: 'reserved prefix',
  ...withCode('InvalidParameter'),
});

const MAX_IDENTIFIER = 2048;

/** Any of the four identifier forms: key id, key ARN, alias name, alias ARN. */
export const AnyKeyId = z
  .string()
  .max(MAX_IDENTIFIER)
  .describe('Key id, key ARN, alias name or alias ARN')
  .meta({ example: 'alias/app' });

/** A key id or key ARN only; an alias here is Unsupported.Alias, without any lookup. */
export const KeyOnlyId = z
  .string()
  .max(MAX_IDENTIFIER)
  .refine((v) => !isAliasReference(v), { message: 'alias not allowed', ...withCode('Unsupported.Alias') })
  .describe('Key id or key ARN')
  .meta({ example: '0b5b3d5e-6c1e-4a8e-9f3a-2b7c1d9e8f10' });

/**
 * A parameter the service does not implement. Absent (or the value that means "off") is
 * fine; anything else is UnsupportedOperation naming it, never silently ignored.
 */
export const notImplemented = (allowed: readonly string[] = []) =>
  z
    .unknown()
    .refine((v) => v === undefined || (typeof v === 'string' && allowed.includes(v)) || v === false, {
      message: 'not implemented',
      ...withCode('UnsupportedOperation'),
    })
    .optional();

/** Empty values count as absent (spec section 11). */
export function dropEmpty(raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    // An empty value is absent, except inside a flattened EncryptionContext, where
    // `EncryptionContext.k=` is the entry k with an empty value.
    if ((v === '' && !k.startsWith('EncryptionContext.')) || v === null || v === undefined) continue;
    out[k] = v;
  }
  return out;
}

/**
 * The one mapper from schema failures to KMS errors: every missing parameter is reported
 * before any malformed one, each in the schema's declared order.
 */
export function toKmsError(schema: z.ZodType, issues: readonly z.core.$ZodIssue[], input: unknown): KmsError {
  const order = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
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
    return missingParameter(missing[0]!.name);
  }
  named.sort((a, b) => rank(a.name) - rank(b.name));
  const first = named[0];
  if (!first) return invalidParameter('Body');
  const code = (first.issue as { params?: { kmsCode?: IssueCode } }).params?.kmsCode;
  if (code === 'Unsupported.Alias') return new KmsError('Unsupported.Alias');
  if (code === 'UnsupportedOperation') return unsupportedOperation(`the parameter "${first.name}"`);
  return invalidParameter(first.name);
}

export function parseParams<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const input = dropEmpty(raw);
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw toKmsError(schema, result.error.issues, input);
}
