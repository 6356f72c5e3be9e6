import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, DEV_CREDENTIALS } from '../helpers/clients.js';
import { TEST_MASTER_KEY } from '../helpers/test-app.js';

// The service as the Docker image runs it: `node dist/server.js` in a folder laid out like
// the image's /app (dist/, pglite-template/, migrations/, package.json, node_modules), configured only by its
// environment, stopped by SIGTERM. `npm run build` writes into a temporary folder rather
// than the repository's dist/, so a build running beside it cannot clobber these files.

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BUILD_TIMEOUT_MS = 240_000;
const START_TIMEOUT_MS = 60_000; // a first start on an empty data directory creates the database
const STOP_TIMEOUT_MS = 15_000; // close-with-grace gives in-flight work 10 s
const FAIL_FAST_MS = 15_000;
const AUTH = basicAuth(DEV_CREDENTIALS);

let work: string; // the image-like folder
const children = new Set<ChildProcess>();
const tempDirs: string[] = [];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface ServerProcess {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  /** Parsed JSON log lines written so far. */
  logs: () => Array<Record<string, unknown>>;
  exited: Promise<Exit>;
  /** Resolves when a log line satisfies the predicate; rejects when the process exits first. */
  waitForLog: (pred: (line: Record<string, unknown>) => boolean, timeoutMs: number) => Promise<Record<string, unknown>>;
}

