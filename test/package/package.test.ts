import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The package as a user gets it (issue 15, item 3): `npm pack` (which builds dist/ first),
// the tarball installed in a scratch project under the OS temp directory, outside the repo,
// then there: a vitest file that uses the harness with @alicloud/kms20160120, and the bin.
//
// The install is `npm install --prefer-offline`: every tarball comes from npm's cache, which
// the repository's own install filled, but npm still asks the registry for the package
// documents (packuments) it has not cached, since the repo's install went by its lock file.
// The slowest test of the suite: about 30 s to build, 5 to 25 s to install, 15 s to run.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixture/harness-fixture.ts', import.meta.url));

let scratch: string;

/** The environment of a user's shell: none of this run's vitest or database variables. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('VITEST') || k === 'TEST_DATABASE_URL' || k === 'NODE_OPTIONS' || k.startsWith('npm_')) continue;
    env[k] = v;
  }
  return { ...env, CI: 'true' };
}

function run(command: string, args: string[], cwd: string, timeoutMs: number) {
  const result = spawnSync(command, args, { cwd, env: userEnv(), encoding: 'utf8', timeout: timeoutMs });
  const output = `${result.stdout ?? ''}\n${result.stderr ?? ''}`;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${output}`);
  return output;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// The package starts its own in-memory emulator whatever TEST_DATABASE_URL says, so the
// suite's PGlite pass runs it and the PostgreSQL pass (.ci/run) does not repeat it.
describe.skipIf(Boolean(process.env.TEST_DATABASE_URL))('the package installed from its tarball', () => {
  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'kms-package-'));
    run('npm', ['pack', '--pack-destination', scratch], ROOT, 180_000);
    const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack made no tarball');
    writeFileSync(
      path.join(scratch, 'package.json'),
      JSON.stringify({
        name: 'kms-package-scratch',
        private: true,
        type: 'module',
        devDependencies: {
          'alibaba-kms-emulator': `file:./${tarball}`,
          '@alicloud/kms20160120': '1.2.0',
          '@alicloud/openapi-client': '0.4.15',
          vitest: '4.1.12',
        },
        overrides: { vite: '8.3.8' },
      }),
    );
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], scratch, 240_000);
    copyFileSync(FIXTURE, path.join(scratch, 'kms.test.ts'));
  }, 420_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('runs a test suite that uses startEmulator with the official SDK, installed from the tarball', () => {
    const output = run('npx', ['vitest', 'run', '--root', scratch], scratch, 180_000);
    expect(output).toContain('2 passed');
  }, 200_000);

  it('starts the service with npx and its flags', async () => {
    expect(run('npx', ['alibaba-kms-emulator', '--help'], scratch, 60_000)).toContain('--data-dir <dir>');

    const port = await freePort();
    const child = spawn('npx', ['alibaba-kms-emulator', '--memory', '--port', String(port)], {
      cwd: scratch,
      env: userEnv(),
      stdio: 'ignore',
      detached: true, // its own process group, so the whole npx tree stops with it
    });
    try {
      const deadline = Date.now() + 90_000;
      let status = 0;
      while (Date.now() < deadline && status !== 200) {
        status = await fetch(`http://127.0.0.1:${port}/health/live`).then(
          (r) => r.status,
          () => 0,
        );
        if (status !== 200) await new Promise((r) => setTimeout(r, 250));
      }
      expect(status).toBe(200);
      const clock = await fetch(`http://127.0.0.1:${port}/_emulator/clock`, {
        headers: {
          authorization: `Basic ${Buffer.from('LTAI5tKmsEmulatorDevKey:KmsEmulatorDevSecretDoNotUseInProd').toString('base64')}`,
        },
      });
      expect(clock.status).toBe(200);
    } finally {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
    }
  }, 120_000);
});
