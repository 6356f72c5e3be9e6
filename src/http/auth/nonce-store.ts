import type { Database } from '../../db/database.js';
import { MAX_CLOCK_SKEW_MS } from './signature.js';

// A signature nonce is refused for 15 minutes after its first use. On PostgreSQL the
// nonces live in the database, so a replay sent to another instance sharing it is caught
// too; the embedded database has one process, so memory is enough there.

export interface NonceStore {
  /** Records the nonce; false when it was already used within the window. */
  use(accessKeyId: string, nonce: string, now: Date): Promise<boolean>;
  /** Forgets nonces whose window has passed. */
  prune(now: Date): Promise<void>;
}

export function createMemoryNonceStore(): NonceStore {
  const seen = new Map<string, number>();
  let sinceLastPrune = 0;
  const store: NonceStore = {
    async use(accessKeyId, nonce, now) {
      const id = `${accessKeyId}\n${nonce}`;
      const t = now.getTime();
      const expires = seen.get(id);
      if (expires !== undefined && expires > t) return false;
      seen.set(id, t + MAX_CLOCK_SKEW_MS);
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

export function createDbNonceStore(db: Database): NonceStore {
  return {
    async use(accessKeyId, nonce, now) {
      // The primary key decides between racing replays; an expired row is reused. Relaxed
      // commit: a database crash may forget the last moment's nonces, which at worst lets
      // a request captured in that moment be replayed once, within its 15 minutes.
      const { rows } = await db.queryRelaxed(
        `INSERT INTO nonces (access_key_id, nonce, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
          WHERE nonces.expires_at <= $4
         RETURNING 1`,
        [accessKeyId, nonce, new Date(now.getTime() + MAX_CLOCK_SKEW_MS), now],
      );
      return rows.length === 1;
    },
    async prune(now) {
      await db.query('DELETE FROM nonces WHERE expires_at <= $1', [now]);
    },
  };
}
