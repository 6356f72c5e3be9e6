import type { FastifyInstance } from 'fastify';
import type { Database } from '../db/database.js';
import { sql, statement } from '../db/sql.js';
import type { ServiceDeps } from '../domain/deps.js';

// The two clocks of spec 21.2. The base clock (the wall clock, or the tests' injected one)
// drives signatures, nonces and rate limits; the service clock, base + OffsetSeconds,
// drives every domain date. The offset lives in the `meta` table (migration 004).
//
// How a request learns the offset (docs/design.md, "The service clock"):
// - PGlite: one process owns the data directory (the lock file), so this process is the
//   only writer and its copy in memory is exact: no read at all.
// - PostgreSQL: instances share the database, and an advance answered by one must apply,
//   on every instance, to every request that starts after it. Each request uses a read of
//   the row (a prepared one-row primary-key read) sent after it started: concurrent
//   requests share one (coalescedRead), never one that was sent before they began.

export const MAX_ADVANCE_SECONDS = 315_360_000;

const readOffset = statement(
  'clock.offset',
  sql`SELECT value::bigint AS offset FROM meta WHERE name = 'clock_offset_seconds'`,
);

export interface ServiceClock {
  /** The offset, in seconds, for a request that starts now. */
  offsetSeconds(): Promise<number>;
  /** Moves the service clock forward; answers the new offset. Stores it only (no upkeep). */
  advance(seconds: number): Promise<number>;
  /** A clock reading base + offset, for one request (the offset read once). */
  at(offsetSeconds: number): () => Date;
}

/**
 * One read for many requests, never a stale one: a caller gets the read sent after it
 * called. While a read is in flight, the callers that come meanwhile share the next one,
 * sent when it returns. So under load a Basic request on PostgreSQL costs a fraction of a
 * statement, and an advance answered before a request started is always in its read.
 */
export function coalescedRead<T>(read: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  let next: Promise<T> | undefined;
  const send = (): Promise<T> => {
    const sent = read();
    inFlight = sent;
    const done = () => {
      if (inFlight === sent) inFlight = undefined;
    };
    sent.then(done, done);
    return sent;
  };
  return () => {
    if (inFlight === undefined) return send();
    next ??= inFlight
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        next = undefined;
        return send();
      });
    return next;
  };
}

/** PGlite's offset, one per open database (apps built over one PGlite share its copy). */
const pgliteOffsets = new WeakMap<Database, { seconds: number }>();

export async function createServiceClock(db: Database, base: () => Date): Promise<ServiceClock> {
  const read = async () => {
    const { rows } = await db.query<{ offset: string | number }>(readOffset);
    return Number(rows[0]?.offset ?? 0);
  };
  const shared = db.kind === 'postgres';
  let cached = pgliteOffsets.get(db);
  if (!cached) {
    cached = { seconds: await read() };
    if (!shared) pgliteOffsets.set(db, cached);
  }
  const copy = cached;
  return {
    offsetSeconds: shared ? coalescedRead(read) : async () => copy.seconds,
    async advance(seconds) {
      const { rows } = await db.query<{ offset: string | number }>(
        statement(
          'clock.advance',
          sql`INSERT INTO meta (name, value) VALUES ('clock_offset_seconds', ${String(seconds)})
              ON CONFLICT (name) DO UPDATE SET value = (meta.value::bigint + ${seconds}::bigint)::text
              RETURNING value::bigint AS offset`,
        ),
      );
      copy.seconds = Number(rows[0]?.offset ?? copy.seconds + seconds);
      return copy.seconds;
    },
    at(offsetSeconds) {
      if (offsetSeconds === 0) return base;
      const ms = offsetSeconds * 1000;
      return () => new Date(base().getTime() + ms);
    },
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * What an operation runs on, with the service clock at the offset read for this request:
     * the one authentication read with the nonce, else read now.
     */
    servicesNow(read?: { clockOffsetSeconds?: number }): Promise<ServiceDeps>;
  }
}

export function decorateServicesNow(app: FastifyInstance, services: ServiceDeps, clock: ServiceClock): void {
  app.decorate('servicesNow', async (read?: { clockOffsetSeconds?: number }) => {
    const offset = read?.clockOffsetSeconds ?? (await clock.offsetSeconds());
    return offset === 0 ? services : { ...services, clock: clock.at(offset) };
  });
}
