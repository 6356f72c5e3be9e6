// `npm run bench -- --startup`: how fast the service starts and how much memory it holds,
// beside moto_server, in one run. For each case: spawn, poll until health answers 200
// (the time), wait 2 s and read RSS (idle), send a short load (creates and reads) and
// read RSS again, then SIGTERM. Each case runs BENCH_STARTUP_RUNS times (default 3),
// interleaved; the table shows medians. With --readme the table goes into README.md
// between the startup markers. Not part of `npm test`.
//
// The service runs as `npm start` runs it (node scripts/start.mjs, which runs dist/ when it
// is current: the bench builds it first if it is not; npm itself adds a few hundred ms,
// not counted). Cases: memory://, a new data directory, a restart on that directory, a
// first-ever start (an empty template cache: the template `npm run build` made is copied,
// as after `npm ci` or in the image), a start with no template anywhere (the service run
// from a copy of dist/ without pglite-template/, an empty cache: initdb and the
// migrations), PostgreSQL (a fresh database), and moto_server.

import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { findMoto } from './lib/moto.js';
import { freePort, memoryOf, type Started, start, stop } from './lib/processes.js';
import { replaceReadmeSection } from './lib/report.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Math.max(1, Number(process.env.BENCH_STARTUP_RUNS ?? 3) || 3);
const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const MOTO_COMMAND = process.env.BENCH_MOTO || 'moto_server';
const BASIC = `Basic ${Buffer.from('LTAI5tKmsEmulatorDevKey:KmsEmulatorDevSecretDoNotUseInProd').toString('base64')}`;
const LOAD_CREATES = 50;
const LOAD_READS = 450;
const log = (msg: string) => process.stdout.write(`[startup ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

interface Measure {
  readyMs: number;
  idleMiB: number;
  loadedMiB: number;
  peakMiB: number;
}

interface Case {
  name: string;
  target: string;
  /** Starts the system; returns the process, its port and how to load it. */
  launch(run: number): Promise<{ proc: Started; port: number; kind: 'kms' | 'moto'; after?: () => Promise<void> }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function motoHeaders(operation: string) {
  return {
    'content-type': 'application/x-amz-json-1.1',
    'x-amz-target': `TrentService.${operation}`,
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIDBENCHMARK/20240101/us-east-1/kms/aws4_request, ' +
      `SignedHeaders=content-type;host;x-amz-target, Signature=${'0'.repeat(64)}`,
  };
}

async function ready(kind: 'kms' | 'moto', port: number): Promise<boolean> {
  try {
    const res =
      kind === 'kms'
        ? await fetch(`http://127.0.0.1:${port}/health/live`, { signal: AbortSignal.timeout(1000) })
        : await fetch(`http://127.0.0.1:${port}/`, {
            method: 'POST',
            headers: motoHeaders('ListKeys'),
            body: '{}',
            signal: AbortSignal.timeout(1000),
          });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

async function createKey(kind: 'kms' | 'moto', port: number): Promise<string> {
  if (kind === 'kms') {
    const res = await fetch(`http://127.0.0.1:${port}/v1/keys`, {
      method: 'POST',
      headers: { authorization: BASIC, 'content-type': 'application/json' },
      body: '{"Description":"startup bench"}',
    });
    const body = (await res.json()) as { KeyMetadata: { KeyId: string } };
    return body.KeyMetadata.KeyId;
  }
  const res = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: motoHeaders('CreateKey'),
    body: '{"Description":"startup bench"}',
  });
  return ((await res.json()) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
}

async function describeKey(kind: 'kms' | 'moto', port: number, keyId: string): Promise<void> {
  const res =
    kind === 'kms'
      ? await fetch(`http://127.0.0.1:${port}/v1/keys/${keyId}`, { headers: { authorization: BASIC } })
      : await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          headers: motoHeaders('DescribeKey'),
          body: JSON.stringify({ KeyId: keyId }),
        });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`DescribeKey: ${res.status}`);
}