/** Only what is given: nothing from the test runner's environment reaches the service. */
function startServer(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ['dist/server.js'], {
    cwd: work,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'debug',
      KMS_REGIONS: '*', // tests make up regions to keep their data apart
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    notify();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child);
      // let the pipes drain before anyone reads the output
      setImmediate(() => {
        resolve({ code, signal });
        notify();
      });
    });
  });
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
  });
  const logs = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const waitForLog = (pred: (line: Record<string, unknown>) => boolean, timeoutMs: number) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const hit = logs().find(pred);
        if (hit) return done(() => resolve(hit));
        if (hasExited) return done(() => reject(new Error(`server exited early:\n${err}\n${out}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`no such log line within ${timeoutMs} ms:\n${err}\n${out}`))),
        timeoutMs,
      );
      const done = (fn: () => void) => {
        clearTimeout(timer);
        waiters.delete(check);
        fn();
      };
      waiters.add(check);
      check();
    });
  return { child, out: () => out, err: () => err, logs, exited, waitForLog };
}

/** The base URL from Fastify's "Server listening at http://127.0.0.1:PORT" line. */
async function listeningUrl(p: ServerProcess): Promise<string> {
  const line = await p.waitForLog(
    (l) => typeof l.msg === 'string' && /^Server listening at http:\/\/127\.0\.0\.1:\d+$/.test(l.msg),
    START_TIMEOUT_MS,
  );
  return (line.msg as string).replace('Server listening at ', '');
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until the file exists; fails if the process exits first. */
async function waitForFile(file: string, p: ServerProcess): Promise<void> {
  let exited = false;
  void p.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!fs.existsSync(file)) {
    if (exited) throw new Error(`the server exited before ${file} existed:\n${p.err()}\n${p.out()}`);
    if (Date.now() > deadline) throw new Error(`${file}: not within ${START_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stop(p: ServerProcess): Promise<Exit> {
  p.child.kill('SIGTERM');
  return within(p.exited, STOP_TIMEOUT_MS, 'exit after SIGTERM');
}

async function json(url: string, init: RequestInit = {}) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

const rest = (base: string, method: string, route: string, body?: unknown) =>
  json(`${base}${route}`, {
    method,
    headers: { authorization: AUTH, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

function keyIdOf(res: { status: number; body?: Record<string, unknown> }): string {
  const keyId = (res.body?.KeyMetadata as { KeyId?: unknown } | undefined)?.KeyId;
  if (typeof keyId !== 'string') throw new Error(`no KeyId in ${res.status} ${JSON.stringify(res.body)}`);
  return keyId;
}

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Runs a command with a time bound; resolves with its output, rejects on failure. */
function run(cmd: string, args: string[], timeoutMs: number, cwd = REPO): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let output = '';
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (code === 0) resolve(output);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output}`));
    });
  });
}

beforeAll(async () => {
  work = tempDir('kms-image-');
  // As `npm run build` does in the image: tsc, then the PGlite template beside dist/.
  await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', path.join(work, 'dist')], BUILD_TIMEOUT_MS);
  fs.cpSync(path.join(REPO, 'migrations'), path.join(work, 'migrations'), { recursive: true });
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(work, 'package.json')); // "type": "module"
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(work, 'node_modules'), 'dir');
  fs.mkdirSync(path.join(work, 'scripts'));
  fs.copyFileSync(path.join(REPO, 'scripts/build-template.mjs'), path.join(work, 'scripts/build-template.mjs'));
  await run('node', ['scripts/build-template.mjs'], BUILD_TIMEOUT_MS, work);
}, BUILD_TIMEOUT_MS + 10_000);

afterAll(async () => {
  for (const child of [...children]) {
    child.kill('SIGKILL');
    await within(new Promise((resolve) => child.once('exit', resolve)), 5_000, 'exit after SIGKILL').catch(() => {});
  }
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('node dist/server.js (the image start command)', () => {
  it('serves health and authenticated REST on memory://, and on SIGTERM finishes an in-flight request then exits 0', async () => {
    const p = startServer({ DATABASE_URL: 'memory://' });
    const base = await listeningUrl(p);

    expect(await json(`${base}/health/live`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await json(`${base}/health/ready`)).toEqual({
      status: 200,
      body: { status: 'ok', database: 'up', migrations: 'applied' },
    });
    const created = await rest(base, 'POST', '/v1/keys', { Description: 'from the process test' });
    expect(created.status).toBe(201);
    const keyId = keyIdOf(created);
    const described = await rest(base, 'GET', `/v1/keys/${keyId}`);
    expect(described.status).toBe(200);
    expect(described.body?.KeyMetadata).toMatchObject({ KeyId: keyId, Description: 'from the process test' });
    expect((await json(`${base}/v1/keys/${keyId}`)).status).toBe(401); // authentication is on

    // An in-flight request: headers and half the body sent, the server has seen it...
    const body = JSON.stringify({ Description: 'in flight at SIGTERM' });
    const req = http.request(`${base}/v1/keys`, {
      method: 'POST',
      agent: false,
      headers: { authorization: AUTH, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    const earlier = new Set(p.logs().map((l) => l.reqId));
    req.write(body.slice(0, 10));
    await p.waitForLog((l) => {
      const r = l.req as { method?: string; path?: string } | undefined;
      return l.msg === 'request received' && !earlier.has(l.reqId) && r?.method === 'POST' && r.path === '/v1/keys';
    }, 10_000);
    // ...then SIGTERM, and the rest of the body once the service has started stopping.
    p.child.kill('SIGTERM');
    await p.waitForLog((l) => l.msg === 'stopping' && l.signal === 'SIGTERM', 10_000);
    req.end(body.slice(10));

    const inFlight = await within(answered, STOP_TIMEOUT_MS, 'the in-flight response');
    expect(inFlight.status).toBe(201);
    expect(JSON.parse(inFlight.body).KeyMetadata).toMatchObject({ Description: 'in flight at SIGTERM' });
    expect(await within(p.exited, STOP_TIMEOUT_MS, 'exit after SIGTERM')).toEqual({ code: 0, signal: null });
    expect(p.err()).toBe('');
  }, 90_000);

  it('keeps keys in the embedded database across a SIGTERM and a restart on the same KMS_DATA_DIR', async () => {
    const dataDir = tempDir('kms-data-');
    const env = { KMS_DATA_DIR: dataDir }; // no DATABASE_URL: embedded PGlite

    const first = startServer(env);
    const base1 = await listeningUrl(first);
    const created = await rest(base1, 'POST', '/v1/keys', { Description: 'survives a restart' });
    expect(created.status).toBe(201);
    const keyId = keyIdOf(created);
    expect(await stop(first)).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(path.join(dataDir, 'kms-emulator.lock'))).toBe(false); // released on a clean stop

    const second = startServer(env);
    const base2 = await listeningUrl(second);
    const described = await rest(base2, 'GET', `/v1/keys/${keyId}`);
    expect(described.status).toBe(200);
    expect(described.body?.KeyMetadata).toMatchObject({ KeyId: keyId, Description: 'survives a restart' });
    expect(await stop(second)).toEqual({ code: 0, signal: null });
  }, 180_000);

  // `docker stop` in the first seconds: node is PID 1 in the image, and SIGTERM must stop it
  // then, not after the grace period. What may be left half-written decides how.
  it('on a SIGTERM during the first start on an empty KMS_DATA_DIR, exits 0 within 2 s and leaves the directory as it was', async () => {
    const dataDir = tempDir('kms-early-');
    const p = startServer({ KMS_DATA_DIR: dataDir });
    await waitForFile(path.join(dataDir, 'kms-emulator.lock'), p); // the database is being created
    p.child.kill('SIGTERM');
    expect(await within(p.exited, 2000, 'exit after SIGTERM during the first start')).toEqual({
      code: 0,
      signal: null,
    });
    expect(p.err()).toBe('SIGTERM during start-up: stopped before the service was ready\n');
    expect(p.out()).not.toContain('Server listening');
    expect(fs.readdirSync(dataDir)).toEqual([]);

    const again = startServer({ KMS_DATA_DIR: dataDir });
    expect((await json(`${await listeningUrl(again)}/health/ready`)).status).toBe(200);
    expect(await stop(again)).toEqual({ code: 0, signal: null });
  }, 180_000);

  it('on a SIGTERM while an existing KMS_DATA_DIR opens, opens it, closes it cleanly and exits 0; its keys are kept', async () => {
    const dataDir = tempDir('kms-early-');
    const first = startServer({ KMS_DATA_DIR: dataDir });
    const created = await rest(await listeningUrl(first), 'POST', '/v1/keys', { Description: 'kept' });
    const keyId = keyIdOf(created);
    expect(await stop(first)).toEqual({ code: 0, signal: null });

    const early = startServer({ KMS_DATA_DIR: dataDir });
    await waitForFile(path.join(dataDir, 'kms-emulator.lock'), early);
    early.child.kill('SIGTERM');
    expect(await within(early.exited, STOP_TIMEOUT_MS * 2, 'exit after SIGTERM while opening')).toEqual({
      code: 0,
      signal: null,
    });
    expect(early.logs().some((l) => l.msg === 'stopping' && l.signal === 'SIGTERM')).toBe(true);
    expect(early.out()).not.toContain('Server listening');
    expect(fs.existsSync(path.join(dataDir, 'kms-emulator.lock'))).toBe(false); // closed cleanly

    const third = startServer({ KMS_DATA_DIR: dataDir });
    const described = await rest(await listeningUrl(third), 'GET', `/v1/keys/${keyId}`);
    expect(described.body?.KeyMetadata).toMatchObject({ KeyId: keyId, Description: 'kept' });
    expect(await stop(third)).toEqual({ code: 0, signal: null });
  }, 180_000);

  it('after a SIGKILL during the first start, the next start creates the database again and serves', async () => {
    const dataDir = tempDir('kms-early-');
    const p = startServer({ KMS_DATA_DIR: dataDir });
    await waitForFile(path.join(dataDir, 'pgdata', 'PG_VERSION'), p); // half-way: files written, not yet migrated
    p.child.kill('SIGKILL');
    await within(p.exited, STOP_TIMEOUT_MS, 'exit after SIGKILL');
    expect(fs.existsSync(path.join(dataDir, 'pgdata.creating'))).toBe(true);

    const next = startServer({ KMS_DATA_DIR: dataDir });
    const base = await listeningUrl(next);
    expect(next.logs().some((l) => String(l.msg).includes('creating it again'))).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'pgdata.creating'))).toBe(false);
    expect((await rest(base, 'POST', '/v1/keys', {})).status).toBe(201);
    expect(await stop(next)).toEqual({ code: 0, signal: null });
  }, 180_000);

  it('refuses a second process on a KMS_DATA_DIR in use, fast and saying so, and leaves the first serving', async () => {
    const dataDir = tempDir('kms-data-');
    const first = startServer({ KMS_DATA_DIR: dataDir });
    const base = await listeningUrl(first);

    const second = startServer({ KMS_DATA_DIR: dataDir });
    const exit = await within(second.exited, FAIL_FAST_MS, 'the second process to fail');
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(second.err()).toContain(
      `The data directory ${dataDir} is in use by another process (pid ${first.child.pid})`,
    );
    expect(second.out()).not.toContain('Server listening');

    expect((await json(`${base}/health/ready`)).status).toBe(200);
    expect(await stop(first)).toEqual({ code: 0, signal: null });
  }, 120_000);

  it('refuses to start with a postgres:// DATABASE_URL and no KMS_MASTER_KEY, naming the variable', async () => {
    // Checked with the rest of the configuration, before any connection is tried.
    const p = startServer({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    const exit = await within(p.exited, FAIL_FAST_MS, 'the process to fail');
    expect(exit.code).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(p.err()).toContain('KMS_MASTER_KEY: is required with a postgres:// DATABASE_URL');
    expect(p.out()).not.toContain('Server listening');
  }, 30_000);

  describe.skipIf(!process.env.TEST_DATABASE_URL)('on PostgreSQL (TEST_DATABASE_URL)', () => {
    const url = process.env.TEST_DATABASE_URL ?? '';

    it('starts with KMS_MASTER_KEY, is ready, and exits 0 on SIGTERM', async () => {
      const p = startServer({ DATABASE_URL: url, KMS_MASTER_KEY: TEST_MASTER_KEY });
      const base = await listeningUrl(p);
      expect(await json(`${base}/health/ready`)).toEqual({
        status: 200,
        body: { status: 'ok', database: 'up', migrations: 'applied' },
      });
      expect(await stop(p)).toEqual({ code: 0, signal: null });
    }, 60_000);
  });

  it('refuses an invalid environment, listing every problem without echoing the values', async () => {
    const p = startServer({ DATABASE_URL: 'memory://', PORT: 'abc', KMS_ALIAS_QUOTA: '-1' });
    const exit = await within(p.exited, FAIL_FAST_MS, 'the process to fail');
    expect(exit).toEqual({ code: 1, signal: null });
    const err = p.err();
    expect(err).toContain('Invalid configuration');
    expect(err).toMatch(/^\s+PORT: /m);
    expect(err).toMatch(/^\s+KMS_ALIAS_QUOTA: /m);
    expect(err).not.toContain('abc');
    expect(err).not.toContain('-1');
    expect(p.out()).toBe(''); // stopped before opening anything
  }, 30_000);
});
