import { z } from 'zod';
import { because, booleanParam, Description, KeyOnlyId, withCode } from '../domain/params.js';
import { isAliasReference, KEY_ID_PATTERN } from '../domain/scope.js';
import { changeKey, lifecycleRoute, type NextKey } from './key-change.js';
import { defineOperation } from './operation.js';
import { nothing } from './presenters.js';

// SetDeletionProtection (spec section 19): a protected key refuses ScheduleKeyDeletion.
// The key is named by ProtectedResourceArn (a key ARN) or, as the SDK model and Terraform
// also send it, by KeyId; with both, they must name the same key.

const KEY_ARN = /^acs:kms:[^:]+:[^:]+:key\/(.+)$/s;

/** The key id a key id or key ARN names (syntax only; the resolver decides the scope). */
const keyIdOf = (reference: string) => KEY_ARN.exec(reference)?.[1] ?? reference;

const ProtectedResourceArn = because(
  z
    .string()
    .max(2048)
    .refine((v) => !isAliasReference(v), { message: 'alias not allowed', ...withCode('Unsupported.Alias') })
    .refine((v) => KEY_ID_PATTERN.test(KEY_ARN.exec(v)?.[1] ?? ''), {
      message: 'must be acs:kms:<region>:<account>:key/<key id>',
    })
    .describe('The key ARN, acs:kms:<region>:<account>:key/<key id>'),
  'it must be a key ARN, acs:kms:<region>:<account>:key/<key id>',
);

export const SetDeletionProtectionInput = z
  .object({
    ProtectedResourceArn: ProtectedResourceArn.optional(),
    KeyId: KeyOnlyId.optional(),
    EnableDeletionProtection: booleanParam.describe('true or false'),
    DeletionProtectionDescription: Description.optional(),
  })
  // Run even when another field failed: a missing key is reported first, in declared order.
  .refine((i) => i.ProtectedResourceArn !== undefined || i.KeyId !== undefined, {
    path: ['ProtectedResourceArn'],
    message: 'required',
    when: () => true,
  })
  .refine(
    (i) =>
      i.ProtectedResourceArn === undefined ||
      i.KeyId === undefined ||
      typeof i.ProtectedResourceArn !== 'string' ||
      typeof i.KeyId !== 'string' ||
      keyIdOf(i.ProtectedResourceArn) === keyIdOf(i.KeyId),
    { path: ['KeyId'], message: 'names another key than ProtectedResourceArn' },
  );

/** Protection on with its description, or off (which clears the description). */
export const nextSetDeletionProtection =
  (enabled: boolean, description: string | undefined): NextKey =>
  () => ({ deletionProtection: { enabled, description: enabled ? (description ?? '') : '' } });

export const setDeletionProtection = defineOperation({
  name: 'SetDeletionProtection',
  input: SetDeletionProtectionInput,
  run: (deps, ctx, input) =>
    changeKey(
      deps,
      ctx,
      'SetDeletionProtection',
      (input.ProtectedResourceArn ?? input.KeyId) as string,
      nextSetDeletionProtection(input.EnableDeletionProtection, input.DeletionProtectionDescription),
    ),
  rpc: nothing,
  rest: [
    {
      ...lifecycleRoute(
        'deletion-protection',
        'Turn deletion protection on or off (SetDeletionProtection)',
        z.object({
          EnableDeletionProtection: z.boolean(),
          DeletionProtectionDescription: z.string().optional().describe('At most 8192 characters; kept only with true'),
        }),
      ),
      method: 'PUT',
    },
  ],
});
