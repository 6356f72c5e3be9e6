import type { Statement } from './sql.js';

// The one database interface. Repositories take a Queryable, so the same code runs
// inside or outside a transaction and on either adapter (pg Pool or embedded PGlite).

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** A statement built with the `sql` tag, or plain text with its parameters. */
export type StatementText = string | Statement;

/** The text and values of either form. */
export function toStatement(sql: StatementText, params: readonly unknown[] = []): Statement {
  return typeof sql === 'string' ? { tag: 'text', text: sql, values: params } : sql;
}

export interface Queryable {
  /** One parameterized statement. */
  query<R = Record<string, unknown>>(sql: StatementText, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** A script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn in one transaction on one connection; rolls back when fn throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * One statement whose loss in a database crash is acceptable (signature nonces): it
   * commits without waiting for the WAL flush. Adapters without the distinction run it
   * as query().
   */
  queryRelaxed<R = Record<string, unknown>>(sql: StatementText, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /**
   * This open created the database (PGlite: a template's copy, or initdb and the
   * migrations): its tables are empty, so the start-up upkeep has nothing to do.
   */
  readonly created?: boolean;
  /** Cheap liveness probe for /health/ready. */
  ping(): Promise<void>;
  /** Pool gauges for /metrics (PGlite has one in-process connection). */
  stats(): { total: number; idle: number; waiting: number };
  close(): Promise<void>;
}

/** SQLSTATE of a unique violation, translated to domain errors at the repository edge. */
export const UNIQUE_VIOLATION = '23505';

export function sqlState(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/** Thrown inside a transaction to roll it back and hand its result out. */
class RollBack<T> {
  constructor(readonly result: T) {}
}

/**
 * Runs fn in a transaction that commits only when `commit` holds for its result, and
 * answers the result either way (a write that turned out to break a rule, e.g. a quota).
 */
export async function transactionIf<T>(
  db: Database,
  fn: (tx: Queryable) => Promise<T>,
  commit: (result: T) => boolean,
): Promise<T> {
  try {
    return await db.transaction(async (tx) => {
      const result = await fn(tx);
      if (!commit(result)) throw new RollBack(result);
      return result;
    });
  } catch (err) {
    if (err instanceof RollBack) return err.result as T;
    throw err;
  }
}
