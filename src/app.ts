import type { Writable } from 'node:stream';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { findStoredKey } from './admin/accounts.store.js';
import { registerAdminRoutes } from './admin/admin.routes.js';
import { createServiceClock, decorateServicesNow } from './admin/service-clock.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { openDatabase } from './db/open.js';
import { registerAuth } from './http/auth/auth.plugin.js';
import { registerBodyParsers } from './http/plugins/body-parsers.js';
import { registerDocs } from './http/plugins/docs.js';
import { registerErrorHandler } from './http/plugins/error-handler.js';
import { registerHealthRoutes } from './http/plugins/health.js';
import { createLogger, registerRequestLogging } from './http/plugins/logging.js';
import { registerMetrics } from './http/plugins/metrics.js';
import { registerRequestHeaders } from './http/plugins/request-headers.js';
import { registerRequestTimeout } from './http/plugins/request-timeout.js';
import { registerRestRoutes } from './http/rest/rest.routes.js';
import { registerRpcRoutes } from './http/rpc/rpc.routes.js';
import { createServer } from './http/server-options.js';
import { createServices } from './services.js';
import { startUpkeep, upkeepJobs } from './upkeep.js';

// The root: the service assembled from named steps, each in a file named for what it is.
// Only server.ts listens; tests build their own app (test/helpers/test-app.ts).

export interface AppDeps {
  /** A database the caller owns (tests share one per file); the app will not close it. */
  db?: Database;
  /**
   * The configured database, already being opened (server.ts starts it while the app's
   * modules load); the app owns it and closes it.
   */
  opening?: Promise<Database>;
  /** The logger (server.ts makes it first, for the database it opens early). */
  logger?: Logger;
  clock?: () => Date;
  /** Where log lines go (tests capture them to prove nothing secret is logged). */
  logStream?: Writable;
}

/** Builds a ready Fastify instance over the configured database. Never listens. */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const logger = deps.logger ?? createLogger(config, deps.logStream);
  warnUnknownSettings(config, logger);
  const clock = deps.clock ?? (() => new Date());
  const opening = deps.db !== undefined ? Promise.resolve(deps.db) : (deps.opening ?? openDatabase(config, logger));
  opening.catch(() => {}); // awaited below: a failure to open is thrown there, not reported as unhandled
  // What needs no database is built while it opens (at start-up the database is the longer path).
  const app = createServer(config, logger);
  // Runs last: hooks close in reverse order. A database the caller gave stays open.
  app.addHook('onClose', async () => {
    if (deps.db === undefined)
      await opening.then(
        (db) => db.close(),
        () => {},
      );
  });
  try {
    await registerDocs(app);
    registerBodyParsers(app);
    registerErrorHandler(app);
    registerRequestHeaders(app);
    registerRequestTimeout(app, config.requestTimeoutMs);

    const db = await opening;
    const serviceClock = await createServiceClock(db, clock);
    const serviceNow = async () => serviceClock.at(await serviceClock.offsetSeconds())();
    const services = await createServices(config, {
      db,
      clock: serviceClock.at(await serviceClock.offsetSeconds()),
      logger,
    });
    decorateServicesNow(app, services, serviceClock);
    await registerAuth(app, {
      config,
      db,
      clock,
      storedKeys: (accessKeyId) => findStoredKey(db, services.masterKey, accessKeyId),
    });
    registerRpcRoutes(app, { services, config });
    registerRestRoutes(app, { services, config });
    registerAdminRoutes(app, { services, config, serviceClock });
    registerHealthRoutes(app, { db });
    registerMetrics(app, { db });
    registerRequestLogging(app);

    const jobs = upkeepJobs({ db, nonces: app.nonces, logger, serviceNow, masterKey: services.masterKey });
    startUpkeep(app, { jobs, intervalMs: config.sweepIntervalMs, clock, logger });
    await app.ready();
    return app;
  } catch (err) {
    await app.close().catch(() => {});
    throw err;
  }
}

/** One warning per KMS_* variable that is no setting, with the closest setting (never the value). */
function warnUnknownSettings(config: Config, logger: FastifyBaseLogger): void {
  for (const { name, closest } of config.unknownSettings) {
    logger.warn({ setting: name, closest }, `unknown setting ${name} is ignored; did you mean ${closest}?`);
  }
}
