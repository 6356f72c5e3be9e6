import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// `npm start` as a person runs it: the signal goes to the npm process itself, and the
// server (npm's child) must stop, release the port and leave no process behind. Each
// server gets a free port and memory:// or its own temporary data directory; DATABASE_URL
// is always given so a developer's .env cannot change what is tested.

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const TSX = import.meta.resolve('tsx');
const START_TIMEOUT_MS = 60_000;
const children = new Set<ChildProcess>();
const tempDirs: string[] = [];

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function launch(command: string, args: string[], env: Record<string, string>, cwd = REPO): Proc {
  const child = spawn(command, args, {
    cwd,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? os.tmpdir(),
      LOG_FORMAT: 'json',
      // Made-up regions (cn-dotenv, cn-environment) are regions only with the open catalog.
      KMS_REGIONS: '*',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      setImmediate(() => resolve({ code, signal }));
    }),
  );
  return { child, out: () => out, err: () => err, exited };
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

async function healthy(port: number): Promise<true | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health/live`, { signal: AbortSignal.timeout(1000) });
    return res.status === 200 ? true : undefined;
  } catch {
    return undefined;
  }
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(true));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(false)));
  });
}

/** Processes whose parent is pid (Linux /proc). */
function childrenOf(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const serverArgs = ['--import', TSX, path.join(REPO, 'src/server.ts')];

describe('npm start', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`stops when the npm process gets ${signal}: port released within 2 s, no child left`, async () => {
      const port = await freePort();
      const npm = launch('npm', ['start'], { PORT: String(port), DATABASE_URL: 'memory://' });
      await until('health 200', START_TIMEOUT_MS, () => healthy(port));
      const npmPid = npm.child.pid ?? 0;
      const descendants = childrenOf(npmPid).flatMap((p) => [p, ...childrenOf(p)]);
      expect(descendants.length).toBeGreaterThan(0);

      process.kill(npmPid, signal);
      // The port goes first (the server stops accepting at once): within the 2 s of the
      // issue. The processes then close the database; on a quiet machine that is well
      // under 2 s too (about 0.2 s), but with the whole suite and other work on 2 cores it
      // took over 2 s once, so their bound is a liveness bound (engineering notes: tests
      // do not assert on speed).
      await until('the port to be released', 2000, async () => ((await portInUse(port)) ? undefined : true));
      await until('every child to exit', 10_000, () => (descendants.every((p) => !alive(p)) ? true : undefined));
      const exit = await npm.exited;
      expect(exit.signal === null ? exit.code : exit.signal).toBe(0);
      expect(npm.out()).toContain('"msg":"stopping"');
    }, 90_000);
  }
});

describe('start-up', () => {
  it('fails fast on a busy port, saying so, before opening the database', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const p = launch(process.execPath, serverArgs, { PORT: String(port), DATABASE_URL: 'memory://' });
      const exit = await p.exited;
      expect(exit.code).toBe(1);
      expect(p.err()).toContain(`Port ${port} on 127.0.0.1 is already in use`);
      expect(p.out()).not.toContain('database ready');
    } finally {
      blocker.close();
    }
  }, 30_000);

  it('does not drop a SIGTERM that comes while a new database is created: it exits 0 and leaves the directory as it was', async () => {
    const dataDir = tempDir('kms-early-');
    const port = await freePort();
    const p = launch(process.execPath, serverArgs, { PORT: String(port), DATABASE_URL: '', KMS_DATA_DIR: dataDir });
    const lock = path.join(dataDir, 'kms-emulator.lock');
    await until('the data directory lock', START_TIMEOUT_MS, () => (fs.existsSync(lock) ? true : undefined));
    p.child.kill('SIGTERM');
    const exit = await p.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(p.err()).toContain('SIGTERM during start-up: stopped before the service was ready');
    expect(p.out()).not.toContain('Server listening');
    expect(fs.readdirSync(dataDir)).toEqual([]); // the half-made database, its marker and the lock are gone
  }, 90_000);

  it('reads .env in the working directory, and the environment wins over it', async () => {
    const cwd = tempDir('kms-dotenv-');
    const port = await freePort();
    fs.writeFileSync(
      path.join(cwd, '.env'),
      `# a comment\nPORT=${port}\nDATABASE_URL=memory://\nKMS_ACCESS_KEY_ID="FromDotEnvKey"\nKMS_DEFAULT_REGION=cn-dotenv\n`,
    );
    const p = launch(process.execPath, serverArgs, { KMS_DEFAULT_REGION: 'cn-environment' }, cwd);
    await until('health 200 on the port from .env', START_TIMEOUT_MS, () => healthy(port));
    const ready = p
      .out()
      .split('\n')
      .filter((l) => l.includes('KMS emulator ready'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)[0];
    const url = `http://127.0.0.1:${port}`;
    expect(ready).toMatchObject({
      msg: `KMS emulator ready at ${url}`,
      url,
      database: 'PGlite in memory (memory://: nothing is kept)',
      dataDir: 'none',
      accessKeyId: 'FromDotEnvKey',
      region: 'cn-environment',
      docs: `${url}/docs`,
    });
    expect(ready?.accessKeySecret).toContain('README.md');
    expect(p.out()).not.toContain('KmsEmulatorDevSecretDoNotUseInProd');
    expect(p.out()).toContain('read .env');
    p.child.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  }, 90_000);

  it('prints readable start-up lines with LOG_FORMAT=pretty: the URL, the database, the data directory, the key id, the docs', async () => {
    const dataDir = tempDir('kms-pretty-');
    const port = await freePort();
    const p = launch(process.execPath, serverArgs, {
      PORT: String(port),
      DATABASE_URL: '',
      KMS_DATA_DIR: dataDir,
      LOG_FORMAT: 'pretty',
    });
    await until('health 200', START_TIMEOUT_MS, () => healthy(port));
    await until('the ready lines', 5000, () => (p.out().includes('docs=') ? true : undefined));
    const out = p.out();
    expect(out).not.toContain('{"level"');
    expect(out).toMatch(new RegExp(`INFO  KMS emulator ready at http://127\\.0\\.0\\.1:${port}\n`));
    expect(out).toContain(`database="embedded PGlite in ${dataDir}"`);
    expect(out).toContain(`dataDir=${dataDir}`);
    expect(out).toContain('accessKeyId=LTAI5tKmsEmulatorDevKey');
    expect(out).toContain(`docs=http://127.0.0.1:${port}/docs`);
    expect(out).toMatch(/accessKeySecret=.*README\.md/);
    expect(out).not.toContain('KmsEmulatorDevSecretDoNotUseInProd');
    p.child.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  }, 90_000);
});
