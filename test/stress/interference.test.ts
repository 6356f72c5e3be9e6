import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { expectError } from '../helpers/clients.js';
import { face } from '../helpers/faces.js';
import { allow, ramApp, ramUser } from '../helpers/ram.js';
import {
  makeApp,
  onPostgres,
  openTestDatabase,
  type TestApp,
  uniqueRegion,
  withStatementHook,
} from '../helpers/test-app.js';

// UpdateAlias and DeleteAlias read, check, then write only if the alias still points at
// the key they read. Here another writer changes the database at the worst moment, just
// before that write, every time or once: the operation must read again and answer as if it
// had come after the other writer, or give up with a retryable error, and never write
// on the strength of a stale read. A RAM user's call reads and writes in two statements
// (RAM needs the alias's key before the write); a root key's call does both in one, where
// the other writer can only come between them inside PostgreSQL (last describe).

type Hook = (tag: string) => Promise<void>;

// The statements' tags (src/operations/update-alias.ts, delete-alias.ts).
const REPOINT = 'update-alias';
const DELETE = 'delete-alias';
const REPOINT_AT_ONCE = 'update-alias.at-once';
const DELETE_AT_ONCE = 'delete-alias.at-once';
const ACCOUNT = '1234567890123456';

describe('alias writes when another writer moves the alias between their read and their write', () => {
  let db: Database;
  let t: TestApp;
  let ram: TestApp;
  const extra: TestApp[] = [];
  const hook: { before?: Hook } = {};

  beforeAll(async () => {
    db = await openTestDatabase();
    const hooked = withStatementHook(db, (s) => hook.before?.(s.tag));
    t = await makeApp(hooked, { KMS_ALIAS_QUOTA: '0' });
    ram = await ramApp({ db: hooked, extra }, ACCOUNT, 'INTERFERE', { all: [allow('kms:*', '*')] });
  });
  afterAll(async () => {
    for (const app of extra) await app.app.close();
    await t?.app.close();
    await db?.close();
  });

  async function setUp() {
    const region = uniqueRegion();
    // The root key sets up; the operations under test run as a RAM user (two statements).
    const root = face('rest', t.http, region);
    const api = face('rest', ram.http, region, {}, ramUser('INTERFERE', 'all'));
    const [a, b, c] = [await root.newKey(), await root.newKey(), await root.newKey()];
    const pointAt = (name: string, keyId: string) =>
      db.query('UPDATE aliases SET key_id = $3 WHERE region = $1 AND alias_name = $2', [region, name, keyId]);
    const keyOf = async (name: string) =>
      (
        await db.query<{ key_id: string }>('SELECT key_id FROM aliases WHERE region = $1 AND alias_name = $2', [
          region,
          name,
        ])
      ).rows[0]?.key_id;
    return { region, root, api, a, b, c, pointAt, keyOf };
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

  // A root key's call reads and writes in one statement. Another transaction holds the
  // alias row; the call's statement reads the alias where it was, then waits for the row;
  // the other transaction moves the alias and commits. PostgreSQL then finds the row no
  // longer matching the key the statement read, so nothing is written, and the call must
  // read again and answer as if it had come after the other writer.
  describe.runIf(onPostgres)('in one statement (a root key), with the other writer inside PostgreSQL', () => {
    /** Runs `call` while another transaction holds the alias row, then moves it to `keyId`. */
    async function movedWhileWaiting<T>(
      s: Awaited<ReturnType<typeof setUp>>,
      name: string,
      keyId: string,
      call: () => Promise<T>,
    ) {
      let release!: () => void;
      const released = new Promise<void>((r) => {
        release = r;
      });
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => {
        locked = r;
      });
      const other = db.transaction(async (tx) => {
        await tx.query('SELECT 1 FROM aliases WHERE region = $1 AND alias_name = $2 FOR UPDATE', [s.region, name]);
        locked();
        await released;
        await tx.query('UPDATE aliases SET key_id = $3 WHERE region = $1 AND alias_name = $2', [s.region, name, keyId]);
      });
      await isLocked;
      // supertest sends on then(): start the call now.
      const result = Promise.resolve().then(call);
      // Wait until the call's statement waits for the row.
      for (let i = 0; i < 200; i++) {
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE NOT l.granted AND a.application_name = 'kms-emulator'`,
        );
        if ((rows[0]?.n ?? 0) > 0) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      release();
      await other;
      return result;
    }

    function counting(tag: string) {
      let n = 0;
      hook.before = async (seen) => {
        if (seen === tag) n++;
      };
      return () => n;
    }

    it('UpdateAlias reads again and applies its change after the other one', async () => {
      const s = await setUp();
      await s.root.createAlias('alias/x', s.a);
      const statements = counting(REPOINT_AT_ONCE);
      const res = await movedWhileWaiting(s, 'alias/x', s.c, () => s.root.updateAlias('alias/x', s.b));
      hook.before = undefined;
      expect(res.status).toBe(200);
      expect(statements()).toBe(2);
      expect(await s.keyOf('alias/x')).toBe(s.b);
    });

    it('DeleteAlias reads again and deletes the alias where it now points, counted once', async () => {
      const s = await setUp();
      await s.root.createAlias('alias/y', s.a);
      await s.root.createAlias('alias/z', s.a);
      const statements = counting(DELETE_AT_ONCE);
      const res = await movedWhileWaiting(s, 'alias/y', s.c, () => s.root.deleteAlias('alias/y'));
      hook.before = undefined;
      expect(res.status).toBe(204);
      expect(statements()).toBe(2);
      expect(await s.keyOf('alias/y')).toBeUndefined();
      expect((await s.root.listAliases()).body.TotalCount).toBe(1);
    });
  });
});
