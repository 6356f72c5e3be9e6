import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Database } from '../../src/db/database.js';
import type { Credentials } from './clients.js';
import { makeApp, type TestApp } from './test-app.js';

// An app whose identities file gives an account RAM users, each with one policy of the
// given statements and one access key (`ramUser(prefix, name)`), for tests of RAM checks.

export interface PolicyStatement {
  Effect: 'Allow' | 'Deny';
  Action: string | string[];
  Resource: string | string[];
}

export const allow = (action: string | string[], resource: string | string[]): PolicyStatement => ({
  Effect: 'Allow',
  Action: action,
  Resource: resource,
});

/** The credentials of user `name` in an app made by ramApp with the same prefix. */
export const ramUser = (prefix: string, name: string): Credentials => ({
  accessKeyId: `AK_${prefix}_${name}`,
  secret: `secret-of-${name}`,
});

/** An app over `db` whose account `accountId` has the given users; closed with the test file. */
export async function ramApp(
  holder: { db: Database; extra: TestApp[] },
  accountId: string,
  prefix: string,
  users: Record<string, PolicyStatement[]>,
): Promise<TestApp> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kms-ram-'));
  const file = path.join(dir, 'identities.json');
  writeFileSync(
    file,
    JSON.stringify({
      accounts: [
        {
          accountId,
          users: Object.entries(users).map(([name, statements]) => ({
            name,
            accessKeys: [
              { accessKeyId: ramUser(prefix, name).accessKeyId, accessKeySecret: ramUser(prefix, name).secret },
            ],
            policies: [{ Version: '1', Statement: statements }],
          })),
        },
      ],
    }),
  );
  try {
    const app = await makeApp(holder.db, { KMS_IDENTITIES_FILE: file });
    holder.extra.push(app);
    return app;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
