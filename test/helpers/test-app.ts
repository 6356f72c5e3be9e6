import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { pino } from 'pino';
import supertest from 'supertest';
import { afterAll, beforeAll } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { type Database, type Queryable, toStatement } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { createPgDatabase } from '../../src/db/pg-database.js';
import { openPgliteFromTemplate } from '../../src/db/pglite-template.js';
import type { Statement } from '../../src/db/sql.js';

// One database per test file: PostgreSQL when TEST_DATABASE_URL is set, else an in-memory
// PGlite copied from the migrated template (src/db/pglite-template.ts; under 1 s and 0.2 GB
// an instance, against 4+ s and 0.8 GB built anew). Tests keep apart by giving each test
// its own region (and account), never by a new database.

export const TEST_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');
export const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

export async function openTestDatabase(): Promise<Database> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) return (await openPgliteFromTemplate({ dataDir: undefined })).db;
  const db = createPgDatabase({ url, poolMax: 20, timeoutMs: 10_000, logger: pino({ level: 'silent' }) });
  await migrate(db);
  return db;
}

/**
 * A database no other test file sees, for tests that change the whole service (the admin
 * API's clock and `{}` reset, spec 21.2): a fresh PostgreSQL database beside
 * TEST_DATABASE_URL's, dropped by `drop()`, or a PGlite of its own.
 */
export async function openPrivateDatabase(): Promise<{ db: Database; url?: string; drop(): Promise<void> }> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    const { db } = await openPgliteFromTemplate({ dataDir: undefined });
    return { db, drop: () => db.close() };
  }
  const name = `kms_private_${randomBytes(6).toString('hex')}`;
  const onServer = async (text: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  await onServer(`CREATE DATABASE ${name}`);
  const own = new URL(url);
  own.pathname = `/${name}`;
  const db = createPgDatabase({
    url: own.toString(),
    poolMax: 20,
    timeoutMs: 10_000,
    logger: pino({ level: 'silent' }),
  });
  await migrate(db);
  return {
    db,
    url: own.toString(),
    async drop() {
      await db.close();
      await onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/**
 * The database with a hook that runs before each statement the service sends through
 * query() (in or out of a transaction): for tests that watch or disturb its SQL.
 */
export function withStatementHook(db: Database, before: (statement: Statement) => void | Promise<void>): Database {
  const wrap = (q: Queryable): Queryable => ({
    query: async (sql, params) => {
      const statement = toStatement(sql, params);
      await before(statement);
      return q.query(statement);
    },
    exec: (sql) => q.exec(sql),
  });
  return {
    kind: db.kind,
    ...wrap(db),
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    queryRelaxed: (sql, params) => db.queryRelaxed(sql, params),
    ping: () => db.ping(),
    stats: () => db.stats(),
    close: () => db.close(),
  } as Database;
}

/** A fresh region name, so each test sees an empty (account, region). */
export function uniqueRegion(): string {
  return `cn-t${randomBytes(5).toString('hex')}`;
}

/** A fresh 16-digit account id. */
export function uniqueAccount(): string {
  return `9${Array.from(randomBytes(15), (b) => String(b % 10)).join('')}`;
}

/** Captures every log line, to prove that nothing secret is ever logged. */
export class LogCapture extends Writable {
  lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void) {
    this.lines.push(chunk.toString('utf8'));
    cb();
  }
  get text() {
    return this.lines.join('');
  }
}

export interface TestApp {
  app: FastifyInstance;
  db: Database;
  logs: LogCapture;
  http: ReturnType<typeof supertest>;
  /** Moves the service's clock (ms); tests pass a pending window without waiting. */
  advance(ms: number): void;
}

export type Env = Record<string, string>;

export function testEnv(env: Env = {}): Env {
  return {
    DATABASE_URL: 'memory://',
    KMS_MASTER_KEY: TEST_MASTER_KEY,
    LOG_LEVEL: 'info',
    KMS_SWEEP_INTERVAL_MS: '0',
    // Tests make up regions (uniqueRegion) to keep their data apart.
    KMS_REGIONS: '*',
    ...env,
  };
}

/** Builds an app over the given database. The caller closes it (the db stays open). */
export async function makeApp(db: Database, env: Env = {}): Promise<TestApp> {
  const logs = new LogCapture();
  let offset = 0;
  const app = await buildApp(loadConfig(testEnv(env)), {
    db,
    logStream: logs,
    clock: () => new Date(Date.now() + offset),
  });
  return {
    app,
    db,
    logs,
    http: supertest(app.server),
    advance(ms) {
      offset += ms;
    },
  };
}

/**
 * Registers beforeAll/afterAll for a file: one database, one app (more can be made with
 * makeApp over `ctx.db`). Returns a holder filled in before the tests run.
 */
export function useTestApp(env: Env = {}): TestApp & { extra: TestApp[] } {
  const holder = { extra: [] as TestApp[] } as unknown as TestApp & { extra: TestApp[] };
  beforeAll(async () => {
    const db = await openTestDatabase();
    Object.assign(holder, await makeApp(db, env));
  });
  afterAll(async () => {
    for (const a of holder.extra) await a.app.close();
    await holder.app?.close();
    await holder.db?.close();
  });
  return holder;
}