/** A short load: creates, then reads, 10 at a time. */
async function load(kind: 'kms' | 'moto', port: number) {
  const keys: string[] = [];
  for (let i = 0; i < LOAD_CREATES; i += 10) {
    keys.push(...(await Promise.all(Array.from({ length: 10 }, () => createKey(kind, port)))));
  }
  for (let i = 0; i < LOAD_READS; i += 10) {
    await Promise.all(Array.from({ length: 10 }, (_, j) => describeKey(kind, port, keys[(i + j) % keys.length]!)));
  }
}

async function measure(c: Case, run: number, workDir: string): Promise<Measure> {
  const t0 = performance.now();
  const { proc, port, kind, after } = await c.launch(run);
  try {
    while (!(await ready(kind, port))) {
      if (proc.child.exitCode !== null) {
        throw new Error(`${c.name} exited: ${readFileSync(proc.stderrFile, 'utf8').slice(-2000)}`);
      }
      if (performance.now() - t0 > 120_000) throw new Error(`${c.name}: not ready in 120 s`);
      await sleep(25);
    }
    const readyMs = performance.now() - t0;
    await sleep(2000);
    const idle = memoryOf(proc.pid);
    await load(kind, port);
    const loaded = memoryOf(proc.pid);
    return {
      readyMs,
      idleMiB: idle?.rssMiB ?? Number.NaN,
      loadedMiB: loaded?.rssMiB ?? Number.NaN,
      peakMiB: loaded?.peakMiB ?? Number.NaN,
    };
  } finally {
    await stop(proc, 15_000);
    await after?.();
    void workDir;
  }
}

