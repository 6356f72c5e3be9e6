// Who may call the service: accounts, their root access keys, RAM users with their access
// keys and policies (spec sections 6 and 9).
//
// There is always a default account with one root access key, from configuration
// (KMS_ACCOUNT_ID, KMS_ACCESS_KEY_ID, KMS_ACCESS_KEY_SECRET), so a fresh start works. An
// identities file (KMS_IDENTITIES_FILE, JSON or YAML) adds accounts; an entry whose
// accountId is the default account adds root keys and users to it.
//
// Loading happens once, at start-up: every problem in the file is collected and reported
// in one Error naming each location. Access key ids are not secret and may be named;
// access key secrets never appear in a message or in describe().

import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { accountIdField, formatPath, objectError } from '../file-schema.js';
import { ACCOUNT_ID_PATTERN, REGION_PATTERN } from '../identifiers.js';
import { inCatalog, MAX_REGION_LENGTH, type RegionCatalog } from '../regions.js';
import { parseJsonOrYaml, StructuredFileSyntaxError } from '../structured-file.js';
import { PolicyDocument } from './policy.js';

export interface Principal {
  accountId: string;
  kind: 'root' | 'user';
  /** RAM user name; only for kind 'user'. */
  userName?: string;
  /** A root principal may do everything in its account and has no policies. */
  policies: PolicyDocument[];
  /** The access key the request was signed with. */
  accessKeyId: string;
  /** Region for requests that name none (spec section 1), when the access key sets one. */
  region?: string;
}

export interface IdentityStore {
  lookup(accessKeyId: string): { secret: string; principal: Principal } | undefined;
  defaultPrincipal(): Principal;
  /** Every account id and access key id the identities name (admin-made accounts must not reuse one). */
  ids(): { accountIds: string[]; accessKeyIds: string[] };
  /** A summary for the start-up log: account ids, access key ids, user names; never secrets. */
  describe(): string;
}

export interface LoadIdentitiesOptions {
  accountId: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** Path of a JSON or YAML identities file. */
  file?: string;
  /** KMS_REGIONS: an access key's region outside it stops start-up (spec 21.1). Any region when absent. */
  regions?: RegionCatalog;
}

// ---------------------------------------------------------------------------------------
// File schema

// Alibaba's access key ids are alphanumeric; the emulator also allows . _ - so test ids read well.
const ACCESS_KEY_ID = /^[A-Za-z0-9._-]{1,128}$/;
// RAM user names: 1 to 64 characters from letters, digits, '.', '_', '-' and '@'.
const USER_NAME = /^[A-Za-z0-9._@-]{1,64}$/;

const AccessKeyEntry = z.strictObject(
  {
    accessKeyId: z.string({ error: 'expected a string' }).regex(ACCESS_KEY_ID, {
      error: 'must be 1 to 128 characters from A-Z a-z 0-9 . _ -',
    }),
    accessKeySecret: z.string({ error: 'expected a string' }).min(1, { error: 'must not be empty' }),
    region: z
      .string({ error: 'expected a string' })
      .max(MAX_REGION_LENGTH, { error: `must be at most ${MAX_REGION_LENGTH} characters` })
      .regex(REGION_PATTERN, { error: 'is not a region id such as cn-hangzhou' })
      .optional(),
  },
  { error: objectError('an access key', 'accessKeyId, accessKeySecret and region') },
);

const UserEntry = z.strictObject(
  {
    name: z.string({ error: 'expected a string' }).regex(USER_NAME, {
      error: 'must be 1 to 64 characters from A-Z a-z 0-9 . _ - @',
    }),
    accessKeys: z.array(AccessKeyEntry, { error: 'expected a list' }).default([]),
    policies: z.array(PolicyDocument, { error: 'expected a list' }).default([]),
  },
  { error: objectError('a user', 'name, accessKeys and policies') },
);

const AccountEntry = z.strictObject(
  {
    accountId: accountIdField(),
    accessKeys: z.array(AccessKeyEntry, { error: 'expected a list' }).default([]),
    users: z.array(UserEntry, { error: 'expected a list' }).default([]),
  },
  { error: objectError('an account', 'accountId, accessKeys and users') },
);

export const IdentitiesFile = z.strictObject(
  { accounts: z.array(AccountEntry, { error: 'expected a list of accounts' }) },
  { error: objectError('an identities file', '"accounts"') },
);

export type IdentitiesFile = z.infer<typeof IdentitiesFile>;

// ---------------------------------------------------------------------------------------
// Loading

/** Thrown when the identities (file or defaults) cannot be loaded; the message lists every problem. */
export class IdentitiesError extends Error {
  readonly problems: string[];

