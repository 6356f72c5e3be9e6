import type { Server } from 'node:http';
import Fastify, { type FastifyHttpOptions, type FastifyInstance, LogController } from 'fastify';
import { serializerCompiler } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { invalidParameter } from '../errors.js';
import { clientErrorResponse, newRequestId, sendError } from './envelope.js';

// The Fastify instance and its options: what the two faces need from the HTTP layer
// (engineering notes: long URLs and paths, legal double slashes, every refusal in the
// contract's envelope, one log line per request).

export function serverOptions(config: Config, logger: Logger): FastifyHttpOptions<Server> {
  return {
    loggerInstance: logger,
    genReqId: newRequestId,
    // Route schemas describe and shape; the operations' own schemas validate
    // (http/rest/rest.routes.ts). Fastify hands an absent body to the validator as null:
    // keep it absent. Given here, Fastify never loads Ajv and fast-json-stringify (~50 ms
    // of start-up).
    schemaController: {
      compilersFactory: {
        buildValidator: () => () => (data: unknown) => ({ value: data ?? undefined }),
        buildSerializer: () => serializerCompiler,
      },
      // Fastify's types describe Ajv's and fast-json-stringify's factories only.
    } as unknown as FastifyHttpOptions<Server>['schemaController'],
    // One line per request instead of two (registerRequestLogging).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    // A plugin (the auth plugin's first queries, the docs) may take longer than Fastify's
    // 10 s default on a loaded machine; it must not fail the start for that.
    pluginTimeout: 120_000,
    // Node's bound on receiving a whole request (headers and body), a backstop behind the
    // request-timeout plugin, which answers 503 and closes first (issue 14.4).
    requestTimeout: config.requestTimeoutMs + 5_000,
    // SDK 1.x puts every parameter in the URL: ~9 KiB of Base64 for a 6 KiB plaintext.
    // Node would answer a request without Host with a bare 400; registerRequestHeaders
    // answers it with the contract envelope instead.
    http: { maxHeaderSize: 64 * 1024, requireHostHeader: false },
    routerOptions: {
      // a 255-character alias name or an alias ARN in one path segment
      maxParamLength: 2048,
      // `alias/a//b/` is a legal name: never rewrite the path
      ignoreTrailingSlash: false,
      ignoreDuplicateSlashes: false,
    },
    // Router errors (a bad escape in the path, a path segment over maxParamLength) get the
    // contract envelope too, without echoing the path.
    frameworkErrors: (_err, request, reply) => {
      void sendError(request, reply, invalidParameter('Path'));
    },
    // What Node refuses before Fastify has a request (headers over maxHeaderSize, a
    // malformed request) gets the envelope as well.
    clientErrorHandler: (err, socket) => {
      if (!socket.writable) return socket.destroy();
      const code = (err as { code?: string }).code;
      socket.end(
        clientErrorResponse(
          code === 'HPE_HEADER_OVERFLOW' ? 'The request headers are too large.' : 'The request is malformed.',
        ),
      );
    },
  };
}

/** The Fastify instance, not yet with any route. */
export function createServer(config: Config, logger: Logger): FastifyInstance {
  return Fastify(serverOptions(config, logger)) as unknown as FastifyInstance;
}
