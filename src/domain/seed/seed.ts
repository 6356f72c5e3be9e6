// Applies the seed file (spec section 12) at start-up: creates the keys and aliases it
// lists, per account and region, with the repositories the API uses, so the scopes'
// counters and quotas stay exact.
//
// Idempotent: an entry that already exists identically is skipped; one that exists
// differently is a problem, and nothing existing is ever changed. The whole seed is one
// transaction: when any entry is refused, start-up stops and the database is left as it
// was, with every problem listed at once. Each scope's counter row is locked first (in a
// fixed order), so instances starting together over one database seed one after the other
// and the later ones find everything in place.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { type Queryable, sqlState, UNIQUE_VIOLATION } from '../../db/database.js';
import { KmsError } from '../../errors.js';
import * as aliasesRepo from '../aliases/aliases.repo.js';
import { unwrapKeyMaterial, wrapKeyMaterial } from '../crypto/master-key.js';
import type { ServiceDeps } from '../deps.js';
import { assertKeyState } from '../keys/key-state.js';
import * as keysRepo from '../keys/keys.repo.js';
import { materialAad } from '../keys/keys.service.js';
import { type ResolvedKey, resolveKey } from '../keys/resolver.js';
import type { Scope } from '../scope.js';
import { lockScope } from './seed.repo.js';
import {
  loadSeedFile,
  type PlannedKey,
  type PlannedScope,
  type SeedDefaults,
  SeedError,
  type SeedPlan,
  wipePlan,
} from './seed.schemas.js';

export { SeedError, seedKeyId, seedKeyVersionId } from './seed.schemas.js';

// What a seeded key is: CreateKey's defaults.
const KEY_SPEC = 'Aliyun_AES_256';
const KEY_USAGE = 'ENCRYPT/DECRYPT';
const ORIGIN = 'Aliyun_KMS';
const PROTECTION_LEVEL = 'SOFTWARE';

export interface SeedResult {
  scopes: number;
  keysCreated: number;
  keysSkipped: number;
  aliasesCreated: number;
  aliasesSkipped: number;
}

/** Reads, validates and applies a seed file. Throws SeedError naming every problem. */
export async function applySeedFile(deps: ServiceDeps, options: SeedDefaults & { file: string }): Promise<SeedResult> {
  const plan = loadSeedFile(options.file, { accountId: options.accountId, region: options.region });
  try {
    return await applySeedPlan(deps, plan);
  } finally {
    wipePlan(plan);
  }
}

