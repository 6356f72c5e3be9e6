import { KmsError } from '../../errors.js';
import type { CallContext, Permission } from '../context.js';
import type { Principal } from './identities.js';
import { evaluate } from './policy.js';

// RAM for a principal: root may do everything in its account; a RAM user only what its
// policies allow (spec section 6). The decision is a value; `denial` makes it the error.

const ALLOWED: Permission = { allowed: true };

/** The display name Alibaba shows for a principal (and stores as a key's Creator). */
export function principalName(principal: Principal): string {
  return principal.kind === 'root' ? principal.accountId : (principal.userName ?? principal.accessKeyId);
}

export function permissionFor(principal: Principal): CallContext['permission'] {
  if (principal.kind === 'root') return () => ALLOWED;
  const name = principalName(principal);
  return (action, resources) => {
    const decision = evaluate(principal.policies, action, resources);
    if (decision.allowed) return ALLOWED;
    return {
      allowed: false,
      detail: {
        AuthAction: action,
        AuthPrincipalType: 'SubUser',
        AuthPrincipalDisplayName: name,
        NoPermissionType: decision.type,
      },
    };
  };
}

/** Forbidden.NoPermission with the detail of a refused permission. */
export function denial(permission: Exclude<Permission, { allowed: true }>): KmsError {
  return new KmsError('Forbidden.NoPermission', undefined, { AccessDeniedDetail: permission.detail });
}
