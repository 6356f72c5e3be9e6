import type { FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { permissionFor, principalName } from '../../domain/iam/authorizer.js';
import type { IdentityStore, Principal } from '../../domain/iam/identities.js';
import { KmsError } from '../../errors.js';
import { type Authentication, type Caller, requestQueryPairs } from '../caller.js';
import type { NonceStore } from './nonce-store.js';
import {
  headerAlgorithmOf,
  parseAuthorizationV3,
  parseBasicAuth,
  type SignedRequest,
  verifyBasicAuth,
  verifySignature,
} from './signature.js';

// Who is calling (spec section 6). The RPC face takes signature V1 or V3; the REST face
// V3 or HTTP Basic. With KMS_AUTH=off every request is the default account's root.

export interface Authenticator {
  authenticate(request: FastifyRequest, face: 'rpc' | 'rest'): Promise<Authentication>;
}

/**
 * The signed headers of a V3 request, for the open authenticator (KMS_AUTH=off), which
 * checks no signature but still trusts only what a V3 request lists as signed.
 */
function v3SignedHeaders(request: FastifyRequest): string[] | undefined {
  const authz = request.headers.authorization;
  if (typeof authz !== 'string' || !headerAlgorithmOf(authz)) return undefined;
  try {
    return parseAuthorizationV3(authz).signedHeaders;
  } catch {
    return []; // malformed: nothing counts as signed
  }
}

/** The caller a principal makes: its account, access key and RAM permissions. */
export function callerFor(principal: Principal): Caller {
  return {
    accountId: principal.accountId,
    accessKeyId: principal.accessKeyId,
    principalName: principalName(principal),
    root: principal.kind === 'root',
    keyRegion: principal.region,
    permission: permissionFor(principal),
  };
}

function signedRequest(request: FastifyRequest): SignedRequest {
  const url = request.url;
  const q = url.indexOf('?');
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return {
    method: request.method,
    path: q === -1 ? url : url.slice(0, q),
    query: requestQueryPairs(request),
    form: request.formPairs ?? [],
    headers,
    body: request.rawBody ?? Buffer.alloc(0),
  };
}

export function createOpenAuthenticator(identities: IdentityStore): Authenticator {
  const caller = callerFor(identities.defaultPrincipal());
  return {
    async authenticate(request) {
      const signedHeaders = v3SignedHeaders(request);
      return signedHeaders ? { caller, scheme: 'V3', signedHeaders } : { caller, scheme: 'None' };
    },
  };
}

/** An access key the identities do not hold, looked up elsewhere (admin-made accounts, spec 21.2). */
export type StoredKeyLookup = (accessKeyId: string) => Promise<{ secret: string; principal: Principal } | undefined>;

/**
 * Runs a credential check against the identities; when the key it asked for is not among
 * them, against the stored keys (a database read each time: misses are not cached, so a
 * key made by another instance works at once). Answers the check's result and whose key it was.
 */
function checkCredentials(identities: IdentityStore, storedKeys: StoredKeyLookup | undefined) {
  return async function check<T extends string | { accessKeyId: string }>(
    verify: (lookup: (accessKeyId: string) => string | undefined) => T,
  ): Promise<{ verified: T; principal: Principal }> {
    let missed: string | undefined;
    try {
      const verified = verify((id) => {
        const secret = identities.lookup(id)?.secret;
        if (secret === undefined) missed = id;
        return secret;
      });
      const id = typeof verified === 'string' ? verified : verified.accessKeyId;
      return { verified, principal: identities.lookup(id)!.principal };
    } catch (err) {
      const id = missed;
      const stored = id === undefined || !storedKeys ? undefined : await storedKeys(id);
      if (!stored) throw err;
      const verified = verify((k) => (k === id ? stored.secret : undefined));
      return { verified, principal: stored.principal };
    }
  };
}

export function createAuthenticator(deps: {
  config: Config;
  identities: IdentityStore;
  nonces: NonceStore;
  clock: () => Date;
  storedKeys?: StoredKeyLookup;
}): Authenticator {
  const { identities, nonces, clock, storedKeys } = deps;

  const check = checkCredentials(identities, storedKeys);

  async function bySignature(request: FastifyRequest, face: 'rpc' | 'rest'): Promise<Authentication> {
    const now = clock();
    const { verified, principal } = await check((lookup) => verifySignature(signedRequest(request), lookup, now, face));
    let offset: number | undefined;
    const fresh = await nonces.use(verified.accessKeyId, verified.nonce, now, verified.timestamp, (seconds) => {
      offset = seconds;
    });
    if (!fresh) throw new KmsError('SignatureNonceUsed');
    const caller = callerFor(principal);
    const read = offset === undefined ? {} : { clockOffsetSeconds: offset };
    return verified.version === 'V3'
      ? { caller, scheme: 'V3', signedHeaders: verified.signedHeaders ?? [], ...read }
      : { caller, scheme: 'V1', ...read };
  }

  return {
    async authenticate(request, face) {
      if (face === 'rpc') return bySignature(request, 'rpc');
      const authz = request.headers.authorization;
      if (typeof authz === 'string' && headerAlgorithmOf(authz)) return bySignature(request, 'rest');
      if (deps.config.restBasicAuth && typeof authz === 'string' && /^basic /i.test(authz)) {
        const credentials = parseBasicAuth(authz);
        if (!credentials) throw new KmsError('IncompleteSignature', 'The Basic credentials are malformed.');
        const { principal } = await check((lookup) => verifyBasicAuth(credentials, lookup));
        return { caller: callerFor(principal), scheme: 'Basic' };
      }
      throw new KmsError(
        'IncompleteSignature',
        deps.config.restBasicAuth
          ? 'Credentials are required: HTTP Basic (AccessKeyId:AccessKeySecret) or an ACS3-HMAC-SHA256, ACS3-HMAC-SM3 or ACS4-HMAC-SHA256 signature.'
          : 'Credentials are required: an ACS3-HMAC-SHA256, ACS3-HMAC-SM3 or ACS4-HMAC-SHA256 signature.',
      );
    },
  };
}
