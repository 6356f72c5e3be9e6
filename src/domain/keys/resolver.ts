import type { Queryable } from '../../db/database.js';
import { joinSql, type SqlFragment, sql, statement } from '../../db/sql.js';
import type { ErrorCode } from '../../errors.js';
import { parseKeyReference, type Scope } from '../scope.js';
import { KEY_COLUMNS, type KeyRow, keyIsLive } from './key-rows.js';
import { upkeepResolvedKey } from './key-upkeep.js';

// The one resolver: every operation that takes a key identifier (key id, key ARN, alias
// name, alias ARN) turns it into a key here, in one round trip, within the caller's
// scope. An identifier of another account or region, or a key past its deletion date,
// names nothing. What has fallen due on a resolved key (key-upkeep.ts) is done before the
// caller sees it. Each table is reached through its primary key (docs/design.md, "Plans").

export interface ResolvedKey extends KeyRow {
  /** The wrapped material of the primary version, when asked for (crypto operations). */
  wrapped_material?: Uint8Array | null;
  /** The version named by `LookupOptions.version`, when the key has it (asymmetric operations). */
  version_id?: string | null;
  version_material?: Uint8Array | null;
  version_public_key?: Uint8Array | null;
}

export type NotFoundCode = Extract<ErrorCode, 'Forbidden.KeyNotFound' | 'Forbidden.AliasNotFound'>;

/** What a lookup found: the key, or the error its absence means. */
export type Found<K = ResolvedKey> = { key: K; notFound?: undefined } | { key?: undefined; notFound: NotFoundCode };

export interface LookupOptions {
  /** Lock the key row for the rest of the caller's transaction or statement. */
  lock?: 'share' | 'update';
  /** Also return the primary version's wrapped material. */
  withMaterial?: boolean;
  /**
   * The master key, to run the found key's due rotation now, before the operation (spec
   * 15.3, 20.7 step 6): the key answered is the rotated one.
   */
  rotateWith?: Buffer;
  /**
   * Also return this version of the key (its id, wrapped material and public key), or nulls
   * when the key has no such version. Ids compare exactly (spec 14.1).
   */
  version?: string;
}

const VERSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A reference turned into SQL, before any round trip. */
export interface KeyLookup {
  /** A SELECT of the key row (no row: not found); undefined when the reference can name nothing. */
  select?: SqlFragment;
  notFound: NotFoundCode;
  /** The key id, when the reference names one (known before any lookup). */
  keyId?: string;
}

export function keyLookup(scope: Scope, identifier: string, now: Date, options: LookupOptions = {}): KeyLookup {
  const ref = parseKeyReference(scope, identifier);
  if (ref.kind === 'none') {
    return { notFound: ref.notFound === 'alias' ? 'Forbidden.AliasNotFound' : 'Forbidden.KeyNotFound' };
  }
  const { accountId, region } = scope;
  const id =
    ref.kind === 'key'
      ? sql`${ref.keyId}`
      : sql`(SELECT a.key_id FROM aliases a
              WHERE a.account_id = ${accountId} AND a.region = ${region} AND a.alias_name = ${ref.aliasName})`;
  const material = options.withMaterial
    ? sql`, (SELECT v.wrapped_material FROM key_versions v
              WHERE v.account_id = k.account_id AND v.region = k.region AND v.id = k.primary_key_version) AS wrapped_material`
    : sql``;
  // A malformed id names no version; it never reaches the database (a NUL could not).
  const versionId = options.version !== undefined && VERSION_ID.test(options.version) ? options.version : null;
  const version =
    options.version !== undefined
      ? sql`, vv.id AS version_id, vv.wrapped_material AS version_material, vv.public_key AS version_public_key`
      : sql``;
  const versionJoin =
    options.version !== undefined
      ? sql` LEFT JOIN key_versions vv ON vv.account_id = k.account_id AND vv.region = k.region
               AND vv.id = ${versionId}::text AND vv.key_id = k.id`
      : sql``;
  const lock =
    options.lock === 'share' ? sql` FOR SHARE OF k` : options.lock === 'update' ? sql` FOR UPDATE OF k` : sql``;
  return {
    select: sql`SELECT ${KEY_COLUMNS}${material}${version} FROM keys k${versionJoin}
      WHERE k.account_id = ${accountId} AND k.region = ${region} AND k.id = ${id} AND ${keyIsLive(now)}${lock}`,
    notFound: ref.kind === 'key' ? 'Forbidden.KeyNotFound' : 'Forbidden.AliasNotFound',
    ...(ref.kind === 'key' ? { keyId: ref.keyId } : {}),
  };
}

/** The key a reference names, or the error its absence means. */
export async function findKey(
  q: Queryable,
  scope: Scope,
  identifier: string,
  now: Date,
  options: LookupOptions = {},
): Promise<Found> {
  const lookup = keyLookup(scope, identifier, now, options);
  if (!lookup.select) return { notFound: lookup.notFound };
  // At most two reads: the second after the upkeep of what fell due (key-upkeep.ts), which
  // leaves nothing due (a rotation moves NextRotationDate; a race lost finds it moved).
  for (let read = 1; ; read++) {
    const { rows } = await q.query<ResolvedKey>(statement('resolve-key', lookup.select));
    const key = rows[0];
    if (!key) return { notFound: lookup.notFound };
    if (read === 2 || !(await upkeepResolvedKey(q, key, now, options.rotateWith))) return { key };
  }
}

/**
 * Several references in one statement, answered in their order. What follows a
 * reference that can name nothing is not looked up (its absence decides first).
 */
export async function findKeys(
  q: Queryable,
  scope: Scope,
  identifiers: readonly string[],
  now: Date,
): Promise<Found[]> {
  const lookups = identifiers.map((identifier) => keyLookup(scope, identifier, now));
  const firstUnusable = lookups.findIndex((l) => !l.select);
  const usable = firstUnusable === -1 ? lookups : lookups.slice(0, firstUnusable);
  const found = new Map<number, ResolvedKey>();
  if (usable.length > 0) {
    const union = joinSql(
      usable.map((l, i) => sql`SELECT ${i}::int AS ord, r.* FROM (${l.select}) r`),
      '\n UNION ALL ',
    );
    const { rows } = await q.query<ResolvedKey & { ord: number }>(statement('resolve-keys', union));
    let upkept = false;
    for (const { ord, ...row } of rows) {
      found.set(ord, row);
      if (await upkeepResolvedKey(q, row, now)) upkept = true;
    }
    if (upkept) return findKeys(q, scope, identifiers, now);
  }
  return lookups.map((l, i): Found => {
    const key = i < usable.length ? found.get(i) : undefined;
    return key ? { key } : { notFound: l.notFound };
  });
}
