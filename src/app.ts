import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler } from 'fastify-type-provider-zod';
import { pino } from 'pino';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { openDatabase } from './db/open.js';
import { tidyTables } from './db/table-upkeep.js';
import { resolveMasterKey } from './domain/crypto/master-key-store.js';
import type { ServiceDeps } from './domain/deps.js';
import { loadIdentities } from './domain/iam/identities.js';
import { startSweeper } from './domain/keys/sweeper.js';
import { invalidParameter, KmsError } from './errors.js';
import { createDbNonceStore, createMemoryNonceStore } from './http/auth/nonce-store.js';
import { sendError } from './http/envelope.js';
import { type Authenticator, createAuthenticator, createOpenAuthenticator } from './http/plugins/authenticator.js';
import { registerBodyParsers } from './http/plugins/body-parsers.js';
import { registerErrorHandler } from './http/plugins/error-handler.js';
import { registerHealthRoutes } from './http/plugins/health.js';
import { logSerializers, REDACT_PATHS, registerRequestLogging } from './http/plugins/logging.js';
import { registerMetrics } from './http/plugins/metrics.js';
import { withRateLimit } from './http/plugins/rate-limit.js';
import { registerRestRoutes } from './http/rest/rest.routes.js';
import { registerRpcRoutes } from './http/rpc/rpc.routes.js';
import { applySeedFile } from './seed/seed.js';

export interface AppDeps {
  /** A database the caller owns (tests share one per file); the app will not close it. */
  db?: Database;
  clock?: () => Date;
  /** Where log lines go (tests capture them to prove nothing secret is logged). */
  logStream?: Writable;
}

/** Builds a ready Fastify instance over the configured database. Never listens. */
export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const logger = pino(
    {
      level: config.logLevel,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: logSerializers,
    },
    deps.logStream ?? pino.destination(1),
  );
  for (const { name, closest } of config.unknownSettings) {
    logger.warn({ setting: name, closest }, `unknown setting ${name} is ignored; did you mean ${closest}?`);
  }

  const ownsDb = deps.db === undefined;
  const db = deps.db ?? (await openDatabase(config, logger));
  let app: FastifyInstance | undefined;
  try {
    const masterKey = await resolveMasterKey(config, db);
    const serviceDeps: ServiceDeps = {
      db,
      clock: deps.clock ?? (() => new Date()),
      masterKey,
      quotas: { keys: config.keyQuota, aliases: config.aliasQuota },
    };
    if (config.seedFile !== undefined) {
      const seeded = await applySeedFile(serviceDeps, {
        file: config.seedFile,
        accountId: config.accountId,
        region: config.defaultRegion,
      });
      logger.info({ seedFile: config.seedFile, ...seeded }, 'seed file applied');
    }
    const identities = loadIdentities({
      accountId: config.accountId,
      accessKeyId: config.accessKeyId,
      accessKeySecret: config.accessKeySecret,
      file: config.identitiesFile,
    });
    const nonces = db.kind === 'postgres' ? createDbNonceStore(db) : createMemoryNonceStore();
    const authenticator: Authenticator = withRateLimit(
      config.auth
        ? createAuthenticator({ config, identities, nonces, clock: serviceDeps.clock })
        : createOpenAuthenticator(identities),
      config.rateLimitRps,
      serviceDeps.clock,
    );

    app = Fastify({
      loggerInstance: logger,
      genReqId: () => randomUUID().toUpperCase(),
      // One line per request instead of two (registerRequestLogging).
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: config.bodyLimitBytes,
      // SDK 1.x puts every parameter in the URL: ~9 KiB of Base64 for a 6 KiB plaintext.
      // Node would answer a request without Host with a bare 400; the onRequest hook below
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
      clientErrorHandler: (err, socket) => {
        if (!socket.writable) return socket.destroy();
        const code = (err as { code?: string }).code;
        const body = JSON.stringify({
          RequestId: randomUUID().toUpperCase(),
          HostId: '',
          Code: 'InvalidParameter',
          Message: code === 'HPE_HEADER_OVERFLOW' ? 'The request headers are too large.' : 'The request is malformed.',
          Recommend: '',
        });
        socket.end(
          `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json;charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        );
      },
    }) as unknown as FastifyInstance;
    const instance: FastifyInstance = app;
    let sweeper: { stop(): void } | undefined;
    instance.addHook('onClose', async () => {
      sweeper?.stop();
      if (ownsDb) await db.close();
    });

    // Route schemas describe and shape; the operations' own schemas validate (rest-route.ts).
    // Fastify hands an absent body to the validator as null: keep it absent.
    instance.setValidatorCompiler(() => (data) => ({ value: data ?? undefined }));
    instance.setSerializerCompiler(serializerCompiler);

    await instance.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'KMS emulator: REST face',
          description:
            'Local emulator of Alibaba Cloud KMS (keys, aliases, encryption). The RPC face at `/` speaks the ' +
            'Alibaba SDKs’ protocol; this document describes the REST face under `/v1`.',
          version: '2016-01-20',
        },
        servers: [{ url: 'http://127.0.0.1:8080' }],
        components: {
          securitySchemes: {
            basic: { type: 'http', scheme: 'basic', description: 'AccessKeyId:AccessKeySecret' },
            acs3: {
              type: 'apiKey',
              in: 'header',
              name: 'Authorization',
              description: 'ACS3-HMAC-SHA256 Credential=<ak>,SignedHeaders=<list>,Signature=<hex>',
            },
          },
        },
      },
      transform: jsonSchemaTransform,
      transformObject: jsonSchemaTransformObject,
    });
    await instance.register(swaggerUi, { routePrefix: '/docs' });

    registerBodyParsers(instance);
    registerErrorHandler(instance);

    // Every response names its request; a request that runs too long answers 503.
    instance.addHook('onRequest', async (request, reply) => {
      reply.header('x-acs-request-id', request.id);
      if (!request.headers.host) throw invalidParameter('Host');
      const timer = setTimeout(() => {
        if (!reply.sent) {
          request.log.warn({ timeoutMs: config.requestTimeoutMs }, 'request timed out');
          void sendError(request, reply, new KmsError('ServiceUnavailableTemporary'));
        }
      }, config.requestTimeoutMs);
      timer.unref();
      reply.raw.once('close', () => clearTimeout(timer));
    });
    registerRpcRoutes(instance, { deps: serviceDeps, authenticator, config });
    registerRestRoutes(instance, { deps: serviceDeps, config, authenticator });
    registerHealthRoutes(instance, { db });
    registerMetrics(instance, { db });
    registerRequestLogging(instance);

    await instance.ready();
    const tidy = async () => {
      const tables = await tidyTables(db);
      if (tables.length > 0) logger.debug({ tables }, 'tables vacuumed and analyzed');
    };
    await tidy().catch((err: unknown) => logger.warn({ err }, 'could not vacuum and analyze the tables'));
    sweeper = startSweeper(serviceDeps, config.sweepIntervalMs, logger, [(now) => nonces.prune(now), tidy]);
    logger.info(
      { auth: config.auth ? 'on' : 'off', identities: identities.describe(), defaultAccessKeyId: config.accessKeyId },
      'identities loaded',
    );
    return instance;
  } catch (err) {
    if (app) await app.close().catch(() => {});
    else if (ownsDb) await db.close().catch(() => {});
    throw err;
  }
}
