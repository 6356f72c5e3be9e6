// `npm run bench`: the performance benchmark of issue 7. Not part of `npm test`.
//
// Starts the service (node dist/server.js, built first if stale) on a fresh PostgreSQL
// database and on a temporary PGlite directory, minimal Fastify + pg and Fastify + PGlite
// handlers (the framework + driver ceilings) and moto_server (the AWS reference); sets up keys and
// aliases; warms up; then drives every operation with autocannon from a second process
// (bench/load.ts), through the RPC face (signature V1, signed afresh per request) and the
// REST face (HTTP Basic), with fixed connections and duration, BENCH_RUNS times,
// interleaved so that drift on a shared machine hits every system alike. Then the scale
// probe: ListAliases and DescribeKey by alias at 100, 10,000 and 100,000 aliases in one
// region, and the service's RSS after 100,000 requests. Prints a table and the targets
// with PASS/MISS, and writes bench/results/<date>.json and .md.
//
//   npm run bench                        full run (about 15 minutes)
//   npm run bench -- --quick             one short run of everything (about 3 minutes)
//   npm run bench -- --only 'pg/rpc/(Describe|Encrypt)' --cpu-prof
//                                        a subset, with CPU profiles of the service
//   npm run bench -- --startup [--readme] start time and RSS beside moto_server (bench/startup.ts)
//
// Flags: --quick; --only <regex over "system/face/operation", e.g. pg/rest/CreateAlias; the
// scale probe runs if it also matches "scale">; --cpu-prof; --tsx (run the service from
// sources); --no-pglite, --no-moto, --no-ref, --no-scale; --pglite-memory (the service and
// the reference on PGlite in memory:// instead of a data directory); --readme (write the
// summary into README.md between the bench markers); --help.
// Environment: BENCH_DURATION (s per measurement), BENCH_RUNS, BENCH_CONNECTIONS,
// BENCH_WARMUP (s), BENCH_SCALE_DURATION (s), BENCH_SCALE_CONNECTIONS, BENCH_RSS_REQUESTS,
// BENCH_PG_ADMIN_URL, BENCH_MOTO (command), BENCH_SERVICE_LOG (file for the service's
// stdout instead of /dev/null), BENCH_TIME_LIMIT (s, default 2400).
//
// Conditions (engineering notes, "Benchmarks"): quotas off, auth on, LOG_LEVEL=info; the
// reference handlers have no auth and no logging, which is the point of the ratios.

import { type ChildProcess, fork, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { sql as sqlTag, statement } from '../src/db/sql.js';
import { addToCounts } from '../src/domain/scope-counters.js';
import {
  ACCOUNT_ID,
  BENCH_OPERATIONS,
  createKey,
  encryptAvailable,
  type Face,
  type KmsData,
  type KmsService,
  kmsShape,
  LIST_ALIASES,
  MOTO_OPERATIONS,
  PLAINTEXT,
  type ServiceEntry,
  scaleShape,
  setUpKmsData,
  signSeed,
  startKms,
  UPDATE_ALIASES,
  WRITE_REGION,
} from './lib/kms.js';
import { findMoto, type Moto, type MotoData, motoShape, setUpMotoData, startMoto } from './lib/moto.js';
import { adopt, freePort, memoryOf, type Started, start, stop, stopAllNow, waitForHttp } from './lib/processes.js';
import {
  type Check,
  checkTable,
  evaluateTargets,
  markdown,
  type Row,
  replaceReadmeSection,
  resultTable,
  type ScalePoint,
  type System,
  scaleTable,
  summarize,
} from './lib/report.js';
import type { LoadResult, Scenario } from './lib/scenario.js';
import { runStartupBench } from './startup.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    tsx: { type: 'boolean', default: false },
    'no-pglite': { type: 'boolean', default: false },
    'pglite-memory': { type: 'boolean', default: false },
    'no-moto': { type: 'boolean', default: false },
    'no-ref': { type: 'boolean', default: false },
    'no-scale': { type: 'boolean', default: false },
    readme: { type: 'boolean', default: false },
    startup: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (flags.help) {
  const header = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n\nimport')[0]!;
  process.stdout.write(`${header.replace(/^\/\/ ?/gm, '')}\n`);
  process.exit(0);
}

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
}

