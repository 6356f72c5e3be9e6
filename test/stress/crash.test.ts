import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { openTestDatabase, TEST_MASTER_KEY, uniqueAccount, uniqueRegion } from '../helpers/test-app.js';
import { scopeCounters } from './support/counters.js';
import { type ServerProcess, startServer } from './support/server-process.js';
import { basicAuthorization, send, signedRpc, type WireRequest } from './support/wire.js';

// SIGKILL the service in the middle of a load of creates, then start it again on the same
// data: it must open (on PGlite, taking over the lock file of the dead process), and every
// write it acknowledged before dying must be there. PGlite in a temporary KMS_DATA_DIR
// when TEST_DATABASE_URL is unset; PostgreSQL when it is set (so each pass of the suite
// crashes its own database).

const url = process.env.TEST_DATABASE_URL;
const TRIALS = Number(process.env.STRESS_CRASH_TRIALS ?? 2);
const CRASHES_PER_TRIAL = 2;
const ANSWER_WITHIN_MS = 10_000;

interface Acked {
  keys: string[];
  aliases: Map<string, string>;
}

const rest = (region: string, method: string, p: string, body?: unknown): WireRequest => ({
  method,
  path: `${p}${p.includes('?') ? '&' : '?'}RegionId=${region}`,
  headers: { authorization: basicAuthorization(), ...(body !== undefined && { 'content-type': 'application/json' }) },
  body: body === undefined ? undefined : JSON.stringify(body),
});

/**
 * Creates keys (REST) and aliases (RPC, form body) from four workers; the first `killAfter`
 * acknowledgements trigger `kill`. Returns every acknowledged write. Requests cut by the
 * kill simply have no answer: they were never acknowledged.
 */
async function loadUntilKilled(s: ServerProcess, region: string, acked: Acked, killAfter: number) {
  let count = 0;
  let killing: Promise<void> | undefined;
  const stats = { requests: 0, unanswered: 0, errors: [] as string[] };
  const ack = () => {
    count++;
    if (count === killAfter) killing = s.kill('SIGKILL');
  };
  const worker = async (w: number) => {
    for (let i = 0; !killing && i < 500; i++) {
      try {
        stats.requests++;
        const key = await send(s.base, rest(region, 'POST', '/v1/keys', {}), ANSWER_WITHIN_MS);
        if (key.status !== 201) {
          stats.errors.push(`${key.status} ${key.text.slice(0, 200)}`);
          continue;
        }
        const keyId = key.json.KeyMetadata.KeyId as string;
        acked.keys.push(keyId);
        ack();
        if (killing) break;
        const name = `alias/c${Date.now().toString(36)}-${w}-${i}`;
        stats.requests++;
        const alias = await send(
          s.base,
          signedRpc(
            [
              ['Action', 'CreateAlias'],
              ['Version', '2016-01-20'],
              ['RegionId', region],
              ['AliasName', name],
              ['KeyId', keyId],
            ],
            { method: 'POST', inForm: () => true },
          ),
          ANSWER_WITHIN_MS,
        );
        if (alias.status === 200) {
          acked.aliases.set(name, keyId);
          ack();
        } else stats.errors.push(`${alias.status} ${alias.text.slice(0, 200)}`);
      } catch {
        // The connection died with the process: an unanswered request is not acknowledged.
        stats.unanswered++;
        if (s.child.exitCode === null && s.child.signalCode === null && !killing) throw new Error('no answer');
        break;
      }
    }
  };
  await Promise.all([0, 1, 2, 3].map(worker));
  await (killing ?? s.kill('SIGKILL'));
  return stats;
}

/** Every acknowledged write is visible through the API of the restarted service. */
async function expectAllPresent(s: ServerProcess, region: string, acked: Acked) {
  for (const keyId of acked.keys) {
    const res = await send(s.base, rest(region, 'GET', `/v1/keys/${keyId}`), ANSWER_WITHIN_MS);
    expect(res.status, `acknowledged key ${keyId}: ${res.text.slice(0, 200)}`).toBe(200);
  }
  const listed = new Map<string, string>();
  for (let page = 1; ; page++) {
    const res = await send(s.base, rest(region, 'GET', `/v1/aliases?PageSize=100&PageNumber=${page}`));
    expect(res.status, res.text.slice(0, 200)).toBe(200);
    for (const a of res.json.Aliases as Array<{ AliasName: string; KeyId: string }>) listed.set(a.AliasName, a.KeyId);
    if (res.json.Aliases.length < 100) break;
  }
  for (const [name, keyId] of acked.aliases) expect(listed.get(name), `acknowledged alias ${name}`).toBe(keyId);
  // The counters agree with what is listed (a crash never leaves a write half-counted).
  const keys = await send(s.base, rest(region, 'GET', '/v1/keys?PageSize=1'));
  const aliases = await send(s.base, rest(region, 'GET', '/v1/aliases?PageSize=0'));
  expect(aliases.json.TotalCount).toBe(listed.size);
  expect(keys.json.TotalCount).toBeGreaterThanOrEqual(acked.keys.length);
}

const started: ServerProcess[] = [];
const tempDirs: string[] = [];
let db: Database | undefined;

