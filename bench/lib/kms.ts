// The service under test: how to start it on PostgreSQL or PGlite, the data every scenario
// needs, and the scenarios themselves for both faces.

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { signV1 } from '../../src/http/auth/signature.js';
import { freePort, type Started, start, waitForHttp } from './processes.js';
import type { RequestTemplate, Scenario, VarSpec } from './scenario.js';

/** The default account's root key (config defaults, documented in the README). */
export const DEV = { accessKeyId: 'LTAI5tKmsEmulatorDevKey', secret: 'KmsEmulatorDevSecretDoNotUseInProd' };
export const ACCOUNT_ID = '1234567890123456';
const BASIC = `Basic ${Buffer.from(`${DEV.accessKeyId}:${DEV.secret}`).toString('base64')}`;

/** Where the reads happen (300 aliases, nothing else changes) and where the writes happen. */
export const READ_REGION = 'cn-hangzhou';
export const WRITE_REGION = 'cn-shanghai';
export const LIST_ALIASES = 300;
export const UPDATE_ALIASES = 200;
export const PLAINTEXT = Buffer.from('benchmark plaintext of 32 bytes!').toString('base64');

export const OPERATIONS = [
  'CreateAlias',
  'UpdateAlias',
  'ListAliases',
  'ListAliasesByKeyId',
  'DescribeKey (alias)',
  'Encrypt (alias)',
  'Encrypt (key id)',
  'Encrypt (alias, 50 versions)',
  'DeleteAlias',
] as const;
/** Issue 12: AsymmetricSign by alias against by key id, for RSA_2048 and EC_P256. */
export const SIGN_OPERATIONS = [
  'AsymmetricSign RSA_2048 (alias)',
  'AsymmetricSign RSA_2048 (key id)',
  'AsymmetricSign EC_P256 (alias)',
  'AsymmetricSign EC_P256 (key id)',
] as const;
/** Every measured operation: the alias operations of issue 7 and the signatures of issue 12. */
export const BENCH_OPERATIONS = [...OPERATIONS, ...SIGN_OPERATIONS] as const;
export type Operation = (typeof BENCH_OPERATIONS)[number];
/** Operations only the service has (moto has no key versions to compare with). */
export const SERVICE_ONLY: readonly Operation[] = ['Encrypt (alias, 50 versions)'];
export type MotoOperation = Exclude<Operation, 'Encrypt (alias, 50 versions)'>;
export const MOTO_OPERATIONS = BENCH_OPERATIONS.filter((op): op is MotoOperation => !SERVICE_ONLY.includes(op));
/** The versions of the key behind VERSIONED_ALIAS (spec 15.2's default limit). */
export const VERSIONS = 50;
export const VERSIONED_ALIAS = 'alias/bench-versions';
export type SignSpec = 'RSA_2048' | 'EC_P256';
/** The digest every signature is made over (32 bytes, as AsymmetricSign takes). */
export const SIGN_DIGEST = randomBytes(32).toString('base64');
export type Face = 'rpc' | 'rest';

export interface ServiceEntry {
  /** node arguments before the script, e.g. ['--import', 'tsx']. */
  nodeArgs: string[];
  script: string;
  description: string;
}

export interface KmsService {
  db: 'pg' | 'pglite';
  host: string;
  port: number;
  proc: Started;
  databaseUrl?: string;
}

export interface SignKey {
  keyId: string;
  alias: string;
  versionId: string;
}

export interface KmsData {
  /** The signing keys, seeded with fixed pairs and version ids (signSeed). */
  signKeys: Record<SignSpec, SignKey>;
  readKey: string;
  readAlias: string;
  writeKey: string;
  otherWriteKey: string;
  updateNames: string[];
}