const quick = flags.quick;
const DURATION = envNumber('BENCH_DURATION', quick ? 2 : 5);
const RUNS = Math.round(envNumber('BENCH_RUNS', quick ? 1 : 3));
const CONNECTIONS = Math.round(envNumber('BENCH_CONNECTIONS', 50));
const WARMUP = envNumber('BENCH_WARMUP', 1); // autocannon stops on whole seconds
const SCALE_DURATION = envNumber('BENCH_SCALE_DURATION', quick ? 2 : 5);
const SCALE_CONNECTIONS = Math.round(envNumber('BENCH_SCALE_CONNECTIONS', 10));
const RSS_REQUESTS = Math.round(envNumber('BENCH_RSS_REQUESTS', quick ? 20_000 : 100_000));
const TIME_LIMIT_SEC = envNumber('BENCH_TIME_LIMIT', 2400);
const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const MOTO_COMMAND = process.env.BENCH_MOTO || 'moto_server';
const SERVICE_LOG = process.env.BENCH_SERVICE_LOG || '/dev/null';
const SCALE_REGION = 'cn-beijing';
const SCALE_SIZES = [100, 10_000, 100_000];
const only = flags.only ? new RegExp(flags.only) : undefined;
const PGLITE_MEMORY = flags['pglite-memory'];

const log = (msg: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// ---------------------------------------------------------------------------------------
// The load generator process

/** JSON (the IPC channel) turns NaN into null; turn it back. */
function revive(r: LoadResult): LoadResult {
  for (const k of ['p50', 'p90', 'p99', 'max', 'requestsPerSec'] as const) r[k] ??= Number.NaN;
  return r;
}

class LoadGenerator {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (msg: { type: string; id: number; result?: LoadResult; message?: string }) => {
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      if (msg.type === 'result') w.resolve(revive(msg.result!));
      else w.reject(new Error(`load generator: ${msg.message}`));
    });
    child.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`load generator exited (${code})`));
      this.waiting.clear();
    });
  }

  static async start(): Promise<LoadGenerator> {
    const child = fork(path.join(ROOT, 'bench/load.ts'), [], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    adopt(child);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('load generator did not start')), 60_000);
      child.once('message', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
    });
    return new LoadGenerator(child);
  }

  run(scenario: Scenario): Promise<LoadResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ type: 'run', id, scenario });
    });
  }

  close() {
    if (this.child.connected) this.child.send({ type: 'exit' });
  }
}

// ---------------------------------------------------------------------------------------
// The service's entry point: the production build when it can be made, else the sources

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

function resolveEntry(): ServiceEntry {
  const tsx: ServiceEntry = {
    nodeArgs: ['--import', 'tsx'],
    script: 'src/server.ts',
    description: 'node --import tsx src/server.ts',
  };
  if (flags.tsx) return tsx;
  const dist = path.join(ROOT, 'dist/server.js');
  if (!existsSync(dist) || statSync(dist).mtimeMs < newestMtime(path.join(ROOT, 'src'))) {
    log('dist/ is older than src/: npm run build');
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit', timeout: 300_000 });
    if (built.status !== 0) {
      log('WARNING: npm run build failed; running the service from sources with tsx');
      return { ...tsx, description: `${tsx.description} (npm run build failed)` };
    }
  }
  return { nodeArgs: [], script: 'dist/server.js', description: 'node dist/server.js (npm run build)' };
}

// ---------------------------------------------------------------------------------------
// Databases

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

const createdDatabases: string[] = [];

async function createDatabase(name: string): Promise<string> {
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  createdDatabases.push(name);
  return databaseUrl(name);
}

async function dropDatabases() {
  if (createdDatabases.length === 0) return;
  await withAdmin(async (c) => {
    for (const name of createdDatabases.splice(0)) await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  });
}

