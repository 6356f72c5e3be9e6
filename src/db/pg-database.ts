import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Logger } from 'pino';
import { KmsError } from '../errors.js';
import { type Database, type Queryable, type QueryResult, type StatementText, toStatement } from './database.js';

// node-postgres returns bigint/numeric as strings; the schema only uses int and the
// queries cast counts to int, so the defaults are kept.

export interface PgOptions {
  url: string;
  poolMax: number;
  timeoutMs: number;
  logger: Logger;
}

// Errors that mean "the database is not there right now", as opposed to a bug.
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
const UNAVAILABLE_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_STATES.has(code) || UNAVAILABLE_ERRNOS.has(code))) return true;
  // statement_timeout (57014) and client-side timeouts both mean "did not answer in time".
  if (code === '57014') return true;
  return /timeout|Connection terminated|connection error|Client has encountered a connection error/i.test(err.message);
}

function translate(err: unknown): unknown {
  if (err instanceof KmsError) return err;
  if (isUnavailable(err)) return new KmsError('ServiceUnavailableTemporary', undefined, undefined, { cause: err });
  return err;
}

// Every statement the service sends is a fixed SQL text with parameters, so each is
// prepared once per connection (named by a hash of its text) instead of being parsed and
// planned on every request.
const statementNames = new Map<string, string>();
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `kms_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`;
    statementNames.set(sql, name);
  }
  return name;
}

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<R>(sql: StatementText, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const { text, values } = toStatement(sql, params);
      try {
        const res = await client.query({ name: statementName(text), text, values: values as unknown[] });
        return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
      } catch (err) {
        throw translate(err);
      }
    },
    async exec(sql: string): Promise<void> {
      try {
        await client.query(sql);
      } catch (err) {
        throw translate(err);
      }
    },
  };
}

function createPools(opts: PgOptions): { pool: pg.Pool; relaxedPool: pg.Pool; genericPool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolMax,
    connectionTimeoutMillis: opts.timeoutMs,
    // Client-side bound, so a server that accepted the connection but stopped answering
    // still gives ServiceUnavailableTemporary instead of a hang.
    query_timeout: opts.timeoutMs,
    statement_timeout: opts.timeoutMs,
    idle_in_transaction_session_timeout: Math.max(opts.timeoutMs * 5, 10_000),
    application_name: 'kms-emulator',
  });
  // A few connections of their own, set by `options`, for statements that want a setting
  // the main pool's must not have.
  const sidePool = (name: string, options: string) =>
    new pg.Pool({
      connectionString: opts.url,
      max: Math.max(2, Math.ceil(opts.poolMax / 2)),
      connectionTimeoutMillis: opts.timeoutMs,
      query_timeout: opts.timeoutMs,
      statement_timeout: opts.timeoutMs,
      application_name: `kms-emulator-${name}`,
      options,
    });
  // synchronous_commit off, for writes whose loss in a database crash is acceptable
  // (queryRelaxed): they do not wait for the WAL flush (signature nonces; docs/design.md).
  const relaxedPool = sidePool('relaxed', '-c synchronous_commit=off');
  // Statements marked `plan: 'generic'` (list pages): each is planned once per connection,
  // without its parameters' values and never by a sequential scan, instead of anew on every
  // call once skewed statistics make the planner rate the generic plan dearer
  // (docs/design.md, "The plan cache").
  const genericPool = sidePool('generic', '-c plan_cache_mode=force_generic_plan -c enable_seqscan=off');
  // Without a listener an idle client's error (e.g. the server restarting) crashes the process.
  for (const p of [pool, relaxedPool, genericPool]) {
    p.on('error', (err) => opts.logger.warn({ err: { message: err.message } }, 'idle database connection failed'));
  }
  return { pool, relaxedPool, genericPool };
}

/** One transaction on one client of the pool (node-postgres docs): BEGIN, fn, COMMIT or ROLLBACK. */
async function inTransaction<T>(pool: pg.Pool, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw translate(err);
  }
  let broken = false;
  // A connection that drops mid-transaction emits 'error' on its client; unheard, that
  // would crash the process. The query in flight fails on its own; the client is
  // destroyed instead of going back to the pool.
  const onError = () => {
    broken = true;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(wrap(client));
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch {
      broken = true; // the connection is unusable: destroy it instead of returning it
    }
    throw translate(err);
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

export function createPgDatabase(opts: PgOptions): Database {
  const { pool, relaxedPool, genericPool } = createPools(opts);
  const base = wrap(pool);
  const relaxed = wrap(relaxedPool);
  const generic = wrap(genericPool);
  return {
    kind: 'postgres',
    query: (sql, params) =>
      typeof sql !== 'string' && sql.plan === 'generic' ? generic.query(sql, params) : base.query(sql, params),
    queryRelaxed: relaxed.query,
    exec: base.exec,
    transaction: (fn) => inTransaction(pool, fn),
    async ping() {
      await base.query('SELECT 1');
    },
    stats() {
      return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
    },
    async close() {
      await Promise.all([pool.end(), relaxedPool.end(), genericPool.end()]);
    },
  };
}
