import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/open.js';
import { resolveMasterKey } from '../../src/domain/crypto/master-key-store.js';
import { LogCapture } from '../helpers/test-app.js';

// The embedded database's directory is the service's alone (issue 14.3): 0700 with every
// file 0600 (PGlite's files, the master key file, the lock file) whatever the umask, and a
// warning at start-up when an existing directory was looser.

const isWindows = process.platform === 'win32';
let root: string;
let savedUmask = 0;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-modes-'));
  savedUmask = process.umask(0); // as permissive as it gets
});

afterAll(() => {
  process.umask(savedUmask);
  fs.rmSync(root, { recursive: true, force: true });
});

function modesUnder(dir: string): Array<{ path: string; mode: number; dir: boolean }> {
  const out: Array<{ path: string; mode: number; dir: boolean }> = [];
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    out.push({ path: path.relative(dir, p) || '.', mode: st.mode & 0o777, dir: st.isDirectory() });
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
  };
  walk(dir);
  return out;
}

async function openAndClose(dataDir: string, logs: LogCapture, whileOpen?: () => void) {
  process.umask(0);
  const config = loadConfig({ KMS_DATA_DIR: dataDir, LOG_LEVEL: 'info', KMS_SWEEP_INTERVAL_MS: '0' });
  const logger = pino({ level: 'info' }, logs);
  const db = await openDatabase(config, logger);
  try {
    await resolveMasterKey(config, db);
    await db.query('CREATE TABLE IF NOT EXISTS modes_probe (v text)'); // some writes of its own
    whileOpen?.();
  } finally {
    await db.close();
  }
}

describe.skipIf(isWindows)('the embedded data directory', () => {
  it('is created 0700 with every file 0600 under umask 0 (PGlite files, master key, lock)', async () => {
    const dataDir = path.join(root, 'fresh');
    let lockMode = -1;
    await openAndClose(dataDir, new LogCapture(), () => {
      lockMode = fs.statSync(path.join(dataDir, 'kms-emulator.lock')).mode & 0o777;
    });
    expect(lockMode).toBe(0o600);
    const entries = modesUnder(dataDir);
    expect(entries.length).toBeGreaterThan(100);
    expect(entries.some((e) => e.path === 'master.key')).toBe(true);
    const wrong = entries.filter((e) => e.mode !== (e.dir ? 0o700 : 0o600));
    expect(wrong.map((e) => `${e.path} ${e.mode.toString(8)}`)).toEqual([]);
  }, 120_000); // PGlite on a data directory, opened and closed

  it('warns at start-up when an existing directory is looser, and tightens it', async () => {
    const dataDir = path.join(root, 'loose');
    await openAndClose(dataDir, new LogCapture());
    fs.chmodSync(dataDir, 0o755);
    const pgdata = path.join(dataDir, 'pgdata');
    const aFile = modesUnder(pgdata).find((e) => !e.dir)!;
    fs.chmodSync(path.join(pgdata, aFile.path), 0o666);

    const logs = new LogCapture();
    await openAndClose(dataDir, logs);
    const warnings = logs.lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toContain(dataDir);
    expect(warnings[0].msg).toContain('0755');
    const wrong = modesUnder(dataDir).filter((e) => e.mode !== (e.dir ? 0o700 : 0o600));
    expect(wrong).toEqual([]);
  }, 120_000); // PGlite on a data directory, opened and closed twice
});