/**
 * Inserts aliases `from` to `to` straight into the service's database (far faster than the
 * API for 100,000), counted by the service's own counter change (addToCounts, src/domain/scope-counters.ts).
 */
async function insertAliases(sql: pg.Client, region: string, keyId: string, prefix: string, from: number, to: number) {
  const scope = { accountId: ACCOUNT_ID, region };
  const inserted = statement(
    'bench.insert-aliases',
    sqlTag`WITH ins AS (
             INSERT INTO aliases (account_id, region, alias_name, key_id, created_at, updated_at)
             SELECT ${ACCOUNT_ID}, ${region}, ${prefix} || lpad(n::text, 6, '0'), ${keyId}, now(), now()
               FROM generate_series(${from}::int, ${to}::int - 1) n
             ON CONFLICT DO NOTHING RETURNING 1),
           counted AS (${addToCounts(scope, { keys: sqlTag`0`, aliases: sqlTag`(SELECT count(*) FROM ins)::int` })})
           SELECT count(*) FROM counted`,
  );
  await sql.query(inserted.text, inserted.values as unknown[]);
}

// ---------------------------------------------------------------------------------------
// What is measured

interface Unit {
  id: string;
  system: System;
  face: string;
  op: string;
  host: string;
  port: number;
  unavailable?: string;
  reconnectEachRequest?: boolean;
  /** The request shape; `tag` keeps names apart, `deleteNames` feeds DeleteAlias. */
  shape: (tag: string, deleteNames: string[]) => Pick<Scenario, 'request' | 'vars' | 'collect'>;
  /** More aliases to delete, beyond those the matching CreateAlias made (PostgreSQL: straight SQL). */
  topUp?: (tag: string, count: number) => Promise<string[]>;
}