export async function startKms(opts: {
  db: 'pg' | 'pglite';
  databaseUrl?: string;
  entry: ServiceEntry;
  cwd: string;
  logFile: string;
  workDir: string;
  extraNodeArgs?: string[];
  extraEnv?: Record<string, string>;
}): Promise<KmsService> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TMPDIR: process.env.TMPDIR,
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: String(port),
    KMS_AUTH: 'on',
    LOG_LEVEL: 'info',
    KMS_ALIAS_QUOTA: '0',
    KMS_KEY_QUOTA: '0',
    // the set-up gives one key 50 versions at once
    KMS_KEY_VERSION_MIN_INTERVAL_S: '0',
    // the bench makes up regions to keep its runs apart
    KMS_REGIONS: '*',
    ...opts.extraEnv,
  };
  if (opts.db === 'pg') {
    env.DATABASE_URL = opts.databaseUrl;
    env.KMS_MASTER_KEY = randomBytes(32).toString('base64');
  } else {
    env.KMS_DATA_DIR = mkdtempSync(path.join(opts.workDir, 'pglite-'));
  }
  const name = `service (${opts.db === 'pg' ? 'PostgreSQL' : 'PGlite'})`;
  const proc = start({
    name,
    command: process.execPath,
    args: [...(opts.extraNodeArgs ?? []), ...opts.entry.nodeArgs, opts.entry.script],
    env,
    cwd: opts.cwd,
    stdoutFile: opts.logFile,
    stderrFile: path.join(opts.workDir, `${opts.db}-${port}.stderr`),
  });
  await waitForHttp(proc, `http://127.0.0.1:${port}/health/ready`, 60_000, {}, (s) => s === 200);
  return { db: opts.db, host: '127.0.0.1', port, proc, databaseUrl: opts.databaseUrl };
}

/**
 * A seed file (KMS_SEED_FILE) with one RSA_2048 and one EC_P256 signing key in the read
 * region, each with a fixed key pair and version id, so the benchmark knows the
 * KeyVersionId AsymmetricSign needs.
 */
export function signSeed(workDir: string): { file: string; keys: Record<SignSpec, SignKey> } {
  const pem = (spec: SignSpec) =>
    (spec === 'RSA_2048'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    ).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const keys = {} as Record<SignSpec, SignKey>;
  const entries = (['RSA_2048', 'EC_P256'] as const).map((spec) => {
    keys[spec] = { keyId: randomUUID(), versionId: randomUUID(), alias: `alias/bench-sign-${spec.toLowerCase()}` };
    return {
      KeyId: keys[spec].keyId,
      KeySpec: spec,
      PrivateKey: pem(spec),
      KeyVersionId: keys[spec].versionId,
      Aliases: [keys[spec].alias],
    };
  });
  const file = path.join(workDir, `sign-seed-${randomUUID()}.json`);
  writeFileSync(file, JSON.stringify({ scopes: [{ accountId: ACCOUNT_ID, region: READ_REGION, keys: entries }] }));
  return { file, keys };
}

