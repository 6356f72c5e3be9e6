import type { Queryable } from '../../db/database.js';
import type { Scope } from '../scope.js';
import { materialExpired, removeMaterial } from './imported-material.js';
import type { KeyRow } from './key-rows.js';

// The upkeep of a resolved key (spec 20.7 step 6): what has fallen due by the service
// clock is done when a request resolves the key, before the operation looks at it, and by
// the periodic upkeep for keys nobody touches. Each rule says when it is due, from the key
// row alone (so a request pays nothing when nothing is due), and does its work in one
// statement that is safe to race: a second request finds nothing left to do.

export interface KeyUpkeepRule {
  name: string;
  due(key: KeyRow, now: Date): boolean;
  run(q: Queryable, scope: Scope, keyId: string, now: Date): Promise<unknown>;
}

export const KEY_UPKEEP: readonly KeyUpkeepRule[] = [
  {
    // Spec 17.1: expired material goes as DeleteKeyMaterial would take it.
    name: 'material-expiry',
    due: materialExpired,
    run: (q, scope, keyId, now) => removeMaterial(q, { scope, keyId, expiredAt: now }),
  },
];

/** Runs the rules due for this key; true when any ran (the caller reads the key again). */
export async function upkeepResolvedKey(q: Queryable, key: KeyRow, now: Date): Promise<boolean> {
  const due = KEY_UPKEEP.filter((rule) => rule.due(key, now));
  const scope = { accountId: key.account_id, region: key.region };
  for (const rule of due) await rule.run(q, scope, key.id, now);
  return due.length > 0;
}
