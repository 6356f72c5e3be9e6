import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';

// The emulator in a test suite's own process (issue 15): an in-memory database, a free
// port, the default account's root key pair, and the admin API (spec 21.2) behind four
// functions. Each call starts a separate emulator with a database of its own.

export interface StartEmulatorOptions {
  /** The default region (the one SDK 1.x clients, which send no region, work in). Default cn-hangzhou. */
  regionId?: string;
  /** A seed file (KMS_SEED_FILE), applied at start and re-applied by reset(). */
  seedFile?: string;
  /** Default `warn`: the emulator's log lines go to stdout. */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Any other variable of the configuration (README, "Configuration"), e.g. `{ KMS_KEY_QUOTA: '0' }`. */
  env?: Record<string, string>;
}

export interface EmulatorAccount {
  accountId: string;
  accessKeyId: string;
  accessKeySecret: string;
}

export interface ResetScope {
  accountId?: string;
  regionId?: string;
}

export interface Emulator {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** `127.0.0.1:<port>`: what `@alicloud/kms20160120` takes as `endpoint` (with `protocol: 'http'`). */
  host: string;
  port: number;
  regionId: string;
  accountId: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** Deletes keys and aliases (all accounts by default), re-applies the seed; answers what went. */
  reset(scope?: ResetScope): Promise<{ keys: number; aliases: number }>;
  /** Moves the service clock forward (deletion windows pass); answers the total offset in seconds. */
  advanceClock(seconds: number): Promise<number>;
  /** A fresh account with its own root key pair: a test that uses it needs no reset. */
  newAccount(accountId?: string): Promise<EmulatorAccount>;
  /** Stops the server and frees its database. */
  stop(): Promise<void>;
}

/** The environment of an emulator for one test suite: in memory, its own keys, any region. */
function emulatorConfig(options: StartEmulatorOptions) {
  return loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: 'memory://',
    KMS_MASTER_KEY: randomBytes(32).toString('base64'),
    KMS_ACCESS_KEY_ID: `LTAI${randomBytes(10).toString('hex')}`,
    KMS_ACCESS_KEY_SECRET: randomBytes(15).toString('hex'),
    KMS_REGIONS: '*',
    LOG_LEVEL: options.logLevel ?? 'warn',
    ...(options.regionId !== undefined && { KMS_DEFAULT_REGION: options.regionId }),
    ...(options.seedFile !== undefined && { KMS_SEED_FILE: options.seedFile }),
    ...options.env,
    KMS_ADMIN_API: 'on',
  });
}

/** A POST to the admin API with the default account's root key; its answer, or an Error. */
function adminClient(endpoint: string, accessKeyId: string, accessKeySecret: string) {
  const authorization = `Basic ${Buffer.from(`${accessKeyId}:${accessKeySecret}`).toString('base64')}`;
  return async function admin<T>(path: string, body: unknown): Promise<T> {
    const res = await fetch(`${endpoint}${path}`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${path}: ${res.status} ${answer.Code}: ${answer.Message}`);
    return answer as T;
  };
}

export async function startEmulator(options: StartEmulatorOptions = {}): Promise<Emulator> {
  const config = emulatorConfig(options);
  const app: FastifyInstance = await buildApp(config);
  try {
    await app.listen({ host: config.host, port: 0 });
  } catch (err) {
    await app.close();
    throw err;
  }
  const port = (app.server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const admin = adminClient(endpoint, config.accessKeyId, config.accessKeySecret);
  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    host: `127.0.0.1:${port}`,
    port,
    regionId: config.defaultRegion,
    accountId: config.accountId,
    accessKeyId: config.accessKeyId,
    accessKeySecret: config.accessKeySecret,
    async reset(scope = {}) {
      const answer = await admin<{ Deleted: { Keys: number; Aliases: number } }>('/_emulator/reset', {
        ...(scope.accountId !== undefined && { AccountId: scope.accountId }),
        ...(scope.regionId !== undefined && { RegionId: scope.regionId }),
      });
      return { keys: answer.Deleted.Keys, aliases: answer.Deleted.Aliases };
    },
    async advanceClock(seconds) {
      const answer = await admin<{ OffsetSeconds: number }>('/_emulator/clock', { AdvanceSeconds: seconds });
      return answer.OffsetSeconds;
    },
    async newAccount(accountId) {
      const answer = await admin<{ AccountId: string; AccessKeyId: string; AccessKeySecret: string }>(
        '/_emulator/accounts',
        accountId === undefined ? {} : { AccountId: accountId },
      );
      return { accountId: answer.AccountId, accessKeyId: answer.AccessKeyId, accessKeySecret: answer.AccessKeySecret };
    },
    stop() {
      stopped ??= app.close().then(() => {});
      return stopped;
    },
  };
}
