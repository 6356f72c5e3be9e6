import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { ServiceDeps } from '../domain/deps.js';
import { ACCOUNT_ID_PATTERN, REGION_PATTERN } from '../domain/identifiers.js';
import { formatDate } from '../domain/keys/key-metadata.js';
import { parseParams } from '../domain/params.js';
import { inCatalog } from '../domain/regions.js';
import { invalidParameter, KmsError } from '../errors.js';
import type { Caller } from '../http/caller.js';
import { errorResponses } from '../http/rest/rest.schemas.js';
import { RequestId } from '../operations/presenters.js';
import { accountStored, newAccountId, storeAccount } from './accounts.store.js';
import { resetScope } from './reset.js';
import { MAX_ADVANCE_SECONDS, type ServiceClock } from './service-clock.js';

// The admin API for tests (spec 21.2): not Alibaba operations, so not in the operation
// registry, but on the REST face's machinery: its authentication, its envelope (faceOf
// counts /_emulator as REST), and parseParams for bodies. With KMS_ADMIN_API=off the routes
// are not registered and every path under /_emulator is the not-found handler's 404.

export interface AdminDeps {
  services: ServiceDeps;
  config: Config;
  serviceClock: ServiceClock;
}

const AccountId = z.string().regex(ACCOUNT_ID_PATTERN).describe('16 digits').meta({ example: '1234567890123456' });
const RegionId = z.string().regex(REGION_PATTERN).describe('A region id').meta({ example: 'cn-hangzhou' });

export const AdvanceClockBody = z.strictObject({
  AdvanceSeconds: z
    .number()
    .int()
    .min(1)
    .max(MAX_ADVANCE_SECONDS)
    .describe(`Seconds to move the service clock forward, 1 to ${MAX_ADVANCE_SECONDS} (ten years)`),
});

export const ResetBody = z
  .strictObject({
    AccountId: AccountId.optional().describe('Only this account; absent: every account'),
    RegionId: RegionId.optional().describe('Only this region of AccountId'),
  })
  .refine((b) => b.RegionId === undefined || b.AccountId !== undefined, {
    message: 'RegionId needs AccountId',
    path: ['AccountId'],
  });

export const CreateAccountBody = z.strictObject({
  AccountId: AccountId.optional().describe('The new account id (16 digits, not yet known); absent: a random one'),
});

const ClockAnswer = z
  .object({
    RequestId,
    Now: z.string().describe('The service clock (base clock + OffsetSeconds), as key dates are written'),
    OffsetSeconds: z.number().int().describe('How far the service clock is ahead of the base clock'),
  })
  .meta({ id: 'EmulatorClock' });

const ResetAnswer = z
  .object({
    RequestId,
    Deleted: z.object({ Keys: z.number().int(), Aliases: z.number().int() }),
  })
  .meta({ id: 'EmulatorReset' });

const AccountAnswer = z
  .object({
    RequestId,
    AccountId,
    AccessKeyId: z.string().describe('`LTAI` + 20 letters and digits'),
    AccessKeySecret: z.string().describe('30 letters and digits; shown once, never logged'),
  })
  .meta({ id: 'EmulatorAccount' });

const forbidden = () => new KmsError('Forbidden.NoPermission');

/** The caller, who must be an account's root key (RAM users never reach the admin API). */
async function rootCaller(request: FastifyRequest): Promise<Caller> {
  const { caller } = await request.server.authenticate(request, 'rest');
  if (!caller.root) throw forbidden();
  return caller;
}

function bodyOf(request: FastifyRequest): Record<string, unknown> {
  if (request.formPairs) throw invalidParameter('Content-Type');
  const body = request.body;
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body)) throw invalidParameter('Body');
  return body as Record<string, unknown>;
}

const routeSchema = (summary: string, description: string, operationId: string) => ({
  summary,
  description,
  operationId,
  tags: ['Emulator'],
  security: [{ basic: [] }, { acs3: [] }] as Array<Record<string, string[]>>,
});

export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  if (!deps.config.adminApi) return;
  registerClockRoutes(app, deps);
  registerResetRoute(app, deps);
  registerAccountsRoute(app, deps);
}

/** Only the default account's root may move the clock, reset everything or make accounts. */
const onlyDefaultAccount = (config: AdminDeps['config'], caller: Caller) => {
  if (caller.accountId !== config.accountId) throw forbidden();
};

