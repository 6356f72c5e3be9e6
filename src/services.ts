import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { resolveMasterKey } from './domain/crypto/master-key-store.js';
import type { ServiceDeps } from './domain/deps.js';
import { applySeedFile } from './seed/seed.js';

// What the operations run on: the database, the clock, the master key (checked against the
// database's fingerprint) and the quotas, with the seed file applied before any request.

export async function createServices(
  config: Config,
  { db, clock, logger }: { db: Database; clock: () => Date; logger: Logger },
): Promise<ServiceDeps> {
  const deps: ServiceDeps = {
    db,
    clock,
    masterKey: await resolveMasterKey(config, db),
    quotas: { keys: config.keyQuota, aliases: config.aliasQuota },
  };
  if (config.seedFile !== undefined) {
    const seeded = await applySeedFile(deps, {
      file: config.seedFile,
      accountId: config.accountId,
      region: config.defaultRegion,
    });
    logger.info({ seedFile: config.seedFile, ...seeded }, 'seed file applied');
  }
  return deps;
}
