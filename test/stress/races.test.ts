import { describe, expect, it } from 'vitest';
import { FACES, face } from '../helpers/faces.js';
import { makeApp, onPostgres, type TestApp, uniqueAccount, uniqueRegion, useTestApp } from '../helpers/test-app.js';
import { scopeCounters } from './support/counters.js';

// Concurrent requests on the same alias, key and quota: whatever the interleaving, the
// final state must be one that some serial order of the successful requests produces,
// every refusal must be one that order explains, and no request may fail with a 500.
// On PGlite everything runs one query at a time, so these prove most on PostgreSQL
// (TEST_DATABASE_URL); they must pass on both.

const ACCOUNT = uniqueAccount();
const DAY_MS = 86_400_000;
const t = useTestApp({ KMS_ACCOUNT_ID: ACCOUNT, LOG_LEVEL: 'warn' });
const stats = { rounds: 0, requests: 0 };

interface Outcome {
  ok: boolean;
  status: number;
  code?: string;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field
  body: any;
}

async function run(request: PromiseLike<{ status: number; body: unknown }>): Promise<Outcome> {
  const res = await request;
  stats.requests++;
  const body = (res.body ?? {}) as Record<string, unknown>;
  const code = typeof body.Code === 'string' ? body.Code : undefined;
  return { ok: res.status >= 200 && res.status < 300 && code === undefined, status: res.status, code, body };
}

