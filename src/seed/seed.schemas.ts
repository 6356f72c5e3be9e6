// The seed file (KMS_SEED_FILE, spec section 12): keys and aliases to create at start-up,
// per account id and region. This module reads and validates the file into a plan; seed.ts
// applies the plan to the database.
//
// Every problem in the file is collected and reported at once, each with its location
// (`scopes[0].keys[1].KeyMaterial: ...`). Key material is a secret: no message ever
// contains it, and parser messages (which quote source lines) are never passed on.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { tryDecodeStrictBase64 } from '../domain/crypto/ciphertext.js';
import { accountIdField, formatPath, objectError } from '../domain/file-schema.js';
import { REGION_PATTERN } from '../domain/identifiers.js';
import { RotationInterval } from '../domain/keys/rotation.js';
import { AliasName, Description, NewAliasName } from '../domain/params.js';
import { inCatalog, MAX_REGION_LENGTH, type RegionCatalog } from '../domain/regions.js';
import { KEY_ID_PATTERN, type Scope } from '../domain/scope.js';
import { parseJsonOrYaml, StructuredFileSyntaxError } from '../domain/structured-file.js';

const LOWER_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The symmetric specs a seed key may have, and the bytes of their material (spec 13.1). */
const SEED_SPECS = { Aliyun_AES_256: 32, Aliyun_SM4: 16 } as const;
type SeedSpec = keyof typeof SEED_SPECS;
const MAX_DESCRIPTION = 8192;

/** Thrown when the seed cannot be loaded or applied; the message lists every problem. */
export class SeedError extends Error {
  readonly problems: string[];