/** A REST call with HTTP Basic, for setting up data; throws on anything but 2xx. */
export async function rest(svc: KmsService, method: string, pathAndQuery: string, body?: unknown) {
  const res = await fetch(`http://${svc.host}:${svc.port}${pathAndQuery}`, {
    method,
    headers: { authorization: BASIC, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${pathAndQuery}: ${res.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** A signed RPC call; returns status and body without throwing. */
export async function rpc(svc: KmsService, params: Record<string, string>) {
  const signed = signV1({
    ...DEV,
    params: { Version: '2016-01-20', Format: 'JSON', ...params },
    host: `${svc.host}:${svc.port}`,
  });
  const res = await fetch(`http://${svc.host}:${svc.port}${signed.url}`, { signal: AbortSignal.timeout(30_000) });
  return { status: res.status, body: await res.text() };
}

export async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export async function createKey(svc: KmsService, region: string): Promise<string> {
  const body = await rest(svc, 'POST', `/v1/keys?RegionId=${region}`, { Description: 'benchmark' });
  return (body.KeyMetadata as { KeyId: string }).KeyId;
}

export async function createAliases(svc: KmsService, region: string, names: string[], keyId: string) {
  await inParallel(names, 16, (AliasName) =>
    rest(svc, 'POST', `/v1/aliases?RegionId=${region}`, { AliasName, KeyId: keyId }),
  );
}

/** Keys and aliases the scenarios use, created through the REST face. */
export async function setUpKmsData(svc: KmsService, signKeys: Record<SignSpec, SignKey>): Promise<KmsData> {
  const readKey = await createKey(svc, READ_REGION);
  const writeKey = await createKey(svc, WRITE_REGION);
  const otherWriteKey = await createKey(svc, WRITE_REGION);
  const listNames = Array.from({ length: LIST_ALIASES }, (_, i) => `alias/bench-list-${pad(i, 3)}`);
  const updateNames = Array.from({ length: UPDATE_ALIASES }, (_, i) => `alias/bench-upd-${pad(i, 4)}`);
  await createAliases(svc, READ_REGION, listNames, readKey);
  await createAliases(svc, WRITE_REGION, updateNames, writeKey);
  // A key with 50 versions behind an alias: Encrypt by it against the one-version key.
  const versionedKey = await createKey(svc, READ_REGION);
  for (let v = 1; v < VERSIONS; v++) {
    await rest(svc, 'POST', `/v1/keys/${versionedKey}/versions?RegionId=${READ_REGION}`);
  }
  await createAliases(svc, READ_REGION, [VERSIONED_ALIAS], versionedKey);
  return { signKeys, readKey, readAlias: listNames[0]!, writeKey, otherWriteKey, updateNames };
}

/** Whether Encrypt answers 200 on this face; otherwise what it answered. */
export async function encryptAvailable(svc: KmsService, data: KmsData, face: Face): Promise<string | null> {
  try {
    if (face === 'rest') {
      await rest(svc, 'POST', `/v1/keys/${encodeURIComponent(data.readAlias)}/encrypt?RegionId=${READ_REGION}`, {
        Plaintext: PLAINTEXT,
      });
      return null;
    }
    const res = await rpc(svc, {
      Action: 'Encrypt',
      RegionId: READ_REGION,
      KeyId: data.readAlias,
      Plaintext: PLAINTEXT,
    });
    return res.status === 200 ? null : `${res.status} ${res.body.slice(0, 200)}`;
  } catch (err) {
    return (err as Error).message.slice(0, 300);
  }
}

type Shape = Pick<Scenario, 'request' | 'vars' | 'collect'>;

function rpcShape(region: string, params: Record<string, string>, vars?: Record<string, VarSpec>): Shape {
  const request: RequestTemplate = {
    kind: 'rpc-v1',
    ...DEV,
    params: { Version: '2016-01-20', Format: 'JSON', RegionId: region, ...params },
  };
  return { request, vars };
}

function restShape(
  method: string,
  pathTemplate: string,
  region: string,
  body?: string,
  vars?: Record<string, VarSpec>,
): Shape {
  const headers: Record<string, string> = { authorization: BASIC };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const sep = pathTemplate.includes('?') ? '&' : '?';
  return { request: { kind: 'http', method, path: `${pathTemplate}${sep}RegionId=${region}`, headers, body }, vars };
}

/**
 * The request shape of one operation on one face. `tag` keeps the names of each
 * measurement apart; `deleteNames` are the aliases DeleteAlias removes, in order.
 */
export function kmsShape(op: Operation, face: Face, data: KmsData, tag: string, deleteNames: string[] = []): Shape {
  const R = READ_REGION;
  const W = WRITE_REGION;
  const enc = encodeURIComponent;
  const created: Record<string, VarSpec> = { name: { type: 'sequence', prefix: `alias/bench-c-${tag}-` } };
  const updates: Record<string, VarSpec> = {
    name: { type: 'cycle', values: data.updateNames },
    key: { type: 'alternate', values: [data.otherWriteKey, data.writeKey], every: data.updateNames.length },
  };
  const deletes: Record<string, VarSpec> = { name: { type: 'list', values: deleteNames } };
  const rpcFace = face === 'rpc';
  switch (op) {
    case 'CreateAlias':
      return {
        ...(rpcFace
          ? rpcShape(W, { Action: 'CreateAlias', AliasName: '{{name}}', KeyId: data.writeKey }, created)
          : restShape('POST', '/v1/aliases', W, `{"AliasName":"{{name}}","KeyId":"${data.writeKey}"}`, created)),
        collect: 'name',
      };
    case 'UpdateAlias':
      return rpcFace
        ? rpcShape(W, { Action: 'UpdateAlias', AliasName: '{{name}}', KeyId: '{{key}}' }, updates)
        : restShape('PUT', '/v1/aliases/{{name:url}}', W, '{"KeyId":"{{key}}"}', updates);
    case 'ListAliases':
      return rpcFace
        ? rpcShape(R, { Action: 'ListAliases', PageNumber: '1', PageSize: '10' })
        : restShape('GET', '/v1/aliases?PageNumber=1&PageSize=10', R);
    case 'ListAliasesByKeyId':
      return rpcFace
        ? rpcShape(R, { Action: 'ListAliasesByKeyId', KeyId: data.readKey, PageNumber: '1', PageSize: '10' })
        : restShape('GET', `/v1/keys/${data.readKey}/aliases?PageNumber=1&PageSize=10`, R);
    case 'DescribeKey (alias)':
      return rpcFace
        ? rpcShape(R, { Action: 'DescribeKey', KeyId: data.readAlias })
        : restShape('GET', `/v1/keys/${enc(data.readAlias)}`, R);
    case 'Encrypt (alias)':
      return rpcFace
        ? rpcShape(R, { Action: 'Encrypt', KeyId: data.readAlias, Plaintext: PLAINTEXT })
        : restShape('POST', `/v1/keys/${enc(data.readAlias)}/encrypt`, R, `{"Plaintext":"${PLAINTEXT}"}`);
    case 'Encrypt (key id)':
      return rpcFace
        ? rpcShape(R, { Action: 'Encrypt', KeyId: data.readKey, Plaintext: PLAINTEXT })
        : restShape('POST', `/v1/keys/${data.readKey}/encrypt`, R, `{"Plaintext":"${PLAINTEXT}"}`);
    case 'Encrypt (alias, 50 versions)':
      return rpcFace
        ? rpcShape(R, { Action: 'Encrypt', KeyId: VERSIONED_ALIAS, Plaintext: PLAINTEXT })
        : restShape('POST', `/v1/keys/${enc(VERSIONED_ALIAS)}/encrypt`, R, `{"Plaintext":"${PLAINTEXT}"}`);
    case 'DeleteAlias':
      return rpcFace
        ? rpcShape(W, { Action: 'DeleteAlias', AliasName: '{{name}}' }, deletes)
        : restShape('DELETE', '/v1/aliases/{{name:url}}', W, undefined, deletes);
    default:
      return signShape(op, rpcFace, data);
  }
}

function signShape(op: (typeof SIGN_OPERATIONS)[number], rpcFace: boolean, data: KmsData): Shape {
  const spec: SignSpec = op.includes('RSA_2048') ? 'RSA_2048' : 'EC_P256';
  const key = data.signKeys[spec];
  const id = op.endsWith('(alias)') ? key.alias : key.keyId;
  const Algorithm = spec === 'RSA_2048' ? 'RSA_PKCS1_SHA_256' : 'ECDSA_SHA_256';
  const fields = { KeyVersionId: key.versionId, Algorithm, Digest: SIGN_DIGEST };
  return rpcFace
    ? rpcShape(READ_REGION, { Action: 'AsymmetricSign', KeyId: id, ...fields })
    : restShape('POST', `/v1/keys/${encodeURIComponent(id)}/sign`, READ_REGION, JSON.stringify(fields));
}

/** ListAliases (first page) and DescribeKey by a random alias of `count`, for the scale probe. */
export function scaleShape(op: 'ListAliases' | 'DescribeKey (alias)', region: string, count: number): Shape {
  if (op === 'ListAliases') return rpcShape(region, { Action: 'ListAliases', PageNumber: '1', PageSize: '10' });
  return rpcShape(
    region,
    { Action: 'DescribeKey', KeyId: '{{name}}' },
    { name: { type: 'random', prefix: 'alias/scale-', count, pad: 6 } },
  );
}
