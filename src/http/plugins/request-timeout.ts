import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { KmsError } from '../../errors.js';
import { sendError } from '../envelope.js';

// A request not answered within KMS_REQUEST_TIMEOUT_MS (a slow body, a database that does
// not answer) gets ServiceUnavailableTemporary (503) instead of an open connection, and
// the connection is then closed: a client that trickles its body a byte at a time would
// otherwise keep the socket for as long as it likes (issue 14.4). Node's own requestTimeout
// (server-options.ts) is the backstop for a request that never reaches Fastify's hooks.

/** How long a connection may take to flush the 503 before it is destroyed. */
const CLOSE_GRACE_MS = 1_000;

export function registerRequestTimeout(app: FastifyInstance, timeoutMs: number) {
  app.addHook('onRequest', async (request, reply) => {
    const timer = setTimeout(() => {
      if (reply.sent) return;
      request.log.warn({ timeoutMs }, 'request timed out');
      reply.header('connection', 'close');
      void sendError(request, reply, new KmsError('ServiceUnavailableTemporary'));
      // The body may still be arriving: end our side once the answer is out, and destroy
      // the socket if the client does not let it drain. (app.inject's mock socket has neither.)
      const socket = request.raw.socket as Partial<Socket> | undefined;
      reply.raw.once('finish', () => socket?.end?.());
      setTimeout(() => socket?.destroy?.(), CLOSE_GRACE_MS).unref();
    }, timeoutMs);
    timer.unref();
    reply.raw.once('close', () => clearTimeout(timer));
  });
}
