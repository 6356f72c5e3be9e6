import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { catalog, type ErrorCode } from '../../src/errors.js';
import { signV1 } from '../../src/http/auth/signature.js';
import { DEV_CREDENTIALS, UUID_UPPER } from '../helpers/clients.js';
import { type AliasItem, type Face, type FaceName, face } from '../helpers/faces.js';
import { makeApp, openTestDatabase, type TestApp, uniqueAccount, uniqueRegion } from '../helpers/test-app.js';
import { versionFace } from '../helpers/version-faces.js';
import { scopeCounters } from './support/counters.js';

// Model-based test of the alias and key rules (spec sections 2, 3, 10): random sequences
// of operations over HTTP, on both faces, across two accounts and two regions, checked
// step by step against a small reference model written from the spec alone. Every
// response must agree with the model (status, code, the fields that matter), and so must
// the final state: the aliases and keys of every scope, through both faces and in the
// database, and the per-scope counters.

const ALIAS_QUOTA = 4;
const KEY_QUOTA = 6;
const DAY_MS = 86_400_000;
const NUM_RUNS = Number(process.env.STRESS_MODEL_RUNS ?? 40);
const SHRINK_BUDGET_MS = 150_000;
const MIN_STEPS = 1;
const MAX_STEPS = 80;
/** KMS_KEY_VERSION_LIMIT for the model's apps, low enough for a sequence to reach it. */
const VERSION_LIMIT = 3;
/** CreateKeyVersion's minimum interval (the default, KMS_KEY_VERSION_MIN_INTERVAL_S=604800), in days. */
const VERSION_MIN_DAYS = 7;

type KeyState = 'Enabled' | 'Disabled' | 'PendingDeletion' | 'PendingImport';

// ---------------------------------------------------------------------------------------
// Commands: plain data, so a shrunk counterexample can be pasted back as a regression.

type Page = { PageNumber?: number; PageSize?: number };
/** Which key a KeyId parameter names: a key created in this run (by index), or another form. */
type KeyRef = {
  pick: 'own' | 'any';
  n: number;
  form: 'id' | 'arn' | 'callerArn' | 'upper' | 'alias' | 'aliasArn' | 'missing';
};
/** What DescribeKey is given: an alias name or ARN (own scope or another), or a key. */
type AliasRef = { form: 'name' | 'arn' | 'otherArn' | 'key'; name: string; key: KeyRef };

type Cmd =
  | { op: 'CreateKey'; s: number; face: FaceName; external: boolean; rotationDays?: number }
  | { op: 'CreateKeyVersion' | 'ListKeyVersions'; s: number; face: FaceName; key: KeyRef }
  | { op: 'UpdateRotationPolicy'; s: number; face: FaceName; key: KeyRef; enable: boolean; days: number }
  | { op: 'CreateAlias'; s: number; face: FaceName; name: string; key: KeyRef }
  | { op: 'UpdateAlias'; s: number; face: FaceName; name: string; key: KeyRef }
  | { op: 'DeleteAlias'; s: number; face: FaceName; name: string }
  | { op: 'ListAliases'; s: number; face: FaceName; page: Page }
  | { op: 'ListAliasesByKeyId'; s: number; face: FaceName; key: KeyRef; page: Page }
  | { op: 'DescribeKey'; s: number; face: FaceName; ref: AliasRef }
  | { op: 'EnableKey' | 'DisableKey' | 'CancelKeyDeletion'; s: number; face: FaceName; key: KeyRef }
  | { op: 'ScheduleKeyDeletion'; s: number; face: FaceName; key: KeyRef; days: number }
  | { op: 'Advance'; days: number };

const LONGEST = `alias/${'n'.repeat(255)}`;
const VALID_NAMES = ['alias/a', 'alias/b', 'alias/A', 'alias/team/app', 'alias/x_y-z', 'alias/a//b/', LONGEST];
const BAD_NAMES = [
  'alias/acs-svc', // reserved prefix: refused on create only
  'alias/acs',
  'alias/',
  'alias/bad name',
  'nope',
  `alias/${'n'.repeat(256)}`,
  'alias/caf\u00e9',
  'alias/dot.ted',
];

const faceArb = fc.constantFrom<FaceName>('rpc', 'rest');
// Mostly one scope (so names collide and the quota fills), sometimes the three others.
const scopeArb = fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, fc.nat(3));
const nameArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...VALID_NAMES.slice(0, 3)) },
  { weight: 3, arbitrary: fc.constantFrom(...VALID_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom(...BAD_NAMES) },
);
const keyRefArb: fc.Arbitrary<KeyRef> = fc.record({
  pick: fc.constantFrom<KeyRef['pick']>('own', 'own', 'own', 'any'),
  n: fc.nat(12),
  form: fc.oneof(
    { weight: 8, arbitrary: fc.constant<KeyRef['form']>('id') },
    { weight: 2, arbitrary: fc.constant<KeyRef['form']>('arn') },
    fc.constantFrom<KeyRef['form']>('callerArn', 'upper', 'alias', 'aliasArn', 'missing'),
  ),
});
const pageArb: fc.Arbitrary<Page> = fc.oneof(
  fc.constant({}),
  fc.record({ PageNumber: fc.integer({ min: 1, max: 3 }), PageSize: fc.integer({ min: 0, max: 5 }) }),
);
const aliasRefArb: fc.Arbitrary<AliasRef> = fc.record({
  form: fc.constantFrom<AliasRef['form']>('name', 'name', 'name', 'arn', 'otherArn', 'key'),
  name: nameArb,
  key: keyRefArb,
});

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('CreateKey' as const),
      s: scopeArb,
      face: faceArb,
      external: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, fc.constant(true)),
      rotationDays: fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, fc.constantFrom(7, 30)),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constantFrom('CreateKeyVersion' as const, 'ListKeyVersions' as const),
      s: scopeArb,
      face: faceArb,
      key: keyRefArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('UpdateRotationPolicy' as const),
      s: scopeArb,
      face: faceArb,
      key: keyRefArb,
      enable: fc.boolean(),
      days: fc.constantFrom(7, 30),
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant('CreateAlias' as const),
      s: scopeArb,
      face: faceArb,
      name: nameArb,
      key: keyRefArb,
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('UpdateAlias' as const),
      s: scopeArb,
      face: faceArb,
      name: nameArb,
      key: keyRefArb,
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ op: fc.constant('DeleteAlias' as const), s: scopeArb, face: faceArb, name: nameArb }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('ListAliases' as const), s: scopeArb, face: faceArb, page: pageArb }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('ListAliasesByKeyId' as const),
      s: scopeArb,
      face: faceArb,
      key: keyRefArb,
      page: pageArb,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ op: fc.constant('DescribeKey' as const), s: scopeArb, face: faceArb, ref: aliasRefArb }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constantFrom('EnableKey' as const, 'DisableKey' as const, 'CancelKeyDeletion' as const),
      s: scopeArb,
      face: faceArb,
      key: keyRefArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('ScheduleKeyDeletion' as const),
      s: scopeArb,
      face: faceArb,
      key: keyRefArb,
      days: fc.constantFrom(7, 8, 30, 366),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('Advance' as const), days: fc.constantFrom(1, 7, 8, 31) }) },
);

