import type { Writable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Logger, pino } from 'pino';
import type { Config } from '../../config.js';
import { requestQueryPairs } from '../caller.js';
import { prettyStream } from './pretty-log.js';

// The service's logger and its one line per request. SDK 1.x puts every parameter in the
// URL, Plaintext and Signature included: request logs show the path and the parameter
// names only, never a query string or a body, and secrets are redacted wherever they appear.

export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  '*.AccessKeySecret',
  '*.accessKeySecret',
  '*.Plaintext',
  '*.Signature',
  '*.masterKey',
];

function paramNames(req: { url?: string }): string[] {
  if (!req.url?.includes('?')) return [];
  return [...new Set(requestQueryPairs(req as { url: string }).map(([name]) => name))].slice(0, 50);
}

export const logSerializers = {
  req(req: FastifyRequest | { method?: string; url?: string }) {
    const url = req.url ?? '';
    return { method: req.method, path: url.split('?', 1)[0], paramNames: paramNames(req) };
  },
  res(res: { statusCode?: number }) {
    return { statusCode: res.statusCode };
  },
};

/**
 * One line per request, when it is answered (Fastify's default is two: received and
 * answered), with the error code when there is one. Health and metrics scrapes log at
 * debug, so they do not drown the rest.
 */
export function registerRequestLogging(app: FastifyInstance) {
  if (app.log.level === 'debug' || app.log.level === 'trace') {
    app.addHook('onRequest', async (request) => {
      request.log.debug({ req: request }, 'request received');
    });
  }
  app.addHook('onResponse', async (request, reply) => {
    const quiet = request.url.startsWith('/health/') || request.url === '/metrics';
    const line = {
      req: request,
      statusCode: reply.statusCode,
      code: reply.kmsErrorCode,
      operation:
        request.kmsOperation ?? (request.routeOptions.schema as { operationId?: string } | undefined)?.operationId,
      responseTimeMs: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (quiet) request.log.debug(line, 'request answered');
    else request.log.info(line, 'request answered');
  });
}

/**
 * The service's logger, secrets redacted: JSON lines to `stream` or stdout, or readable
 * lines (pretty-log.ts) with LOG_FORMAT=pretty, or by default when stdout is a terminal.
 */
export function createLogger(config: Config, stream?: Writable): Logger {
  const options = {
    level: config.logLevel,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: logSerializers,
  };
  const out = stream ?? pino.destination(1);
  const format = config.logFormat ?? (stream === undefined && process.stdout.isTTY ? 'pretty' : 'json');
  if (format === 'json') return pino(options, out);
  const color = stream === undefined && process.stdout.isTTY === true;
  return pino(options, prettyStream(out, color));
}
