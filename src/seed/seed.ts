// Applies the seed file (spec section 12) at start-up: creates the keys and aliases it
// lists, per account and region, with CreateKey's and CreateAlias's own statements and
// decisions (src/operations), so the scopes' counters and quotas stay exact.
//
// Idempotent: an entry that already exists identically is skipped; one that exists
// differently is a problem, and nothing existing is ever changed. The whole seed is one
// transaction: when any entry is refused, start-up stops and the database is left as it
// was, with every problem listed at once. Each scope's counter row is locked first (in a
// fixed order), so instances starting together over one database seed one after the other
// and the later ones find everything in place.

import { timingSafeEqual } from 'node:crypto';
import { type Queryable, sqlState, UNIQUE_VIOLATION } from '../db/database.js';
import type { ServiceDeps } from '../domain/deps.js';
import { materialFingerprint, setMaterialFingerprint } from '../domain/keys/imported-material.js';
import { withClearMaterial } from '../domain/keys/key-material.js';
import { readTags } from '../domain/keys/key-tags.js';
import { findKeyVersion, updateKey } from '../domain/keys/keys.store.js';
import { purgeExpired } from '../domain/keys/purge.js';
import { findKey, keyLookup, type ResolvedKey } from '../domain/keys/resolver.js';
import type { Scope } from '../domain/scope.js';
import { countOneMore, lockScope, withinQuota } from '../domain/scope-counters.js';
import { KmsError } from '../errors.js';
import { decideCreateAlias, insertAlias } from '../operations/create-alias.js';
import { CreateKeyInput, insertKeyWithVersion } from '../operations/create-key.js';
import {
  loadSeedFile,
  type PlannedAlias,
  type PlannedKey,
  type PlannedScope,
  type SeedDefaults,
  SeedError,
  type SeedPlan,
  wipePlan,
} from './seed.schemas.js';

export { SeedError, seedKeyId, seedKeyVersionId } from './seed.schemas.js';

// What a seeded key is: CreateKey's defaults, with the seed's KeySpec and KeyUsage.
const SEEDED_KEY = CreateKeyInput.parse({});

export interface SeedResult {
  scopes: number;
  keysCreated: number;
  keysSkipped: number;
  aliasesCreated: number;
  aliasesSkipped: number;
}

/** Reads, validates and applies a seed file. Throws SeedError naming every problem. */
export async function applySeedFile(deps: ServiceDeps, options: SeedDefaults & { file: string }): Promise<SeedResult> {
  const plan = loadSeedFile(options.file, options);
  try {
    return await applySeedPlan(deps, plan);
  } finally {
    wipePlan(plan);
  }
}

/** One application of a plan: what it needs and what it has found so far. */
interface Seeding {
  deps: ServiceDeps;
  now: Date;
  result: SeedResult;
  problems: string[];
}

const where = (s: Scope) => `account ${s.accountId} region ${s.region}`;

/** Applies a validated plan in one transaction. Throws SeedError (nothing applied) on any problem. */
export async function applySeedPlan(deps: ServiceDeps, plan: SeedPlan): Promise<SeedResult> {
  return deps.db.transaction((tx) => applySeedPlanIn(tx, deps, plan));
}

/** Applies a validated plan in the caller's transaction (a reset re-seeds in its own). */
export async function applySeedPlanIn(tx: Queryable, deps: ServiceDeps, plan: SeedPlan): Promise<SeedResult> {
  const now = deps.clock();
  const result: SeedResult = {
    scopes: plan.scopes.length,
    keysCreated: 0,
    keysSkipped: 0,
    aliasesCreated: 0,
    aliasesSkipped: 0,
  };
  const problems: string[] = [];
  const seeding: Seeding = { deps, now, result, problems };
  const refuse = () => new SeedError(`Seed file (${plan.file}) not applied, nothing was changed`, problems);

  {
    const byLockOrder = [...plan.scopes].sort((a, b) =>
      a.scope.accountId === b.scope.accountId
        ? compare(a.scope.region, b.scope.region)
        : compare(a.scope.accountId, b.scope.accountId),
    );
    for (const s of byLockOrder) await lockScope(tx, s.scope);
    try {
      for (const s of plan.scopes) await applyScope(seeding, tx, s);
    } catch (err) {
      // A constraint the checks above did not foresee: the transaction is spoilt, stop here.
      if (err instanceof SeedUniqueViolation) {
        problems.push(err.problem);
        throw refuse();
      }
      throw err;
    }
    if (problems.length > 0) throw refuse();
  }
  return result;
}