const where = (s: Scope) => `account ${s.accountId} region ${s.region}`;
const asBuffer = (bytes: Uint8Array) =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Applies a validated plan in one transaction. Throws SeedError (nothing applied) on any problem. */
export async function applySeedPlan(deps: ServiceDeps, plan: SeedPlan): Promise<SeedResult> {
  const now = deps.clock();
  const result: SeedResult = {
    scopes: plan.scopes.length,
    keysCreated: 0,
    keysSkipped: 0,
    aliasesCreated: 0,
    aliasesSkipped: 0,
  };
  const problems: string[] = [];
  const refuse = () => new SeedError(`Seed file (${plan.file}) not applied, nothing was changed`, problems);

  await deps.db.transaction(async (tx) => {
    const byLockOrder = [...plan.scopes].sort((a, b) =>
      a.scope.accountId === b.scope.accountId
        ? compare(a.scope.region, b.scope.region)
        : compare(a.scope.accountId, b.scope.accountId),
    );
    for (const s of byLockOrder) await lockScope(tx, s.scope);
    try {
      for (const s of plan.scopes) await applyScope(tx, s);
    } catch (err) {
      // A constraint the checks above did not foresee: the transaction is spoilt, stop here.
      if (err instanceof SeedUniqueViolation) {
        problems.push(err.problem);
        throw refuse();
      }
      throw err;
    }
    if (problems.length > 0) throw refuse();
  });
  return result;

  async function applyScope(tx: Queryable, s: PlannedScope): Promise<void> {
    const { scope } = s;
    await keysRepo.purgeExpired(tx, scope, now);
    const refusedKeys = new Set<string>();

    for (const key of s.keys) {
      const existing = await findKey(tx, scope, key.keyId, now);
      if (existing) {
        const differences = await differencesFrom(tx, scope, existing, key);
        if (differences.length === 0) {
          result.keysSkipped++;
        } else {
          refusedKeys.add(key.keyId);
          problems.push(
            `${key.at}: key ${key.keyId} already exists in ${where(scope)} ${differences.join(', ')}; ` +
              'the seed never changes an existing key (change the seed, or the key through the API)',
          );
        }
        continue;
      }
      if (!(await keysRepo.reserveQuota(tx, scope, 'key_count', deps.quotas.keys))) {
        refusedKeys.add(key.keyId);
        problems.push(
          `${key.at}: creating key ${key.keyId} would pass the key quota of ${where(scope)} ` +
            `(KMS_KEY_QUOTA=${deps.quotas.keys})`,
        );
        continue;
      }
      await createKey(tx, scope, key);
      result.keysCreated++;
    }

    for (const alias of s.aliases) {
      // The key's own problem is already listed; its aliases would only repeat it.
      if (refusedKeys.has(alias.keyId)) continue;
      const existing = await aliasesRepo.findAliasForUpdate(tx, scope, alias.aliasName);
      if (existing) {
        if (existing.key_id === alias.keyId) {
          result.aliasesSkipped++;
        } else {
          problems.push(
            `${alias.at}: alias ${alias.aliasName} already exists in ${where(scope)} and points at key ` +
              `${existing.key_id}, not ${alias.keyId}; the seed never re-points an alias (UpdateAlias does)`,
          );
        }
        continue;
      }
      // FOR SHARE, as CreateAlias: the state checked below holds until commit.
      const key = await findKey(tx, scope, alias.keyId, now, 'share');
      if (!key) {
        problems.push(`${alias.at}: KeyId ${alias.keyId} is neither a key of the seed nor of ${where(scope)}`);
        continue;
      }
      try {
        assertKeyState('CreateAlias', key.state);
      } catch (err) {
        if (!(err instanceof KmsError)) throw err;
        problems.push(
          `${alias.at}: key ${alias.keyId} is ${key.state}; an alias cannot be created for it (${err.code})`,
        );
        continue;
      }
      if (!(await aliasesRepo.insertAlias(tx, scope, alias.aliasName, alias.keyId, now))) {
        problems.push(`${alias.at}: alias ${alias.aliasName} was created in ${where(scope)} while seeding`);
        continue;
      }
      if (!(await keysRepo.reserveQuota(tx, scope, 'alias_count', deps.quotas.aliases))) {
        problems.push(
          `${alias.at}: creating alias ${alias.aliasName} would pass the alias quota of ${where(scope)} ` +
            `(KMS_ALIAS_QUOTA=${deps.quotas.aliases})`,
        );
        continue;
      }
      result.aliasesCreated++;
    }
  }

  async function createKey(tx: Queryable, scope: Scope, key: PlannedKey): Promise<void> {
    await keysRepo.insertKey(tx, scope, {
      id: key.keyId,
      state: 'Enabled',
      keySpec: KEY_SPEC,
      keyUsage: KEY_USAGE,
      origin: ORIGIN,
      protectionLevel: PROTECTION_LEVEL,
      description: key.description,
      // A root principal's name is its account id (what CreateKey by the root shows).
      creator: scope.accountId,
      creationDate: now,
      primaryKeyVersion: key.versionId,
    });
    const material = key.material ?? randomBytes(32);
    try {
      await keysRepo.insertKeyVersion(tx, scope, {
        keyId: key.keyId,
        id: key.versionId,
        wrappedMaterial: wrapKeyMaterial(deps.masterKey, material, materialAad(key.keyId, key.versionId)),
        creationDate: now,
      });
    } catch (err) {
      if (sqlState(err) !== UNIQUE_VIOLATION) throw err;
      throw new SeedUniqueViolation(
        `${key.at}.KeyVersionId: key version ${key.versionId} already belongs to another key of ${where(scope)}`,
        err,
      );
    } finally {
      if (key.material === undefined) material.fill(0);
    }
  }

  /** What differs between an existing key and its seed entry, as phrases; empty when identical. */
  async function differencesFrom(
    tx: Queryable,
    scope: Scope,
    existing: ResolvedKey,
    key: PlannedKey,
  ): Promise<string[]> {
    const out: string[] = [];
    if (existing.key_spec !== KEY_SPEC || existing.key_usage !== KEY_USAGE || existing.origin !== ORIGIN) {
      out.push(
        `as a ${existing.key_spec} ${existing.key_usage} key of origin ${existing.origin} ` +
          `(the seed makes ${KEY_SPEC} ${KEY_USAGE} keys of origin ${ORIGIN})`,
      );
    }
    if (existing.description !== key.description) out.push('with a different Description');
    if (key.material !== undefined) {
      const version = await keysRepo.findKeyVersion(tx, scope, key.keyId, key.versionId, now);
      if (!version) {
        out.push(`without a key version ${key.versionId} (the seed's KeyVersionId, or the one derived from its KeyId)`);
      } else {
        const stored = unwrapKeyMaterial(
          deps.masterKey,
          asBuffer(version.wrapped_material),
          materialAad(key.keyId, key.versionId),
        );
        try {
          const same = stored.length === key.material.length && timingSafeEqual(stored, key.material);
          if (!same) out.push(`with different key material in version ${key.versionId}`);
        } finally {
          stored.fill(0);
        }
      }
    }
    return out;
  }
}

/** Carries a located problem out of a statement that spoilt the transaction. */
class SeedUniqueViolation extends Error {
  constructor(
    readonly problem: string,
    cause: unknown,
  ) {
    super(problem, { cause });
  }
}

/** The live key of the scope with this id, through the one resolver. */
async function findKey(
  tx: Queryable,
  scope: Scope,
  keyId: string,
  now: Date,
  lock?: 'share',
): Promise<ResolvedKey | undefined> {
  try {
    return await resolveKey(tx, scope, keyId, now, lock ? { lock } : {});
  } catch (err) {
    if (err instanceof KmsError && err.code === 'Forbidden.KeyNotFound') return undefined;
    throw err;
  }
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
