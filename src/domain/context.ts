import type { Scope } from './scope.js';

/**
 * Who is calling and where: built by the HTTP layer after authentication, passed to
 * every service call. Services never see the HTTP request.
 */
export interface CallContext extends Scope {
  /**
   * RAM check (spec section 6): throws Forbidden.NoPermission unless the caller may do
   * `action` on every resource. Root keys (and KMS_AUTH=off) allow everything.
   */
  authorize(action: string, resources: readonly string[]): void;
  /** Shown as the key's Creator. */
  principalName: string;
}
