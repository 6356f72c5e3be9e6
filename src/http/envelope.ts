import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { catalog, type ErrorCode, KmsError } from '../errors.js';

// The Alibaba error envelope, the same on both faces; only the status differs.

/** Which face a request target addresses: the RPC endpoint, the REST API, or neither. */
export type RequestFace = 'rpc' | 'rest' | 'other';

export function faceOf(url: string): RequestFace {
  // An absolute-form request target (GET http://host/v1/keys) names the same path.
  const target = url.startsWith('/') ? url : url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  const path = target.split('?', 1)[0] ?? '';
  if (path === '/') return 'rpc';
  if (path === '/v1' || path.startsWith('/v1/')) return 'rest';
  if (path === '/_emulator' || path.startsWith('/_emulator/')) return 'rest'; // the admin API answers as REST
  return 'other';
}

export function hostOf(request: FastifyRequest): string {
  return request.headers.host ?? request.hostname ?? 'localhost';
}

/** A request id as the service writes them: an upper-case UUID. */
export function newRequestId(): string {
  return randomUUID().toUpperCase();
}

/** The envelope's fields, in the contract's order, then the error's details (e.g. AccessDeniedDetail). */
function envelope(err: KmsError, where: { requestId: string; hostId: string; recommend: string }) {
  return {
    RequestId: where.requestId,
    HostId: where.hostId,
    Code: err.code,
    Message: err.message,
    Recommend: where.recommend,
    ...err.details,
  };
}

export function errorBody(request: FastifyRequest, err: KmsError) {
  const host = hostOf(request);
  return envelope(err, {
    requestId: request.id,
    hostId: host,
    recommend: `${request.protocol}://${host}/errors#${encodeURIComponent(err.code)}`,
  });
}

export function statusFor(face: RequestFace, code: ErrorCode): number {
  return face === 'rpc' ? catalog[code].rpcStatus : catalog[code].restStatus;
}

export function sendError(request: FastifyRequest, reply: FastifyReply, err: KmsError) {
  const face = faceOf(request.url);
  if (face === 'rest' && err.restStatus === 401) reply.header('www-authenticate', 'Basic realm="kms"');
  reply.kmsErrorCode = err.code;
  return reply
    .code(statusFor(face, err.code))
    .type('application/json;charset=utf-8')
    .send(JSON.stringify(errorBody(request, err)));
}

/**
 * The whole HTTP response to a request Node refused before Fastify saw it (a malformed
 * request, headers over the limit): InvalidParameter with its own request id, no host
 * and no link, since there is no request to take them from; the connection then closes.
 */
export function clientErrorResponse(message: string): string {
  const err = new KmsError('InvalidParameter', message);
  const body = JSON.stringify(envelope(err, { requestId: newRequestId(), hostId: '', recommend: '' }));
  return (
    'HTTP/1.1 400 Bad Request\r\nContent-Type: application/json;charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
  );
}