// ---------------------------------------------------------------------------------------
// The reference model: written from the spec, not from the implementation.

interface MKey {
  id: string;
  scope: number;
  state: KeyState;
  usage: string;
  /** Virtual day on which the pending window ends (the key is gone from then on). */
  deleteDay: number | null;
  external: boolean;
  purged: boolean;
  /** Versions (spec 15): how many, the day of the newest, the primary's id (null: made by a rotation, not yet seen). */
  versions: number;
  lastRotationDay: number | null;
  primary: string | null;
  /** The primary before a rotation the model has not seen the id of. */
  rotatedFrom?: string | null;
  /** The automatic rotation policy's interval in days; null: off. */
  rotationDays: number | null;
}

interface MScope {
  accountId: string;
  region: string;
  aliases: Map<string, string>;
}

const NAME_SYNTAX = /^alias\/[A-Za-z0-9_/-]{1,255}$/;
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
const MISSING_KEY = '00000000-0000-4000-8000-000000000000';

/** `why` tells apart two causes of one code in the run's statistics. */
type Expected = { ok: true } | { code: ErrorCode; why?: string };

class Model {
  day = 0;
  keys: MKey[] = [];
  constructor(readonly scopes: MScope[]) {}

  live(s: number): MKey[] {
    return this.keys.filter((k) => k.scope === s && !k.purged);
  }

  /** The text sent as KeyId, and what it names for a caller in scope s. */
  keyParam(s: number, ref: KeyRef): { text: string; names: MKey | 'alias' | undefined; aliasName?: string } {
    const scope = this.scopes[s]!;
    const pool = ref.pick === 'own' ? this.keys.filter((k) => k.scope === s) : this.keys;
    const key = pool.length > 0 ? pool[ref.n % pool.length]! : undefined;
    const usable = (k: MKey | undefined) => (k && k.scope === s && !k.purged ? k : undefined);
    switch (ref.form) {
      case 'alias': {
        const aliasName = VALID_NAMES[ref.n % VALID_NAMES.length]!;
        return { text: aliasName, names: 'alias', aliasName };
      }
      case 'aliasArn':
        return { text: `acs:kms:${scope.region}:${scope.accountId}:alias/a`, names: 'alias', aliasName: 'alias/a' };
      case 'missing':
        return { text: MISSING_KEY, names: undefined };
      default:
        if (!key) return { text: MISSING_KEY, names: undefined };
    }
    const own = this.scopes[key.scope]!;
    switch (ref.form) {
      case 'id':
        return { text: key.id, names: usable(key) };
      case 'arn':
        return { text: `acs:kms:${own.region}:${own.accountId}:key/${key.id}`, names: usable(key) };
      case 'callerArn':
        return { text: `acs:kms:${scope.region}:${scope.accountId}:key/${key.id}`, names: usable(key) };
      default: // upper: key ids are lowercase UUIDs; another case names nothing
        return { text: key.id.toUpperCase(), names: undefined };
    }
  }

  /** Key-only parameter: an alias is Unsupported.Alias (syntax), else resolution. */
  keyOnly(s: number, ref: KeyRef): { text: string; key?: MKey; code?: ErrorCode; syntax?: boolean } {
    const { text, names } = this.keyParam(s, ref);
    if (names === 'alias') return { text, code: 'Unsupported.Alias', syntax: true };
    if (!names) return { text, code: 'Forbidden.KeyNotFound' };
    return { text, key: names };
  }

  aliasKey(s: number, name: string): MKey | undefined {
    const id = this.scopes[s]!.aliases.get(name);
    return id === undefined ? undefined : this.keys.find((k) => k.id === id && !k.purged);
  }

  sortedAliases(s: number, keyId?: string) {
    const scope = this.scopes[s]!;
    return [...scope.aliases.entries()]
      .filter(([, k]) => keyId === undefined || k === keyId)
      .sort(([a], [b]) => byteOrder(a, b))
      .map(([name, k]) => ({
        KeyId: k,
        AliasName: name,
        AliasArn: `acs:kms:${scope.region}:${scope.accountId}:${name}`,
      }));
  }

  /**
   * A request resolved the key: a due rotation runs first (spec 15.3), once however many
   * intervals went by. Only requests that resolve keys through the resolver do this.
   */
  touch(k: MKey | undefined) {
    if (!k || k.purged || k.rotationDays === null || k.state !== 'Enabled' || k.lastRotationDay === null) return;
    if (this.day < k.lastRotationDay + k.rotationDays) return;
    k.versions++;
    k.lastRotationDay = this.day;
    if (k.primary !== null) k.rotatedFrom = k.primary;
    k.primary = null;
  }

  /** Any of the four identifier forms: the key it names (through an alias too), or the code of its absence. */
  anyKey(s: number, ref: KeyRef): { text: string; key?: MKey; code?: ErrorCode } {
    const p = this.keyParam(s, ref);
    if (p.names === 'alias') {
      const key = this.aliasKey(s, p.aliasName!);
      return key ? { text: p.text, key } : { text: p.text, code: 'Forbidden.AliasNotFound' };
    }
    return p.names ? { text: p.text, key: p.names } : { text: p.text, code: 'Forbidden.KeyNotFound' };
  }

