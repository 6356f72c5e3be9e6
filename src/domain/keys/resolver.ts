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

/** The resolver's one statement for a reference, for a caller that builds on it (alias writes). */
export interface KeyLookup {
  /** A SELECT of the key row; its parameters are $1 to $4, a statement built on it goes on from $5. */
  sql: string;
  params: [accountId: string, region: string, identifier: string, now: Date];
  /** The error for "no row". */
  notFound: 'Forbidden.KeyNotFound' | 'Forbidden.AliasNotFound';
  /** The key id, when the reference names one (known before any lookup). */
  keyId?: string;
}

export function keyLookup(scope: Scope, identifier: string, now: Date, options: ResolveOptions = {}): KeyLookup {
  const ref = parseKeyReference(scope, identifier);
  if (ref.kind === 'none') {
    throw new KmsError(ref.notFound === 'alias' ? 'Forbidden.AliasNotFound' : 'Forbidden.KeyNotFound');
  }
  // Shaped so that every table is reached through its primary key whatever the planner's
  // statistics say: the alias is a one-row subquery run once, the material a subquery on
  // the key's own row. As joins, without statistics, the planner scanned every key of
  // the region for each lookup.
  const material = options.withMaterial
    ? `, (SELECT v.wrapped_material FROM key_versions v
           WHERE v.account_id = k.account_id AND v.region = k.region AND v.id = k.primary_key_version) AS wrapped_material`
    : '';
  const lock = options.lock ? ` FOR ${options.lock === 'share' ? 'SHARE' : 'UPDATE'} OF k` : '';
  const id =
    ref.kind === 'key'
      ? '$3'
      : '(SELECT a.key_id FROM aliases a WHERE a.account_id = $1 AND a.region = $2 AND a.alias_name = $3)';
  return {
    sql: `SELECT ${KEY_COLUMNS}${material} FROM keys k
    WHERE k.account_id = $1 AND k.region = $2 AND k.id = ${id} AND ${liveFilter(4)}${lock}`,
    params: [scope.accountId, scope.region, ref.kind === 'key' ? ref.keyId : ref.aliasName, now],
    notFound: ref.kind === 'key' ? 'Forbidden.KeyNotFound' : 'Forbidden.AliasNotFound',
    ...(ref.kind === 'key' ? { keyId: ref.keyId } : {}),
  };
}

export async function resolveKey(
  q: Queryable,
  scope: Scope,
  identifier: string,
  now: Date,
  options: ResolveOptions = {},
): Promise<ResolvedKey> {
  const lookup = keyLookup(scope, identifier, now, options);
  const { rows } = await q.query<ResolvedKey>(lookup.sql, lookup.params);
  const row = rows[0];
  if (!row) throw new KmsError(lookup.notFound);
  return row;
}
