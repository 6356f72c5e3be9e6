import type { FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import type { Authentication, Pairs } from '../caller.js';

// Who is calling. With KMS_AUTH=off every request is the default account's root.

export interface Authenticator {
  authenticate(request: FastifyRequest, opts: { face: 'rpc' | 'rest'; pairs: Pairs }): Promise<Authentication>;
}

const V3_PREFIX = 'ACS3-HMAC-SHA256';

/** The SignedHeaders list of a V3 Authorization header, or undefined. */
export function v3SignedHeaders(request: FastifyRequest): string[] | undefined {
  const authz = request.headers.authorization;
  if (typeof authz !== 'string' || !authz.startsWith(V3_PREFIX)) return undefined;
  const m = /SignedHeaders=([^,]*)/.exec(authz);
  return m?.[1] ? m[1].split(';').map((h) => h.trim().toLowerCase()) : [];
}

export function createOpenAuthenticator(config: Config): Authenticator {
  const caller = {
    accountId: config.accountId,
    principalName: config.accountId,
    authorize: () => {},
  };
  return {
    async authenticate(request) {
      const signedHeaders = v3SignedHeaders(request);
      return signedHeaders ? { caller, scheme: 'V3', signedHeaders } : { caller, scheme: 'None' };
    },
  };
}
