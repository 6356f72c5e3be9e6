import path from 'node:path';
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';
import { type Config, loadConfig } from './config.js';
import { describeDatabase, openDatabase } from './db/open.js';
import { leaveDataDirEarly } from './db/pglite-database.js';
import { withDotEnv } from './dotenv.js';
import { createLogger } from './http/plugins/logging.js';
import { assertPortFree } from './port-check.js';
import type { StopSignals } from './stop-signals.js';

// What server.ts runs: read the environment (and .env) once, check the port, build,
// listen, say where everything is, and close cleanly on SIGTERM/SIGINT (which also closes
// PGlite, so the embedded database stays consistent).

const GRACE_MS = 10_000;

export async function runServer(signals: StopSignals): Promise<void> {
  try {
    await start(signals);
  } catch (err) {
    // Name the underlying cause too (e.g. ECONNREFUSED behind ServiceUnavailableTemporary).
    const cause = (err as { cause?: { message?: string; code?: string } })?.cause;
    const detail = cause ? ` (cause: ${cause.code ?? ''} ${cause.message ?? ''})`.replace('( ', '(') : '';
    process.stderr.write(`Start-up failed: ${(err as Error)?.message ?? String(err)}${detail}\n`);
    process.exit(1);
  }
}

async function start(signals: StopSignals): Promise<void> {
  const { env, file: dotEnvFile } = withDotEnv(process.env);
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  // A stop before the service is ready exits at once when nothing can be left half-written:
  // before the database opens, on memory:// or PostgreSQL (an open transaction is rolled
  // back), or while a new PGlite data directory is created (it is removed, so the next
  // start begins again). An existing data directory is opened and then closed cleanly.
  signals.onStop((signal) => {
    if (config.databaseUrl !== undefined || leaveDataDirEarly(config.dataDir)) {
      process.stderr.write(`${signal} during start-up: stopped before the service was ready\n`);
      process.exit(0);
    }
  });
  await assertPortFree(config.host, config.port);

  // The database opens (PGlite: in its worker thread) while the app's modules load.
  const logger = createLogger(config);
  const opening = openDatabase(config, logger);
  opening.catch(() => {}); // buildApp reports it; a failed module load must not leave it unhandled
  const { buildApp } = await import('./app.js');
  const app = await buildApp(config, { opening, logger });
  const grace = closeWithGrace({ delay: GRACE_MS, skip: ['SIGINT', 'SIGTERM'] }, async ({ err }) => {
    if (err) app.log.error({ err }, 'stopping after an error');
    await app.close();
  });
  signals.onStop((signal) => {
    app.log.info({ signal }, 'stopping');
    void grace.close();
  });
  if (signals.received) return;

  if (dotEnvFile) app.log.info({ file: dotEnvFile }, 'read .env (the environment wins over it)');
  if (!config.auth) {
    app.log.warn('KMS_AUTH=off: every request is served as the default account root, without checking credentials');
  }
  await app.listen({ host: config.host, port: config.port });
  logReady(app, config);
}

/** Where everything is, for the person who just started it. Never the secret. */
function logReady(app: FastifyInstance, config: Config) {
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  app.log.info(
    {
      url,
      database: describeDatabase(config),
      dataDir: config.databaseUrl === undefined ? path.resolve(config.dataDir) : 'none',
      region: config.defaultRegion,
      accessKeyId: config.accessKeyId,
      accessKeySecret: 'KMS_ACCESS_KEY_SECRET; the default is in README.md, "Credentials and RAM" (never logged)',
      docs: `${url}/docs`,
      auth: config.auth ? 'on' : 'off',
    },
    `KMS emulator ready at ${url}`,
  );
}
