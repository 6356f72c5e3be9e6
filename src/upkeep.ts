import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Database } from './db/database.js';
import { checkpointIfWalGrew, tidyTables } from './db/table-upkeep.js';
import { dropOldImportTokens, removeMaterial } from './domain/keys/imported-material.js';
import { purgeExpired, scopesWithExpiredKeys } from './domain/keys/purge.js';
import { dueKeys, rotateDueKey } from './domain/keys/rotation.js';
import type { NonceStore } from './http/auth/nonce-store.js';

// The service's own housekeeping: named jobs run one after the other every
// KMS_SWEEP_INTERVAL_MS (0: never), a round never overlapping the last. A job that fails
// logs a warning with its name and the others still run; the next round tries again.
// Why the service vacuums its own tables: docs/design.md.

export interface UpkeepJob {
  name: string;
  /**
   * Also run once as soon as the app is ready, in the background: the service answers at
   * once, and requests that reach the database meanwhile wait their turn for it.
   */
  atStart?: boolean;
  run(now: Date): Promise<void>;
}

/**
 * Purges keys past their deletion date, with their versions and aliases, a transaction per
 * scope; answers the keys purged. Operations purge only where such a key would change their
 * answer (key writes, list pages, an alias name it still holds); reads by key just do not
 * see it. This purges the rest, e.g. scopes nobody writes to.
 */
export async function purgeExpiredKeys(db: Database, now: Date): Promise<number> {
  let purged = 0;
  for (const scope of await scopesWithExpiredKeys(db, now)) {
    purged += await db.transaction((tx) => purgeExpired(tx, scope, now));
  }
  return purged;
}

const ROTATION_BATCH = 100;

/**
 * Runs every due automatic rotation (spec 15.3), a batch of keys at a time; answers the
 * keys rotated here. A key that a request (or another instance) rotates meanwhile is
 * skipped by the rotation's own condition, so no due time ever gets two versions.
 */
export async function rotateDueKeys(db: Database, masterKey: Buffer, now: Date): Promise<number> {
  let rotated = 0;
  for (;;) {
    const due = await dueKeys(db, now, ROTATION_BATCH);
    let batch = 0;
    for (const key of due) {
      const scope = { accountId: key.account_id, region: key.region };
      if (await rotateDueKey(db, masterKey, scope, key, now)) batch++;
    }
    rotated += batch;
    // A full batch that rotated nothing would come back unchanged: stop rather than spin.
    if (due.length < ROTATION_BATCH || batch === 0) return rotated;
  }
}

/** The service's jobs, in the order they run. */
export function upkeepJobs(deps: {
  db: Database;
  nonces: NonceStore;
  logger: Logger;
  /** The service clock's time (domain dates); the jobs' `now` is the base clock's (nonces). */
  serviceNow?: () => Promise<Date>;
  /** Wraps the material of the versions that rotations make. */
  masterKey?: Buffer;
}): UpkeepJob[] {
  const { db, nonces, logger, serviceNow, masterKey } = deps;
  // A database this start created has empty tables: nothing to vacuum or analyze yet
  // (its catalog query was ~50 ms of a start on PGlite).
  const tidyAtStart = db.created !== true;
  return [
    {
      name: 'purge-expired-keys',
      async run(now) {
        const purged = await purgeExpiredKeys(db, serviceNow ? await serviceNow() : now);
        if (purged > 0) logger.info({ purgedKeys: purged }, 'purged keys past their deletion date');
      },
    },
    {
      // Spec 17.1/17.2: material past its expiry goes (requests that resolve such a key
      // do it first); import tokens go 7 days after they expired.
      name: 'expire-imported-material',
      async run(now) {
        const at = serviceNow ? await serviceNow() : now;
        const expired = await removeMaterial(db, { expiredAt: at });
        const tokens = await dropOldImportTokens(db, at);
        if (expired > 0) logger.info({ keys: expired }, 'imported key material expired');
        if (tokens > 0) logger.debug({ tokens }, 'dropped import tokens expired more than 7 days ago');
      },
    },
    ...(masterKey
      ? [
          {
            name: 'rotate-due-keys',
            async run(now: Date) {
              const rotated = await rotateDueKeys(db, masterKey, serviceNow ? await serviceNow() : now);
              if (rotated > 0) logger.info({ rotatedKeys: rotated }, 'rotated keys whose automatic rotation fell due');
            },
          },
        ]
      : []),
    { name: 'prune-nonces', run: (now) => nonces.prune(now) },
    ...(db.kind === 'pglite'
      ? [
          {
            name: 'checkpoint',
            async run() {
              if (await checkpointIfWalGrew(db)) logger.debug('checkpoint: the WAL had grown past its bound');
            },
          },
        ]
      : []),
    {
      name: 'vacuum-analyze',
      atStart: tidyAtStart,
      async run() {
        const tables = await tidyTables(db);
        if (tables.length > 0) logger.debug({ tables }, 'tables vacuumed and analyzed');
      },
    },
  ];
}

export interface UpkeepOptions {
  jobs: UpkeepJob[];
  /** Between the starts of two rounds; 0 runs no rounds (the start-up jobs still run). */
  intervalMs: number;
  clock: () => Date;
  logger: Pick<Logger, 'warn'>;
}

export interface Upkeep {
  /** One round of the jobs (those `which` selects), each given the clock's time as it starts. */
  runOnce(which?: (job: UpkeepJob) => boolean): Promise<void>;
  /**
   * Runs the start-up jobs at once (a round of their own, not awaited), then a round every
   * intervalMs, skipping a turn while the last round still runs.
   */
  start(): void;
  /** No more rounds; resolves once the one running (if any) has ended. */
  stop(): Promise<void>;
}

export function createUpkeep(options: UpkeepOptions): Upkeep {
  const { jobs, intervalMs, clock, logger } = options;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  let started = false;

  async function runOnce(which: (job: UpkeepJob) => boolean = () => true) {
    for (const job of jobs.filter(which)) {
      try {
        await job.run(clock());
      } catch (err) {
        logger.warn({ err, job: job.name }, 'upkeep job failed; will retry');
      }
    }
  }

  function launch(which?: (job: UpkeepJob) => boolean) {
    round = runOnce(which).finally(() => {
      round = undefined;
    });
  }

  return {
    runOnce,
    start() {
      if (started) return;
      started = true;
      if (jobs.some((job) => job.atStart === true)) launch((job) => job.atStart === true);
      if (intervalMs <= 0) return;
      timer = setInterval(() => {
        if (round === undefined) launch();
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await round;
    },
  };
}

/**
 * The upkeep of an app: its start-up jobs once the app is ready, then rounds until it
 * closes. Ready does not wait for them: a restart's VACUUM and ANALYZE (a catalog query at
 * least, ~65 ms of a PGlite restart here) would otherwise delay the first answer, health
 * included, while a request that needs the database waits for it just the same.
 */
export function startUpkeep(app: FastifyInstance, options: UpkeepOptions): Upkeep {
  const upkeep = createUpkeep(options);
  app.addHook('onReady', async () => {
    upkeep.start();
  });
  app.addHook('onClose', async () => {
    await upkeep.stop();
  });
  return upkeep;
}
