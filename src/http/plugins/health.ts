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
          `<tr id="${code}"><td><code>${code}</code></td><td>${e.rpcStatus}</td><td>${e.restStatus}</td>` +
          `<td>${html(e.message)}</td><td>${html(e.when)}</td></tr>`,
      )
      .join('\n');
    return reply
      .type('text/html; charset=utf-8')
      .send(
        `<!doctype html><html><head><meta charset="utf-8"><title>KMS emulator errors</title></head><body>` +
          `<h1>Error codes</h1><p>A message may add the reason after the documented text: ` +
          `<code>The specified parameter "AliasName" is not valid: it must start with alias/ …</code></p>` +
          `<table><tr><th>Code</th><th>RPC status</th><th>REST status</th><th>Message</th><th>When</th></tr>\n${rows}</table></body></html>`,
      );
  });
}

const html = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
