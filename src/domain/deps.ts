import type { Database } from '../db/database.js';
import type { RegionCatalog } from './regions.js';

/** What the services need from the outside world; built once by buildApp. */
export interface ServiceDeps {
  db: Database;
  /** The service's clock: all time in SQL comes from here, so tests can move it. */
  clock: () => Date;
  /** 32 bytes that wrap all key material. */
  masterKey: Buffer;
  quotas: { keys: number; aliases: number };
  /** CreateKeyVersion's limits (spec 15.5): least seconds since the last rotation, most versions; 0: none. */
  keyVersions: { minIntervalSeconds: number; limit: number };
  /** The region catalog (KMS_REGIONS) and the default region, for DescribeRegions. */
  regions: { catalog: RegionCatalog; defaultRegion: string };
}
