import type { FastifyInstance } from 'fastify';
import type { Database } from '../../db/database.js';
import { migrationsApplied } from '../../db/migrate.js';
import { catalog } from '../../errors.js';

// Health needs no credentials and tells nothing about the data. /errors is the page
// every error's Recommend link points at.

export function registerHealthRoutes(app: FastifyInstance, deps: { db: Database }) {
  app.get('/health/live', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/health/ready', { schema: { hide: true } }, async (request, reply) => {
    try {
      await deps.db.ping();
      if (!(await migrationsApplied(deps.db))) {
        return reply.code(503).send({ status: 'unavailable', database: 'up', migrations: 'pending' });
      }
      return { status: 'ok', database: 'up', migrations: 'applied' };
    } catch (err) {
      request.log.warn({ err: { message: (err as Error).message } }, 'readiness check failed');
      return reply.code(503).send({ status: 'unavailable', database: 'down' });
    }
  });

  app.get('/errors', { schema: { hide: true } }, async (_request, reply) => {
    const rows = Object.entries(catalog)
      .map(
        ([code, e]) =>
          `<tr id="${code}"><td><code>${code}</code></td><td>${e.rpcStatus}</td><td>${e.restStatus}</td><td>${e.message}</td></tr>`,
      )
      .join('\n');
    return reply
      .type('text/html; charset=utf-8')
      .send(
        `<!doctype html><html><head><meta charset="utf-8"><title>KMS emulator errors</title></head><body>` +
          `<h1>Error codes</h1><table><tr><th>Code</th><th>RPC status</th><th>REST status</th><th>Message</th></tr>\n${rows}</table></body></html>`,
      );
  });
}
