import type { Queryable } from '../db/database.js';
import { sqlState } from '../db/database.js';
import { sql, statement } from '../db/sql.js';
import type { ServiceDeps } from '../domain/deps.js';
import { applySeedPlanIn } from '../seed/seed.js';
import { loadSeedFile, type SeedDefaults, wipePlan } from '../seed/seed.schemas.js';

// POST /_emulator/reset (spec 21.2): deletes the keys (their versions and material go with
// them) and aliases of a scope, zeroes its counters and re-applies the seed entries of that
// scope, in one transaction, so a concurrent request sees the state before or after.
//
// Locks, in this order: the keys and aliases tables in EXCLUSIVE mode (plain reads go on;
// writers wait for the reset, and the reset waits for the writers already running), then
// every counter row of the scope (created if missing, in key order). Locking only the
// counter rows, as the spec first suggests, deadlocked on PostgreSQL: CreateAlias holds its
// key FOR SHARE while it waits for the counter row, and the reset holding that row then
// waits for the key it deletes (docs/design.md, "The admin API"). Every writer touches keys
// or aliases before it touches a counter, so after the table locks no one holds a counter.

export interface ResetScope {
  /** Absent: every account. */
  accountId?: string;
  /** Only with accountId; absent: every region of the account. */
  region?: string;
}

export interface ResetResult {
  keys: number;
  aliases: number;
}

const DEADLOCK_DETECTED = '40P01';

const inScope = (scope: ResetScope) =>
  sql`(${scope.accountId ?? null}::text IS NULL OR account_id = ${scope.accountId ?? null}::text)
      AND (${scope.region ?? null}::text IS NULL OR region = ${scope.region ?? null}::text)`;

async function lockCounters(tx: Queryable, scope: ResetScope): Promise<void> {
  await tx.query(statement('admin.reset.lock-tables', sql`LOCK TABLE keys, aliases IN EXCLUSIVE MODE`));
  const where = inScope(scope);
  const named = scope.accountId !== undefined && scope.region !== undefined;
  // The (account, region) pairs the scope holds anything in, and the one it names.
  const pairs = sql`SELECT account_id, region FROM scopes WHERE ${where}
      UNION SELECT account_id, region FROM scope_counter_stripes WHERE ${where}
      UNION SELECT account_id, region FROM keys WHERE ${where}
      UNION SELECT account_id, region FROM aliases WHERE ${where}
      ${named ? sql`UNION SELECT ${scope.accountId}::text, ${scope.region}::text` : sql``}`;
  await tx.query(
    statement(
      'admin.reset.counter-rows',
      sql`WITH pairs AS (${pairs}),
          scope_rows AS (
            INSERT INTO scopes (account_id, region) SELECT account_id, region FROM pairs ORDER BY 1, 2
            ON CONFLICT (account_id, region) DO NOTHING)
          INSERT INTO scope_counter_stripes (account_id, region, stripe)
          SELECT account_id, region, stripe FROM pairs, generate_series(0, 15) AS stripe ORDER BY 1, 2, 3
          ON CONFLICT (account_id, region, stripe) DO NOTHING`,
    ),
  );
  await tx.query(
    statement(
      'admin.reset.lock-scopes',
      sql`SELECT 1 FROM scopes WHERE ${where} ORDER BY account_id, region FOR UPDATE`,
    ),
  );
  await tx.query(
    statement(
      'admin.reset.lock-stripes',
      sql`SELECT 1 FROM scope_counter_stripes WHERE ${where} ORDER BY account_id, region, stripe FOR UPDATE`,
    ),
  );
}

async function wipe(tx: Queryable, scope: ResetScope): Promise<ResetResult> {
  const where = inScope(scope);
  const aliases = await tx.query(statement('admin.reset.aliases', sql`DELETE FROM aliases WHERE ${where}`));
  const keys = await tx.query(statement('admin.reset.keys', sql`DELETE FROM keys WHERE ${where}`));
  await tx.query(statement('admin.reset.scopes', sql`UPDATE scopes SET key_count = 0, alias_count = 0 WHERE ${where}`));
  await tx.query(
    statement(
      'admin.reset.stripes',
      sql`UPDATE scope_counter_stripes SET key_count = 0, alias_count = 0 WHERE ${where}`,
    ),
  );
  return { keys: keys.rowCount, aliases: aliases.rowCount };
}

function inResetScope(scope: ResetScope, s: { accountId: string; region: string }): boolean {
  return (
    (scope.accountId === undefined || scope.accountId === s.accountId) &&
    (scope.region === undefined || scope.region === s.region)
  );
}

/**
 * Resets a scope; answers what it deleted. A deadlock against concurrent writers is retried
 * once (PostgreSQL picks one side to fail; the reset is the one that can simply run again).
 */
export async function resetScope(
  deps: ServiceDeps,
  scope: ResetScope,
  seed: { file?: string; defaults: SeedDefaults },
): Promise<ResetResult> {
  const run = () =>
    deps.db.transaction(async (tx) => {
      await lockCounters(tx, scope);
      const deleted = await wipe(tx, scope);
      if (seed.file !== undefined) {
        const plan = loadSeedFile(seed.file, seed.defaults);
        try {
          const scopes = plan.scopes.filter((s) => inResetScope(scope, s.scope));
          if (scopes.length > 0) await applySeedPlanIn(tx, deps, { ...plan, scopes });
        } finally {
          wipePlan(plan);
        }
      }
      return deleted;
    });
  try {
    return await run();
  } catch (err) {
    if (sqlState(err) !== DEADLOCK_DETECTED) throw err;
    return run();
  }
}
