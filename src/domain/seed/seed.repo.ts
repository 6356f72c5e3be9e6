import type { Queryable } from '../../db/database.js';
import type { Scope } from '../scope.js';

/**
 * Creates the scope's counter row if needed and locks it until commit: concurrent seeds of
 * one scope run one after the other, and CreateKey/CreateAlias there wait for the seed.
 */
export async function lockScope(q: Queryable, scope: Scope): Promise<void> {
  await q.query(
    `INSERT INTO scopes (account_id, region) VALUES ($1, $2)
     ON CONFLICT (account_id, region) DO UPDATE SET key_count = scopes.key_count`,
    [scope.accountId, scope.region],
  );
}
