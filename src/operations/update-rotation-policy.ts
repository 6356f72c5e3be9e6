import { z } from 'zod';
import { SYMMETRIC_MATERIAL_BYTES } from '../domain/keys/key-material.js';
import { EnableAutomaticRotation, intervalRequiredWhenEnabled, RotationInterval } from '../domain/keys/rotation.js';
import { KeyOnlyId } from '../domain/params.js';
import { KmsError } from '../errors.js';
import { changeKey, lifecycleRoute, type NextKey } from './key-change.js';
import { defineOperation } from './operation.js';
import { nothing } from './presenters.js';

// UpdateRotationPolicy (spec section 15.3): turns automatic rotation on (with its interval)
// or off, on an Enabled symmetric key of Origin Aliyun_KMS. On: the next rotation is the
// last one plus the interval, and if that has passed, the key rotates in the same
// transaction. Off: the interval (checked all the same) is ignored.

export const UpdateRotationPolicyInput = z
  .object({
    KeyId: KeyOnlyId,
    EnableAutomaticRotation,
    RotationInterval: RotationInterval.optional(),
  })
  .refine(...intervalRequiredWhenEnabled);

/** The key type (20.7 step 9), then the policy. */
export const nextUpdateRotationPolicy =
  (enable: boolean, intervalSeconds: number | undefined): NextKey =>
  (key) => {
    if (key.origin !== 'Aliyun_KMS' || !(key.key_spec in SYMMETRIC_MATERIAL_BYTES)) {
      return new KmsError('Rejected.UnsupportedOperation');
    }
    return { rotationIntervalS: enable ? intervalSeconds! : null };
  };

export const updateRotationPolicy = defineOperation({
  name: 'UpdateRotationPolicy',
  input: UpdateRotationPolicyInput,
  run: (deps, ctx, input) =>
    changeKey(
      deps,
      ctx,
      'UpdateRotationPolicy',
      input.KeyId,
      nextUpdateRotationPolicy(input.EnableAutomaticRotation, input.RotationInterval),
    ),
  rpc: nothing,
  rest: [
    {
      ...lifecycleRoute('rotation-policy', 'Turn automatic rotation on or off (UpdateRotationPolicy)'),
      method: 'PUT',
      body: z.object({
        EnableAutomaticRotation: z.boolean(),
        RotationInterval: z.string().optional().describe('Required when EnableAutomaticRotation is true, e.g. 365d'),
      }),
    },
  ],
});