  constructor(heading: string, problems: string[]) {
    super(`${heading}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SeedError';
    this.problems = problems;
  }
}

const invalidFile = (file: string, problems: string[]) => new SeedError(`Invalid seed file (${file})`, problems);

// ---------------------------------------------------------------------------------------
// File schema. Structure is camelCase like the identities file; the fields of a key or an
// alias are named as the API's parameters and checked by the API's rules.

const text = () => z.string({ error: (issue) => (issue.input === undefined ? 'is required' : 'expected a string') });

/** The API's alias name rules (params.ts), with messages for a file rather than a request. */
const SeedAliasName = text().superRefine((name, ctx) => {
  if (NewAliasName.safeParse(name).success) return;
  ctx.addIssue({
    code: 'custom',
    message: AliasName.safeParse(name).success
      ? 'names beginning with "alias/acs" are reserved for cloud services'
      : 'must be "alias/" followed by 1 to 255 characters from A-Z a-z 0-9 _ - /',
  });
});

const SeedKeyId = text().regex(KEY_ID_PATTERN, {
  error: 'must be a lowercase UUID v4, e.g. 0b5b3d5e-6c1e-4a8e-9f3a-2b7c1d9e8f10',
});

// Decoded here so the plan holds bytes; the value is never part of a message. Its length
// must be its KeySpec's (checked with the key).
const SeedKeyMaterial = text().transform((value, ctx) => {
  const decoded = tryDecodeStrictBase64(value);
  if (decoded !== undefined && Object.values(SEED_SPECS).includes(decoded.length as 16 | 32)) return decoded;
  decoded?.fill(0);
  ctx.addIssue({
    code: 'custom',
    message:
      'must be the standard Base64 of exactly 32 bytes (Aliyun_AES_256, e.g. the output of "openssl rand -base64 32") ' +
      'or 16 bytes (Aliyun_SM4, "openssl rand -base64 16")',
  });
  return z.NEVER;
});

/** The API's RotationInterval (spec 15.3), as seconds, with a message for a file. */
const SeedRotationInterval = text().transform((value, ctx) => {
  const parsed = RotationInterval.safeParse(value);
  if (parsed.success) return parsed.data;
  ctx.addIssue({
    code: 'custom',
    message: 'must be 1 to 10 digits followed by d, h, m or s, from 7 to 730 days (e.g. "365d")',
  });
  return z.NEVER;
});

const SeedKey = z
  .strictObject(
    {
      KeyId: SeedKeyId.optional(),
      // The API's own Description rules (params.ts), with a message for a file.
      Description: text()
        .refine((d) => Description.safeParse(d).success, {
          error: `must be at most ${MAX_DESCRIPTION} characters, without NUL`,
        })
        .optional(),
      KeySpec: z
        .enum(Object.keys(SEED_SPECS) as [SeedSpec, ...SeedSpec[]], {
          error: `must be one of ${Object.keys(SEED_SPECS).join(', ')}`,
        })
        .optional(),
      KeyMaterial: SeedKeyMaterial.optional(),
      KeyVersionId: text()
        .regex(LOWER_UUID, { error: 'must be a lowercase UUID, e.g. 6f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b' })
        .optional(),
      Aliases: z.array(SeedAliasName, { error: 'expected a list of alias names' }).optional(),
      EnableAutomaticRotation: z.boolean({ error: 'expected true or false' }).optional(),
      RotationInterval: SeedRotationInterval.optional(),
    },
    {
      error: objectError(
        'a key',
        'KeyId, Description, KeySpec, KeyMaterial, KeyVersionId, Aliases, EnableAutomaticRotation and RotationInterval',
      ),
    },
  )
  .superRefine((key, ctx) => {
    const spec = key.KeySpec ?? 'Aliyun_AES_256';
    if (key.KeyMaterial !== undefined && key.KeyMaterial.length !== SEED_SPECS[spec]) {
      ctx.addIssue({
        code: 'custom',
        path: ['KeyMaterial'],
        message: `must be ${SEED_SPECS[spec]} bytes for a ${spec} key`,
      });
    }
    if (key.EnableAutomaticRotation === true && key.RotationInterval === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['RotationInterval'],
        message: 'is required with EnableAutomaticRotation: true',
      });
    }
    if (key.KeyVersionId !== undefined && key.KeyMaterial === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['KeyVersionId'],
        message: 'only with KeyMaterial (a fixed version id names fixed material)',
      });
    }
    if (key.KeyId === undefined && (key.Aliases ?? []).length === 0) {
      ctx.addIssue({
        code: 'custom',
        message:
          'needs a KeyId or at least one alias in Aliases (without a KeyId, the id is derived from the first alias, ' +
          'so that a restart finds the same key)',
      });
    }
  });

const SeedAlias = z.strictObject(
  {
    AliasName: SeedAliasName,
    KeyId: text().regex(KEY_ID_PATTERN, {
      error: 'must be the id of a key (a lowercase UUID v4) of the same account and region',
    }),
  },
  { error: objectError('an alias', 'AliasName and KeyId') },
);

const SeedScope = z.strictObject(
  {
    accountId: accountIdField().optional(),
    region: text()
      .max(MAX_REGION_LENGTH, { error: `must be at most ${MAX_REGION_LENGTH} characters` })
      .regex(REGION_PATTERN, { error: 'is not a region id such as cn-hangzhou' })
      .optional(),
    keys: z.array(SeedKey, { error: 'expected a list of keys' }).default([]),
    aliases: z.array(SeedAlias, { error: 'expected a list of aliases' }).default([]),
  },
  { error: objectError('an account and region', 'accountId, region, keys and aliases') },
);

export const SeedFile = z.strictObject(
  { scopes: z.array(SeedScope, { error: 'expected a list of accounts and regions' }) },
  { error: objectError('a seed file', '"scopes"') },
);

// ---------------------------------------------------------------------------------------
// Derived ids. A key without a KeyId gets an id derived from its account, region and first
// alias, and a key version without a KeyVersionId one derived from its key id, so a restart
// (or a fresh instance with the same seed) finds the same ids. The digest's first 16 bytes
// are shaped as a UUID v4 (version and variant bits set), because the API only accepts
// v4-shaped key ids. These labels are part of the seed's contract: never change them.

function uuidFromDigest(label: string, parts: string[]): string {
  const bytes = createHash('sha256')
    .update([label, ...parts].join('\0'), 'utf8')
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x40;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The KeyId of a seeded key that gives none: from its scope and its first alias name. */
export const seedKeyId = (scope: Scope, firstAlias: string) =>
  uuidFromDigest('kms-emulator seed key id v1', [scope.accountId, scope.region, firstAlias]);

/**
 * The KeyVersionId of a seeded key that gives none: from its key id only, so the same
 * KeyId and KeyMaterial seeded anywhere make ciphertexts that decrypt everywhere.
 */
export const seedKeyVersionId = (keyId: string) => uuidFromDigest('kms-emulator seed key version id v1', [keyId]);

// ---------------------------------------------------------------------------------------
// The plan: what the file asks for, with defaults applied and ids derived.

export interface PlannedKey {
  /** Location in the file, e.g. `scopes[0].keys[1]`. */
  at: string;
  keyId: string;
  description: string;
  keySpec: SeedSpec;
  /** The automatic rotation policy's interval in seconds; null: off. */
  rotationIntervalS: number | null;
  /** The spec's bytes (32 or 16), when the file fixes them; otherwise random material is made at creation. */
  material?: Buffer;
  versionId: string;
  aliases: Array<{ at: string; aliasName: string }>;
}

export interface PlannedAlias {
  at: string;
  aliasName: string;
  keyId: string;
}

export interface PlannedScope {
  at: string;
  scope: Scope;
  keys: PlannedKey[];
  /** Every alias of the scope: the keys' `Aliases` shorthand first, then `aliases`. */
  aliases: PlannedAlias[];
}

export interface SeedPlan {
  file: string;
  scopes: PlannedScope[];
}

export interface SeedDefaults {
  accountId: string;
  region: string;
  /** KMS_REGIONS: a scope in a region outside it stops start-up (spec 21.1). Any region when absent. */
  regions?: RegionCatalog;
}

/** Overwrites every key material of the plan, once it has been applied (or refused). */
export function wipePlan(plan: SeedPlan): void {
  for (const s of plan.scopes) for (const k of s.keys) k.material?.fill(0);
}

type ParsedFile = z.output<typeof SeedFile>;

function buildPlan(file: string, parsed: ParsedFile, defaults: SeedDefaults): SeedPlan {
  return {
    file,
    scopes: parsed.scopes.map((entry, s) => {
      const at = `scopes[${s}]`;
      const scope = { accountId: entry.accountId ?? defaults.accountId, region: entry.region ?? defaults.region };
      const keys = entry.keys.map((key, k): PlannedKey => {
        const keyAt = `${at}.keys[${k}]`;
        const aliases = (key.Aliases ?? []).map((aliasName, a) => ({ at: `${keyAt}.Aliases[${a}]`, aliasName }));
        // The schema guarantees a KeyId or a first alias.
        const keyId = key.KeyId ?? seedKeyId(scope, aliases[0]!.aliasName);
        return {
          at: keyAt,
          keyId,
          description: key.Description ?? '',
          keySpec: key.KeySpec ?? 'Aliyun_AES_256',
          rotationIntervalS: key.EnableAutomaticRotation === true ? key.RotationInterval! : null,
          ...(key.KeyMaterial !== undefined && { material: key.KeyMaterial }),
          versionId: key.KeyVersionId ?? seedKeyVersionId(keyId),
          aliases,
        };
      });
      const aliases: PlannedAlias[] = [
        ...keys.flatMap((k) => k.aliases.map((a) => ({ ...a, keyId: k.keyId }))),
        ...entry.aliases.map((a, i) => ({ at: `${at}.aliases[${i}]`, aliasName: a.AliasName, keyId: a.KeyId })),
      ];
      return { at, scope, keys, aliases };
    }),
  };
}

/**
 * Uniqueness within the file: one entry per (account, region), and within a scope one
 * entry per KeyId, per KeyVersionId and per alias name. Checked once the schema passes.
 */
function duplicateProblems(plan: SeedPlan): string[] {
  const problems: string[] = [];
  const seen = (map: Map<string, string>, value: string, at: string, what: string) => {
    const first = map.get(value);
    if (first === undefined) map.set(value, at);
    else problems.push(`${at}: duplicate ${what} (also at ${first})`);
  };
  const scopes = new Map<string, string>();
  for (const s of plan.scopes) {
    seen(
      scopes,
      `${s.scope.accountId}/${s.scope.region}`,
      s.at,
      `account ${s.scope.accountId} region ${s.scope.region}: list its keys and aliases in one entry`,
    );
    const keyIds = new Map<string, string>();
    const versionIds = new Map<string, string>();
    for (const k of s.keys) {
      seen(keyIds, k.keyId, `${k.at}.KeyId`, `key id ${k.keyId}`);
      seen(versionIds, k.versionId, `${k.at}.KeyVersionId`, `key version id ${k.versionId}`);
    }
    const names = new Map<string, string>();
    for (const a of s.aliases) seen(names, a.aliasName, a.at, `alias name ${a.aliasName}`);
  }
  return problems;
}

/** Scopes in a region outside the catalog. */
function regionProblems(plan: SeedPlan, catalog: RegionCatalog): string[] {
  return plan.scopes
    .filter((s) => !inCatalog(catalog, s.scope.region))
    .map((s) => `${s.at}.region: ${s.scope.region} is not one of KMS_REGIONS`);
}

/**
 * Validates an already-parsed seed document into a plan. Throws SeedError listing every
 * problem with its location.
 */
export function buildSeedPlan(document: unknown, defaults: SeedDefaults, file = 'seed file'): SeedPlan {
  const result = SeedFile.safeParse(document);
  if (!result.success) {
    throw invalidFile(
      file,
      result.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`),
    );
  }
  const plan = buildPlan(file, result.data, defaults);
  const problems = [...regionProblems(plan, defaults.regions ?? '*'), ...duplicateProblems(plan)];
  if (problems.length > 0) {
    wipePlan(plan);
    throw invalidFile(file, problems);
  }
  return plan;
}

/**
 * Reads and validates a seed file. `.json` is JSON, `.yaml`/`.yml` is YAML, anything else
 * is tried as JSON, then as YAML.
 */
export function loadSeedFile(file: string, defaults: SeedDefaults): SeedPlan {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    throw invalidFile(file, [`cannot read the file (${code})`]);
  }
  if (source.trim() === '') throw invalidFile(file, ['the file is empty']);
  const document = parseSeedText(source, file);
  if (document === null || document === undefined) throw invalidFile(file, ['the file is empty']);
  return buildSeedPlan(document, defaults, file);
}

/**
 * Parser messages are not passed on, since they quote the offending source line, which
 * may hold key material: only the position is reported.
 */
export function parseSeedText(source: string, file: string): unknown {
  try {
    return parseJsonOrYaml(source, file);
  } catch (err) {
    if (err instanceof StructuredFileSyntaxError) throw invalidFile(file, [err.message]);
    throw err;
  }
}
