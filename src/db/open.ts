import path from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Database } from './database.js';
import { migrate } from './migrate.js';
import { openPgliteFromTemplate } from './pglite-template.js';
import { dropEarlyPgliteWorker } from './pglite-worker-start.js';
import { checkDataDirModes } from './private-dir.js';

/** The configured database, migrated: PostgreSQL for a postgres:// URL, else PGlite. */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  const url = config.databaseUrl;
  if (url === undefined || url === 'memory://') {
    const dataDir = url === undefined ? path.resolve(config.dataDir) : undefined;
    if (dataDir) for (const warning of checkDataDirModes(dataDir)) logger.warn({ dataDir: config.dataDir }, warning);
    const { db, applied, source } = await openPgliteFromTemplate({ dataDir, logger });
    logger.info({ database: describeDatabase(config), applied, source }, 'database ready');
    return db;
  }
  dropEarlyPgliteWorker();
  // Loaded only for PostgreSQL (pg is ~100 ms of an embedded start-up otherwise).
  const { createPgDatabase } = await import('./pg-database.js');
  const db = createPgDatabase({ url, poolMax: config.dbPoolMax, timeoutMs: config.dbTimeoutMs, logger });
  try {
    const applied = await migrate(db);
    logger.info({ database: describeDatabase(config), applied }, 'database ready');
    return db;
  } catch (err) {
    await db.close().catch(() => {});
    throw err;
  }
}

/** Where the data lives, without credentials. */
export function describeDatabase(config: Config): string {
  if (config.databaseUrl === undefined) return `embedded PGlite in ${path.resolve(config.dataDir)}`;
  if (config.databaseUrl === 'memory://') return 'PGlite in memory (memory://: nothing is kept)';
  try {
    const u = new URL(config.databaseUrl);
    return `PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'PostgreSQL';
  }
}
