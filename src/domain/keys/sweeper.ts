import type { Logger } from 'pino';
import type { ServiceDeps } from '../deps.js';
import { purgeExpired, scopesWithExpiredKeys } from './purge.js';

/**
 * Purges keys whose pending window has passed, with their aliases, in the background.
 * Every operation also purges its own scope first, so this only keeps idle scopes tidy.
 */
export async function sweepOnce(deps: ServiceDeps): Promise<number> {
  const now = deps.clock();
  let purged = 0;
  for (const scope of await scopesWithExpiredKeys(deps.db, now)) {
    purged += await deps.db.transaction((tx) => purgeExpired(tx, scope, now));
  }
  return purged;
}

export function startSweeper(
  deps: ServiceDeps,
  intervalMs: number,
  logger: Logger,
  alsoEachTick: Array<(now: Date) => Promise<void>> = [],
): { stop(): void } {
  if (intervalMs <= 0) return { stop() {} };
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepOnce(deps)
      .then(async (n) => {
        for (const task of alsoEachTick) await task(deps.clock());
        if (n > 0) logger.info({ purgedKeys: n }, 'purged keys past their deletion date');
      })
      .catch((err: unknown) => logger.warn({ err }, 'sweep failed; will retry'))
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