function registerClockRoutes(app: FastifyInstance, { config, serviceClock }: AdminDeps): void {
  const clockAnswer = (requestId: string, offset: number) => ({
    RequestId: requestId,
    Now: formatDate(serviceClock.at(offset)()),
    OffsetSeconds: offset,
  });

  app.get(
    '/_emulator/clock',
    {
      schema: {
        ...routeSchema(
          'Read the service clock',
          'The service clock drives every domain date; the base clock (signatures, nonces, rate limits) never moves.',
          'EmulatorGetClock',
        ),
        response: { 200: ClockAnswer, ...errorResponses },
      },
    },
    async (request) => {
      request.kmsOperation = 'Emulator.GetClock';
      onlyDefaultAccount(config, await rootCaller(request));
      return clockAnswer(request.id, await serviceClock.offsetSeconds());
    },
  );

  app.post(
    '/_emulator/clock',
    {
      schema: {
        ...routeSchema(
          'Move the service clock forward',
          'Deletion windows pass and key dates move; signed requests keep working (signature windows stay on the ' +
            'base clock) and a nonce stays used. Applies, on every instance sharing the database, to every request ' +
            'that starts after the answer. It only stores the offset: no upkeep runs.',
          'EmulatorAdvanceClock',
        ),
        body: AdvanceClockBody,
        response: { 200: ClockAnswer, ...errorResponses },
      },
    },
    async (request) => {
      request.kmsOperation = 'Emulator.AdvanceClock';
      onlyDefaultAccount(config, await rootCaller(request));
      const { AdvanceSeconds } = parseParams(AdvanceClockBody, bodyOf(request));
      const offset = await serviceClock.advance(AdvanceSeconds);
      request.log.info({ admin: 'advance-clock', advanceSeconds: AdvanceSeconds, offsetSeconds: offset }, 'admin call');
      return clockAnswer(request.id, offset);
    },
  );
}

function registerResetRoute(app: FastifyInstance, { services, config }: AdminDeps): void {
  app.post(
    '/_emulator/reset',
    {
      schema: {
        ...routeSchema(
          'Reset keys and aliases',
          'Deletes the keys (versions, material) and aliases of every account, one account, or one account and ' +
            'region, resets their counters and re-applies the seed entries of the scope. Identities, accounts made ' +
            'here and the clock stay. Concurrent requests see the state before or after, never half.',
          'EmulatorReset',
        ),
        body: ResetBody,
        response: { 200: ResetAnswer, ...errorResponses },
      },
    },
    async (request) => {
      request.kmsOperation = 'Emulator.Reset';
      const caller = await rootCaller(request);
      const body = parseParams(ResetBody, bodyOf(request));
      if (body.AccountId !== caller.accountId) onlyDefaultAccount(config, caller);
      if (body.RegionId !== undefined && !inCatalog(services.regions.catalog, body.RegionId)) {
        throw invalidParameter('RegionId', 'it is no region of this service (KMS_REGIONS lists them)');
      }
      const scope = {
        ...(body.AccountId !== undefined && { accountId: body.AccountId }),
        ...(body.RegionId !== undefined && { region: body.RegionId }),
      };
      const deleted = await resetScope(await request.server.servicesNow(), scope, {
        ...(config.seedFile !== undefined && { file: config.seedFile }),
        defaults: { accountId: config.accountId, region: config.defaultRegion },
      });
      request.log.info({ admin: 'reset', scope, deleted }, 'admin call');
      return { RequestId: request.id, Deleted: { Keys: deleted.keys, Aliases: deleted.aliases } };
    },
  );
}

function registerAccountsRoute(app: FastifyInstance, { services, config }: AdminDeps): void {
  app.post(
    '/_emulator/accounts',
    {
      schema: {
        ...routeSchema(
          'Create an account with a root access key',
          'A fresh account, stored in the database (it survives a restart and every instance sees it), with one ' +
            'root access key pair. The secret is returned once.',
          'EmulatorCreateAccount',
        ),
        body: CreateAccountBody,
        response: { 201: AccountAnswer, ...errorResponses },
      },
    },
    async (request, reply) => {
      request.kmsOperation = 'Emulator.CreateAccount';
      onlyDefaultAccount(config, await rootCaller(request));
      const body = parseParams(CreateAccountBody, bodyOf(request));
      const created = await createAccount(services, request.server.identities.ids().accountIds, body.AccountId);
      request.log.info(
        { admin: 'create-account', accountId: created.accountId, accessKeyId: created.accessKeyId },
        'admin call',
      );
      reply.code(201);
      return {
        RequestId: request.id,
        AccountId: created.accountId,
        AccessKeyId: created.accessKeyId,
        AccessKeySecret: created.accessKeySecret,
      };
    },
  );
}

/** A stored account with a root key pair: the one asked for, refused when it exists, or a fresh id. */
async function createAccount(services: AdminDeps['services'], fileAccounts: readonly string[], accountId?: string) {
  const known = new Set(fileAccounts);
  const exists = () =>
    new KmsError('InvalidParameter', 'The specified parameter "AccountId" is not valid: the account exists.');
  if (accountId !== undefined) {
    if (known.has(accountId) || (await accountStored(services.db, accountId))) throw exists();
    const created = await storeAccount(services.db, services.masterKey, accountId);
    if (!created) throw exists();
    return created;
  }
  for (;;) {
    const id = newAccountId();
    const created = known.has(id) ? undefined : await storeAccount(services.db, services.masterKey, id);
    if (created) return created;
  }
}
