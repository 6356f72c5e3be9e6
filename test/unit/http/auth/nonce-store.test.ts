import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../../src/db/database.js';
import { createDbNonceStore, createMemoryNonceStore } from '../../../../src/http/auth/nonce-store.js';
import { MAX_CLOCK_SKEW_MS } from '../../../../src/http/auth/signature.js';
import { openTestDatabase } from '../../../helpers/test-app.js';

// The database nonce store batches the nonces that arrive while a statement is in flight.
// Batching must not change a single answer: every fresh nonce is accepted once, every
// replay refused, in one batch or across batches, and a failed statement fails each of
// its requests.

describe('database nonce store', () => {
  let db: Database;
  beforeAll(async () => {
    db = await openTestDatabase();
  });
  afterAll(async () => {
    await db?.close();
  });

  const accessKey = () => `LTAItest${randomBytes(6).toString('hex')}`;
  const rowsOf = async (ak: string) =>
    (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM nonces WHERE access_key_id = $1', [ak])).rows[0]?.n;

  it('accepts 300 distinct nonces sent at once, each recorded', async () => {
    const store = createDbNonceStore(db);
    const ak = accessKey();
    const now = new Date();
    const answers = await Promise.all(Array.from({ length: 300 }, (_, i) => store.use(ak, `n-${i}`, now)));
    expect(answers.every((a) => a === true)).toBe(true);
    expect(await rowsOf(ak)).toBe(300);
  });

  it('among 100 concurrent uses of one nonce, mixed with fresh ones, exactly one is accepted', async () => {
    const store = createDbNonceStore(db);
    const ak = accessKey();
    const now = new Date();
    const calls = Array.from({ length: 200 }, (_, i) => store.use(ak, i % 2 === 0 ? 'same' : `fresh-${i}`, now));
    const answers = await Promise.all(calls);
    expect(answers.filter((a, i) => i % 2 === 0 && a)).toHaveLength(1);
    expect(answers.filter((a, i) => i % 2 === 1 && a)).toHaveLength(100);
    expect(await rowsOf(ak)).toBe(101);
  });

  it('refuses a replay in a later statement, and accepts the nonce again after its window', async () => {
    const store = createDbNonceStore(db);
    const ak = accessKey();
    const now = new Date();
    expect(await store.use(ak, 'once', now)).toBe(true);
    expect(await store.use(ak, 'once', new Date(now.getTime() + MAX_CLOCK_SKEW_MS - 1))).toBe(false);
    expect(await store.use(ak, 'once', new Date(now.getTime() + MAX_CLOCK_SKEW_MS))).toBe(true);
    // The same nonce under another access key is another nonce.
    expect(await store.use(accessKey(), 'once', now)).toBe(true);
  });

  it('judges each nonce of a batch by the clock of its own request', async () => {
    const store = createDbNonceStore(db);
    const ak = accessKey();
    const t0 = new Date();
    expect(await store.use(ak, 'again', t0)).toBe(true);
    const later = new Date(t0.getTime() + MAX_CLOCK_SKEW_MS);
    // Two fillers occupy both statements in flight, so the next two share a statement:
    // an old request, and one that brings 'again' back once its window has passed.
    const answers = await Promise.all([
      store.use(ak, 'filler-1', t0),
      store.use(ak, 'filler-2', t0),
      store.use(ak, 'old', t0),
      store.use(ak, 'again', later),
    ]);
    expect(answers).toEqual([true, true, true, true]);
  });

  it('a nonce the database refuses to store fails alone, not the requests batched with it', async () => {
    const store = createDbNonceStore(db);
    const ak = accessKey();
    const now = new Date();
    // PostgreSQL text cannot hold NUL (the signature check refuses such nonces before this).
    const results = await Promise.allSettled(
      ['f-1', 'f-2', 'ok-1', 'bad\u0000', 'ok-2'].map((n) => store.use(ak, n, now)),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(await rowsOf(ak)).toBe(4);
  });

  it('fails every request of a statement that fails, and recovers for the next ones', async () => {
    let broken = true;
    const flaky = {
      ...db,
      queryRelaxed: ((sql: string, params?: readonly unknown[]) =>
        broken
          ? Promise.reject(new Error('database went away'))
          : db.queryRelaxed(sql, params)) as Database['queryRelaxed'],
    } as Database;
    const store = createDbNonceStore(flaky);
    const ak = accessKey();
    const now = new Date();
    // Repeats of a nonce share its fate: a failure, not a refusal as replays.
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.use(ak, `x-${i % 10}`, now)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    broken = false;
    expect(await store.use(ak, 'x-0', now)).toBe(true);
    expect(await rowsOf(ak)).toBe(1);
  });

  it.each([
    ['database', () => createDbNonceStore(db)],
    ['memory', () => createMemoryNonceStore()],
  ])(
    '%s store: keeps a nonce dated +14 min until its timestamp expires (+29:00), not 15 min after use',
    async (_n, make) => {
      const store = make();
      const ak = accessKey();
      const now = new Date();
      const at = (ms: number) => new Date(now.getTime() + ms);
      const dated = at(14 * 60_000);
      expect(await store.use(ak, 'future', now, dated)).toBe(true);
      expect(await store.use(ak, 'future', at(15 * 60_000 + 1000))).toBe(false);
      expect(await store.use(ak, 'future', at(29 * 60_000 - 1))).toBe(false);
      expect(await store.use(ak, 'future', at(29 * 60_000))).toBe(true); // its timestamp is refused from here on
      // A nonce dated in the past is kept 15 min from its use, as before.
      expect(await store.use(ak, 'past', now, at(-10 * 60_000))).toBe(true);
      expect(await store.use(ak, 'past', at(15 * 60_000 - 1))).toBe(false);
    },
  );
});
