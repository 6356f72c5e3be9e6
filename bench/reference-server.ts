// The ceiling of Fastify + a database driver on this machine: one INSERT or one SELECT per
// request, no auth, no logging, no validation. The service's alias operations are measured
// against it (bench/run.ts). The table mirrors `aliases`. Two drivers:
// - pg, with the same pool size as the service;
// - PGlite as its README shows it (in the process, `db.query()`), on a data directory like
//   the service's embedded default: the ceiling a plain embedded handler reaches.
//
//   PORT=5056 DATABASE_URL=postgres://postgres@127.0.0.1:5432/db node --import tsx bench/reference-server.ts
//   PORT=5057 PGLITE_DIR=/tmp/ref-pglite node --import tsx bench/reference-server.ts

import { PGlite } from '@electric-sql/pglite';
import Fastify from 'fastify';
import pg from 'pg';

const port = Number(process.env.PORT ?? 5056);
const url = process.env.DATABASE_URL;
const pgliteDir = process.env.PGLITE_DIR;
if (!url && !pgliteDir) throw new Error('DATABASE_URL or PGLITE_DIR is required');

type Query = (text: string, values?: unknown[]) => Promise<{ rows: Record<string, unknown>[] }>;
let query: Query;
let end: () => Promise<void>;
if (url) {
  const pool = new pg.Pool({ connectionString: url, max: Number(process.env.POOL_MAX ?? 10) });
  pool.on('error', () => {});
  query = (text, values) => pool.query(text, values);
  end = () => pool.end();
} else {
  const db = await PGlite.create(pgliteDir === 'memory://' ? undefined : pgliteDir);
  query = (text, values) => db.query(text, values);
  end = () => db.close();
}

await query(`CREATE TABLE IF NOT EXISTS items (
  account_id text NOT NULL,
  region     text NOT NULL,
  name       text COLLATE "C" NOT NULL,
  key_id     text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, region, name)
)`);
// 300 rows to read, like the 300 aliases the service lists and resolves.
await query(
  `INSERT INTO items
   SELECT '1234567890123456', 'cn-hangzhou', 'item-' || lpad(n::text, 3, '0'), 'key-' || n, now(), now()
     FROM generate_series(0, 299) n
   ON CONFLICT DO NOTHING`,
);

const app = Fastify({ logger: false });

app.post<{ Body: { name: string; keyId: string } }>('/insert', async (request, reply) => {
  const now = new Date();
  await query(
    'INSERT INTO items (account_id, region, name, key_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)',
    ['1234567890123456', 'cn-shanghai', request.body.name, request.body.keyId, now],
  );
  return reply.code(201).send({ name: request.body.name });
});

app.get<{ Params: { name: string } }>('/select/:name', async (request, reply) => {
  const { rows } = await query(
    'SELECT name, key_id, created_at FROM items WHERE account_id = $1 AND region = $2 AND name = $3',
    ['1234567890123456', 'cn-hangzhou', request.params.name],
  );
  if (rows.length === 0) return reply.code(404).send({ error: 'not found' });
  return rows[0];
});

const address = await app.listen({ host: '127.0.0.1', port });
process.stdout.write(`reference server listening at ${address}\n`);

const stop = async () => {
  await app.close();
  await end();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
