import type { FastifyInstance } from 'fastify';
import { invalidParameter } from '../../errors.js';

// Every response names its request (x-acs-request-id, the envelope's RequestId); a request
// without Host, which Node is told to let through (server-options.ts), is refused with the
// contract envelope instead of Node's bare 400.

export function registerRequestHeaders(app: FastifyInstance) {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-acs-request-id', request.id);
    if (!request.headers.host) throw invalidParameter('Host');
  });
}
