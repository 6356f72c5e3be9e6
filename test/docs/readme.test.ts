import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

// README.md is tested (issue 15, item 7). Its fenced blocks are read from the file itself,
// so this test follows the README as it changes, and each is classified by its info string:
//
//   sh, bash, shell    run with bash, in README order, against the service this file starts
//   js, javascript     written to a scratch folder and run with node (the repo's node_modules);
//                      a block that imports vitest is a test file and runs with vitest
//   ... no-run         (e.g. ```sh no-run) not run: starting the service, Docker, development
//                      commands; the README says what each does instead
//   yaml               a file to copy: must parse
//   text               output shown to the reader
//
// Any other block fails the test until it is marked or this list learns its language.
//
// The service is started as `npm start` starts it (node --import tsx src/server.ts) with
// every documented default (credentials, region, auth on), on a free port: the one change
// made to a block is that `127.0.0.1:8080` becomes that port. Shell blocks run under
// `set -euo pipefail` with curl given --fail-with-body, so a block passes only if every
// command in it succeeds and every HTTP answer is below 400. A JavaScript block passes if
// it exits 0 (an awaited SDK error rejects and exits 1).
//
// PGlite pass: the service runs on memory://. PostgreSQL pass (TEST_DATABASE_URL): on a
// database of its own created on that server and dropped afterwards, because the README's
// admin block resets every account, which would wipe other test files' rows.
//
// `alibaba-kms-emulator` in a vitest block resolves to src/index.ts here (the packed
// package is tested by test/package/package.test.ts).

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const README = path.join(REPO, 'README.md');
const TSX = import.meta.resolve('tsx');
const START_TIMEOUT_MS = 60_000;
const DOCUMENTED_HOST = '127.0.0.1:8080';

type Kind = 'shell' | 'javascript' | 'yaml' | 'text';
const KINDS: Record<string, Kind> = {
  sh: 'shell',
  bash: 'shell',
  shell: 'shell',
  js: 'javascript',
  javascript: 'javascript',
  yaml: 'yaml',
  text: 'text',
};

interface Block {
  line: number; // 1-based line of the opening fence
  info: string;
  kind: Kind | undefined;
  noRun: boolean;
  body: string;
  heading: string;
}

/** Every fenced block of a Markdown text, with its info string and the heading above it. */
function fencedBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let heading = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, '');
    const open = /^( {0,3})(`{3,}|~{3,})(.*)$/.exec(line);
    if (!open) continue;
    const [, indent = '', fence = '', infoText = ''] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j] ?? '';
      if (l.trim().startsWith(fence) && l.trim().replace(/[`~]/g, '') === '') break;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l);
    }
    const info = infoText.trim();
    const words = info.split(/\s+/).filter(Boolean);
    blocks.push({
      line: i + 1,
      info,
      kind: KINDS[words[0] ?? ''],
      noRun: words.includes('no-run'),
      body: `${body.join('\n')}\n`,
      heading,
    });
    i = j;
  }
  return blocks;
}

const blocks = fencedBlocks(fs.readFileSync(README, 'utf8'));
const label = (b: Block) => `line ${b.line} (${b.info || 'no info string'}, under "${b.heading}")`;
const runnable = blocks.filter((b) => (b.kind === 'shell' || b.kind === 'javascript') && !b.noRun);

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

