import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { face } from '../helpers/faces.js';
import { makeApp, onPostgres, type TestApp, uniqueAccount, uniqueRegion, useTestApp } from '../helpers/test-app.js';

// The upkeep's jobs as the app runs them (the scheduler itself: test/unit/upkeep.test.ts).
// The service's clock stays real here: the database may be shared with other test files,
// and an upkeep on an advanced clock would purge their keys and nonces. Rows are made due
// by SQL instead.

const t = useTestApp();
const ACCOUNT = uniqueAccount();

async function upkeepApp(): Promise<TestApp> {
  const app = await makeApp(t.db, { KMS_ACCOUNT_ID: ACCOUNT, KMS_AUTH: 'off', KMS_SWEEP_INTERVAL_MS: '100' });
  t.extra.push(app);
  return app;
}

async function until(done: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + 10_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`the upkeep did not ${what} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('upkeep', () => {
  it('purges a key past its deletion date in a scope nobody calls, with its versions, aliases and counts', async () => {
    const app = await upkeepApp();
    const region = uniqueRegion();
    const f = face('rest', app.http, region);
    const doomed = await f.newKey();
    const kept = await f.newKey();
    for (const [alias, key] of [
      ['alias/doomed', doomed],
      ['alias/kept', kept],
    ] as const) {
      expect((await f.createAlias(alias, key)).status).toBe(201);
    }
    expect((await f.scheduleKeyDeletion(doomed, 7)).status).toBe(200);
    // The window passes (in the rows: the service's clock stays real).
    await t.db.query(
      `UPDATE keys SET delete_date = now() - interval '1 minute' WHERE account_id = $1 AND region = $2 AND id = $3`,
      [ACCOUNT, region, doomed],
    );

    const rows = async (sql: string) => (await t.db.query(sql, [ACCOUNT, region])).rows;
    await until(
      async () => (await rows('SELECT id FROM keys WHERE account_id = $1 AND region = $2')).length === 1,
      'purge the key',
    );
    expect(await rows('SELECT id FROM keys WHERE account_id = $1 AND region = $2')).toEqual([{ id: kept }]);
    expect(await rows('SELECT key_id FROM key_versions WHERE account_id = $1 AND region = $2')).toEqual([
      { key_id: kept },
    ]);
    expect(await rows('SELECT alias_name FROM aliases WHERE account_id = $1 AND region = $2')).toEqual([
      { alias_name: 'alias/kept' },
    ]);
    expect(await rows('SELECT key_count, alias_count FROM scopes WHERE account_id = $1 AND region = $2')).toEqual([
      { key_count: 1, alias_count: 1 },
    ]);
    expect(app.logs.text).toContain('purged keys past their deletion date');
  });

  // On PGlite the nonces live in memory (one process), not in the table.
  it.runIf(onPostgres)('prunes the signature nonces whose window has passed, and only those', async () => {
    await upkeepApp();
    const accessKeyId = `upkeep-${randomUUID()}`;
    await t.db.query(
      `INSERT INTO nonces (access_key_id, nonce, expires_at)
       VALUES ($1, 'past', now() - interval '1 second'), ($1, 'current', now() + interval '10 minutes')`,
      [accessKeyId],
    );
    const nonces = async () =>
      (await t.db.query<{ nonce: string }>('SELECT nonce FROM nonces WHERE access_key_id = $1', [accessKeyId])).rows;
    await until(async () => (await nonces()).length === 1, 'prune the nonce');
    expect(await nonces()).toEqual([{ nonce: 'current' }]);
  });
});
