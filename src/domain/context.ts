import type { Scope } from './scope.js';

/** Why RAM refused a call: the detail Alibaba returns with Forbidden.NoPermission. */
export interface AccessDeniedDetail {
  AuthAction: string;
  AuthPrincipalType: string;
  AuthPrincipalDisplayName: string;
  NoPermissionType: 'ImplicitDeny' | 'ExplicitDeny';
}

/** The RAM decision for one action on some resources, as a value (spec section 6). */
export type Permission = { allowed: true } | { allowed: false; detail: AccessDeniedDetail };

/**
 * Who is calling and where: built by the HTTP layer after authentication, passed to
 * every operation. Operations never see the HTTP request.
 */
export interface CallContext extends Scope {
  /** May the caller do `action` on every resource? Root keys (and KMS_AUTH=off) may do everything. */
  permission(action: string, resources: readonly string[]): Permission;
  /**
   * Every permission is allowed whatever the resources (an account's root key, or
   * KMS_AUTH=off). An operation may then write in the statement that reads what it needs
   * for RAM, since RAM cannot refuse what it reads (UpdateAlias, DeleteAlias).
   */
  unrestricted?: boolean;
  /** Shown as the key's Creator. */
  principalName: string;
}