  constructor(source: string, problems: string[]) {
    super(`Invalid identities (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'IdentitiesError';
    this.problems = problems;
  }
}

/**
 * Parses the text of an identities file. `.json` is JSON, `.yaml`/`.yml` is YAML, anything
 * else is tried as JSON, then as YAML. Parser messages are not passed on, since they quote
 * the offending source line, which may hold a secret: only the position is reported.
 */
export function parseIdentitiesText(text: string, fileName: string): unknown {
  try {
    return parseJsonOrYaml(text, fileName);
  } catch (err) {
    if (err instanceof StructuredFileSyntaxError) throw new IdentitiesError(fileName, [err.message]);
    throw err;
  }
}

interface AccountSummary {
  accountId: string;
  rootKeys: string[];
  users: Map<string, string[]>;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const listAt = (value: unknown, key: string): unknown[] =>
  isRecord(value) && Array.isArray(value[key]) ? (value[key] as unknown[]) : [];

const stringAt = (value: unknown, key: string): string | undefined =>
  isRecord(value) && typeof value[key] === 'string' ? (value[key] as string) : undefined;

/**
 * The uniqueness rules, checked over the raw document so that they are reported together
 * with the schema problems even where an entry is otherwise malformed: access key ids
 * (across every account and user, the default key included), account ids, and user names
 * within an account.
 */
function duplicateProblems(defaults: Omit<LoadIdentitiesOptions, 'file'>, document: unknown): string[] {
  const problems: string[] = [];
  const keyLocations = new Map<string, string>([[defaults.accessKeyId, 'KMS_ACCESS_KEY_ID (the default account)']]);
  const accountLocations = new Map<string, string>();
  const userLocations = new Map<string, string>();

  const checkKey = (key: unknown, at: string) => {
    const id = stringAt(key, 'accessKeyId');
    if (id === undefined) return;
    const first = keyLocations.get(id);
    if (first === undefined) keyLocations.set(id, at);
    else problems.push(`${at}.accessKeyId: duplicate access key id "${id}" (also at ${first})`);
  };

  listAt(document, 'accounts').forEach((entry, a) => {
    const at = `accounts[${a}]`;
    const accountId = stringAt(entry, 'accountId');
    if (accountId !== undefined) {
      const first = accountLocations.get(accountId);
      if (first === undefined) accountLocations.set(accountId, at);
      else problems.push(`${at}.accountId: duplicate account id "${accountId}" (also at ${first})`);
    }
    listAt(entry, 'accessKeys').forEach((key, k) => {
      checkKey(key, `${at}.accessKeys[${k}]`);
    });
    listAt(entry, 'users').forEach((user, u) => {
      const userAt = `${at}.users[${u}]`;
      const name = stringAt(user, 'name');
      if (name !== undefined && accountId !== undefined) {
        // Keyed by account so that the same name in two accounts is fine.
        const key = `${accountId}/${name}`;
        const first = userLocations.get(key);
        if (first === undefined) userLocations.set(key, userAt);
        else problems.push(`${userAt}.name: duplicate user name "${name}" in account ${accountId} (also at ${first})`);
      }
      listAt(user, 'accessKeys').forEach((key, k) => {
        checkKey(key, `${userAt}.accessKeys[${k}]`);
      });
    });
  });
  return problems;
}

/**
 * Builds the identity store from the defaults and an already-parsed identities document
 * (`undefined` when there is no file). Throws IdentitiesError listing every problem.
 */
export function buildIdentityStore(
  defaults: Omit<LoadIdentitiesOptions, 'file'>,
  document: unknown,
  source = 'identities file',
): IdentityStore {
  const file = validatedFile(defaults, document, source);
  const { keys, accounts, defaultPrincipal } = indexAccessKeys(defaults, file);
  const description = describeAccounts(
    [...accounts.values()],
    defaults.accountId,
    document === undefined ? null : source,
  );

  return {
    lookup: (accessKeyId) => keys.get(accessKeyId),
    defaultPrincipal: () => defaultPrincipal,
    ids: () => ({ accountIds: [...accounts.keys()], accessKeyIds: [...keys.keys()] }),
    describe: () => description,
  };
}

/** Access keys whose region is outside the catalog. */
function regionProblems(file: IdentitiesFile, catalog: RegionCatalog): string[] {
  const problems: string[] = [];
  const check = (region: string | undefined, at: string) => {
    if (region !== undefined && !inCatalog(catalog, region)) {
      problems.push(`${at}.region: ${region} is not one of KMS_REGIONS`);
    }
  };
  for (const [a, account] of file.accounts.entries()) {
    for (const [k, key] of account.accessKeys.entries()) check(key.region, `accounts[${a}].accessKeys[${k}]`);
    for (const [u, user] of account.users.entries()) {
      for (const [k, key] of user.accessKeys.entries())
        check(key.region, `accounts[${a}].users[${u}].accessKeys[${k}]`);
    }
  }
  return problems;
}

/** The defaults and the document checked together; throws IdentitiesError listing every problem. */
function validatedFile(
  defaults: Omit<LoadIdentitiesOptions, 'file'>,
  document: unknown,
  source: string,
): IdentitiesFile {
  const problems: string[] = [];

  if (!ACCOUNT_ID_PATTERN.test(defaults.accountId)) problems.push('KMS_ACCOUNT_ID: must be 16 digits');
  if (!ACCESS_KEY_ID.test(defaults.accessKeyId)) {
    problems.push('KMS_ACCESS_KEY_ID: must be 1 to 128 characters from A-Z a-z 0-9 . _ -');
  }
  if (defaults.accessKeySecret === '') problems.push('KMS_ACCESS_KEY_SECRET: must not be empty');

  let file: IdentitiesFile = { accounts: [] };
  if (document !== undefined) {
    const parsed = IdentitiesFile.safeParse(document);
    if (parsed.success) {
      file = parsed.data;
      problems.push(...regionProblems(file, defaults.regions ?? '*'));
    } else for (const issue of parsed.error.issues) problems.push(`${formatPath(issue.path)}: ${issue.message}`);
    problems.push(...duplicateProblems(defaults, document));
  }
  if (problems.length > 0) throw new IdentitiesError(source, problems);
  return file;
}

/**
 * Every access key with its secret and principal, and what each account holds (for
 * describe()). The file is valid and free of duplicates by now.
 */
function indexAccessKeys(defaults: Omit<LoadIdentitiesOptions, 'file'>, file: IdentitiesFile) {
  const keys = new Map<string, { secret: string; principal: Principal }>();
  const accounts = new Map<string, AccountSummary>();
  const account = (accountId: string): AccountSummary => {
    let summary = accounts.get(accountId);
    if (!summary) {
      summary = { accountId, rootKeys: [], users: new Map() };
      accounts.set(accountId, summary);
    }
    return summary;
  };

  const defaultPrincipal: Principal = {
    accountId: defaults.accountId,
    kind: 'root',
    policies: [],
    accessKeyId: defaults.accessKeyId,
  };
  keys.set(defaults.accessKeyId, { secret: defaults.accessKeySecret, principal: defaultPrincipal });
  account(defaults.accountId).rootKeys.push(defaults.accessKeyId);

  for (const entry of file.accounts) {
    const summary = account(entry.accountId);
    for (const key of entry.accessKeys) {
      keys.set(key.accessKeyId, {
        secret: key.accessKeySecret,
        principal: {
          accountId: entry.accountId,
          kind: 'root',
          policies: [],
          accessKeyId: key.accessKeyId,
          ...(key.region !== undefined && { region: key.region }),
        },
      });
      summary.rootKeys.push(key.accessKeyId);
    }
    for (const user of entry.users) {
      for (const key of user.accessKeys) {
        keys.set(key.accessKeyId, {
          secret: key.accessKeySecret,
          principal: {
            accountId: entry.accountId,
            kind: 'user',
            userName: user.name,
            policies: user.policies,
            accessKeyId: key.accessKeyId,
            ...(key.region !== undefined && { region: key.region }),
          },
        });
      }
      summary.users.set(
        user.name,
        user.accessKeys.map((key) => key.accessKeyId),
      );
    }
  }
  return { keys, accounts, defaultPrincipal };
}

function describeAccounts(accounts: AccountSummary[], defaultAccountId: string, source: string | null): string {
  const lines = [
    source === null
      ? 'identities: default account only (no KMS_IDENTITIES_FILE)'
      : `identities: default account plus ${source}`,
  ];
  for (const a of accounts) {
    const tag = a.accountId === defaultAccountId ? ' (default)' : '';
    lines.push(`  account ${a.accountId}${tag}: root access keys [${a.rootKeys.join(', ')}]`);
    for (const [name, userKeys] of a.users) lines.push(`    user ${name}: access keys [${userKeys.join(', ')}]`);
  }
  return lines.join('\n');
}

/**
 * Loads the identities: the default account from the options, plus the file when one is
 * named. Throws IdentitiesError (an Error whose message lists every problem and its
 * location) on an unreadable or malformed file, an account id that is not 16 digits, a
 * duplicate access key id anywhere (the default one included), or a bad policy.
 */
export function loadIdentities(opts: LoadIdentitiesOptions): IdentityStore {
  const defaults = {
    accountId: opts.accountId,
    accessKeyId: opts.accessKeyId,
    accessKeySecret: opts.accessKeySecret,
    ...(opts.regions !== undefined && { regions: opts.regions }),
  };
  if (opts.file === undefined) return buildIdentityStore(defaults, undefined);

  let text: string;
  try {
    text = readFileSync(opts.file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    throw new IdentitiesError(opts.file, [`cannot read the file (${code})`]);
  }
  const document = parseIdentitiesText(text, opts.file);
  if (document === null || document === undefined) throw new IdentitiesError(opts.file, ['the file is empty']);
  return buildIdentityStore(defaults, document, opts.file);
}