function kmsUnits(
  system: 'pg' | 'pglite',
  svc: KmsService,
  data: KmsData,
  unavailable: Map<string, string>,
  sql?: pg.Client,
) {
  const units: Unit[] = [];
  for (const face of ['rpc', 'rest'] as Face[]) {
    for (const op of BENCH_OPERATIONS) {
      units.push({
        id: `${system}/${face}/${op}`,
        system,
        face,
        op,
        host: svc.host,
        port: svc.port,
        unavailable: op.startsWith('Encrypt') ? unavailable.get(face) : undefined,
        shape: (tag, names) => kmsShape(op, face, data, `${system}${face}${tag}`, names),
        topUp: sql
          ? async (tag, count) => {
              const prefix = `alias/bench-d-${face}${tag}-`;
              await insertAliases(sql, WRITE_REGION, data.writeKey, prefix, 0, count);
              return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(6, '0')}`);
            }
          : undefined,
      });
    }
  }
  return units;
}

function motoUnits(moto: Moto, data: MotoData): Unit[] {
  return MOTO_OPERATIONS.map((op) => ({
    id: `moto/aws/${op}`,
    system: 'moto' as const,
    face: 'aws',
    op,
    host: moto.host,
    port: moto.port,
    // Werkzeug answers "Connection: close"; a fresh connection per request keeps autocannon's timing right.
    reconnectEachRequest: true,
    shape: (tag: string, names: string[]) => motoShape(op, data, `moto${tag}`, PLAINTEXT, names),
  }));
}

function refUnits(system: 'ref' | 'refpglite', port: number): Unit[] {
  return [
    {
      id: `${system}/http/INSERT`,
      system,
      face: 'http',
      op: 'INSERT',
      host: '127.0.0.1',
      port,
      shape: (tag) => ({
        request: {
          kind: 'http',
          method: 'POST',
          path: '/insert',
          headers: { 'content-type': 'application/json' },
          body: '{"name":"{{name}}","keyId":"key-1"}',
        },
        vars: { name: { type: 'sequence', prefix: `item-${tag}-` } },
      }),
    },
    {
      id: `${system}/http/SELECT`,
      system,
      face: 'http',
      op: 'SELECT',
      host: '127.0.0.1',
      port,
      shape: () => ({ request: { kind: 'http', method: 'GET', path: '/select/item-000', headers: {} } }),
    },
  ];
}

function startRef(name: string, port: number, env: Record<string, string>, profileArgs: string[]): Started {
  return start({
    name,
    command: process.execPath,
    args: [...profileArgs, '--import', 'tsx', 'bench/reference-server.ts'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', PORT: String(port), ...env },
    cwd: ROOT,
    stdoutFile: path.join(workDir, `ref-${port}.log`),
    stderrFile: path.join(workDir, `ref-${port}.log`),
  });
}

// ---------------------------------------------------------------------------------------
// Main

interface Services {
  ref?: Started;
  refPglite?: Started;
  pg?: KmsService;
  pglite?: KmsService;
  moto?: Moto;
  scale?: KmsService;
}

const services: Services = {};
const sqlClients: pg.Client[] = [];
let load: LoadGenerator | undefined;
let workDir = '';
let cleaningUp: Promise<void> | undefined;

function cleanUp(): Promise<void> {
  cleaningUp ??= (async () => {
    load?.close();
    for (const c of sqlClients.splice(0)) await c.end().catch(() => {});
    const procs = [
      services.pg?.proc,
      services.pglite?.proc,
      services.scale?.proc,
      services.ref,
      services.refPglite,
      services.moto?.proc,
    ];
    await Promise.all(procs.filter((p): p is Started => p !== undefined).map((p) => stop(p)));
    await dropDatabases().catch((err: unknown) => log(`could not drop the databases: ${(err as Error).message}`));
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  })();
  return cleaningUp;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    void cleanUp().finally(() => process.exit(130));
  });
}

function countRequests(r: LoadResult) {
  return r.responses + r.socketErrors;
}

async function main() {
  const startedAt = new Date();
  const watchdog = setTimeout(() => {
    log(`time limit of ${TIME_LIMIT_SEC} s reached: stopping`);
    stopAllNow();
    void cleanUp().finally(() => process.exit(2));
  }, TIME_LIMIT_SEC * 1000);
  watchdog.unref();

  workDir = mkdtempSync(path.join(os.tmpdir(), 'kms-bench-'));
  const profileDir = path.join(os.tmpdir(), `kms-bench-profiles-${startedAt.toISOString().replace(/[:.]/g, '-')}`);
  const profileArgs = flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  if (profileArgs.length) mkdirSync(profileDir, { recursive: true });

  const conditions = [
    'quotas off (KMS_ALIAS_QUOTA=0, KMS_KEY_QUOTA=0)',
    'auth on (RPC: signature V1 signed afresh per request; REST: HTTP Basic)',
    `LOG_LEVEL=info (service stdout to ${SERVICE_LOG})`,
    `${CONNECTIONS} connections, ${DURATION} s per measurement, ${RUNS} run(s), medians`,
    `warm-up ${WARMUP} s per operation`,
    `PGlite (service and reference) ${PGLITE_MEMORY ? 'in memory://' : 'on a data directory'}`,
    'client (autocannon) in a separate process on the same machine',
    `${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'})`,
  ];
  log(`conditions: ${conditions.join('; ')}`);
  const loadStart = os.loadavg();
  if (loadStart[0]! > os.cpus().length * 0.5) {
    log(
      `WARNING: load average ${loadStart.map((l) => l.toFixed(2)).join(' ')}: the machine is busy, figures are noisy`,
    );
  }

  const entry = resolveEntry();
  log(`service: ${entry.description}`);
  // The server's version and the settings that decide commit cost, recorded with the figures.
  const postgres = await withAdmin(async (c) => {
    const { rows } = await c.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings
        WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'max_connections')`,
    );
    return Object.fromEntries(rows.map((r) => [r.name, r.setting]));
  });
  conditions.push(
    `PostgreSQL ${postgres.server_version} (fsync=${postgres.fsync}, synchronous_commit=${postgres.synchronous_commit})`,
  );

  load = await LoadGenerator.start();

  const units: Unit[] = [];
  const notes: string[] = [];
  const encryptUnavailable: Record<string, Record<string, string>> = {};

  // The reference handler, the service on PostgreSQL and on PGlite, and moto_server, started
  // and set up side by side (setting up is slow on a busy machine, and none of it is measured).
  const setUpRef = async (): Promise<Unit[]> => {
    if (flags['no-ref']) return [];
    const url = await createDatabase(`kms_bench_ref_${process.pid}`);
    const port = await freePort();
    services.ref = startRef('reference server', port, { DATABASE_URL: url }, profileArgs);
    await waitForHttp(services.ref, `http://127.0.0.1:${port}/select/item-000`, 60_000, {}, (s) => s === 200);
    log(`reference server on port ${port}`);
    return refUnits('ref', port);
  };

  // The same handler over PGlite as its README shows it (in the process), on a data
  // directory like the service's embedded default.
  const setUpRefPglite = async (): Promise<Unit[]> => {
    if (flags['no-ref'] || flags['no-pglite']) return [];
    const port = await freePort();
    const dir = PGLITE_MEMORY ? 'memory://' : mkdtempSync(path.join(workDir, 'ref-pglite-'));
    services.refPglite = startRef('PGlite reference server', port, { PGLITE_DIR: dir }, profileArgs);
    await waitForHttp(services.refPglite, `http://127.0.0.1:${port}/select/item-000`, 120_000, {}, (s) => s === 200);
    log(`PGlite reference server on port ${port}`);
    return refUnits('refpglite', port);
  };

  const setUpKms = async (system: 'pg' | 'pglite'): Promise<Unit[]> => {
    if (system === 'pglite' && flags['no-pglite']) return [];
    const url = system === 'pg' ? await createDatabase(`kms_bench_${process.pid}`) : undefined;
    const seed = signSeed(workDir);
    const svc = await startKms({
      db: system,
      databaseUrl: url,
      entry,
      cwd: ROOT,
      logFile: SERVICE_LOG,
      workDir,
      extraNodeArgs: profileArgs,
      extraEnv: {
        KMS_SEED_FILE: seed.file,
        ...(system === 'pglite' && PGLITE_MEMORY ? { DATABASE_URL: 'memory://' } : {}),
      },
    });
    services[system] = svc;
    const data = await setUpKmsData(svc, seed.keys);
    const unavailable = new Map<string, string>();
    for (const face of ['rpc', 'rest'] as Face[]) {
      const why = await encryptAvailable(svc, data, face);
      if (why) unavailable.set(face, why);
    }
    encryptUnavailable[system] = Object.fromEntries(unavailable);
    let sql: pg.Client | undefined;
    if (url) {
      sql = new pg.Client({ connectionString: url });
      await sql.connect();
      sqlClients.push(sql);
    }
    log(
      `service on ${system === 'pg' ? 'PostgreSQL' : 'PGlite'}: port ${svc.port}, pid ${svc.proc.pid}; ` +
        `${LIST_ALIASES} + ${UPDATE_ALIASES} aliases set up` +
        (unavailable.size ? `; Encrypt not available on ${[...unavailable.keys()].join(', ')}` : ''),
    );
    return kmsUnits(system, svc, data, unavailable, sql);
  };

  let motoInfo: Record<string, string> | undefined;
  const setUpMoto = async (): Promise<Unit[]> => {
    if (flags['no-moto']) return [];
    const command = findMoto(MOTO_COMMAND);
    if (!command) {
      notes.push(`moto_server not found (${MOTO_COMMAND}): the moto rows and ratios are n/a`);
      log(`WARNING: ${notes.at(-1)}`);
      return [];
    }
    let moto: Moto | undefined;
    let data: MotoData;
    try {
      moto = await startMoto(command, workDir);
      services.moto = moto;
      data = await setUpMotoData(moto, LIST_ALIASES, UPDATE_ALIASES);
    } catch (err) {
      // An external reference: its failure costs its rows and ratios, not the run.
      notes.push(`moto_server could not be set up: ${(err as Error).message.slice(0, 300)}`);
      log(`WARNING: ${notes.at(-1)}`);
      if (moto) await stop(moto.proc);
      return [];
    }
    const version = spawnSync(command, ['--version'], { encoding: 'utf8', timeout: 30_000 });
    motoInfo = {
      command,
      version: `${version.stdout ?? ''}${version.stderr ?? ''}`.trim().split('\n').at(-1) ?? '',
      signatureCheck: data.signatureCheck,
    };
    log(`moto_server on port ${moto.port}: ${data.signatureCheck}`);
    return motoUnits(moto, data);
  };

  const setUps = [setUpRef(), setUpRefPglite(), setUpKms('pg'), setUpKms('pglite'), setUpMoto()];
  for (const group of await Promise.all(setUps)) {
    units.push(...group);
  }

  // Selection: --only, with the CreateAlias that feeds a selected DeleteAlias run unreported.
  const selected = (u: Unit) => !only || only.test(u.id);
  const plan = units.filter((u) => {
    if (selected(u)) return true;
    return (
      u.op === 'CreateAlias' &&
      units.some((d) => d.op === 'DeleteAlias' && d.system === u.system && d.face === u.face && selected(d))
    );
  });

  const rows = new Map<string, Row>();
  for (const u of plan) {
    if (selected(u))
      rows.set(u.id, { id: u.id, system: u.system, face: u.face, op: u.op, unavailable: u.unavailable, runs: [] });
  }

  async function pass(tag: string, seconds: number, record: boolean) {
    const created = new Map<string, string[]>();
    for (const u of plan) {
      if (u.unavailable) continue;
      const group = `${u.system}/${u.face}`;
      let deleteNames: string[] = [];
      if (u.op === 'DeleteAlias') {
        deleteNames = created.get(group) ?? [];
        // Enough aliases for the whole duration: as many again, straight into PostgreSQL.
        if (u.topUp) deleteNames = deleteNames.concat(await u.topUp(tag, Math.max(deleteNames.length, 1000)));
        if (deleteNames.length === 0) continue;
      }
      const result = await load!.run({
        name: u.id,
        host: u.host,
        port: u.port,
        // autocannon refuses fewer requests than connections (a short warm-up of a slow system).
        connections: u.op === 'DeleteAlias' ? Math.min(CONNECTIONS, deleteNames.length) : CONNECTIONS,
        durationSec: seconds,
        amount: u.op === 'DeleteAlias' ? deleteNames.length : undefined,
        reconnectEachRequest: u.reconnectEachRequest,
        ...u.shape(tag, deleteNames),
      });
      if (result.created) created.set(group, result.created);
      const row = rows.get(u.id);
      if (result.errors > 0) {
        log(
          `  ${u.id}: ${result.errors} errors ${JSON.stringify(result.statuses)} ${result.samples[0] ?? ''}`.slice(
            0,
            400,
          ),
        );
      }
      if (record && row) {
        const { created: _unused, ...kept } = result;
        row.runs.push(kept);
        log(
          `  ${u.id.padEnd(34)} ${result.requestsPerSec.toFixed(0).padStart(7)} req/s  p50 ${result.p50.toFixed(2)}  p99 ${result.p99.toFixed(2)} ms  errors ${result.errors}`,
        );
      }
    }
  }

  log(`warm-up: ${WARMUP} s per operation`);
  await pass('w', WARMUP, false);
  for (let r = 1; r <= RUNS; r++) {
    log(`run ${r} of ${RUNS}: ${DURATION} s per operation`);
    await pass(`r${r}`, DURATION, true);
  }

  const memory: string[] = [];
  for (const system of ['pg', 'pglite'] as const) {
    const svc = services[system];
    const m = svc && memoryOf(svc.proc.pid);
    if (m) {
      memory.push(
        `service on ${system === 'pg' ? 'PostgreSQL' : 'PGlite'} after the main measurements: RSS ${m.rssMiB.toFixed(0)} MiB (peak ${m.peakMiB.toFixed(0)} MiB)`,
      );
    }
  }

  // Stop the main services before the scale probe, so it has the machine to itself.
  await Promise.all(
    [services.pg?.proc, services.pglite?.proc, services.ref, services.refPglite, services.moto?.proc]
      .filter((p): p is Started => p !== undefined)
      .map((p) => stop(p)),
  );

  const scale: ScalePoint[] = [];
  let scaleInfo: Record<string, unknown> | undefined;
  if (!flags['no-scale'] && (!only || only.test('scale'))) {
    scaleInfo = await scaleProbe(entry, profileArgs, scale, memory);
  }

  const allRows = [...rows.values()];
  const checks: Check[] = evaluateTargets(rows, scale);
  const loadEnd = os.loadavg();

  const date = startedAt.toISOString().slice(0, 10);
  console.log('');
  console.log(`Conditions: ${conditions.join('; ')}`);
  console.log(
    `Load average at start ${loadStart.map((l) => l.toFixed(2)).join(' ')}, at end ${loadEnd.map((l) => l.toFixed(2)).join(' ')}`,
  );
  console.log('');
  console.log(resultTable(allRows));
  if (scale.length) {
    console.log('');
    console.log(`Scale probe (PostgreSQL, RPC, ${SCALE_CONNECTIONS} connections, ${SCALE_DURATION} s each):`);
    console.log(scaleTable(scale));
  }
  console.log('');
  for (const m of memory) console.log(m);
  console.log('');
  console.log('Targets (PostgreSQL; PGlite beside):');
  console.log(checkTable(checks));
  for (const n of notes) console.log(`Note: ${n}`);

  const finishedAt = new Date();
  const report = {
    date,
    mode: quick ? 'quick' : 'full',
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    conditions,
    settings: {
      durationSec: DURATION,
      runs: RUNS,
      connections: CONNECTIONS,
      warmupSec: WARMUP,
      scaleDurationSec: SCALE_DURATION,
      scaleConnections: SCALE_CONNECTIONS,
      rssRequests: RSS_REQUESTS,
      only: flags.only ?? null,
    },
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model,
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      loadAverageStart: loadStart,
      loadAverageEnd: loadEnd,
      node: process.version,
      postgres,
    },
    service: entry.description,
    moto: motoInfo ?? null,
    encryptUnavailable,
    rows: allRows.map((r) => ({ ...r, median: r.runs.length ? summarize(r) : null })),
    checks,
    scale: scaleInfo ?? null,
    memory,
    notes,
    profiles: profileArgs.length ? profileDir : null,
  };
  const resultsDir = path.join(ROOT, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  const base = path.join(resultsDir, quick || only ? `${date}-partial` : date);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  const md = markdown({ date, conditions, rows: allRows, checks, scale, memory });
  writeFileSync(`${base}.md`, `${md}\n`);
  // The results are committed and `npm run lint` checks bench/**: write them as Biome formats them.
  spawnSync(path.join(ROOT, 'node_modules/.bin/biome'), ['format', '--write', `${base}.json`, `${base}.md`], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  log(
    `wrote ${path.relative(ROOT, base)}.json and .md (${((finishedAt.getTime() - startedAt.getTime()) / 1000).toFixed(0)} s)`,
  );
  if (profileArgs.length) log(`CPU profiles (written as each process stops): ${profileDir}`);

  if (flags.readme) updateReadme(md, `bench/results/${path.basename(base)}.json`);
  clearTimeout(watchdog);
}

/** Replaces the section between the bench markers of README.md (appends one if absent). */
function updateReadme(md: string, jsonPath: string) {
  replaceReadmeSection(
    path.join(ROOT, 'README.md'),
    'bench',
    `${md}\n\nFull figures: \`${jsonPath}\`. Run it with \`npm run bench\`.`,
    '## Benchmarks',
  );
  log('README.md updated');
}

// ---------------------------------------------------------------------------------------
// Scale probe: a fresh service on PostgreSQL, aliases inserted straight into its database

async function scaleProbe(
  entry: ServiceEntry,
  profileArgs: string[],
  points: ScalePoint[],
  memory: string[],
): Promise<Record<string, unknown>> {
  log(`scale probe: ${SCALE_SIZES.join(', ')} aliases in ${SCALE_REGION}`);
  const url = await createDatabase(`kms_bench_scale_${process.pid}`);
  const svc = await startKms({
    db: 'pg',
    databaseUrl: url,
    entry,
    cwd: ROOT,
    logFile: SERVICE_LOG,
    workDir,
    extraNodeArgs: profileArgs,
  });
  services.scale = svc;
  const atStart = memoryOf(svc.proc.pid);
  const sql = new pg.Client({ connectionString: url });
  await sql.connect();
  sqlClients.push(sql);
  const keyId = await createKey(svc, SCALE_REGION);
  let requests = 2; // the readiness check and CreateKey
  let have = 0;
  for (const size of SCALE_SIZES) {
    await insertAliases(sql, SCALE_REGION, keyId, 'alias/scale-', have, size);
    have = size;
    // Bulk SQL stands in for months of CreateAlias calls; autovacuum would have analysed by then.
    await sql.query('ANALYZE aliases');
    for (const op of ['ListAliases', 'DescribeKey (alias)'] as const) {
      const scenario = (seconds: number): Scenario => ({
        name: `scale/${size}/${op}`,
        host: svc.host,
        port: svc.port,
        connections: SCALE_CONNECTIONS,
        durationSec: seconds,
        ...scaleShape(op, SCALE_REGION, size),
      });
      requests += countRequests(await load!.run(scenario(WARMUP)));
      const result = await load!.run(scenario(SCALE_DURATION));
      requests += countRequests(result);
      points.push({ aliases: size, op, result });
      log(
        `  ${String(size).padStart(6)} aliases ${op.padEnd(20)} p50 ${result.p50.toFixed(2)}  p99 ${result.p99.toFixed(2)} ms  ${result.requestsPerSec.toFixed(0)} req/s  errors ${result.errors}`,
      );
    }
  }
  // Top up to RSS_REQUESTS requests in all, then read the resident set size.
  if (requests < RSS_REQUESTS) {
    const result = await load!.run({
      name: 'scale/rss',
      host: svc.host,
      port: svc.port,
      connections: Math.min(CONNECTIONS, RSS_REQUESTS - requests),
      durationSec: 600,
      amount: RSS_REQUESTS - requests,
      ...scaleShape('DescribeKey (alias)', SCALE_REGION, have),
    });
    requests += countRequests(result);
  }
  const after = memoryOf(svc.proc.pid);
  const fmt = (m: { rssMiB: number; peakMiB: number } | undefined) =>
    m ? `RSS ${m.rssMiB.toFixed(0)} MiB (peak ${m.peakMiB.toFixed(0)} MiB)` : 'unknown';
  memory.push(
    `service on PostgreSQL, scale probe: ${fmt(atStart)} at start; ${fmt(after)} after ${requests.toLocaleString('en-US')} requests with ${have.toLocaleString('en-US')} aliases`,
  );
  await stop(svc.proc);
  return {
    region: SCALE_REGION,
    face: 'rpc',
    connections: SCALE_CONNECTIONS,
    durationSec: SCALE_DURATION,
    analyzedAfterInsert: true,
    points: points.map((p) => ({ aliases: p.aliases, op: p.op, ...p.result })),
    requests,
    rssAtStartMiB: atStart?.rssMiB,
    rssAfterMiB: after?.rssMiB,
    peakMiB: after?.peakMiB,
  };
}

(flags.startup ? runStartupBench({ readme: flags.readme, ensureBuilt: () => void resolveEntry() }) : main())
  .catch((err: unknown) => {
    process.exitCode = 1;
    log(`FAILED: ${(err as Error)?.stack ?? String(err)}`);
  })
  .finally(() => cleanUp());
