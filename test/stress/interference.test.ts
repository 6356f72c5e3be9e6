import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { expectError } from '../helpers/clients.js';
import { face } from '../helpers/faces.js';
import { makeApp, openTestDatabase, type TestApp, uniqueRegion, withStatementHook } from '../helpers/test-app.js';

// UpdateAlias and DeleteAlias read, check, then write only if the alias still points at
// the key they read. Here another writer changes the database at the worst moment, just
// before that write, every time or once: the operation must read again and answer as if it
// had come after the other writer, or give up with a retryable error, and never write
// on the strength of a stale read.

type Hook = (tag: string) => Promise<void>;

// The statements' tags (src/operations/update-alias.ts, delete-alias.ts).
const REPOINT = 'update-alias';
const DELETE = 'delete-alias';

describe('alias writes when another writer moves the alias between their read and their write', () => {
  let db: Database;
  let t: TestApp;
  const hook: { before?: Hook } = {};

  beforeAll(async () => {
    db = await openTestDatabase();
    t = await makeApp(
      withStatementHook(db, (s) => hook.before?.(s.tag)),
      { KMS_ALIAS_QUOTA: '0' },
    );
  });
  afterAll(async () => {
    await t?.app.close();
    await db?.close();
  });

  async function setUp() {
    const region = uniqueRegion();
    const api = face('rest', t.http, region);
    const [a, b, c] = [await api.newKey(), await api.newKey(), await api.newKey()];
    const pointAt = (name: string, keyId: string) =>
      db.query('UPDATE aliases SET key_id = $3 WHERE region = $1 AND alias_name = $2', [region, name, keyId]);
    const keyOf = async (name: string) =>
      (
        await db.query<{ key_id: string }>('SELECT key_id FROM aliases WHERE region = $1 AND alias_name = $2', [
          region,
          name,
        ])
      ).rows[0]?.key_id;
    return { region, api, a, b, c, pointAt, keyOf };
  }

  /** Runs `change` once, just before the first statement tagged `tag`. */
  function once(tag: string, change: () => Promise<unknown>) {
    let fired = 0;
    let writes = 0;
    hook.before = async (seen) => {
      if (seen !== tag) return;
      writes++;
      if (fired++ === 0) await change();
    };
    return { writes: () => writes };
  }

  it('UpdateAlias reads again and applies its change after the other one', async () => {
    const s = await setUp();
    await s.api.createAlias('alias/x', s.a);
    const seen = once(REPOINT, () => s.pointAt('alias/x', s.c));
    const res = await s.api.updateAlias('alias/x', s.b);
    hook.before = undefined;
    expect(res.status).toBe(200);
    expect(seen.writes()).toBe(2);
    expect(await s.keyOf('alias/x')).toBe(s.b);
  });

  it('UpdateAlias refuses when the target came to PendingDeletion meanwhile, and changes nothing', async () => {
    const s = await setUp();
    await s.api.createAlias('alias/x', s.a);
    once(REPOINT, () =>
      db.query(
        `UPDATE keys SET state = 'PendingDeletion', delete_date = now() + interval '7 days' WHERE region = $1 AND id = $2`,
        [s.region, s.b],
      ),
    );
    const res = await s.api.updateAlias('alias/x', s.b);
    hook.before = undefined;
    expectError(res, 409, 'Rejected.PendingDeletion');
    expect(await s.keyOf('alias/x')).toBe(s.a);
  });

  it('DeleteAlias reads again and deletes the alias where it now points, counted once', async () => {
    const s = await setUp();
    await s.api.createAlias('alias/y', s.a);
    await s.api.createAlias('alias/z', s.a);
    const seen = once(DELETE, () => s.pointAt('alias/y', s.c));
    const res = await s.api.deleteAlias('alias/y');
    hook.before = undefined;
    expect(res.status).toBe(204);
    expect(seen.writes()).toBe(2);
    expect(await s.keyOf('alias/y')).toBeUndefined();
    expect((await s.api.listAliases()).body.TotalCount).toBe(1);
  });

  it('gives up with ServiceUnavailableTemporary when the alias moves before every attempt', async () => {
    const s = await setUp();
    await s.api.createAlias('alias/busy', s.a);
    let flip = false;
    hook.before = async (tag) => {
      if (tag !== DELETE) return;
      flip = !flip;
      await s.pointAt('alias/busy', flip ? s.c : s.a);
    };
    const res = await s.api.deleteAlias('alias/busy');
    hook.before = undefined;
    expectError(res, 503, 'ServiceUnavailableTemporary');
    expect(await s.keyOf('alias/busy')).toBeDefined();
    expect((await s.api.listAliases()).body.TotalCount).toBe(1);
  });
});
