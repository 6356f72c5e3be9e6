import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { createAliasesService } from './domain/aliases/aliases.service.js';
import { createCryptoService } from './domain/crypto/crypto.service.js';
import { resolveMasterKey } from './domain/crypto/master-key-store.js';
import type { ServiceDeps } from './domain/deps.js';
import { createKeysService } from './domain/keys/keys.service.js';
import type { Services } from './domain/operations.js';
import { applySeedFile } from './domain/seed/seed.js';

// What the operations run on: the database, the clock, the master key (checked against the
// database's fingerprint) and the quotas, with the seed file applied before any request.

export async function createServices(
  config: Config,
  { db, clock, logger }: { db: Database; clock: () => Date; logger: Logger },
): Promise<{ deps: ServiceDeps; services: Services }> {
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
  const services: Services = {
    keys: createKeysService(deps),
    aliases: createAliasesService(deps),
    crypto: createCryptoService(deps),
  };
  return { deps, services };
}