async function applyScope(seeding: Seeding, tx: Queryable, planned: PlannedScope): Promise<void> {
  const { scope } = planned;
  const { deps, now, result, problems } = seeding;
  await purgeExpired(tx, scope, now);
  const refusedKeys = new Set<string>();

  for (const key of planned.keys) {
    const existing = (await findKey(tx, scope, key.keyId, now)).key;
    if (existing) {
      const differences = await differencesFrom(seeding, tx, scope, existing, key);
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
    if (!withinQuota(await countOneMore(tx, scope, 'key_count', deps.quotas.keys), deps.quotas.keys)) {
      refusedKeys.add(key.keyId);
      problems.push(
        `${key.at}: creating key ${key.keyId} would pass the key quota of ${where(scope)} ` +
          `(KMS_KEY_QUOTA=${deps.quotas.keys})`,
      );
      continue;
    }
    await createKey(seeding, tx, scope, key);
    result.keysCreated++;
  }

  for (const alias of planned.aliases) {
    // The key's own problem is already listed; its aliases would only repeat it.
    if (refusedKeys.has(alias.keyId)) continue;
    const problem = await createAlias(seeding, tx, scope, alias);
    if (problem) problems.push(problem);
  }
}

/** An alias through CreateAlias's own statement and decision; a problem, or none. */
async function createAlias(
  { deps, now, result }: Seeding,
  tx: Queryable,
  scope: Scope,
  alias: PlannedAlias,
): Promise<string | undefined> {
  const existing = (await findKey(tx, scope, alias.aliasName, now)).key;
  if (existing) {
    if (existing.id === alias.keyId) {
      result.aliasesSkipped++;
      return undefined;
    }
    return (
      `${alias.at}: alias ${alias.aliasName} already exists in ${where(scope)} and points at key ` +
      `${existing.id}, not ${alias.keyId}; the seed never re-points an alias (UpdateAlias does)`
    );
  }
  const quota = deps.quotas.aliases;
  const lookup = keyLookup(scope, alias.keyId, now, { lock: 'share' });
  const written = await insertAlias(tx, scope, lookup, alias.aliasName, true, quota, now);
  const outcome = decideCreateAlias({
    found:
      written.keyId && written.state
        ? { key: { id: written.keyId, state: written.state } }
        : { notFound: lookup.notFound },
    permission: { allowed: true },
    inserted: written.inserted,
    aliasesAfter: written.total,
    quota,
    purged: false, // the scope was purged first
  });
  if (outcome === 'created') {
    result.aliasesCreated++;
    return undefined;
  }
  const code = outcome instanceof KmsError ? outcome.code : outcome;
  switch (code) {
    case 'Forbidden.KeyNotFound':
      return `${alias.at}: KeyId ${alias.keyId} is neither a key of the seed nor of ${where(scope)}`;
    case 'AliasAlreadyExists':
      return `${alias.at}: alias ${alias.aliasName} was created in ${where(scope)} while seeding`;
    case 'Rejected.LimitExceeded':
      return (
        `${alias.at}: creating alias ${alias.aliasName} would pass the alias quota of ${where(scope)} ` +
        `(KMS_ALIAS_QUOTA=${quota})`
      );
    default:
      return `${alias.at}: key ${alias.keyId} is ${written.state}; an alias cannot be created for it (${code})`;
  }
}

async function createKey({ deps, now }: Seeding, tx: Queryable, scope: Scope, key: PlannedKey): Promise<void> {
  // An EXTERNAL key without material waits for an import, without a version (spec 17.1).
  const waits = key.origin === 'EXTERNAL' && key.material === undefined;
  try {
    await insertKeyWithVersion(tx, deps.masterKey, scope, {
      id: key.keyId,
      versionId: waits ? null : key.versionId,
      input: {
        ...SEEDED_KEY,
        KeySpec: key.keySpec as CreateKeyInput['KeySpec'],
        KeyUsage: key.keyUsage as CreateKeyInput['KeyUsage'],
        Origin: key.origin,
        Description: key.description,
        Tags: key.tags,
        EnableAutomaticRotation: key.rotationIntervalS !== null,
        ...(key.rotationIntervalS !== null && { RotationInterval: key.rotationIntervalS }),
      },
      // A root principal's name is its account id (what CreateKey by the root shows).
      creator: scope.accountId,
      now,
      ...(key.material && { material: { secret: key.material, publicKey: null } }),
      ...(key.pair && { material: { secret: key.pair.privateKey, publicKey: key.pair.publicKey } }),
    });
    if (key.origin === 'EXTERNAL' && key.material) {
      // Seeded material counts as imported: a later import must carry the same (17.1).
      await setMaterialFingerprint(tx, scope, key.keyId, materialFingerprint(deps.masterKey, key.keyId, key.material));
    }
    if (key.deletionProtection.enabled) {
      await updateKey(tx, scope, key.keyId, { deletionProtection: key.deletionProtection });
    }
  } catch (err) {
    if (sqlState(err) !== UNIQUE_VIOLATION) throw err;
    throw new SeedUniqueViolation(
      `${key.at}.KeyVersionId: key version ${key.versionId} already belongs to another key of ${where(scope)}`,
      err,
    );
  }
}

/** What differs between an existing key and its seed entry, as phrases; empty when identical. */
async function differencesFrom(
  { deps, now }: Seeding,
  tx: Queryable,
  scope: Scope,
  existing: ResolvedKey,
  key: PlannedKey,
): Promise<string[]> {
  const out: string[] = [];
  const otherKind = existing.key_spec !== key.keySpec;
  if (otherKind || existing.key_usage !== key.keyUsage || existing.origin !== key.origin) {
    out.push(
      `as a ${existing.key_spec} ${existing.key_usage} key of origin ${existing.origin} ` +
        `(the seed makes a ${key.keySpec} ${key.keyUsage} key of origin ${key.origin})`,
    );
  }
  if (existing.description !== key.description) out.push('with a different Description');
  if (existing.rotation_interval_s !== key.rotationIntervalS) out.push('with a different automatic rotation policy');
  const protection = key.deletionProtection;
  if (
    existing.deletion_protection !== protection.enabled ||
    (protection.enabled && existing.deletion_protection_description !== protection.description)
  ) {
    out.push('with a different DeletionProtection');
  }
  const tags = await readTags(tx, scope, existing.id);
  const sameTags =
    tags.length === key.tags.length &&
    key.tags.every((t) => tags.some((e) => e.TagKey === t.TagKey && e.TagValue === t.TagValue));
  if (!sameTags) out.push('with different Tags');
  const fixed = key.material ?? key.pair?.privateKey;
  if (key.origin === 'EXTERNAL' && key.material !== undefined && !existing.has_material) {
    // Deleted or expired since: the seed does not import it again.
    out.push('without its imported material (deleted or expired since)');
  } else if (fixed !== undefined && !otherKind) {
    const version = await findKeyVersion(tx, scope, key.keyId, key.versionId, now);
    if (!version) {
      out.push(`without a key version ${key.versionId} (the seed's KeyVersionId, or the one derived from its KeyId)`);
    } else {
      const given = fixed;
      const same = withClearMaterial(deps.masterKey, key.keyId, key.versionId, version.wrapped_material, (stored) =>
        stored.length === given.length ? timingSafeEqual(stored, given) : false,
      );
      if (!same) out.push(`with different key material in version ${key.versionId}`);
    }
  }
  return out;
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

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
