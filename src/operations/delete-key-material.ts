import type { Permission } from '../domain/context.js';
import { notExternalRefusal, removeMaterial } from '../domain/keys/imported-material.js';
import type { KeyRow } from '../domain/keys/key-rows.js';
import { purgeExpired } from '../domain/keys/purge.js';
import { type Found, findKey } from '../domain/keys/resolver.js';
import { keyArn } from '../domain/scope.js';
import { KeyOnlyInput } from './key-change.js';
import { type Decision, decided, defineOperation, keyAccessRefusal } from './operation.js';
import { KeyPath, nothing, RegionQuery } from './presenters.js';

// DeleteKeyMaterial (spec 17.4): any state; the key waits for an import again (one pending
// deletion keeps its state and date). A key without material: nothing changes.

export function decideDeleteKeyMaterial(found: Found, permission: Permission | undefined): Decision<KeyRow> {
  const refused = keyAccessRefusal('DeleteKeyMaterial', found, permission);
  if (refused) return refused;
  return notExternalRefusal(found.key!) ?? found.key!;
}

export const deleteKeyMaterial = defineOperation({
  name: 'DeleteKeyMaterial',
  input: KeyOnlyInput,
  async run({ db, clock }, ctx, input): Promise<void> {
    const now = clock();
    await db.transaction(async (tx) => {
      await purgeExpired(tx, ctx, now);
      const found = await findKey(tx, ctx, input.KeyId, now, { lock: 'update' });
      const permission = found.key && ctx.permission('kms:DeleteKeyMaterial', [keyArn(ctx, found.key.id)]);
      const key = decided(decideDeleteKeyMaterial(found, permission));
      await removeMaterial(tx, { scope: ctx, keyId: key.id });
    });
  },
  rpc: nothing,
  rest: [
    {
      method: 'DELETE',
      url: '/v1/keys/:KeyId/material',
      summary: 'Delete the imported material of an EXTERNAL key (DeleteKeyMaterial)',
      tags: ['Import'],
      status: 204,
      params: KeyPath,
      querystring: RegionQuery,
    },
  ],
});
