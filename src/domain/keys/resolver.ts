import type { Queryable } from '../../db/database.js';
import { KmsError } from '../../errors.js';
import { parseKeyReference, type Scope } from '../scope.js';
import { KEY_COLUMNS, type KeyRow, liveFilter } from './keys.repo.js';

// The one resolver: every operation that takes a key identifier (key id, key ARN, alias
// name, alias ARN) turns it into a key here, in one round trip, within the caller's
// scope. An identifier of another account or region, or a key past its deletion date,
// is not found.

export interface ResolvedKey extends KeyRow {
  /** The wrapped material of the primary version, when asked for (crypto operations). */
  wrapped_material?: Buffer | null;
}

export interface ResolveOptions {
  /** Lock the key row for the rest of the caller's transaction. */
  lock?: 'share' | 'update';
  /** Also return the primary version's wrapped material. */
  withMaterial?: boolean;
}

export async function resolveKey(
  q: Queryable,
  scope: Scope,
  identifier: string,
  now: Date,
  options: ResolveOptions = {},
): Promise<ResolvedKey> {
  const ref = parseKeyReference(scope, identifier);
  if (ref.kind === 'none') {
    throw new KmsError(ref.notFound === 'alias' ? 'Forbidden.AliasNotFound' : 'Forbidden.KeyNotFound');
  }
  const material = options.withMaterial
    ? `, v.wrapped_material FROM keys k LEFT JOIN key_versions v
         ON v.account_id = k.account_id AND v.region = k.region AND v.id = k.primary_key_version`
    : ' FROM keys k';
  const lock = options.lock ? ` FOR ${options.lock === 'share' ? 'SHARE' : 'UPDATE'} OF k` : '';
  const sql =
    ref.kind === 'key'
      ? `SELECT ${KEY_COLUMNS}${material}
          WHERE k.account_id = $1 AND k.region = $2 AND k.id = $3 AND ${liveFilter(4)}${lock}`
      : `SELECT ${KEY_COLUMNS}${material}
           JOIN aliases a ON a.account_id = k.account_id AND a.region = k.region AND a.key_id = k.id
          WHERE a.account_id = $1 AND a.region = $2 AND a.alias_name = $3 AND ${liveFilter(4)}${lock}`;
  const { rows } = await q.query<ResolvedKey>(sql, [
    scope.accountId,
    scope.region,
    ref.kind === 'key' ? ref.keyId : ref.aliasName,
    now,
  ]);
  const row = rows[0];
  if (!row) throw new KmsError(ref.kind === 'key' ? 'Forbidden.KeyNotFound' : 'Forbidden.AliasNotFound');
  return row;
}