/** A child's environment: a user's shell, without this run's vitest and database variables. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('VITEST') || k === 'TEST_DATABASE_URL' || k === 'NODE_OPTIONS' || k.startsWith('npm_')) continue;
    if (k === 'DATABASE_URL' || k.startsWith('KMS_') || k === 'PORT' || k === 'HOST' || k.startsWith('LOG_')) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    child.stderr?.on('data', (d: Buffer) => {
      output += d.toString('utf8');
    });
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      setImmediate(() => resolve({ code, signal, output }));
    });
  });
}

let server: ChildProcess | undefined;
let serverLog = '';
let port = 0;
let scratch = '';
let ownDatabase: { admin: string; name: string } | undefined;

/** PostgreSQL pass: a database of this file's own on the TEST_DATABASE_URL server. */
async function createOwnDatabase(testUrl: string): Promise<string> {
  const name = `kms_readme_${process.pid}_${randomBytes(3).toString('hex')}`;
  const client = new pg.Client({ connectionString: testUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  ownDatabase = { admin: testUrl, name };
  const url = new URL(testUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropOwnDatabase(): Promise<void> {
  if (!ownDatabase) return;
  const client = new pg.Client({ connectionString: ownDatabase.admin });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${ownDatabase.name} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

async function healthy(): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health/ready`, { signal: AbortSignal.timeout(1000) });
    return res.status === 200;
  } catch {
    return false;
  }
}

describe('README.md', () => {
  it('has only blocks this test can classify: sh, js (each may be marked no-run), yaml, text', () => {
    const unknown = blocks.filter((b) => b.kind === undefined).map(label);
    expect(unknown, 'blocks of no known kind: mark them or teach this test').toEqual([]);
    const misplaced = blocks.filter((b) => b.noRun && b.kind !== 'shell' && b.kind !== 'javascript').map(label);
    expect(misplaced, 'no-run belongs on sh and js blocks only').toEqual([]);
    // The README's own walkthroughs are here: a change that marks them all no-run shows.
    expect(runnable.filter((b) => b.kind === 'shell').length).toBeGreaterThanOrEqual(2);
    expect(runnable.filter((b) => b.kind === 'javascript').length).toBeGreaterThanOrEqual(2);
  });

  it.each(blocks.filter((b) => b.kind === 'yaml').map((b) => [label(b), b] as const))(
    'yaml block at %s parses',
    (_label, block) => {
      const errors = parseAllDocuments(block.body).flatMap((d) => ('errors' in d ? d.errors : []));
      expect(errors.map((e) => e.message)).toEqual([]);
    },
  );
});

describe('README.md blocks, run against the service', () => {
  beforeAll(async () => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-readme-'));
    // The repo's node_modules for the JavaScript blocks (node resolves from the file's folder up).
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(scratch, 'node_modules'), 'dir');
    port = await freePort();
    const testUrl = process.env.TEST_DATABASE_URL;
    const database: Record<string, string> = testUrl
      ? { DATABASE_URL: await createOwnDatabase(testUrl), KMS_MASTER_KEY: randomBytes(32).toString('base64') }
      : { DATABASE_URL: 'memory://' };
    // cwd is the scratch folder, so a developer's .env in the repo changes nothing here.
    server = spawn(process.execPath, ['--import', TSX, path.join(REPO, 'src/server.ts')], {
      cwd: scratch,
      env: userEnv({ PORT: String(port), LOG_FORMAT: 'json', LOG_LEVEL: 'warn', ...database }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout?.on('data', (d: Buffer) => {
      serverLog += d.toString('utf8');
    });
    server.stderr?.on('data', (d: Buffer) => {
      serverLog += d.toString('utf8');
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await healthy())) {
      if (server.exitCode !== null) throw new Error(`the service exited at start:\n${serverLog}`);
      if (Date.now() > deadline)
        throw new Error(`the service was not ready within ${START_TIMEOUT_MS} ms:\n${serverLog}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }, START_TIMEOUT_MS + 30_000);

  afterAll(async () => {
    if (server && server.exitCode === null) {
      const exited = new Promise((r) => server?.once('exit', r));
      server.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (server.exitCode === null) server.kill('SIGKILL');
    }
    await dropOwnDatabase();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  }, 40_000);

  // README order: later blocks may use what earlier ones made, as a reader's would.
  it.each(runnable.map((b) => [label(b), b] as const))(
    '%s runs',
    async (_label, block) => {
      const body = block.body.replaceAll(DOCUMENTED_HOST, `127.0.0.1:${port}`);
      let result: Run;
      if (block.kind === 'shell') {
        const preamble = 'set -euo pipefail\ncurl() { command curl --fail-with-body --show-error "$@"; }\n';
        const file = path.join(scratch, `block-${block.line}.sh`);
        fs.writeFileSync(file, preamble + body);
        result = await run('bash', [file], scratch, userEnv(), 60_000);
      } else if (/from ['"]vitest['"]/.test(body)) {
        const file = path.join(scratch, `block-${block.line}.test.mjs`);
        fs.writeFileSync(file, body);
        const config = path.join(scratch, 'vitest.config.mjs');
        const alias = { 'alibaba-kms-emulator': path.join(REPO, 'src/index.ts') };
        fs.writeFileSync(config, `export default { resolve: { alias: ${JSON.stringify(alias)} } };\n`);
        const vitest = path.join(REPO, 'node_modules/vitest/vitest.mjs');
        const args = [vitest, 'run', '--root', scratch, '--config', config, path.basename(file)];
        result = await run(process.execPath, args, scratch, userEnv({ CI: 'true' }), 150_000);
      } else {
        const file = path.join(scratch, `block-${block.line}.mjs`);
        fs.writeFileSync(file, body);
        result = await run(process.execPath, [file], scratch, userEnv(), 60_000);
      }
      expect({ code: result.code, signal: result.signal }, `${label(block)} failed:\n${result.output}`).toEqual({
        code: 0,
        signal: null,
      });
    },
    180_000,
  );
});