  advance(days: number) {
    this.day += days;
    for (const k of this.keys) {
      if (!k.purged && k.deleteDay !== null && k.deleteDay <= this.day) {
        k.purged = true;
        const aliases = this.scopes[k.scope]!.aliases;
        for (const [name, id] of aliases) if (id === k.id) aliases.delete(name);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------
// The system under test: two apps (two accounts) over one database, two fresh regions.

type VersionOps = ReturnType<typeof versionFace>;

interface World {
  model: Model;
  faces: Record<FaceName, Face>[];
  versions: Record<FaceName, VersionOps>[];
  apps: TestApp[];
}

let db: Database;
let apps: TestApp[] = [];
const accounts = [uniqueAccount(), uniqueAccount()];
const stats = { sequences: 0, steps: 0, outcomes: new Map<string, number>() };

beforeAll(async () => {
  db = await openTestDatabase();
  for (const account of accounts) {
    apps.push(
      await makeApp(db, {
        KMS_ACCOUNT_ID: account,
        KMS_ALIAS_QUOTA: String(ALIAS_QUOTA),
        KMS_KEY_QUOTA: String(KEY_QUOTA),
        KMS_KEY_VERSION_LIMIT: String(VERSION_LIMIT),
        LOG_LEVEL: 'warn',
      }),
    );
  }
});

afterAll(async () => {
  for (const a of apps) await a.app.close();
  apps = [];
  await db?.close();
});

/** A SIGN/VERIFY key per scope (no such spec is built yet), so the same-KeyUsage rule is reachable. */
async function insertSignKey(scope: MScope): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO keys (account_id, region, id, state, key_spec, key_usage, origin, protection_level, creator, creation_date)
     VALUES ($1, $2, $3, 'Enabled', 'RSA_2048', 'SIGN/VERIFY', 'Aliyun_KMS', 'SOFTWARE', 'test', now())`,
    [scope.accountId, scope.region, id],
  );
  await db.query(
    `INSERT INTO scopes (account_id, region, key_count) VALUES ($1, $2, 1)
     ON CONFLICT (account_id, region) DO UPDATE SET key_count = scopes.key_count + 1`,
    [scope.accountId, scope.region],
  );
  return id;
}

/**
 * The RPC face, signed (V1, the default root key) with a timestamp on the service's
 * clock: the model moves that clock by days to pass pending windows, and a signature
 * more than 15 minutes off would be refused. (REST uses Basic, which has no timestamp.)
 */
const signedOnTheClock =
  (http: TestApp['http'], region: string, now: () => Date) => (params: Record<string, string | number | undefined>) => {
    const all: Record<string, string> = { Version: '2016-01-20', Format: 'JSON', RegionId: region };
    for (const [k, v] of Object.entries(params)) if (v !== undefined) all[k] = String(v);
    const signed = signV1({ ...DEV_CREDENTIALS, params: all, method: 'POST', placement: 'query', timestamp: now() });
    return http.post(signed.url);
  };

/** The version operations on the RPC face, signed on the service's clock like rpcFaceOnTheClock. */
function rpcVersionsOnTheClock(http: TestApp['http'], region: string, now: () => Date): VersionOps {
  const call = signedOnTheClock(http, region, now);
  return {
    ...versionFace('rpc', http, region),
    createKeyVersion: (keyId: string) => call({ Action: 'CreateKeyVersion', KeyId: keyId }),
    listKeyVersions: (keyId: string, p: Page = {}) => call({ Action: 'ListKeyVersions', KeyId: keyId, ...p }),
    describeKeyVersion: (keyId: string, versionId: string) =>
      call({ Action: 'DescribeKeyVersion', KeyId: keyId, KeyVersionId: versionId }),
    updateRotationPolicy: (keyId: string, enable: boolean | string | undefined, interval?: string) =>
      call({
        Action: 'UpdateRotationPolicy',
        KeyId: keyId,
        EnableAutomaticRotation: enable === undefined ? undefined : String(enable),
        RotationInterval: interval,
      }),
  };
}

function rpcFaceOnTheClock(http: TestApp['http'], region: string, now: () => Date): Face {
  const call = signedOnTheClock(http, region, now);
  const page = (p: Page) => ({ PageNumber: p.PageNumber, PageSize: p.PageSize });
  return {
    ...face('rpc', http, region),
    createKey: (p: Record<string, string> = {}) => call({ Action: 'CreateKey', ...p }),
    describeKey: (keyId: string) => call({ Action: 'DescribeKey', KeyId: keyId }),
    listKeys: (p: Page = {}) => call({ Action: 'ListKeys', ...page(p) }),
    createAlias: (name: string | undefined, keyId: string | undefined) =>
      call({ Action: 'CreateAlias', AliasName: name, KeyId: keyId }),
    updateAlias: (name: string, keyId: string | undefined) =>
      call({ Action: 'UpdateAlias', AliasName: name, KeyId: keyId }),
    deleteAlias: (name: string) => call({ Action: 'DeleteAlias', AliasName: name }),
    listAliases: (p: { PageNumber?: number; PageSize?: number | string } = {}) =>
      call({ Action: 'ListAliases', PageNumber: p.PageNumber, PageSize: p.PageSize }),
    listAliasesByKeyId: (keyId: string, p: Page = {}) =>
      call({ Action: 'ListAliasesByKeyId', KeyId: keyId, ...page(p) }),
    scheduleKeyDeletion: (keyId: string, days: number) =>
      call({ Action: 'ScheduleKeyDeletion', KeyId: keyId, PendingWindowInDays: days }),
    cancelKeyDeletion: (keyId: string) => call({ Action: 'CancelKeyDeletion', KeyId: keyId }),
    enableKey: (keyId: string) => call({ Action: 'EnableKey', KeyId: keyId }),
    disableKey: (keyId: string) => call({ Action: 'DisableKey', KeyId: keyId }),
  };
}

async function newWorld(): Promise<World> {
  // A fresh pair of regions per sequence, so sequences never see each other's rows.
  const regions = [uniqueRegion(), uniqueRegion()];
  const scopes: MScope[] = [];
  const faces: Record<FaceName, Face>[] = [];
  const versions: Record<FaceName, VersionOps>[] = [];
  const model = new Model(scopes);
  const now = () => new Date(Date.now() + model.day * DAY_MS);
  for (const [a, accountId] of accounts.entries()) {
    for (const region of regions) {
      scopes.push({ accountId, region, aliases: new Map() });
      faces.push({
        rpc: rpcFaceOnTheClock(apps[a]!.http, region, now),
        rest: face('rest', apps[a]!.http, region),
      });
      versions.push({
        rpc: rpcVersionsOnTheClock(apps[a]!.http, region, now),
        rest: versionFace('rest', apps[a]!.http, region),
      });
    }
  }
  for (const [s, scope] of scopes.entries()) {
    const id = await insertSignKey(scope);
    model.keys.push({
      id,
      scope: s,
      state: 'Enabled',
      usage: 'SIGN/VERIFY',
      deleteDay: null,
      external: false,
      purged: false,
      versions: 0,
      lastRotationDay: null,
      primary: null,
      rotationDays: null,
    });
  }
  return { model, faces, versions, apps };
}

// ---------------------------------------------------------------------------------------
// One step: compute the expectation, send the request, compare, update the model.

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
type Res = { status: number; body: Record<string, any>; headers: Record<string, string>; text: string };
const send = async (request: PromiseLike<unknown>) => (await request) as Res;

function fail(step: number, cmd: Cmd, why: string, res?: Res): never {
  const got = res ? ` got ${res.status} ${res.text.slice(0, 400)}` : '';
  throw new Error(`step ${step} ${JSON.stringify(cmd)}: ${why};${got}`);
}

function checkOutcome(step: number, cmd: Cmd, f: Face, expected: Expected, res: Res, okStatus: number) {
  const label = 'code' in expected ? `${expected.code}${expected.why ? `(${expected.why})` : ''}` : 'ok';
  stats.outcomes.set(`${cmd.op}:${label}`, (stats.outcomes.get(`${cmd.op}:${label}`) ?? 0) + 1);
  if ('code' in expected) {
    const status = f.name === 'rpc' ? catalog[expected.code].rpcStatus : catalog[expected.code].restStatus;
    if (res.status !== status || res.body.Code !== expected.code)
      fail(step, cmd, `expected ${status} ${expected.code}`, res);
    for (const field of ['RequestId', 'HostId', 'Message', 'Recommend']) {
      if (typeof res.body[field] !== 'string') fail(step, cmd, `error envelope lacks ${field}`, res);
    }
    if (!UUID_UPPER.test(res.body.RequestId)) fail(step, cmd, 'RequestId is not an uppercase UUID', res);
    return;
  }
  if (res.status !== okStatus) fail(step, cmd, `expected ${okStatus}`, res);
  if (res.body && typeof res.body === 'object' && 'Code' in res.body) fail(step, cmd, 'success body carries Code', res);
  const requestId = okStatus === 204 ? res.headers['x-acs-request-id'] : res.body.RequestId;
  if (!UUID_UPPER.test(String(requestId))) fail(step, cmd, 'success without a RequestId', res);
}

function expectEqual(step: number, cmd: Cmd, what: string, actual: unknown, expected: unknown, res: Res) {
  try {
    expect(actual).toEqual(expected);
  } catch {
    fail(step, cmd, `${what}: expected ${JSON.stringify(expected)}, actual ${JSON.stringify(actual)}`, res);
  }
}

const pageOf = <T>(items: T[], page: Page) => {
  const size = page.PageSize ?? 10;
  const number = page.PageNumber ?? 1;
  return items.slice((number - 1) * size, number * size);
};

function createAliasExpectation(m: Model, cmd: Extract<Cmd, { op: 'CreateAlias' }>) {
  const key = m.keyOnly(cmd.s, cmd.key);
  let expected: Expected;
  if (!NAME_SYNTAX.test(cmd.name) || cmd.name.startsWith('alias/acs')) expected = { code: 'InvalidParameter' };
  else if (key.code) expected = { code: key.code };
  else if (key.key!.state === 'PendingDeletion') expected = { code: 'Rejected.StateModifiedFailed' };
  else if (m.scopes[cmd.s]!.aliases.has(cmd.name)) expected = { code: 'AliasAlreadyExists' };
  else if (m.scopes[cmd.s]!.aliases.size >= ALIAS_QUOTA) expected = { code: 'Rejected.LimitExceeded' };
  else expected = { ok: true };
  return { key, expected };
}

function updateAliasExpectation(m: Model, cmd: Extract<Cmd, { op: 'UpdateAlias' }>) {
  const key = m.keyOnly(cmd.s, cmd.key);
  const current = m.aliasKey(cmd.s, cmd.name);
  let expected: Expected;
  if (!NAME_SYNTAX.test(cmd.name)) expected = { code: 'InvalidParameter' };
  else if (key.syntax) expected = { code: key.code! };
  // Resolution: the alias, then the target key (both 404s).
  else if (!current) expected = { code: 'Forbidden.AliasNotFound' };
  else if (key.code) expected = { code: key.code };
  else if (key.key!.state === 'PendingDeletion') expected = { code: 'Rejected.PendingDeletion' };
  else if (key.key!.usage !== current.usage) expected = { code: 'InvalidParameter', why: 'usage' };
  else expected = { ok: true };
  return { key, expected };
}

type KeyStateOp = 'EnableKey' | 'DisableKey' | 'ScheduleKeyDeletion' | 'CancelKeyDeletion';

/** The key states each operation refuses, and with which code. */
const KEY_STATE_RULES: Record<KeyStateOp, Partial<Record<KeyState, ErrorCode>>> = {
  EnableKey: { PendingDeletion: 'Rejected.StateModifiedFailed', PendingImport: 'Rejected.StateModifiedFailed' },
  DisableKey: { PendingDeletion: 'Rejected.StateModifiedFailed', PendingImport: 'Rejected.StateModifiedFailed' },
  ScheduleKeyDeletion: { PendingDeletion: 'Rejected.StateModifiedFailed' },
  CancelKeyDeletion: {
    Enabled: 'Rejected.StateModifiedFailed',
    Disabled: 'Rejected.StateModifiedFailed',
    PendingImport: 'Rejected.StateModifiedFailed',
  },
};

/** A CreateAlias or UpdateAlias that succeeded: the answer each face gives, and the model's new state. */
function aliasWritten(i: number, cmd: Extract<Cmd, { name: string }>, f: Face, scope: MScope, keyId: string, res: Res) {
  const alias = {
    KeyId: keyId,
    AliasName: cmd.name,
    AliasArn: `acs:kms:${scope.region}:${scope.accountId}:${cmd.name}`,
  };
  if (f.name === 'rest') expectEqual(i, cmd, 'Alias', res.body.Alias, alias, res);
  else expectEqual(i, cmd, 'body fields', Object.keys(res.body), ['RequestId'], res);
  scope.aliases.set(cmd.name, keyId);
}

/** What a step on one scope works with: its index (for messages), the model, the face it calls, the scope. */
interface On {
  i: number;
  m: Model;
  f: Face;
  /** The version operations on the same face and scope. */
  v: VersionOps;
  scope: MScope;
}

type CmdOf<O extends Cmd['op']> = Cmd & { op: O };

async function createKey({ i, m, f, v, scope }: On, cmd: CmdOf<'CreateKey'>) {
  const rotation = cmd.rotationDays === undefined ? {} : v.rotationParams(`${cmd.rotationDays}d`);
  const expected: Expected =
    cmd.external && cmd.rotationDays !== undefined
      ? { code: 'InvalidParameter', why: 'rotation' }
      : m.live(cmd.s).length >= KEY_QUOTA
        ? { code: 'Rejected.LimitExceeded' }
        : { ok: true };
  const res = await send(f.createKey({ ...(cmd.external ? { Origin: 'EXTERNAL' } : {}), ...rotation }));
  checkOutcome(i, cmd, f, expected, res, f.successStatus('create'));
  if ('ok' in expected) {
    const meta = res.body.KeyMetadata;
    const state: KeyState = cmd.external ? 'PendingImport' : 'Enabled';
    expectEqual(i, cmd, 'KeyState', meta.KeyState, state, res);
    expectEqual(i, cmd, 'Arn', meta.Arn, `acs:kms:${scope.region}:${scope.accountId}:key/${meta.KeyId}`, res);
    expectEqual(i, cmd, 'KeyUsage', meta.KeyUsage, 'ENCRYPT/DECRYPT', res);
    m.keys.push({
      id: meta.KeyId,
      scope: cmd.s,
      state,
      usage: 'ENCRYPT/DECRYPT',
      deleteDay: null,
      external: cmd.external,
      purged: false,
      versions: cmd.external ? 0 : 1,
      lastRotationDay: cmd.external ? null : m.day,
      primary: cmd.external ? null : meta.PrimaryKeyVersion,
      rotationDays: cmd.rotationDays ?? null,
    });
    const days = cmd.rotationDays;
    expectEqual(
      i,
      cmd,
      'rotation',
      [meta.AutomaticRotation, meta.RotationInterval],
      days ? ['Enabled', `${days * 86_400}s`] : ['Disabled', ''],
      res,
    );
  }
}

/** The refusal of a key's state for CreateKeyVersion and UpdateRotationPolicy (Enabled only, spec 15.2/15.3). */
const enabledOnly = (state: KeyState): ErrorCode | undefined =>
  state === 'Enabled' ? undefined : (`Rejected.${state}` as ErrorCode);

async function createKeyVersion({ i, m, f, v }: On, cmd: CmdOf<'CreateKeyVersion'>) {
  const { text, key, code } = m.anyKey(cmd.s, cmd.key);
  // Asymmetric keys get key pairs (the asymmetric specs' material): not in this model yet.
  if (key?.usage === 'SIGN/VERIFY') return;
  m.touch(key);
  let expected: Expected;
  if (code) expected = { code };
  else if (enabledOnly(key!.state)) expected = { code: enabledOnly(key!.state)! };
  else if (key!.external) expected = { code: 'Rejected.UnsupportedOperation' };
  else if (m.day < key!.lastRotationDay! + VERSION_MIN_DAYS)
    expected = { code: 'Rejected.LimitExceeded', why: 'interval' };
  else if (key!.versions >= VERSION_LIMIT) expected = { code: 'Rejected.LimitExceeded', why: 'count' };
  else expected = { ok: true };
  const res = await send(v.createKeyVersion(text));
  checkOutcome(i, cmd, f, expected, res, f.successStatus('create'));
  if ('ok' in expected) {
    const k = key!;
    expectEqual(i, cmd, 'KeyId', res.body.KeyVersion.KeyId, k.id, res);
    k.versions++;
    k.lastRotationDay = m.day;
    k.primary = res.body.KeyVersion.KeyVersionId;
    k.rotatedFrom = undefined;
  }
}

async function listKeyVersions({ i, m, f, v }: On, cmd: CmdOf<'ListKeyVersions'>) {
  const { text, key, code } = m.anyKey(cmd.s, cmd.key);
  m.touch(key);
  const expected: Expected = code ? { code } : { ok: true };
  const res = await send(v.listKeyVersions(text, { PageSize: 100 }));
  checkOutcome(i, cmd, f, expected, res, 200);
  if (key) {
    expectEqual(i, cmd, 'TotalCount', res.body.TotalCount, key.versions, res);
    const ids = v.versionsOf(res.body).map((x) => x.KeyVersionId);
    expectEqual(i, cmd, 'versions listed', ids.length, key.versions, res);
    if (key.primary !== null && key.usage === 'ENCRYPT/DECRYPT') {
      expectEqual(i, cmd, 'newest version is the primary', ids[ids.length - 1], key.primary, res);
    }
  }
}

async function updateRotationPolicy({ i, m, f, v }: On, cmd: CmdOf<'UpdateRotationPolicy'>) {
  const { text, key, code } = m.keyOnly(cmd.s, cmd.key);
  m.touch(key);
  let expected: Expected;
  if (code) expected = { code };
  else if (enabledOnly(key!.state)) expected = { code: enabledOnly(key!.state)! };
  else if (key!.external || key!.usage === 'SIGN/VERIFY') expected = { code: 'Rejected.UnsupportedOperation' };
  else expected = { ok: true };
  const res = await send(v.updateRotationPolicy(text, cmd.enable, `${cmd.days}d`));
  checkOutcome(i, cmd, f, expected, res, 200);
  if ('ok' in expected) {
    key!.rotationDays = cmd.enable ? cmd.days : null;
    m.touch(key); // a policy whose next date has passed rotates at once
  }
}

async function createAlias({ i, m, f, scope }: On, cmd: CmdOf<'CreateAlias'>) {
  const { key, expected } = createAliasExpectation(m, cmd);
  const res = await send(f.createAlias(cmd.name, key.text));
  checkOutcome(i, cmd, f, expected, res, f.successStatus('create'));
  if ('ok' in expected) aliasWritten(i, cmd, f, scope, key.key!.id, res);
}

async function updateAlias({ i, m, f, scope }: On, cmd: CmdOf<'UpdateAlias'>) {
  const { key, expected } = updateAliasExpectation(m, cmd);
  const res = await send(f.updateAlias(cmd.name, key.text));
  checkOutcome(i, cmd, f, expected, res, f.successStatus('other'));
  if ('ok' in expected) aliasWritten(i, cmd, f, scope, key.key!.id, res);
}

async function deleteAlias({ i, f, scope }: On, cmd: CmdOf<'DeleteAlias'>) {
  const expected: Expected = !NAME_SYNTAX.test(cmd.name)
    ? { code: 'InvalidParameter' }
    : scope.aliases.has(cmd.name)
      ? { ok: true }
      : { code: 'Forbidden.AliasNotFound' };
  const res = await send(f.deleteAlias(cmd.name));
  checkOutcome(i, cmd, f, expected, res, f.successStatus('delete'));
  if ('ok' in expected) {
    if (f.name === 'rest') expectEqual(i, cmd, 'body', res.text, '', res);
    scope.aliases.delete(cmd.name);
  }
}

/** A page of aliases, as the model has them: the page asked for, the total, the items in byte order. */
function expectAliasPage({ i, f }: On, cmd: CmdOf<'ListAliases' | 'ListAliasesByKeyId'>, all: AliasItem[], res: Res) {
  expectEqual(
    i,
    cmd,
    'page',
    { ...res.body, RequestId: undefined, Aliases: f.aliasesOf(res.body) },
    {
      RequestId: undefined,
      PageNumber: cmd.page.PageNumber ?? 1,
      PageSize: cmd.page.PageSize ?? 10,
      TotalCount: all.length,
      Aliases: pageOf(all, cmd.page),
    },
    res,
  );
}

async function listAliases(on: On, cmd: CmdOf<'ListAliases'>) {
  const { i, m, f } = on;
  const res = await send(f.listAliases(cmd.page));
  checkOutcome(i, cmd, f, { ok: true }, res, f.successStatus('other'));
  expectAliasPage(on, cmd, m.sortedAliases(cmd.s), res);
}

async function listAliasesByKeyId(on: On, cmd: CmdOf<'ListAliasesByKeyId'>) {
  const { i, m, f } = on;
  const key = m.keyOnly(cmd.s, cmd.key);
  const expected: Expected = key.code ? { code: key.code } : { ok: true };
  const res = await send(f.listAliasesByKeyId(key.text, cmd.page));
  checkOutcome(i, cmd, f, expected, res, f.successStatus('other'));
  if ('ok' in expected) expectAliasPage(on, cmd, m.sortedAliases(cmd.s, key.key!.id), res);
}

/** The text DescribeKey is given, the key it names for the model (if any), and the expected outcome. */
function describeKeyExpectation(m: Model, cmd: CmdOf<'DescribeKey'>) {
  const ref = cmd.ref;
  const scope = m.scopes[cmd.s]!;
  let text: string;
  let key: MKey | undefined;
  let expected: Expected;
  if (ref.form === 'key') {
    const p = m.keyParam(cmd.s, ref.key);
    // DescribeKey takes every identifier form: an alias name here is just a name.
    text = p.text;
    key = p.names === 'alias' ? m.aliasKey(cmd.s, p.aliasName!) : p.names;
    expected = key ? { ok: true } : { code: p.names === 'alias' ? 'Forbidden.AliasNotFound' : 'Forbidden.KeyNotFound' };
  } else {
    const elsewhere = m.scopes[cmd.s ^ 1]!; // same account, the other region
    const named = ref.form === 'otherArn' ? elsewhere : scope;
    text = ref.form === 'name' ? ref.name : `acs:kms:${named.region}:${named.accountId}:${ref.name}`;
    key = ref.form === 'otherArn' ? undefined : m.aliasKey(cmd.s, ref.name);
    expected = key
      ? { ok: true }
      : { code: ref.name.startsWith('alias/') ? 'Forbidden.AliasNotFound' : 'Forbidden.KeyNotFound' };
  }
  return { text, key, expected };
}

async function describeKey({ i, m, f }: On, cmd: CmdOf<'DescribeKey'>) {
  const { text, key, expected } = describeKeyExpectation(m, cmd);
  m.touch(key);
  const res = await send(f.describeKey(text));
  checkOutcome(i, cmd, f, expected, res, f.successStatus('other'));
  if (key) {
    const meta = res.body.KeyMetadata;
    expectEqual(i, cmd, 'KeyId/KeyState', [meta.KeyId, meta.KeyState], [key.id, key.state], res);
    expectEqual(i, cmd, 'DeleteDate set', meta.DeleteDate !== '', key.state === 'PendingDeletion', res);
    expectRotationFields(i, cmd, key, meta, res);
  }
}

/** KeyMetadata's version and rotation fields (spec 13.4, 15.3) against the model; learns a rotated primary's id. */
function expectRotationFields(i: number, cmd: Cmd, key: MKey, meta: Record<string, string>, res: Res) {
  const days = key.rotationDays;
  const shown =
    days === null
      ? 'Disabled'
      : key.state === 'Enabled'
        ? 'Enabled'
        : key.state === 'PendingImport'
          ? '?'
          : 'Suspended';
  expectEqual(
    i,
    cmd,
    'AutomaticRotation/RotationInterval',
    [meta.AutomaticRotation, meta.RotationInterval, meta.NextRotationDate === ''],
    [shown, days === null ? '' : `${days * 86_400}s`, days === null],
    res,
  );
  if (key.usage !== 'ENCRYPT/DECRYPT') return;
  if (key.primary !== null) {
    expectEqual(i, cmd, 'PrimaryKeyVersion', meta.PrimaryKeyVersion, key.primary, res);
  } else if (key.versions > 0) {
    // A rotation the model predicted: a new primary, whose id it learns now.
    if (meta.PrimaryKeyVersion === key.rotatedFrom || meta.PrimaryKeyVersion === '') {
      fail(i, cmd, 'expected a rotated PrimaryKeyVersion', res);
    }
    key.primary = meta.PrimaryKeyVersion ?? null;
    key.rotatedFrom = undefined;
  } else {
    expectEqual(i, cmd, 'PrimaryKeyVersion', meta.PrimaryKeyVersion, '', res);
  }
}

/**
 * EnableKey, DisableKey, CancelKeyDeletion and ScheduleKeyDeletion: the key (never an
 * alias), then the state rule (KEY_STATE_RULES); on success the key takes what `next`
 * gives, and the REST answer shows the new state.
 */
async function changeKeyState(
  { i, m, f }: On,
  cmd: CmdOf<KeyStateOp>,
  call: (f: Face, keyId: string) => PromiseLike<unknown>,
  next: (k: MKey) => Partial<MKey>,
) {
  const key = m.keyOnly(cmd.s, cmd.key);
  m.touch(key.key);
  const refused = key.key ? KEY_STATE_RULES[cmd.op][key.key.state] : undefined;
  const expected: Expected = key.code ? { code: key.code } : refused ? { code: refused } : { ok: true };
  const res = await send(call(f, key.text));
  checkOutcome(i, cmd, f, expected, res, f.successStatus('other'));
  if ('ok' in expected) {
    const k = key.key!;
    Object.assign(k, next(k));
    if (f.name === 'rest') expectEqual(i, cmd, 'KeyState', res.body.KeyMetadata?.KeyState, k.state, res);
    else expectEqual(i, cmd, 'body fields', Object.keys(res.body), ['RequestId'], res);
  }
}

/** One handler per operation: compute the expectation, send the request, compare, update the model. */
const handlers: { [O in Exclude<Cmd['op'], 'Advance'>]: (on: On, cmd: CmdOf<O>) => Promise<void> } = {
  CreateKey: createKey,
  CreateAlias: createAlias,
  UpdateAlias: updateAlias,
  DeleteAlias: deleteAlias,
  ListAliases: listAliases,
  ListAliasesByKeyId: listAliasesByKeyId,
  DescribeKey: describeKey,
  CreateKeyVersion: createKeyVersion,
  ListKeyVersions: listKeyVersions,
  UpdateRotationPolicy: updateRotationPolicy,
  EnableKey: (on, cmd) =>
    changeKeyState(
      on,
      cmd,
      (f, keyId) => f.enableKey(keyId),
      () => ({ state: 'Enabled' }),
    ),
  DisableKey: (on, cmd) =>
    changeKeyState(
      on,
      cmd,
      (f, keyId) => f.disableKey(keyId),
      () => ({ state: 'Disabled' }),
    ),
  CancelKeyDeletion: (on, cmd) =>
    changeKeyState(
      on,
      cmd,
      (f, keyId) => f.cancelKeyDeletion(keyId),
      (k) => ({ state: k.external ? 'PendingImport' : 'Enabled', deleteDay: null }),
    ),
  ScheduleKeyDeletion: (on, cmd) =>
    changeKeyState(
      on,
      cmd,
      (f, keyId) => f.scheduleKeyDeletion(keyId, cmd.days),
      () => ({ state: 'PendingDeletion', deleteDay: on.m.day + cmd.days }),
    ),
};

async function step(w: World, i: number, cmd: Cmd): Promise<void> {
  const m = w.model;
  if (cmd.op === 'Advance') {
    for (const a of w.apps) a.advance(cmd.days * DAY_MS);
    m.advance(cmd.days);
    return;
  }
  const on: On = { i, m, f: w.faces[cmd.s]![cmd.face], v: w.versions[cmd.s]![cmd.face], scope: m.scopes[cmd.s]! };
  await (handlers[cmd.op] as (on: On, cmd: Cmd) => Promise<void>)(on, cmd);
}

/** The final state, through both faces and in the database, must be the model's. */
async function checkFinal(w: World) {
  const m = w.model;
  for (const [s, scope] of m.scopes.entries()) {
    const where = `scope ${s} (${scope.accountId}, ${scope.region})`;
    const aliases = m.sortedAliases(s);
    const keys = m.live(s);
    for (const name of ['rpc', 'rest'] as const) {
      const f = w.faces[s]![name];
      const list = await f.listAliases({ PageSize: 100 });
      expect(list.status, where).toBe(200);
      expect(f.aliasesOf(list.body), `${where} ${name} aliases`).toEqual(aliases);
      expect(list.body.TotalCount, where).toBe(aliases.length);
      const keyList = await f.listKeys({ PageSize: 100 });
      expect(keyList.status, where).toBe(200);
      expect(new Set(f.keysOf(keyList.body).map((k) => k.KeyId)), `${where} ${name} keys`).toEqual(
        new Set(keys.map((k) => k.id)),
      );
      expect(keyList.body.TotalCount, where).toBe(keys.length);
    }
    for (const k of keys) {
      m.touch(k);
      const d = (await w.faces[s]!.rpc.describeKey(k.id)) as Res;
      expect([d.status, d.body.KeyMetadata?.KeyState], `${where} key ${k.id}`).toEqual([200, k.state]);
      expectRotationFields(
        -1,
        { op: 'DescribeKey', s, face: 'rpc', ref: { form: 'key', name: '', key: { pick: 'own', n: 0, form: 'id' } } },
        k,
        d.body.KeyMetadata,
        d,
      );
    }
    const versionRows = await db.query<{ key_id: string; n: number }>(
      'SELECT key_id, count(*)::int AS n FROM key_versions WHERE account_id = $1 AND region = $2 GROUP BY key_id',
      [scope.accountId, scope.region],
    );
    expect(Object.fromEntries(versionRows.rows.map((r) => [r.key_id, r.n])), `${where} versions`).toEqual(
      Object.fromEntries(keys.filter((k) => k.versions > 0).map((k) => [k.id, k.versions])),
    );
    // The database itself (the listings above purged whatever the clock has expired).
    const args = [scope.accountId, scope.region];
    const aliasRows = await db.query<{ alias_name: string; key_id: string }>(
      'SELECT alias_name, key_id FROM aliases WHERE account_id = $1 AND region = $2 ORDER BY alias_name',
      args,
    );
    expect(
      aliasRows.rows.map((r) => ({ KeyId: r.key_id, AliasName: r.alias_name })),
      where,
    ).toEqual(aliases.map((a) => ({ KeyId: a.KeyId, AliasName: a.AliasName })));
    const keyRows = await db.query<{ id: string; state: string }>(
      'SELECT id, state FROM keys WHERE account_id = $1 AND region = $2',
      args,
    );
    expect(
      [...keyRows.rows].sort((a, b) => (a.id < b.id ? -1 : 1)),
      where,
    ).toEqual(keys.map((k) => ({ id: k.id, state: k.state })).sort((a, b) => (a.id < b.id ? -1 : 1)));
    expect(await scopeCounters(db, scope.accountId, scope.region), `${where} counters`).toEqual({
      key_count: keys.length,
      alias_count: aliases.length,
    });
  }
}

async function runSequence(cmds: readonly Cmd[]) {
  const w = await newWorld();
  try {
    for (const [i, cmd] of cmds.entries()) {
      await step(w, i, cmd);
      stats.steps++;
    }
    await checkFinal(w);
  } finally {
    // Put the clocks back, so the next sequence starts on day 0.
    for (const a of w.apps) a.advance(-w.model.day * DAY_MS);
  }
  stats.sequences++;
}

// ---------------------------------------------------------------------------------------

describe('model-based: aliases and keys agree with the spec model', () => {
  // Fixed sequences through the paths that are easy to get wrong (fast-check found no
  // counterexample so far; a shrunk one found later belongs here, pasted as it printed).
  const own = (n: number, form: KeyRef['form'] = 'id'): KeyRef => ({ pick: 'own', n, form });
  const REGRESSIONS: Array<[string, Cmd[]]> = [
    [
      'a name freed by the purge of its key can be taken again, and the quota counts only live aliases',
      [
        { op: 'CreateKey', s: 0, face: 'rpc', external: false },
        { op: 'CreateKey', s: 0, face: 'rest', external: false },
        ...['alias/a', 'alias/b', 'alias/A', 'alias/team/app'].map(
          (name): Cmd => ({ op: 'CreateAlias', s: 0, face: 'rest', name, key: own(1) }),
        ),
        { op: 'CreateAlias', s: 0, face: 'rpc', name: 'alias/x_y-z', key: own(2) },
        { op: 'ScheduleKeyDeletion', s: 0, face: 'rpc', key: own(1), days: 7 },
        { op: 'UpdateAlias', s: 0, face: 'rest', name: 'alias/a', key: own(1) },
        { op: 'Advance', days: 7 },
        { op: 'DescribeKey', s: 0, face: 'rpc', ref: { form: 'name', name: 'alias/a', key: own(0) } },
        { op: 'CreateAlias', s: 0, face: 'rpc', name: 'alias/a', key: own(2) },
        { op: 'ListAliases', s: 0, face: 'rest', page: { PageNumber: 1, PageSize: 2 } },
      ],
    ],
    [
      'an alias re-pointed across usages, states and faces; cancel returns an EXTERNAL key to PendingImport',
      [
        { op: 'CreateKey', s: 1, face: 'rest', external: true },
        { op: 'CreateAlias', s: 1, face: 'rpc', name: 'alias/b', key: own(0) },
        { op: 'UpdateAlias', s: 1, face: 'rest', name: 'alias/b', key: own(1) },
        { op: 'ScheduleKeyDeletion', s: 1, face: 'rest', key: own(1), days: 30 },
        { op: 'CancelKeyDeletion', s: 1, face: 'rpc', key: own(1) },
        { op: 'EnableKey', s: 1, face: 'rpc', key: own(1) },
        { op: 'ListAliasesByKeyId', s: 1, face: 'rest', key: own(1, 'arn'), page: {} },
        { op: 'DescribeKey', s: 3, face: 'rpc', ref: { form: 'otherArn', name: 'alias/b', key: own(0) } },
      ],
    ],
    [
      'the everyday path on both faces: create, duplicate, re-point, resolve, delete, refuse a doomed key',
      [
        { op: 'CreateKey', s: 2, face: 'rpc', external: false },
        { op: 'CreateKey', s: 2, face: 'rest', external: false },
        { op: 'CreateAlias', s: 2, face: 'rpc', name: 'alias/team/app', key: own(1) },
        { op: 'CreateAlias', s: 2, face: 'rest', name: 'alias/team/app', key: own(2) },
        { op: 'UpdateAlias', s: 2, face: 'rpc', name: 'alias/team/app', key: own(2, 'callerArn') },
        { op: 'DescribeKey', s: 2, face: 'rest', ref: { form: 'arn', name: 'alias/team/app', key: own(0) } },
        { op: 'DeleteAlias', s: 2, face: 'rest', name: 'alias/team/app' },
        { op: 'ScheduleKeyDeletion', s: 2, face: 'rest', key: own(1), days: 366 },
        { op: 'CreateAlias', s: 2, face: 'rest', name: 'alias/team/app', key: own(1) },
      ],
    ],
    [
      'automatic rotation through an alias, suspended while disabled, then versions up to the interval and the limit',
      [
        { op: 'CreateKey', s: 0, face: 'rest', external: false, rotationDays: 7 },
        { op: 'CreateAlias', s: 0, face: 'rpc', name: 'alias/a', key: own(1) },
        { op: 'CreateKeyVersion', s: 0, face: 'rpc', key: own(1, 'alias') },
        { op: 'Advance', days: 8 },
        { op: 'ListKeyVersions', s: 0, face: 'rest', key: own(1, 'aliasArn') },
        { op: 'DisableKey', s: 0, face: 'rpc', key: own(1) },
        { op: 'Advance', days: 8 },
        { op: 'DescribeKey', s: 0, face: 'rest', ref: { form: 'name', name: 'alias/a', key: own(0) } },
        { op: 'EnableKey', s: 0, face: 'rest', key: own(1) },
        { op: 'DescribeKey', s: 0, face: 'rpc', ref: { form: 'name', name: 'alias/a', key: own(0) } },
        { op: 'CreateKeyVersion', s: 0, face: 'rest', key: own(1) },
        { op: 'UpdateRotationPolicy', s: 0, face: 'rpc', key: own(1), enable: false, days: 7 },
        { op: 'Advance', days: 7 },
        { op: 'CreateKeyVersion', s: 0, face: 'rest', key: own(1, 'arn') },
        { op: 'Advance', days: 31 },
        { op: 'UpdateRotationPolicy', s: 0, face: 'rest', key: own(1), enable: true, days: 30 },
        { op: 'Advance', days: 7 },
        { op: 'CreateKeyVersion', s: 0, face: 'rpc', key: own(1) },
      ],
    ],
    [
      // Reaches a successful CreateKeyVersion whatever the random sequences do (the coverage
      // check below counts every sequence of the file; a random run once had none).
      'a version made by hand once the minimum interval has passed, then refused inside it',
      [
        { op: 'CreateKey', s: 1, face: 'rpc', external: false },
        { op: 'Advance', days: 8 },
        { op: 'CreateKeyVersion', s: 1, face: 'rest', key: own(1) },
        { op: 'CreateKeyVersion', s: 1, face: 'rpc', key: own(1) },
        { op: 'ListKeyVersions', s: 1, face: 'rpc', key: own(1) },
      ],
    ],
    [
      // Found by a CI run: the due rotation a refused CancelKeyDeletion ran was rolled back with it.
      'a due rotation run by a refused lifecycle change stands (spec 20.7 step 6)',
      [
        { op: 'CreateKey', s: 0, face: 'rpc', external: false, rotationDays: 7 },
        { op: 'Advance', days: 7 },
        { op: 'CancelKeyDeletion', s: 0, face: 'rpc', key: { pick: 'own', n: 7, form: 'id' } },
        { op: 'Advance', days: 31 },
        { op: 'ListAliases', s: 0, face: 'rpc', page: { PageNumber: 1, PageSize: 0 } },
      ] as Cmd[],
    ],
  ];
  it.each(REGRESSIONS)('fixed sequence: %s', async (_name, cmds) => {
    await runSequence(cmds);
  });

  it('random sequences over both faces, two accounts, two regions', async () => {
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.array(cmdArb, { minLength: MIN_STEPS, maxLength: MAX_STEPS, size: 'max' }), async (cmds) => {
        await runSequence(cmds);
      }),
      {
        numRuns: NUM_RUNS,
        // Shrinking replays sequences over HTTP: bound the whole run (a passing one takes
        // ~30 s), and never pass silently with fewer sequences than asked.
        plugins: [fc.interruptAfterTimeLimit(SHRINK_BUDGET_MS, { failOnInterrupt: true })],
      },
    );
    const outcomes = [...stats.outcomes.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    console.log(
      `model: ${stats.sequences} sequences, ${stats.steps} steps in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `outcomes: ${outcomes.map(([k, v]) => `${k}=${v}`).join(' ')}`,
    );
    // The file's sequences (fixed and random) must have reached the interesting rules, or
    // they prove little.
    for (const outcome of [
      'CreateAlias:ok',
      'CreateAlias:AliasAlreadyExists',
      'CreateAlias:Rejected.LimitExceeded',
      'CreateAlias:Rejected.StateModifiedFailed',
      'UpdateAlias:ok',
      'UpdateAlias:Rejected.PendingDeletion',
      'UpdateAlias:InvalidParameter(usage)',
      'DeleteAlias:ok',
      'DescribeKey:ok',
      'CreateKeyVersion:ok',
      'CreateKeyVersion:Rejected.LimitExceeded(interval)',
      'UpdateRotationPolicy:ok',
      'ListKeyVersions:ok',
    ]) {
      expect(stats.outcomes.get(outcome) ?? 0, outcome).toBeGreaterThan(0);
    }
  }, 240_000);
});
