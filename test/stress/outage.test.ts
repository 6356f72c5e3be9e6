import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TEST_MASTER_KEY, uniqueAccount, uniqueRegion } from '../helpers/test-app.js';
import { scopeCounters } from './support/counters.js';
import { type PrivatePostgres, privatePostgresMissing, startPrivatePostgres } from './support/private-postgres.js';
import { inCI, type ServerProcess, startServer } from './support/server-process.js';
import {
  basicAuthorization,
  envelopeProblem,
  send,
  signedRpc,
  type WireRequest,
  type WireResponse,
} from './support/wire.js';

// The database goes away under load, on a PostgreSQL server of the test's own: requests
// fail fast with ServiceUnavailableTemporary (503), readiness reports 503, the service
// comes back by itself when the database does, and every write acknowledged before the
// outage is still there. Then the database stops answering without going away (SIGSTOP):
// the database timeout and the request timeout answer 503 instead of hanging.

const missing = privatePostgresMissing();
const suite = missing && !inCI ? describe.skip : describe;
const ACCOUNT = uniqueAccount();
const MAIN_ENV = { KMS_DB_TIMEOUT_MS: '500', KMS_DB_POOL_MAX: '4' };
/** A request timeout shorter than the database timeout: it answers first. */
const IMPATIENT_ENV = { KMS_DB_TIMEOUT_MS: '5000', KMS_REQUEST_TIMEOUT_MS: '300' };
/** A liveness bound for one answer, not a speed target. */
const ANSWER_WITHIN_MS = 5000;

/** The service as its own process (a crash of the process is then visible as such). */
async function startService(url: string, env: Record<string, string>): Promise<ServerProcess> {
  return startServer({
    DATABASE_URL: url,
    KMS_MASTER_KEY: TEST_MASTER_KEY,
    KMS_ACCOUNT_ID: ACCOUNT,
    KMS_SWEEP_INTERVAL_MS: '0',
    // The load is bounded by time, not by count: no quota may refuse it.
    KMS_KEY_QUOTA: '0',
    KMS_ALIAS_QUOTA: '0',
    LOG_LEVEL: 'info',
    ...env,
  });
}

/** Fails with the process's own words when it is no longer running. */
function expectAlive(s: ServerProcess, when: string) {
  if (s.child.exitCode !== null || s.child.signalCode !== null) {
    const errors = s
      .output()
      .split('\n')
      .filter((l) => /"level":(50|60)|Error|error/.test(l))
      .slice(-8)
      .join('\n');
    throw new Error(`the service process exited (${s.child.exitCode ?? s.child.signalCode}) ${when}:\n${errors}`);
  }
}

