import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import { loadIdentities } from '../../domain/iam/identities.js';
import type { Authentication } from '../caller.js';
import { createAuthenticator, createOpenAuthenticator } from './authenticator.js';
import { createDbNonceStore, createMemoryNonceStore, type NonceStore } from './nonce-store.js';
import { withRateLimit } from './rate-limit.js';

// Authentication as a Fastify plugin: it loads the identities, keeps the signature nonces
// (in the database on PostgreSQL, so instances sharing it catch each other's replays; in
// memory on PGlite, which has one process), and decorates the instance with
// `authenticate`, which each face calls first thing in its route (spec section 10).

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Who is calling: the signature (or Basic credentials) checked, the nonce recorded, the
     * caller's rate limit applied. Throws the contract's error (IncompleteSignature,
     * SignatureDoesNotMatch, SignatureNonceUsed, Rejected.Throttling...).
     */
    authenticate(request: FastifyRequest, face: 'rpc' | 'rest'): Promise<Authentication>;
    /** The signature nonces seen; the upkeep prunes those past their window. */
    nonces: NonceStore;
  }
}

export interface AuthOptions {
  config: Config;
  db: Database;
  clock: () => Date;
}

const authPlugin: FastifyPluginAsync<AuthOptions> = async (app, { config, db, clock }) => {
  const identities = loadIdentities({
    accountId: config.accountId,
    accessKeyId: config.accessKeyId,
    accessKeySecret: config.accessKeySecret,
    file: config.identitiesFile,
    regions: config.regions,
  });
  const nonces = db.kind === 'postgres' ? createDbNonceStore(db) : createMemoryNonceStore();
  const authenticator = withRateLimit(
    config.auth ? createAuthenticator({ config, identities, nonces, clock }) : createOpenAuthenticator(identities),
    config.rateLimitRps,
    clock,
  );
  app.decorate('authenticate', (request: FastifyRequest, face: 'rpc' | 'rest') =>
    authenticator.authenticate(request, face),
  );
  app.decorate('nonces', nonces);
  app.log.info(
    { auth: config.auth ? 'on' : 'off', identities: identities.describe(), defaultAccessKeyId: config.accessKeyId },
    'identities loaded',
  );
};
// Not encapsulated (what fastify-plugin does): the decorators belong to the instance the
// routes are registered on.
Object.assign(authPlugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'auth' });

export async function registerAuth(app: FastifyInstance, options: AuthOptions): Promise<void> {
  await app.register(authPlugin, options);
}