function kmsCase(
  name: string,
  target: string,
  env: (run: number) => Promise<Record<string, string>>,
  workDir: string,
  root = ROOT,
): Case {
  return {
    name,
    target,
    async launch(run) {
      const port = await freePort();
      const proc = start({
        name,
        command: process.execPath,
        args: ['scripts/start.mjs'],
        cwd: root,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          XDG_CACHE_HOME: process.env.XDG_CACHE_HOME,
          HOST: '127.0.0.1',
          PORT: String(port),
          LOG_LEVEL: 'info',
          LOG_FORMAT: 'json',
          DATABASE_URL: '',
          ...(await env(run)),
        },
        stdoutFile: '/dev/null',
        stderrFile: path.join(workDir, `${name.replace(/\W+/g, '-')}-${run}.stderr`),
      });
      return { proc, port, kind: 'kms' as const };
    },
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** The service without the build's template: dist/ and start.mjs copied, the rest linked. */
function withoutTemplate(workDir: string): string {
  const root = path.join(workDir, 'no-template');
  mkdirSync(path.join(root, 'scripts'), { recursive: true });
  cpSync(path.join(ROOT, 'dist'), path.join(root, 'dist'), { recursive: true });
  cpSync(path.join(ROOT, 'scripts/start.mjs'), path.join(root, 'scripts/start.mjs'));
  cpSync(path.join(ROOT, 'package.json'), path.join(root, 'package.json'));
  for (const linked of ['node_modules', 'migrations']) symlinkSync(path.join(ROOT, linked), path.join(root, linked));
  return root;
}

export async function runStartupBench(opts: { readme: boolean; ensureBuilt: () => void }): Promise<void> {
  opts.ensureBuilt();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'kms-startup-'));
  const dataDirs: string[] = [];
  const databases: string[] = [];
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  const cases: Case[] = [
    kmsCase('service, memory://', '≤ 1.5 s, ≤ 350 MiB idle', async () => ({ DATABASE_URL: 'memory://' }), workDir),
    kmsCase(
      'service, new data dir',
      '',
      async (run) => {
        const dir = mkdtempSync(path.join(workDir, `data-${run}-`));
        dataDirs[run] = dir;
        return { KMS_DATA_DIR: dir };
      },
      workDir,
    ),
    kmsCase(
      'service, data dir restart',
      '≤ 1.5 s, ≤ 350 MiB idle',
      async (run) => ({ KMS_DATA_DIR: dataDirs[run] ?? mkdtempSync(path.join(workDir, 'data-')) }),
      workDir,
    ),
    kmsCase(
      'service, first-ever start (empty cache)',
      '≤ 3 s',
      async () => ({ DATABASE_URL: 'memory://', XDG_CACHE_HOME: mkdtempSync(path.join(workDir, 'cache-')) }),
      workDir,
    ),
    kmsCase(
      'service, no template anywhere',
      '',
      async () => ({ DATABASE_URL: 'memory://', XDG_CACHE_HOME: mkdtempSync(path.join(workDir, 'cache-')) }),
      workDir,
      withoutTemplate(workDir),
    ),
  ];
  let pgAvailable = true;
  try {
    await admin('SELECT 1');
  } catch (err) {
    pgAvailable = false;
    log(`PostgreSQL not reachable at ${ADMIN_URL} (${(err as Error).message}): skipped`);
  }
  if (pgAvailable) {
    cases.push(
      kmsCase(
        'service, PostgreSQL',
        '',
        async () => {
          const name = `kms_startup_bench_${process.pid}_${databases.length}`;
          await admin(`CREATE DATABASE ${name}`);
          databases.push(name);
          const url = new URL(ADMIN_URL);
          url.pathname = `/${name}`;
          return { DATABASE_URL: url.toString(), KMS_MASTER_KEY: randomBytes(32).toString('base64') };
        },
        workDir,
      ),
    );
  }
  const moto = findMoto(MOTO_COMMAND);
  if (moto) {
    cases.push({
      name: 'moto_server',
      target: 'reference',
      async launch(run) {
        const port = await freePort();
        const proc = start({
          name: 'moto_server',
          command: moto,
          args: ['-H', '127.0.0.1', '-p', String(port)],
          env: { PATH: process.env.PATH, HOME: process.env.HOME, PYENV_VERSION: process.env.PYENV_VERSION },
          stdoutFile: '/dev/null',
          stderrFile: path.join(workDir, `moto-${run}.stderr`),
        });
        return { proc, port, kind: 'moto' as const };
      },
    });
  } else log(`${MOTO_COMMAND} not found: skipped`);

  const load = os.loadavg();
  log(`load average ${load.map((l) => l.toFixed(2)).join(' ')} on ${os.cpus().length} CPUs; ${RUNS} run(s) per case`);
  const results = new Map<string, Measure[]>();
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const c of cases) {
        const m = await measure(c, run, workDir);
        log(
          `${c.name}: ready ${Math.round(m.readyMs)} ms, idle ${m.idleMiB.toFixed(0)} MiB, after load ${m.loadedMiB.toFixed(0)} MiB`,
        );
        results.set(c.name, [...(results.get(c.name) ?? []), m]);
      }
    }
  } finally {
    for (const name of databases) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    rmSync(workDir, { recursive: true, force: true });
  }

  const rows = cases.map((c) => {
    const ms = results.get(c.name) ?? [];
    const med = (f: (m: Measure) => number) => median(ms.map(f));
    return `| ${c.name} | ${(med((m) => m.readyMs) / 1000).toFixed(2)} s | ${med((m) => m.idleMiB).toFixed(0)} MiB | ${med((m) => m.loadedMiB).toFixed(0)} MiB | ${med((m) => m.peakMiB).toFixed(0)} MiB | ${c.target} |`;
  });
  const date = new Date().toISOString().slice(0, 10);
  const md = [
    `Start-up (${date}, ${os.cpus().length} CPUs, load average at start ${load[0]?.toFixed(1)}; medians of ${RUNS} runs;`,
    `the service as \`npm start\` runs it, \`node scripts/start.mjs\` (compiled dist/); load = ${LOAD_CREATES} creates + ${LOAD_READS} reads):`,
    '',
    '| system | start to health 200 | RSS idle | RSS after load | peak RSS | target |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
  process.stdout.write(`\n${md}\n\n`);
  if (opts.readme) updateReadme(md);
}

function updateReadme(md: string) {
  replaceReadmeSection(
    path.join(ROOT, 'README.md'),
    'bench-startup',
    `${md}\n\nRun it with \`npm run bench -- --startup\` (add \`--readme\` to update this table).`,
    '### Start-up and memory',
  );
  log('README.md updated');
}
