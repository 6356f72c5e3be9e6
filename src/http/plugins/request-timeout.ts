import type { FastifyInstance } from 'fastify';
import { KmsError } from '../../errors.js';
import { sendError } from '../envelope.js';

// A request not answered within KMS_REQUEST_TIMEOUT_MS (a slow body, a database that does
// not answer) gets ServiceUnavailableTemporary (503) instead of an open connection.

export function registerRequestTimeout(app: FastifyInstance, timeoutMs: number) {
  app.addHook('onRequest', async (request, reply) => {
    const timer = setTimeout(() => {
      if (!reply.sent) {
        request.log.warn({ timeoutMs }, 'request timed out');
        void sendError(request, reply, new KmsError('ServiceUnavailableTemporary'));
      }
    }, timeoutMs);
    timer.unref();
    reply.raw.once('close', () => clearTimeout(timer));
  });
}
