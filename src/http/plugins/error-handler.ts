import type { FastifyError, FastifyInstance } from 'fastify';
import { invalidParameter, KmsError } from '../../errors.js';
import { sendError } from '../envelope.js';

// The one error mapper: every error a route or hook throws ends here and leaves as the
// contract's envelope. Anything unexpected is logged with its cause and answered as
// InternalFailure with a generic message: no stack, SQL or driver text reaches a client.

const TRANSPORT_ERRORS: Record<string, () => KmsError> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => invalidParameter('Content-Type'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => invalidParameter('Content-Length'),
  FST_ERR_CTP_BODY_TOO_LARGE: () => new KmsError('InvalidParameter', 'The request body is too large.'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => invalidParameter('Body'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => invalidParameter('Body'),
  FST_ERR_CTP_EMPTY_TYPE: () => invalidParameter('Content-Type'),
  FST_ERR_CTP_INVALID_TYPE: () => invalidParameter('Content-Type'),
  FST_ERR_CTP_INVALID_PARSE_TYPE: () => invalidParameter('Content-Type'),
  FST_ERR_BAD_URL: () => invalidParameter('Path'),
  FST_ERR_ASYNC_CONSTRAINT: () => invalidParameter('Path'),
  // A path under /docs/static that climbs out of it (`..%5c`, `....//`): not found, not a fault.
  FST_STATIC_FORBIDDEN_PATH: () => new KmsError('InvalidApi.NotFound'),
};

export function toContractError(err: unknown): KmsError | undefined {
  if (err instanceof KmsError) return err;
  const e = err as FastifyError;
  if (typeof e?.code === 'string' && TRANSPORT_ERRORS[e.code]) return TRANSPORT_ERRORS[e.code]!();
  // JSON.parse failures from the body parser carry statusCode 400 without a FST code.
  if (e instanceof SyntaxError && e.statusCode === 400) return invalidParameter('Body');
  if (e?.statusCode === 413) return new KmsError('InvalidParameter', 'The request body is too large.');
  return undefined;
}

export function registerErrorHandler(app: FastifyInstance) {
  app.setErrorHandler((err, request, reply) => {
    const known = toContractError(err);
    if (known) {
      if (known.code === 'ServiceUnavailableTemporary' || known.code === 'InternalFailure') {
        request.log.error({ err: known.cause ?? known }, 'request failed');
      }
      return sendError(request, reply, known);
    }
    request.log.error({ err }, 'unexpected error');
    return sendError(request, reply, new KmsError('InternalFailure'));
  });

  app.setNotFoundHandler((request, reply) => sendError(request, reply, new KmsError('InvalidApi.NotFound')));
}
