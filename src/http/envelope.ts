import type { FastifyReply, FastifyRequest } from 'fastify';
import { catalog, type ErrorCode, type KmsError } from '../errors.js';

// The Alibaba error envelope, the same on both faces; only the status differs.

export type Face = 'rpc' | 'rest' | 'other';

export function faceOf(url: string): Face {
  // An absolute-form request target (GET http://host/v1/keys) names the same path.
  const target = url.startsWith('/') ? url : url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  const path = target.split('?', 1)[0] ?? '';
  if (path === '/') return 'rpc';
  if (path === '/v1' || path.startsWith('/v1/')) return 'rest';
  return 'other';
}

export function hostOf(request: FastifyRequest): string {
  return request.headers.host ?? request.hostname ?? 'localhost';
}

export function errorBody(request: FastifyRequest, err: KmsError) {
  return {
    RequestId: request.id,
    HostId: hostOf(request),
    Code: err.code,
    Message: err.message,
    Recommend: `${request.protocol}://${hostOf(request)}/errors#${encodeURIComponent(err.code)}`,
    ...err.details,
  };
}

export function statusFor(face: Face, code: ErrorCode): number {
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
