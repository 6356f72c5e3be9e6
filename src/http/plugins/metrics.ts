import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../../db/database.js';
import { faceOf } from '../envelope.js';

// Prometheus metrics at /metrics (no credentials, no data): request counts and latency
// by face, operation and error code, and the database pool. Labels come from closed
// sets (known actions and routes, catalog codes), so a caller cannot grow them.

declare module 'fastify' {
  interface FastifyRequest {
    /** The operation this request ran, for the metrics label (set by each face). */
    kmsOperation?: string;
  }
  interface FastifyReply {
    /** The error code this reply answered with, if any (set by sendError). */
    kmsErrorCode?: string;
  }
}

export function registerMetrics(app: FastifyInstance, deps: { db: Database }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['face', 'operation', 'code'] as const;
  const requests = new Counter({
    name: 'kms_requests_total',
    help: 'Requests answered, by face, operation and error code (OK for success)',
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'kms_request_duration_seconds',
    help: 'Request latency, by face, operation and error code',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  new Gauge({
    name: 'kms_db_pool_connections',
    help: 'Database pool connections by state (the embedded database has one)',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const s = deps.db.stats();
      this.set({ state: 'total' }, s.total);
      this.set({ state: 'idle' }, s.idle);
      this.set({ state: 'waiting' }, s.waiting);
    },
  });

  app.decorateRequest('kmsOperation', undefined);
  app.decorateReply('kmsErrorCode', undefined);

  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    const face = faceOf(request.url);
    if (face === 'other') return; // health, metrics, docs
    const operation =
      request.kmsOperation ??
      (request.routeOptions.schema as { operationId?: string } | undefined)?.operationId ??
      'unknown';
    const labels = { face, operation, code: reply.kmsErrorCode ?? 'OK' };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const body = await registry.metrics();
    return reply.type(registry.contentType).send(body);
  });
}
