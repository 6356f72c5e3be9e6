import { pino } from 'pino';
import { loadConfig } from '../config.js';
import { withDotEnv } from '../dotenv.js';
import { describeDatabase, openDatabase } from './open.js';

// `npm run migrate`: applies pending migrations to the configured database and exits.
// Start-up does the same; this is for deploy pipelines that migrate first.

const logger = pino({ level: 'info' });
try {
  const config = loadConfig(withDotEnv(process.env).env);
  const db = await openDatabase(config, logger);
  await db.close();
  logger.info({ database: describeDatabase(config) }, 'migrations applied');
} catch (err) {
  process.stderr.write(`Migration failed: ${(err as Error).message}\n`);
  process.exit(1);
}
