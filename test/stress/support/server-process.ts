import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The service as a real process: `node --import tsx src/server.ts` (what `npx tsx
// src/server.ts` runs, minus the npx and tsx wrapper processes, so the pid we signal is
// the server itself: a SIGKILL must hit the process that holds the database).

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  pid: number;
  port: number;
  base: { host: string; port: number };
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const LISTENING = /Server listening at http:\/\/127\.0\.0\.1:(\d+)/;

/**
 * Starts the server with the given environment (HOST=127.0.0.1 and PORT=0 added) and
 * resolves once it logs its port. Rejects, with its output, if it exits first or takes
 * longer than startMs.
 */
export async function startServer(env: Record<string, string>, startMs = 60_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/server.ts')], {
    cwd: ROOT,
    // KMS_REGIONS=*: tests make up regions to keep their data apart.
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      KMS_REGIONS: '*',
      ...env,
      HOST: '127.0.0.1',
      PORT: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  child.stderr!.on('data', (c: Buffer) => {
    out += c.toString('utf8');
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not start within ${startMs} ms:\n${out.slice(-3000)}`));
    }, startMs);
    const onData = () => {
      const m = LISTENING.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? signal}) before listening:\n${out.slice(-3000)}`));
    });
  });
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  return {
    child,
    pid: child.pid!,
    port,
    base: { host: '127.0.0.1', port },
    output: () => out,
    exited,
    async kill(signal = 'SIGKILL') {
      if (!gone()) child.kill(signal);
      await exited;
    },
    async stop(graceMs = 10_000) {
      if (gone()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Under CI a missing prerequisite is a failure; elsewhere the test may be skipped. */
export const inCI = process.env.CI === 'true' || process.env.CI === '1';
