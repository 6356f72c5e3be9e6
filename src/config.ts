import { z } from 'zod';
import { closestName } from './closest-name.js';
import { ACCOUNT_ID_PATTERN, REGION_PATTERN } from './domain/identifiers.js';
import { ALIBABA_PUBLIC_REGIONS, inCatalog, parseRegionCatalog, type RegionCatalog } from './domain/regions.js';

// The whole environment, parsed once at start-up with every problem listed at once
// (spec section 9). Only server.ts and the migrate CLI read process.env; everything
// else receives a Config.

const onOff = z.enum(['on', 'off']);
const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,10}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const optionalPath = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

export const ConfigSchema = z
  .object({
    HOST: z.string().min(1).default('127.0.0.1'),
    PORT: int(0, 65535).default(8080),
    DATABASE_URL: optionalPath.pipe(
      z
        .string()
        .regex(/^(postgres(ql)?:\/\/|memory:\/\/$)/, 'must be a postgres:// or postgresql:// URL, or memory://')
        .optional(),
    ),
    KMS_DATA_DIR: z.string().min(1).default('./data'),
    KMS_MASTER_KEY: optionalPath,
    KMS_DEFAULT_REGION: z.string().regex(REGION_PATTERN, 'must look like cn-hangzhou').default('cn-hangzhou'),
    KMS_REGIONS: z
      .string()
      .default(ALIBABA_PUBLIC_REGIONS.join(','))
      .transform((text, ctx): RegionCatalog => {
        const catalog = parseRegionCatalog(text);
        if (typeof catalog === 'object' && 'problems' in catalog) {
          for (const message of catalog.problems) ctx.addIssue({ code: 'custom', message });
          return z.NEVER;
        }
        return catalog;
      }),
    KMS_ACCOUNT_ID: z.string().regex(ACCOUNT_ID_PATTERN, 'must be 16 digits').default('1234567890123456'),
    KMS_ACCESS_KEY_ID: z.string().min(1).default('LTAI5tKmsEmulatorDevKey'),
    KMS_ACCESS_KEY_SECRET: z.string().min(1).default('KmsEmulatorDevSecretDoNotUseInProd'),
    KMS_IDENTITIES_FILE: optionalPath,
    KMS_AUTH: onOff.default('on'),
    KMS_REST_BASIC_AUTH: onOff.default('on'),
    KMS_SEED_FILE: optionalPath,
    KMS_RATE_LIMIT_RPS: int(0, 1_000_000).default(0),
    KMS_BODY_LIMIT_BYTES: int(1024, 100 * 1024 * 1024).default(65536),
    KMS_REQUEST_TIMEOUT_MS: int(100, 600_000).default(10_000),
    KMS_DB_TIMEOUT_MS: int(50, 600_000).default(2000),
    KMS_DB_POOL_MAX: int(1, 1000).default(10),
    KMS_ALIAS_QUOTA: int(0, 100_000_000).default(300),
    KMS_KEY_QUOTA: int(0, 100_000_000).default(200),
    KMS_KEY_VERSION_MIN_INTERVAL_S: int(0, 315_360_000).default(604_800),
    KMS_KEY_VERSION_LIMIT: int(0, 1_000_000).default(50),
    KMS_SWEEP_INTERVAL_MS: int(0, 86_400_000).default(10_000),
    KMS_ADMIN_API: onOff.default('on'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_FORMAT: optionalPath.pipe(z.enum(['json', 'pretty']).optional()),
  })
  .superRefine((env, ctx) => {
    if (env.KMS_REGIONS !== undefined && !inCatalog(env.KMS_REGIONS, env.KMS_DEFAULT_REGION)) {
      ctx.addIssue({ code: 'custom', path: ['KMS_DEFAULT_REGION'], message: 'must be one of KMS_REGIONS' });
    }
    if (env.DATABASE_URL?.startsWith('postgres') && env.KMS_MASTER_KEY === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['KMS_MASTER_KEY'],
        message:
          'is required with a postgres:// DATABASE_URL (Base64 of 32 bytes, e.g. `openssl rand -base64 32`); ' +
          'every instance sharing the database must use the same key',
      });
    }
  })
  .transform((env) => ({
    host: env.HOST,
    port: env.PORT,
    databaseUrl: env.DATABASE_URL,
    dataDir: env.KMS_DATA_DIR,
    masterKey: env.KMS_MASTER_KEY,
    defaultRegion: env.KMS_DEFAULT_REGION,
    regions: env.KMS_REGIONS,
    accountId: env.KMS_ACCOUNT_ID,
    accessKeyId: env.KMS_ACCESS_KEY_ID,
    accessKeySecret: env.KMS_ACCESS_KEY_SECRET,
    identitiesFile: env.KMS_IDENTITIES_FILE,
    auth: env.KMS_AUTH === 'on',
    restBasicAuth: env.KMS_REST_BASIC_AUTH === 'on',
    seedFile: env.KMS_SEED_FILE,
    rateLimitRps: env.KMS_RATE_LIMIT_RPS,
    bodyLimitBytes: env.KMS_BODY_LIMIT_BYTES,
    requestTimeoutMs: env.KMS_REQUEST_TIMEOUT_MS,
    dbTimeoutMs: env.KMS_DB_TIMEOUT_MS,
    dbPoolMax: env.KMS_DB_POOL_MAX,
    aliasQuota: env.KMS_ALIAS_QUOTA,
    keyQuota: env.KMS_KEY_QUOTA,
    keyVersionMinIntervalS: env.KMS_KEY_VERSION_MIN_INTERVAL_S,
    keyVersionLimit: env.KMS_KEY_VERSION_LIMIT,
    sweepIntervalMs: env.KMS_SWEEP_INTERVAL_MS,
    adminApi: env.KMS_ADMIN_API === 'on',
    logLevel: env.LOG_LEVEL,
    /** undefined: pretty on a terminal, JSON otherwise. */
    logFormat: env.LOG_FORMAT,
  }));

/** The settings the service reads: the fields of ConfigSchema, so the list is never written twice. */
export const SETTINGS: readonly string[] = Object.keys(ConfigSchema.in.shape);

export interface UnknownSetting {
  name: string;
  /** The known setting whose name is closest. */
  closest: string | undefined;
}

/**
 * Every KMS_* variable (in any case) that is not a setting, with the closest setting's name:
 * a typo such as KMS_AUTHH would otherwise be ignored without a word. Values are never read.
 */
export function unknownSettings(env: Record<string, string | undefined>): UnknownSetting[] {
  return Object.keys(env)
    .filter((name) => /^kms_/i.test(name) && !SETTINGS.includes(name))
    .sort()
    .map((name) => ({ name, closest: closestName(name, SETTINGS)?.name }));
}

export type Config = Readonly<
  z.infer<typeof ConfigSchema> & {
    /** Warned about once at start-up (buildApp). */
    unknownSettings: readonly UnknownSetting[];
  }
>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws a ConfigError listing every problem (never a value). */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${problems.join('\n')}`);
  }
  return Object.freeze({ ...result.data, unknownSettings: unknownSettings(env) });
}
