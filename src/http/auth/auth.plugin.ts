import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { storedConflicts } from '../../admin/accounts.store.js';
import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import { type IdentityStore, loadIdentities } from '../../domain/iam/identities.js';
import type { Authentication } from '../caller.js';
import { createAuthenticator, createOpenAuthenticator, type StoredKeyLookup } from './authenticator.js';
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
    /** The accounts and access keys of configuration and the identities file. */
    identities: IdentityStore;
  }
}

export interface AuthOptions {
  config: Config;
  db: Database;
  clock: () => Date;
  /** Access keys stored in the database (admin-made accounts), looked up on a miss. */
  storedKeys?: StoredKeyLookup;
}

const authPlugin: FastifyPluginAsync<AuthOptions> = async (app, { config, db, clock, storedKeys }) => {
  const identities = loadIdentities({
    accountId: config.accountId,
    accessKeyId: config.accessKeyId,
    accessKeySecret: config.accessKeySecret,
    file: config.identitiesFile,
    regions: config.regions,
  });
  const conflicts = await storedConflicts(db, identities.ids());
  if (conflicts.length > 0) {
    throw new Error(
      `The identities name ids that accounts made by the admin API already hold in the database: ${conflicts.join(', ')}`,
    );
  }
  const nonces = db.kind === 'postgres' ? createDbNonceStore(db) : createMemoryNonceStore();
  const authenticator = withRateLimit(
    config.auth
      ? createAuthenticator({ config, identities, nonces, clock, ...(storedKeys && { storedKeys }) })
      : createOpenAuthenticator(identities),
    config.rateLimitRps,
    clock,
  );
  app.decorate('authenticate', (request: FastifyRequest, face: 'rpc' | 'rest') =>
    authenticator.authenticate(request, face),
  );
  app.decorate('nonces', nonces);
  app.decorate('identities', identities);
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