const rest = (region: string, method: string, path: string, body?: unknown): WireRequest => ({
  method,
  path: `${path}${path.includes('?') ? '&' : '?'}RegionId=${region}`,
  headers: { authorization: basicAuthorization(), ...(body !== undefined && { 'content-type': 'application/json' }) },
  body: body === undefined ? undefined : JSON.stringify(body),
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A 503 must be the contract's ServiceUnavailableTemporary envelope. */
function expectUnavailable(res: WireResponse) {
  expect([res.status, res.json?.Code], res.text.slice(0, 300)).toEqual([503, 'ServiceUnavailableTemporary']);
  expect(envelopeProblem(res)).toBeUndefined();
}

suite('database outage on a private PostgreSQL', () => {
  let server: PrivatePostgres | undefined;
  let main: ServerProcess | undefined;
  let impatient: ServerProcess | undefined;
  let direct: pg.Pool | undefined;

  beforeAll(async () => {
    if (missing) throw new Error(`${missing} (required under CI=true)`);
    server = await startPrivatePostgres();
    main = await startService(server.url('kms'), MAIN_ENV);
    impatient = await startService(server.url('kms'), IMPATIENT_ENV);
  }, 120_000);

  // One failing test must not take the next ones down with it: the database runs and
  // both instances live at the start of each test.
  beforeEach(async () => {
    if (!server) return;
    server.thaw();
    server.ensureRunning();
    const gone = (s: ServerProcess | undefined) => !s || s.child.exitCode !== null || s.child.signalCode !== null;
    if (gone(main)) main = await startService(server.url('kms'), MAIN_ENV);
    if (gone(impatient)) impatient = await startService(server.url('kms'), IMPATIENT_ENV);
  }, 120_000);

  afterAll(async () => {
    server?.thaw();
    await main?.stop();
    await impatient?.stop();
    await direct?.end().catch(() => {});
    server?.cleanup();
  });

  it('an outage under load: fast 503s, readiness 503, recovery without a restart, nothing acknowledged lost', async () => {
    const m = main!;
    const region = uniqueRegion();
    const acked = { keys: [] as string[], aliases: new Map<string, string>() };
    const seen = { ok: 0, unavailable: 0, slowest503: 0, other: [] as string[] };
    let phase: 'before' | 'down' | 'after' = 'before';
    let stopAt = Number.POSITIVE_INFINITY;
    let attempts = 0;

    /** Records an answer; anything but a success or ServiceUnavailableTemporary is a failure. */
    const note = (res: WireResponse) => {
      if (res.status < 300) {
        seen.ok++;
        return true;
      }
      if (res.status === 503 && res.json?.Code === 'ServiceUnavailableTemporary' && !envelopeProblem(res)) {
        seen.unavailable++;
        seen.slowest503 = Math.max(seen.slowest503, res.ms);
      } else seen.other.push(`${phase}: ${res.status} ${res.text.slice(0, 200)}`);
      return false;
    };

    // Four workers create keys and aliases (both faces) until told to stop.
    const worker = (w: number) =>
      work(w).catch((err: Error) => {
        seen.other.push(`${phase}: no answer (${err.message})`);
      });
    const work = async (w: number) => {
      for (let i = 0; attempts < 5000 && Date.now() < stopAt; i++) {
        attempts++;
        const key = await send(m.base, rest(region, 'POST', '/v1/keys', {}), ANSWER_WITHIN_MS);
        if (!note(key)) {
          await sleep(100);
          continue;
        }
        acked.keys.push(key.json.KeyMetadata.KeyId);
        const name = `alias/w${w}-${i}`;
        attempts++;
        const alias = await send(
          m.base,
          signedRpc(
            [
              ['Action', 'CreateAlias'],
              ['Version', '2016-01-20'],
              ['RegionId', region],
              ['AliasName', name],
              ['KeyId', key.json.KeyMetadata.KeyId],
            ],
            { method: 'POST', inForm: () => true },
          ),
          ANSWER_WITHIN_MS,
        );
        if (note(alias)) acked.aliases.set(name, key.json.KeyMetadata.KeyId);
      }
    };
    const workers = Promise.all([0, 1, 2, 3].map(worker));

    // Let some writes land, then crash the database in the middle of the load.
    const deadline = Date.now() + 30_000;
    while (acked.keys.length < 40 && Date.now() < deadline) await sleep(20);
    expect(acked.keys.length, 'writes before the outage').toBeGreaterThanOrEqual(40);
    const before = { keys: acked.keys.length, aliases: acked.aliases.size };
    server!.stopImmediate();
    phase = 'down';

    // While it is down: every answer is a fast 503, readiness says 503, liveness 200.
    const downSince = Date.now();
    const unavailableAtStop = seen.unavailable;
    await sleep(1500);
    expectAlive(m, 'while the database was down');
    const ready = await send(m.base, { method: 'GET', path: '/health/ready' }, ANSWER_WITHIN_MS);
    expect(ready.status).toBe(503);
    expect((await send(m.base, { method: 'GET', path: '/health/live' }, ANSWER_WITHIN_MS)).status).toBe(200);
    const direct503 = await send(m.base, rest(region, 'GET', '/v1/aliases'), ANSWER_WITHIN_MS);
    expectUnavailable(direct503);
    expect(seen.unavailable - unavailableAtStop, '503s while the database was down').toBeGreaterThan(0);

    // Back up: the same instance serves again within a bounded wait, without a restart.
    server!.start();
    phase = 'after';
    const upAt = Date.now();
    let recoveredMs = -1;
    while (Date.now() - upAt < 30_000) {
      const probe = await send(m.base, rest(region, 'GET', '/v1/keys'), ANSWER_WITHIN_MS);
      if (probe.status === 200) {
        recoveredMs = Date.now() - upAt;
        break;
      }
      expectUnavailable(probe);
      await sleep(100);
    }
    expectAlive(m, 'after the database came back');
    expect(recoveredMs, 'recovered within 30 s of the database coming back').toBeGreaterThanOrEqual(0);
    expect((await send(m.base, { method: 'GET', path: '/health/ready' })).status).toBe(200);
    const okBeforeMore = seen.ok;
    stopAt = Date.now() + 1500;
    await workers;
    expect(seen.ok, 'writes succeed again after the outage').toBeGreaterThan(okBeforeMore);

    expect(seen.other, `answers other than success or ServiceUnavailableTemporary:\n${seen.other.join('\n')}`).toEqual(
      [],
    );
    expect(seen.slowest503).toBeLessThan(ANSWER_WITHIN_MS);

    // Every acknowledged write is there: through the API and in the database.
    for (const keyId of acked.keys) {
      const d = await send(m.base, rest(region, 'GET', `/v1/keys/${keyId}`));
      expect(d.status, `key ${keyId}`).toBe(200);
    }
    const all: Array<{ AliasName: string; KeyId: string }> = [];
    for (let page = 1; ; page++) {
      const p = await send(m.base, rest(region, 'GET', `/v1/aliases?PageSize=100&PageNumber=${page}`));
      expect(p.status, p.text.slice(0, 200)).toBe(200);
      all.push(...p.json.Aliases);
      if (p.json.Aliases.length < 100) break;
    }
    const listedMap = new Map(all.map((x) => [x.AliasName, x.KeyId]));
    for (const [name, keyId] of acked.aliases) expect(listedMap.get(name), name).toBe(keyId);

    direct = new pg.Pool({ connectionString: server!.url('kms'), max: 2 });
    direct.on('error', () => {}); // a later test cuts every connection
    const keyRows = await direct.query<{ id: string }>('SELECT id FROM keys WHERE account_id = $1 AND region = $2', [
      ACCOUNT,
      region,
    ]);
    const ids = new Set(keyRows.rows.map((r) => r.id));
    for (const keyId of acked.keys) expect(ids.has(keyId), keyId).toBe(true);
    const aliasRows = await direct.query<{ alias_name: string; key_id: string }>(
      'SELECT alias_name, key_id FROM aliases WHERE account_id = $1 AND region = $2',
      [ACCOUNT, region],
    );
    const rows = new Map(aliasRows.rows.map((r) => [r.alias_name, r.key_id]));
    for (const [name, keyId] of acked.aliases) expect(rows.get(name), name).toBe(keyId);
    // Counters stayed exact through the crash (each write and its count commit together).
    const counters = await scopeCounters(direct, ACCOUNT, region);
    expect(counters).toEqual({ key_count: ids.size, alias_count: rows.size });
    await direct.end();
    direct = undefined;

    console.log(
      `outage: ${attempts} requests; ${before.keys} keys and ${before.aliases} aliases acknowledged before the crash, ` +
        `${acked.keys.length} and ${acked.aliases.size} in all, every one present afterwards; ` +
        `${seen.unavailable} answered 503 (slowest ${seen.slowest503} ms) during ${upAt - downSince} ms down; ` +
        `recovered ${recoveredMs} ms after the database restarted`,
    );
  }, 120_000);

  it('a database that stops answering (SIGSTOP): 503 within the timeouts, and recovery when it answers again', async () => {
    const m = main!;
    const quick = impatient!;
    const region = uniqueRegion();
    const keyId = (await send(m.base, rest(region, 'POST', '/v1/keys', {}))).json.KeyMetadata.KeyId as string;
    server!.freeze();
    let answers: WireResponse[];
    try {
      const started = Date.now();
      answers = await Promise.all([
        // KMS_DB_TIMEOUT_MS=500 answers.
        send(m.base, rest(region, 'POST', '/v1/keys', {}), ANSWER_WITHIN_MS),
        send(m.base, rest(region, 'GET', `/v1/keys/${keyId}`), ANSWER_WITHIN_MS),
        send(m.base, rest(region, 'GET', '/v1/aliases'), ANSWER_WITHIN_MS),
        send(
          m.base,
          rest(region, 'POST', '/v1/aliases', { AliasName: 'alias/frozen', KeyId: keyId }),
          ANSWER_WITHIN_MS,
        ),
        // KMS_REQUEST_TIMEOUT_MS=300 answers before its 5 s database timeout.
        send(quick.base, rest(region, 'POST', '/v1/keys', {}), ANSWER_WITHIN_MS),
        send(quick.base, rest(region, 'GET', `/v1/keys/${keyId}`), ANSWER_WITHIN_MS),
      ]);
      const ready = await send(m.base, { method: 'GET', path: '/health/ready' }, ANSWER_WITHIN_MS);
      expect(ready.status).toBe(503);
      console.log(
        `frozen database: ${answers.map((a) => `${a.status} in ${a.ms} ms`).join(', ')}; readiness 503 in ${ready.ms} ms; ` +
          `all within ${Date.now() - started} ms`,
      );
    } finally {
      server!.thaw();
    }
    for (const a of answers) expectUnavailable(a);
    // The request timeout, not the 5 s database timeout, answered on the impatient instance.
    expect(answers[4]!.ms).toBeLessThan(4000);
    expect(answers[5]!.ms).toBeLessThan(4000);

    // Both instances serve again once the database answers (stale work finishing late must not break them).
    for (const r of [m, quick]) {
      const upAt = Date.now();
      let ok = false;
      while (!ok && Date.now() - upAt < 30_000) {
        const res = await send(r.base, rest(region, 'GET', `/v1/keys/${keyId}`), ANSWER_WITHIN_MS);
        ok = res.status === 200;
        if (!ok) {
          expectUnavailable(res);
          await sleep(100);
        }
      }
      expect(ok, 'serves again within 30 s').toBe(true);
      expect((await send(r.base, rest(region, 'POST', '/v1/keys', {}))).status).toBe(201);
    }
    // Nothing failed unexpectedly, even the work that finished after its request had timed out.
    for (const r of [m, quick]) {
      expectAlive(r, 'after the freeze');
      expect(r.output()).not.toContain('unexpected error');
    }
  }, 120_000);

  it('connections cut in the middle of transactions do not take the service down', async () => {
    // The impatient instance answers 503 after 300 ms while its transactions still wait
    // on the frozen database; then every backend dies, so the open connections drop while
    // clients are checked out of the pool. The process must survive and serve again.
    const quick = impatient!;
    const region = uniqueRegion();
    const keyId = (await send(quick.base, rest(region, 'POST', '/v1/keys', {}))).json.KeyMetadata.KeyId as string;
    server!.freeze();
    let answers: WireResponse[];
    try {
      answers = await Promise.all([
        send(quick.base, rest(region, 'POST', '/v1/keys', {}), ANSWER_WITHIN_MS),
        send(
          quick.base,
          rest(region, 'POST', '/v1/aliases', { AliasName: 'alias/cut', KeyId: keyId }),
          ANSWER_WITHIN_MS,
        ),
        send(quick.base, rest(region, 'POST', `/v1/keys/${keyId}/disable`), ANSWER_WITHIN_MS),
      ]);
    } finally {
      server!.killBackendsAndThaw();
    }
    for (const a of answers) expectUnavailable(a);
    await sleep(1000);
    expectAlive(quick, 'after its database connections were cut mid-transaction');
    const upAt = Date.now();
    let ok = false;
    while (!ok && Date.now() - upAt < 30_000) {
      expectAlive(quick, 'while the database recovered');
      const res = await send(quick.base, rest(region, 'GET', `/v1/keys/${keyId}`), ANSWER_WITHIN_MS);
      ok = res.status === 200;
      if (!ok) await sleep(200);
    }
    expect(ok, 'serves again within 30 s').toBe(true);
    expect(quick.output()).not.toContain('stopping after an error');
  }, 120_000);
});
