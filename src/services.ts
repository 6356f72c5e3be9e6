import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { resolveMasterKey } from './domain/crypto/master-key-store.js';
import type { ServiceDeps } from './domain/deps.js';
import { inCatalog, type RegionCatalog } from './domain/regions.js';
import { regionsHoldingData } from './domain/regions.store.js';
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
    keyVersions: { minIntervalSeconds: config.keyVersionMinIntervalS, limit: config.keyVersionLimit },
    regions: { catalog: config.regions, defaultRegion: config.defaultRegion },
  };
  await warnOfDataOutsideCatalog(db, config.regions, logger);
  if (config.seedFile !== undefined) {
    const seeded = await applySeedFile(deps, {
      file: config.seedFile,
      accountId: config.accountId,
      region: config.defaultRegion,
      regions: config.regions,
    });
    logger.info({ seedFile: config.seedFile, ...seeded }, 'seed file applied');
  }
  return deps;
}

/** Data in regions outside the catalog stays, unreachable until KMS_REGIONS names them: said once. */
async function warnOfDataOutsideCatalog(db: Database, catalog: RegionCatalog, logger: Logger): Promise<void> {
  if (catalog === '*') return;
  const outside = (await regionsHoldingData(db)).filter((r) => !inCatalog(catalog, r));
  if (outside.length > 0) {
    logger.warn(
      { regions: outside.slice(0, 20), count: outside.length },
      'keys or aliases are stored in regions outside KMS_REGIONS; they stay, unreachable until KMS_REGIONS names them',
    );
  }
}
