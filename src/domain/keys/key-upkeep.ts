import type { Queryable } from '../../db/database.js';
import type { Scope } from '../scope.js';
import { materialExpired, removeMaterial } from './imported-material.js';
import type { KeyRow } from './key-rows.js';
import { rotateDueKey, rotationDue } from './rotation.js';

// The upkeep of a resolved key (spec 20.7 step 6): what has fallen due by the service
// clock is done when a request resolves the key, before the operation looks at it, and by
// the periodic upkeep for keys nobody touches. Each rule says when it is due, from the key
// row alone (so a request pays nothing when nothing is due), and does its work in one
// statement that is safe to race: a second request finds nothing left to do.

export interface KeyUpkeepRule {
  name: string;
  /** Rules that make key material run only where the caller passes the master key. */
  needsMasterKey?: boolean;
  due(key: KeyRow, now: Date): boolean;
  run(q: Queryable, scope: Scope, key: KeyRow, now: Date, masterKey: Buffer | undefined): Promise<unknown>;
}

export const KEY_UPKEEP: readonly KeyUpkeepRule[] = [
  {
    // Spec 17.1: expired material goes as DeleteKeyMaterial would take it.
    name: 'material-expiry',
    due: materialExpired,
    run: (q, scope, key, now) => removeMaterial(q, { scope, keyId: key.id, expiredAt: now }),
  },
  {
    // Spec 15.3: a due rotation makes one new primary version (rotation.ts).
    name: 'rotation',
    needsMasterKey: true,
    due: rotationDue,
    run: (q, scope, key, now, masterKey) => rotateDueKey(q, masterKey!, scope, key, now),
  },
];

/**
 * Runs the rules due for this key (those that make material only with `masterKey`); true
 * when any ran, and the caller reads the key again.
 */
export async function upkeepResolvedKey(q: Queryable, key: KeyRow, now: Date, masterKey?: Buffer): Promise<boolean> {
  const due = KEY_UPKEEP.filter((rule) => (!rule.needsMasterKey || masterKey !== undefined) && rule.due(key, now));
  const scope = { accountId: key.account_id, region: key.region };
  for (const rule of due) await rule.run(q, scope, key, now, masterKey);
  return due.length > 0;
}
