// Identity of everything the service stores: (account, region). A key or alias of
// another scope does not exist for the caller.

export interface Scope {
  accountId: string;
  region: string;
}

export const KEY_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export const keyArn = (s: Scope, keyId: string) => `acs:kms:${s.region}:${s.accountId}:key/${keyId}`;
export const aliasArn = (s: Scope, aliasName: string) => `acs:kms:${s.region}:${s.accountId}:${aliasName}`;
export const keyContainerArn = (s: Scope) => `acs:kms:${s.region}:${s.accountId}:key`;
export const aliasContainerArn = (s: Scope) => `acs:kms:${s.region}:${s.accountId}:alias`;

const ARN = /^acs:kms:([^:]*):([^:]*):(.*)$/s;

/** What a KeyId parameter names, before any lookup. */
export type KeyReference =
  | { kind: 'key'; keyId: string }
  | { kind: 'alias'; aliasName: string }
  // An ARN of another scope, or a string that can name nothing: not found, of the given kind.
  | { kind: 'none'; notFound: 'key' | 'alias' };

/** True for an alias name or an alias ARN: refused where only a key is accepted. */
export function isAliasReference(value: string): boolean {
  if (value.startsWith('alias/')) return true;
  const m = ARN.exec(value);
  return m !== null && (m[3] ?? '').startsWith('alias/');
}

/**
 * Parses the four identifier forms (key id, key ARN, alias name, alias ARN) against the
 * caller's scope. Only the resolver (keys/resolver.ts) calls this.
 */
export function parseKeyReference(scope: Scope, value: string): KeyReference {
  // No name can hold a NUL (PostgreSQL text cannot either): such a value names nothing.
  if (value.includes('\0')) return { kind: 'none', notFound: isAliasReference(value) ? 'alias' : 'key' };
  if (value.startsWith('alias/')) return { kind: 'alias', aliasName: value };
  const m = ARN.exec(value);
  if (m) {
    const [, region, account, resource = ''] = m;
    const isAlias = resource.startsWith('alias/');
    if (region !== scope.region || account !== scope.accountId) {
      return { kind: 'none', notFound: isAlias ? 'alias' : 'key' };
    }
    if (isAlias) return { kind: 'alias', aliasName: resource };
    if (resource.startsWith('key/') && KEY_ID_PATTERN.test(resource.slice(4))) {
      return { kind: 'key', keyId: resource.slice(4) };
    }
    return { kind: 'none', notFound: 'key' };
  }
  if (KEY_ID_PATTERN.test(value)) return { kind: 'key', keyId: value };
  return { kind: 'none', notFound: 'key' };
}
