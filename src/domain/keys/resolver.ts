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
  return lookupAt(scope, identifier, now, options, 3);
}

/**
 * keyLookup with the identifier at $identifierParam (resolveKeys puts several side by
 * side); `params` then holds the identifier at index 2 all the same, for the caller to place.
 */
function lookupAt(
  scope: Scope,
  identifier: string,
  now: Date,
  options: ResolveOptions,
  identifierParam: number,
): KeyLookup {
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
  const param = `$${identifierParam}`;
  const id =
    ref.kind === 'key'
      ? param
      : `(SELECT a.key_id FROM aliases a WHERE a.account_id = $1 AND a.region = $2 AND a.alias_name = ${param})`;
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

/**
 * Several references in one statement, answered in their order; the first that names
 * nothing throws its own not-found error, as resolving them one after the other would.
 */
export async function resolveKeys(
  q: Queryable,
  scope: Scope,
  identifiers: readonly string[],
  now: Date,
): Promise<ResolvedKey[]> {
  const lookups = identifiers.map((identifier, i): KeyLookup | KmsError => {
    try {
      return lookupAt(scope, identifier, now, {}, i === 0 ? 3 : 4 + i);
    } catch (err) {
      if (err instanceof KmsError) return err;
      throw err;
    }
  });
  // What follows a reference that names nothing is never looked up: that reference throws.
  const firstInvalid = lookups.findIndex((l) => l instanceof KmsError);
  const usable = (firstInvalid === -1 ? lookups : lookups.slice(0, firstInvalid)) as KeyLookup[];
  const found = new Map<number, ResolvedKey>();
  if (usable.length > 0) {
    // $1, $2 and $4 are shared; each lookup's identifier (as parsed: an ARN gives its id or
    // name) sits at its own place, $3, $5, $6...
    const values = usable.map((l) => l.params[2]);
    const { rows } = await q.query<ResolvedKey & { ord: number }>(
      usable.map((l, i) => `SELECT ${i} AS ord, r.* FROM (${l.sql}) r`).join('\n UNION ALL '),
      [scope.accountId, scope.region, values[0], now, ...values.slice(1)],
    );
    for (const { ord, ...row } of rows) found.set(ord, row);
  }
  const resolved = usable.map((l, i) => {
    const row = found.get(i);
    if (!row) throw new KmsError(l.notFound);
    return row;
  });
  if (firstInvalid !== -1) throw lookups[firstInvalid];
  return resolved;
}
