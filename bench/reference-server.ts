// The ceiling of Fastify + pg on this machine: one INSERT or one SELECT per request, the
// same pool size as the service, no auth, no logging, no validation. The service's alias
// operations are measured against it (bench/run.ts). The table mirrors `aliases`.
//
//   PORT=5056 DATABASE_URL=postgres://postgres@127.0.0.1:5432/db node --import tsx bench/reference-server.ts

import Fastify from 'fastify';
import pg from 'pg';

const port = Number(process.env.PORT ?? 5056);
const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL is required');

const pool = new pg.Pool({ connectionString: url, max: Number(process.env.POOL_MAX ?? 10) });
pool.on('error', () => {});

await pool.query(`CREATE TABLE IF NOT EXISTS items (
  account_id text NOT NULL,
  region     text NOT NULL,
  name       text COLLATE "C" NOT NULL,
  key_id     text NOT NULL,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, region, name)
)`);
// 300 rows to read, like the 300 aliases the service lists and resolves.
await pool.query(
  `INSERT INTO items
   SELECT '1234567890123456', 'cn-hangzhou', 'item-' || lpad(n::text, 3, '0'), 'key-' || n, now(), now()
     FROM generate_series(0, 299) n
   ON CONFLICT DO NOTHING`,
);

const app = Fastify({ logger: false });

app.post<{ Body: { name: string; keyId: string } }>('/insert', async (request, reply) => {
  const now = new Date();
  await pool.query(
    'INSERT INTO items (account_id, region, name, key_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)',
    ['1234567890123456', 'cn-shanghai', request.body.name, request.body.keyId, now],
  );
  return reply.code(201).send({ name: request.body.name });
});

app.get<{ Params: { name: string } }>('/select/:name', async (request, reply) => {
  const { rows } = await pool.query(
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
  await pool.end();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
