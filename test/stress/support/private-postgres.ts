import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

// A PostgreSQL server of the test's own, in a temporary directory on a free port, that a
// test may stop, crash, freeze and restart. Never the shared server on 5432. initdb
// refuses to run as root, so every server command runs as the `postgres` user.

export interface PrivatePostgres {
  port: number;
  url(database: string): string;
  /** `pg_ctl stop -m immediate`: the server dies without a checkpoint, like a crash. */
  stopImmediate(): void;
  start(): void;
  /** Starts the server unless it is running (after a test that failed while it was down). */
  ensureRunning(): void;
  /** SIGSTOP the postmaster and its children: connections stay open, nothing answers. */
  freeze(): void;
  thaw(): void;
  /**
   * While frozen: SIGKILL every child of the postmaster (its backends among them), so
   * every open connection drops mid-query, then let the postmaster run again: it
   * restarts the server after crash recovery, as after a backend crash.
   */
  killBackendsAndThaw(): void;
  /** Thaws, stops and deletes everything; safe to call twice and after a failure. */
  cleanup(): void;
  log(): string;
}

function bindir(): string | undefined {
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim());
  } catch {
    // no pg_config on PATH
  }
  candidates.push('/usr/lib/postgresql/15/bin');
  try {
    for (const v of fs.readdirSync('/usr/lib/postgresql').sort().reverse())
      candidates.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    // no such directory
  }
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl')));
}

function postgresUser(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

/** Why a private server cannot be started here, or undefined when it can. */
export function privatePostgresMissing(): string | undefined {
  if (!bindir()) return 'no PostgreSQL binaries (initdb, pg_ctl) found via pg_config or /usr/lib/postgresql';
  const user = postgresUser();
  if (!user) return 'no postgres user to run the private server as';
  const me = process.getuid?.();
  if (me !== 0 && me !== user.uid) return 'the tests must run as root or as postgres to start a private server';
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so parse after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const missing = privatePostgresMissing();
  if (missing) throw new Error(missing);
  const bin = bindir()!;
  const user = postgresUser()!;
  const asPostgres = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    execFileSync(asPostgres ? 'runuser' : cmd, asPostgres ? ['-u', 'postgres', '--', cmd, ...args] : args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });

  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-private-pg-'));
  const data = path.join(base, 'data');
  const sockets = path.join(base, 'sockets');
  const logFile = path.join(base, 'server.log');
  fs.mkdirSync(sockets);
  for (const p of [base, sockets]) fs.chownSync(p, user.uid, user.gid);
  const port = await freePort();

  let cleaned = false;
  let frozen: number[] = [];
  const postmasterPid = () => {
    try {
      return Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n', 1)[0]);
    } catch {
      return undefined;
    }
  };
  const signal = (pids: number[], sig: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  const server: PrivatePostgres = {
    port,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start() {
      run(path.join(bin, 'pg_ctl'), [
        '-D',
        data,
        '-l',
        logFile,
        '-o',
        `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1`,
        '-w',
        '-t',
        '60',
        'start',
      ]);
    },
    ensureRunning() {
      const pid = postmasterPid();
      let alive = false;
      if (pid) {
        try {
          process.kill(pid, 0);
          alive = true;
        } catch {
          alive = false;
        }
      }
      if (!alive) server.start();
    },
    stopImmediate() {
      run(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
    },
    freeze() {
      const pid = postmasterPid();
      if (!pid) throw new Error('the private server is not running');
      // The postmaster first, so it forks no new child meanwhile.
      frozen = [pid];
      signal([pid], 'SIGSTOP');
      const children = childrenOf(pid);
      signal(children, 'SIGSTOP');
      frozen.push(...children);
    },
    thaw() {
      signal([...frozen].reverse(), 'SIGCONT');
      frozen = [];
    },
    killBackendsAndThaw() {
      const [postmaster, ...children] = frozen;
      if (postmaster === undefined) throw new Error('the private server is not frozen');
      signal(children, 'SIGKILL');
      signal([postmaster], 'SIGCONT');
      frozen = [];
    },
    cleanup() {
      if (cleaned) return;
      cleaned = true;
      server.thaw();
      try {
        if (postmasterPid()) server.stopImmediate();
      } catch {
        // not running
      }
      fs.rmSync(base, { recursive: true, force: true });
    },
    log: () => {
      try {
        return fs.readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
  try {
    run(path.join(bin, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    server.start();
    const client = new pg.Client({ connectionString: server.url('postgres') });
    await client.connect();
    await client.query('CREATE DATABASE kms');
    await client.end();
  } catch (err) {
    server.cleanup();
    throw err;
  }
  return server;
}