/** Each request through a face chosen at random, so the two faces race each other too. */
function faces(app: TestApp, region: string) {
  const both = FACES.map((name) => face(name, app.http, region));
  return { any: () => both[Math.floor(Math.random() * both.length)]!, rpc: both[0]!, rest: both[1]! };
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** No 500 and no code outside the allowed ones. */
function expectOnly(outcomes: Outcome[], allowed: string[], what: string) {
  for (const o of outcomes) {
    if (o.ok) continue;
    if (!o.code || !allowed.includes(o.code)) {
      throw new Error(`${what}: unexpected ${o.status} ${JSON.stringify(o.body).slice(0, 300)}`);
    }
  }
}

async function rows(region: string, account = ACCOUNT) {
  const args = [account, region];
  const aliases = await t.db.query<{ alias_name: string; key_id: string }>(
    'SELECT alias_name, key_id FROM aliases WHERE account_id = $1 AND region = $2',
    args,
  );
  const keys = await t.db.query<{ id: string; state: string }>(
    'SELECT id, state FROM keys WHERE account_id = $1 AND region = $2',
    args,
  );
  return {
    aliases: new Map(aliases.rows.map((r) => [r.alias_name, r.key_id])),
    keys: new Map(keys.rows.map((r) => [r.id, r.state])),
    counters: await scopeCounters(t.db, account, region),
  };
}

/** The per-scope counters equal the real row counts, and every alias points at a key of its scope. */
async function expectConsistent(region: string, account = ACCOUNT) {
  const r = await rows(region, account);
  expect(r.counters, `counters of ${region}`).toEqual({ key_count: r.keys.size, alias_count: r.aliases.size });
  for (const [name, keyId] of r.aliases) expect(r.keys.has(keyId), `${name} -> ${keyId}`).toBe(true);
  return r;
}

type Op = { kind: 'create' | 'update'; key: string } | { kind: 'delete' };

/**
 * One alias name, concurrent create/update/delete: checks the outcomes and the final state
 * against what a serial order allows (a register that creates, re-points and deletes).
 */
function checkRegister(
  initial: string | undefined,
  ops: Op[],
  outcomes: Outcome[],
  final: string | undefined,
  what: string,
) {
  const okOf = (kind: Op['kind']) => ops.filter((op, i) => op.kind === kind && outcomes[i]!.ok);
  const failedOf = (kind: Op['kind']) => ops.filter((op, i) => op.kind === kind && !outcomes[i]!.ok);
  const c = okOf('create').length;
  const d = okOf('delete').length;
  const present = initial !== undefined;
  const ctx = `${what}: initial ${initial ?? 'absent'}, ${c} creates and ${d} deletes succeeded, final ${final ?? 'absent'}`;
  // Successful creates and deletes alternate, starting from the initial state.
  if (present) expect(d - c, ctx).toBeGreaterThanOrEqual(0);
  else expect(c - d, ctx).toBeGreaterThanOrEqual(0);
  expect(Math.abs(c - d), ctx).toBeLessThanOrEqual(1);
  expect(final !== undefined, ctx).toBe(present ? d === c : c === d + 1);
  // A refusal needs a moment that explains it.
  const everPresent = present || c > 0;
  const everAbsent = !present || d > 0;
  if (failedOf('create').length > 0) expect(everPresent, `${ctx}: a create was refused`).toBe(true);
  if (failedOf('update').length + failedOf('delete').length > 0) {
    expect(everAbsent, `${ctx}: an update or delete was refused`).toBe(true);
  }
  if (okOf('update').length > 0) expect(everPresent, `${ctx}: an update succeeded`).toBe(true);
  // The final key was set by a successful create or update (or it is the initial one).
  if (final !== undefined) {
    const setters = [...okOf('create'), ...okOf('update')].map((op) => (op as { key: string }).key);
    if (d === 0 && present) setters.push(initial!);
    expect(setters, ctx).toContain(final);
  }
}

describe.each([Number(process.env.STRESS_RACE_ROUNDS ?? 4)])('races (%i rounds each)', (ROUNDS) => {
  it('concurrent creates of one name: exactly one wins, the others are AliasAlreadyExists', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const region = uniqueRegion();
      const f = faces(t, region);
      const keys = await Promise.all([f.rpc.newKey(), f.rest.newKey(), f.rpc.newKey()]);
      const outcomes = await Promise.all(
        Array.from({ length: 30 }, (_, i) => run(f.any().createAlias('alias/race', keys[i % keys.length]!))),
      );
      expectOnly(outcomes, ['AliasAlreadyExists'], 'create race');
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      const r = await expectConsistent(region);
      expect([...r.aliases.keys()]).toEqual(['alias/race']);
      expect(keys).toContain(r.aliases.get('alias/race'));
      const winner = outcomes.find((o) => o.ok)!;
      if (winner.body.Alias) expect(winner.body.Alias.KeyId).toBe(r.aliases.get('alias/race'));
      stats.rounds++;
    }
  }, 120_000);

  it('creates, updates and deletes of one name racing: a serial order explains every answer', async () => {
    for (let round = 0; round < ROUNDS + 3; round++) {
      const region = uniqueRegion();
      const f = faces(t, region);
      const keys = await Promise.all(Array.from({ length: 4 }, () => f.any().newKey()));
      const initial = round % 2 === 0 ? keys[0] : undefined;
      if (initial) expect((await run(f.rpc.createAlias('alias/reg', initial))).ok).toBe(true);
      const ops: Op[] = shuffle(
        Array.from({ length: 30 }, (_, i): Op => {
          const key = keys[i % keys.length]!;
          return i % 3 === 0 ? { kind: 'create', key } : i % 3 === 1 ? { kind: 'update', key } : { kind: 'delete' };
        }),
      );
      const outcomes = await Promise.all(
        ops.map((op) => {
          const g = f.any();
          return run(
            op.kind === 'create'
              ? g.createAlias('alias/reg', op.key)
              : op.kind === 'update'
                ? g.updateAlias('alias/reg', op.key)
                : g.deleteAlias('alias/reg'),
          );
        }),
      );
      for (const [i, op] of ops.entries()) {
        const allowed = op.kind === 'create' ? ['AliasAlreadyExists'] : ['Forbidden.AliasNotFound'];
        expectOnly([outcomes[i]!], allowed, `${op.kind} in the mixed race`);
      }
      const r = await expectConsistent(region);
      checkRegister(initial, ops, outcomes, r.aliases.get('alias/reg'), `round ${round}`);
      // The API agrees with the database.
      const described = await run(f.rpc.describeKey('alias/reg'));
      if (r.aliases.has('alias/reg')) expect(described.body.KeyMetadata?.KeyId).toBe(r.aliases.get('alias/reg'));
      else expect(described.code).toBe('Forbidden.AliasNotFound');
      stats.rounds++;
    }
  }, 120_000);

  it('updates racing deletes: one delete wins, updates before it succeed, the alias is gone', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const region = uniqueRegion();
      const f = faces(t, region);
      const keys = await Promise.all(Array.from({ length: 3 }, () => f.any().newKey()));
      expect((await run(f.rest.createAlias('alias/upd', keys[0]!))).ok).toBe(true);
      const ops: Op[] = shuffle([
        ...Array.from({ length: 20 }, (_, i): Op => ({ kind: 'update', key: keys[i % 3]! })),
        ...Array.from({ length: 10 }, (): Op => ({ kind: 'delete' })),
      ]);
      const outcomes = await Promise.all(
        ops.map((op) =>
          run(op.kind === 'update' ? f.any().updateAlias('alias/upd', op.key) : f.any().deleteAlias('alias/upd')),
        ),
      );
      expectOnly(outcomes, ['Forbidden.AliasNotFound'], 'update/delete race');
      expect(outcomes.filter((o, i) => o.ok && ops[i]!.kind === 'delete')).toHaveLength(1);
      const r = await expectConsistent(region);
      expect(r.aliases.size).toBe(0);
      checkRegister(keys[0], ops, outcomes, undefined, `round ${round}`);
      // Deleting an alias never touches its keys.
      expect(r.keys.size).toBe(3);
      stats.rounds++;
    }
  }, 120_000);

  it("deletes racing a key's ScheduleKeyDeletion and the clock passing its window", async () => {
    // The clock moves by days, past any signature's validity: these requests are unsigned.
    const clocked = await makeApp(t.db, { KMS_ACCOUNT_ID: ACCOUNT, KMS_AUTH: 'off', LOG_LEVEL: 'warn' });
    t.extra.push(clocked);
    for (let round = 0; round < ROUNDS; round++) {
      const region = uniqueRegion();
      const f = faces(clocked, region);
      const doomed = await f.rpc.newKey();
      const kept = await f.rest.newKey();
      const names = Array.from({ length: 8 }, (_, i) => `alias/d${i}`);
      for (const name of names) expect((await run(f.any().createAlias(name, doomed))).ok).toBe(true);
      expect((await run(f.any().createAlias('alias/kept', kept))).ok).toBe(true);

      // First wave: deletes race the scheduling.
      const wave1 = await Promise.all([
        ...names.slice(0, 3).map((n) => run(f.any().deleteAlias(n))),
        run(f.any().scheduleKeyDeletion(doomed, 7)),
        run(f.any().createAlias('alias/late', doomed)),
      ]);
      expectOnly(wave1, ['Rejected.StateModifiedFailed'], 'first wave');
      expect(wave1.slice(0, 4).every((o) => o.ok)).toBe(true);

      // Second wave: the clock passes the window while requests are in flight; each purges.
      const wave2 = [
        ...names.slice(3).map((n) => run(f.any().deleteAlias(n))),
        run(f.any().updateAlias('alias/kept', doomed)),
        run(f.any().createAlias('alias/later', doomed)),
        run(f.any().listAliases({ PageSize: 100 })),
        run(f.any().listAliasesByKeyId(doomed)),
        run(f.any().describeKey('alias/d7')),
      ];
      await new Promise((resolve) => setImmediate(resolve));
      clocked.advance(8 * DAY_MS);
      const outcomes = await Promise.all(wave2);
      expectOnly(
        outcomes,
        [
          'Forbidden.AliasNotFound',
          'Forbidden.KeyNotFound',
          'Rejected.PendingDeletion',
          'Rejected.StateModifiedFailed',
        ],
        'second wave',
      );
      // After the window: the key, its versions and every alias of it are gone, counted right.
      const listed = await run(f.rpc.listAliases({ PageSize: 100 }));
      // (alias/late, if it was created before the scheduling, went with its key.)
      expect(f.rpc.aliasesOf(listed.body).map((a) => a.AliasName)).toEqual(['alias/kept']);
      expect((await run(f.rest.describeKey(doomed))).code).toBe('Forbidden.KeyNotFound');
      const r = await expectConsistent(region);
      expect([...r.aliases.entries()]).toEqual([['alias/kept', kept]]);
      expect([...r.keys.keys()]).toEqual([kept]);
      const versions = await t.db.query(
        'SELECT 1 FROM key_versions WHERE account_id = $1 AND region = $2 AND key_id = $3',
        [ACCOUNT, region, doomed],
      );
      expect(versions.rows).toHaveLength(0);
      stats.rounds++;
    }
  }, 120_000);

  it('creates racing at the alias quota, with deletes freeing places, never pass it', async () => {
    const small = await makeApp(t.db, { KMS_ACCOUNT_ID: ACCOUNT, KMS_ALIAS_QUOTA: '5', LOG_LEVEL: 'warn' });
    t.extra.push(small);
    for (let round = 0; round < ROUNDS; round++) {
      const region = uniqueRegion();
      const f = faces(small, region);
      const key = await f.any().newKey();
      for (const n of ['alias/old0', 'alias/old1', 'alias/old2'])
        expect((await run(f.any().createAlias(n, key))).ok).toBe(true);
      const ops = shuffle([
        ...Array.from({ length: 20 }, (_, i) => ({ kind: 'create' as const, name: `alias/new${i}` })),
        ...['alias/old0', 'alias/old1', 'alias/old2'].map((name) => ({ kind: 'delete' as const, name })),
      ]);
      const outcomes = await Promise.all(
        ops.map((op) => run(op.kind === 'create' ? f.any().createAlias(op.name, key) : f.any().deleteAlias(op.name))),
      );
      expectOnly(outcomes, ['Rejected.LimitExceeded'], 'quota race');
      const created = ops.filter((op, i) => op.kind === 'create' && outcomes[i]!.ok).map((op) => op.name);
      const deleted = ops.filter((op, i) => op.kind === 'delete' && outcomes[i]!.ok).length;
      expect(deleted).toBe(3);
      // Two places were free at the start, three more were freed: between 2 and 5 creates win.
      expect(created.length).toBeGreaterThanOrEqual(2);
      expect(created.length).toBeLessThanOrEqual(5);
      const r = await expectConsistent(region);
      expect([...r.aliases.keys()].sort()).toEqual(created.sort());
      expect(r.aliases.size).toBeLessThanOrEqual(5);
      stats.rounds++;
    }
  }, 120_000);

  it('creates racing at the key quota never pass it', async () => {
    const small = await makeApp(t.db, { KMS_ACCOUNT_ID: ACCOUNT, KMS_KEY_QUOTA: '5', LOG_LEVEL: 'warn' });
    t.extra.push(small);
    for (let round = 0; round < ROUNDS; round++) {
      const region = uniqueRegion();
      const f = faces(small, region);
      const outcomes = await Promise.all(Array.from({ length: 15 }, () => run(f.any().createKey())));
      expectOnly(outcomes, ['Rejected.LimitExceeded'], 'key quota race');
      expect(outcomes.filter((o) => o.ok)).toHaveLength(5);
      const r = await expectConsistent(region);
      expect(r.keys.size).toBe(5);
      stats.rounds++;
    }
  }, 120_000);

  it('CreateAlias racing ScheduleKeyDeletion of its key: each create is either in or refused', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const region = uniqueRegion();
      const f = faces(t, region);
      const key = await f.any().newKey();
      const names = Array.from({ length: 12 }, (_, i) => `alias/s${i}`);
      const all = shuffle<{ name?: string }>([...names.map((name) => ({ name })), {}]);
      const outcomes = await Promise.all(
        all.map((op) => run(op.name ? f.any().createAlias(op.name, key) : f.any().scheduleKeyDeletion(key, 7))),
      );
      expectOnly(outcomes, ['Rejected.StateModifiedFailed'], 'create/schedule race');
      expect(outcomes[all.findIndex((op) => !op.name)]!.ok).toBe(true);
      const created = all.filter((op, i) => op.name && outcomes[i]!.ok).map((op) => op.name!);
      const r = await expectConsistent(region);
      expect([...r.aliases.keys()].sort()).toEqual(created.sort());
      expect(r.keys.get(key)).toBe('PendingDeletion');
      stats.rounds++;
    }
  }, 120_000);

  it('two accounts racing for the same name each get exactly one', async () => {
    const other = uniqueAccount();
    const second = await makeApp(t.db, { KMS_ACCOUNT_ID: other, LOG_LEVEL: 'warn' });
    t.extra.push(second);
    for (let round = 0; round < ROUNDS; round++) {
      const region = uniqueRegion();
      const f = faces(t, region);
      const g = faces(second, region);
      const [k1, k2] = await Promise.all([f.any().newKey(), g.any().newKey()]);
      const outcomes = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          run(i % 2 ? f.any().createAlias('alias/shared', k1) : g.any().createAlias('alias/shared', k2)),
        ),
      );
      expectOnly(outcomes, ['AliasAlreadyExists'], 'two-account race');
      expect(outcomes.filter((o, i) => o.ok && i % 2 === 1)).toHaveLength(1);
      expect(outcomes.filter((o, i) => o.ok && i % 2 === 0)).toHaveLength(1);
      expect((await expectConsistent(region)).aliases.get('alias/shared')).toBe(k1);
      expect((await expectConsistent(region, other)).aliases.get('alias/shared')).toBe(k2);
      stats.rounds++;
    }
  }, 120_000);

  it('reports the figures', () => {
    console.log(
      `races on ${onPostgres ? 'PostgreSQL' : 'PGlite'}: ${stats.rounds} rounds, ${stats.requests} requests, no 500`,
    );
  });
});