afterAll(async () => {
  for (const s of started) await s.kill('SIGKILL');
  await db?.close();
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string>, what: string): Promise<ServerProcess> {
  try {
    const s = await startServer(
      { LOG_LEVEL: 'info', KMS_SWEEP_INTERVAL_MS: '0', KMS_KEY_QUOTA: '0', KMS_ALIAS_QUOTA: '0', ...env },
      90_000,
    );
    started.push(s);
    return s;
  } catch (err) {
    // The start-up's own words are the report: keep them whole in the failure.
    throw new Error(`${what}: the service did not start.\n${(err as Error).message}`);
  }
}

describe.skipIf(url !== undefined)('SIGKILL under load, embedded PGlite', () => {
  it(`${TRIALS} trials of ${CRASHES_PER_TRIAL} crashes each: the data directory reopens and nothing acknowledged is lost`, async () => {
    const summary: string[] = [];
    let totalAcked = 0;
    for (let trial = 1; trial <= TRIALS; trial++) {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kms-crash-'));
      tempDirs.push(dir);
      const env = { KMS_DATA_DIR: dir, KMS_ACCOUNT_ID: uniqueAccount() };
      const region = uniqueRegion();
      const acked: Acked = { keys: [], aliases: new Map() };
      let s = await start(env, `trial ${trial}, first start`);
      for (let crash = 1; crash <= CRASHES_PER_TRIAL; crash++) {
        const killedPid = s.pid;
        const load = await loadUntilKilled(s, region, acked, 20 + Math.floor(Math.random() * 40));
        expect(load.errors, 'answers before the kill').toEqual([]);
        // The dead process's lock is still there; the next start must take it over.
        const lock = path.join(dir, 'kms-emulator.lock');
        expect(fs.existsSync(lock), 'the lock file outlives a SIGKILL').toBe(true);
        expect(fs.readFileSync(lock, 'utf8').trim()).toMatch(new RegExp(`^${killedPid}(@|$)`));
        s = await start(env, `trial ${trial}, restart after SIGKILL ${crash} (${acked.keys.length} keys acknowledged)`);
        expect(fs.readFileSync(lock, 'utf8').trim()).toMatch(new RegExp(`^${s.pid}(@|$)`));
        expect((await send(s.base, { method: 'GET', path: '/health/ready' })).status).toBe(200);
        await expectAllPresent(s, region, acked);
        summary.push(
          `trial ${trial} crash ${crash}: ${load.requests} requests, killed after ${acked.keys.length} keys and ` +
            `${acked.aliases.size} aliases acknowledged in all; reopened, all present`,
        );
      }
      totalAcked += acked.keys.length + acked.aliases.size;
      // A clean stop releases the lock and the directory opens again.
      await s.stop();
      expect(fs.existsSync(path.join(dir, 'kms-emulator.lock'))).toBe(false);
    }
    console.log(
      `crash (PGlite): ${TRIALS * CRASHES_PER_TRIAL} SIGKILLs, ${TRIALS * CRASHES_PER_TRIAL} reopened; ` +
        `${totalAcked} acknowledged writes, none lost\n  ${summary.join('\n  ')}`,
    );
  }, 300_000);
});

describe.skipIf(url === undefined)('SIGKILL under load, PostgreSQL', () => {
  it(`${CRASHES_PER_TRIAL} crashes: every acknowledged write is in the database after the restart`, async () => {
    db = await openTestDatabase();
    const account = uniqueAccount();
    const env = { DATABASE_URL: url!, KMS_MASTER_KEY: TEST_MASTER_KEY, KMS_ACCOUNT_ID: account };
    const region = uniqueRegion();
    const acked: Acked = { keys: [], aliases: new Map() };
    let s = await start(env, 'first start');
    const summary: string[] = [];
    for (let crash = 1; crash <= CRASHES_PER_TRIAL; crash++) {
      const load = await loadUntilKilled(s, region, acked, 30 + Math.floor(Math.random() * 40));
      expect(load.errors, 'answers before the kill').toEqual([]);
      s = await start(env, `restart after SIGKILL ${crash}`);
      await expectAllPresent(s, region, acked);
      summary.push(
        `crash ${crash}: ${load.requests} requests, ${acked.keys.length} keys, ${acked.aliases.size} aliases acknowledged in all`,
      );
    }
    // And in the database itself, with exact counters.
    const args = [account, region];
    const keys = new Set(
      (await db.query<{ id: string }>('SELECT id FROM keys WHERE account_id = $1 AND region = $2', args)).rows.map(
        (r) => r.id,
      ),
    );
    const aliases = new Map(
      (
        await db.query<{ alias_name: string; key_id: string }>(
          'SELECT alias_name, key_id FROM aliases WHERE account_id = $1 AND region = $2',
          args,
        )
      ).rows.map((r) => [r.alias_name, r.key_id]),
    );
    for (const k of acked.keys) expect(keys.has(k), k).toBe(true);
    for (const [name, k] of acked.aliases) expect(aliases.get(name), name).toBe(k);
    expect(await scopeCounters(db, account, region)).toEqual({ key_count: keys.size, alias_count: aliases.size });
    await s.stop();
    console.log(
      `crash (PostgreSQL): ${CRASHES_PER_TRIAL} SIGKILLs; ${acked.keys.length + acked.aliases.size} acknowledged writes, none lost\n  ${summary.join('\n  ')}`,
    );
  }, 300_000);
});
