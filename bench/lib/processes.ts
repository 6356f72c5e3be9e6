// Child processes of the benchmark: started in their own process group, always stopped
// (SIGTERM, then SIGKILL after a grace period), and stopped again by an exit hook if the
// benchmark itself dies.

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const children = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {}
  }
}

// Last resort: whatever is still running when we exit is killed, by its own process group.
process.on('exit', () => {
  for (const child of children) killGroup(child, 'SIGKILL');
});

export interface Started {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Where stderr went (read on failure). */
  stderrFile: string;
}

export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** stdout goes here (a file, or /dev/null). */
  stdoutFile: string;
  stderrFile: string;
  cwd?: string;
}

export function start(opts: StartOptions): Started {
  const out = openSync(opts.stdoutFile, 'a');
  const err = openSync(opts.stderrFile, 'a');
  const child = spawn(opts.command, opts.args, {
    env: opts.env,
    cwd: opts.cwd,
    stdio: ['ignore', out, err],
    detached: true,
  });
  closeSync(out);
  closeSync(err);
  if (child.pid === undefined) throw new Error(`${opts.name}: could not start ${opts.command}`);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return { name: opts.name, child, pid: child.pid, stderrFile: opts.stderrFile };
}

export function exited(p: Started): boolean {
  return p.child.exitCode !== null || p.child.signalCode !== null;
}

/** SIGTERM (a clean close: PGlite checkpoints, --cpu-prof writes its profile), SIGKILL after graceMs. */
export async function stop(p: Started, graceMs = 15_000): Promise<void> {
  if (exited(p)) return;
  const done = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
  killGroup(p.child, 'SIGTERM');
  const timer = setTimeout(() => killGroup(p.child, 'SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

export function stopAllNow() {
  for (const child of children) killGroup(child, 'SIGKILL');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `url` answers one of `okStatuses` (any status when omitted), or fails after timeoutMs. */
export async function waitForHttp(
  p: Started,
  url: string,
  timeoutMs: number,
  init: RequestInit = {},
  accept: (status: number) => boolean = () => true,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (exited(p)) throw new Error(`${p.name} exited during start-up:\n${tail(p.stderrFile)}`);
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (accept(res.status)) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(200);
  }
  throw new Error(`${p.name} not ready after ${timeoutMs} ms (${last}):\n${tail(p.stderrFile)}`);
}

export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Resident set size and its peak, in MiB, from /proc (Linux). */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** A child started elsewhere (the forked load generator): killed by the exit hook too. */
export function adopt(child: ChildProcess) {
  children.add(child);
  child.once('exit', () => children.delete(child));
}
