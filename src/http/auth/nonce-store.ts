import type { Database } from '../../db/database.js';
import { KmsError } from '../../errors.js';
import { MAX_CLOCK_SKEW_MS } from './signature.js';

// A signature nonce is refused until its request's timestamp can no longer be accepted:
// max(now, timestamp) + 15 minutes, since a timestamp may be up to 15 minutes ahead of the
// clock (a request dated now+14 min must stay refused until now+29 min). On PostgreSQL the
// nonces live in the database, so a replay sent to another instance sharing it is caught
// too; the embedded database has one process, so memory is enough there.

export interface NonceStore {
  /**
   * Records the nonce until its request's timestamp expires; false when it was already
   * used and is still kept. `timestamp` is the request's signed timestamp (default `now`).
   * The database store also reads the service clock's offset in the same statement and
   * hands it to `onClockOffset` (docs/design.md, "The admin API"), sparing a round trip.
   */
  use(
    accessKeyId: string,
    nonce: string,
    now: Date,
    timestamp?: Date,
    onClockOffset?: (seconds: number) => void,
  ): Promise<boolean>;
  /** Forgets nonces whose window has passed. */
  prune(now: Date): Promise<void>;
}

export function createMemoryNonceStore(): NonceStore {
  const seen = new Map<string, number>();
  let sinceLastPrune = 0;
  const store: NonceStore = {
    async use(accessKeyId, nonce, now, timestamp = now) {
      const id = `${accessKeyId}\n${nonce}`;
      const t = now.getTime();
      const expires = seen.get(id);
      if (expires !== undefined && expires > t) return false;
      seen.set(id, keptUntil(now, timestamp).getTime());
      if (++sinceLastPrune >= 10_000) await store.prune(now);
      return true;
    },
    async prune(now) {
      sinceLastPrune = 0;
      const t = now.getTime();
      for (const [id, expires] of seen) if (expires <= t) seen.delete(id);
    },
  };
  return store;
}

/** Until when a nonce is kept: past this, its request's timestamp is refused anyway. */
export function keptUntil(now: Date, timestamp: Date): Date {
  return new Date(Math.max(now.getTime(), timestamp.getTime()) + MAX_CLOCK_SKEW_MS);
}

interface PendingNonce {
  accessKeyId: string;
  nonce: string;
  now: Date;
  timestamp: Date;
  onClockOffset: ((seconds: number) => void) | undefined;
  settle: (fresh: boolean) => void;
  fail: (err: unknown) => void;
}

/** Statements in flight at once; what arrives meanwhile waits and goes in the next one. */
const MAX_IN_FLIGHT = 2;
const MAX_BATCH = 256;

/**
 * Nonces in the database, recorded in batches (docs/design.md, "Signature nonces"): a
 * nonce goes at once while fewer than MAX_IN_FLIGHT statements are in flight; those that
 * arrive meanwhile go together in the next one. Each request still waits for the
 * database's answer on its own nonce.
 */
export function createDbNonceStore(db: Database): NonceStore {
  const queue: PendingNonce[] = [];
  let inFlight = 0;

  function pump() {
    while (inFlight < MAX_IN_FLIGHT && queue.length > 0) {
      inFlight++;
      void recordBatch(db, queue.splice(0, MAX_BATCH)).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  return {
    use(accessKeyId, nonce, now, timestamp = now, onClockOffset) {
      return new Promise<boolean>((settle, fail) => {
        queue.push({ accessKeyId, nonce, now, timestamp, onClockOffset, settle, fail });
        pump();
      });
    },
    async prune(now) {
      await db.query('DELETE FROM nonces WHERE expires_at <= $1', [now]);
    },
  };
}

/**
 * Records a batch in one statement and settles each request. A nonce repeated within the
 * batch goes once; its repeats are replays of it and share its fate. The sort gives racing
 * batches one lock order.
 */
async function recordBatch(db: Database, batch: PendingNonce[]): Promise<void> {
  const groups = new Map<string, PendingNonce[]>();
  for (const p of batch) {
    const id = `${p.accessKeyId}\n${p.nonce}`;
    const group = groups.get(id);
    if (group) group.push(p);
    else groups.set(id, [p]);
  }
  const ids = [...groups.keys()].sort();
  try {
    const fresh = await insertFresh(
      db,
      ids.map((id) => groups.get(id)![0]!),
    );
    if (fresh.clockOffset !== undefined) for (const p of batch) p.onClockOffset?.(fresh.clockOffset);
    for (const id of ids) {
      const [first, ...repeats] = groups.get(id)!;
      first!.settle(fresh.ids.has(id));
      for (const r of repeats) r.settle(false);
    }
  } catch (err) {
    // A database that is not there fails every request. Any other error belongs to one
    // nonce the database refused to store: each is tried alone, so only its own fails.
    if (err instanceof KmsError || ids.length === 1) {
      for (const p of batch) p.fail(err);
      return;
    }
    await Promise.all(ids.map((id) => recordBatch(db, groups.get(id)!)));
  }
}

/**
 * Inserts the nonces; answers those that were fresh. The primary key decides between
 * racing replays; a row whose time has passed (by the clock of the request that brings
 * the nonce again) is reused. Relaxed commit: a database crash may forget the last
 * moment's nonces, which at worst lets a request captured then be replayed once, within
 * its timestamp's 15 minutes (docs/design.md).
 */
async function insertFresh(
  db: Database,
  nonces: PendingNonce[],
): Promise<{ ids: Set<string>; clockOffset: number | undefined }> {
  const { rows } = await db.queryRelaxed<{
    access_key_id: string | null;
    nonce: string | null;
    clock_offset: string | number | null;
  }>(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[])
         AS u(access_key_id, nonce, expires_at, seen_at)
     ), fresh AS (
       INSERT INTO nonces (access_key_id, nonce, expires_at)
       SELECT access_key_id, nonce, expires_at FROM input
       ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
        WHERE nonces.expires_at <= (SELECT i.seen_at FROM input i
                                     WHERE i.access_key_id = nonces.access_key_id AND i.nonce = nonces.nonce)
       RETURNING access_key_id, nonce
     )
     SELECT access_key_id, nonce, NULL::bigint AS clock_offset FROM fresh
     UNION ALL
     SELECT NULL, NULL, value::bigint FROM meta WHERE name = 'clock_offset_seconds'`,
    [
      nonces.map((p) => p.accessKeyId),
      nonces.map((p) => p.nonce),
      nonces.map((p) => keptUntil(p.now, p.timestamp)),
      nonces.map((p) => p.now),
    ],
  );
  const offsetRow = rows.find((r) => r.access_key_id === null);
  return {
    ids: new Set(rows.filter((r) => r.access_key_id !== null).map((r) => `${r.access_key_id}\n${r.nonce}`)),
    clockOffset: offsetRow ? Number(offsetRow.clock_offset) : undefined,
  };
}
