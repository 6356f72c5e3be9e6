import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Queryable } from '../../db/database.js';
import { sql, statement } from '../../db/sql.js';
import { because, booleanParam } from '../params.js';
import type { Scope } from '../scope.js';
import { wrapFreshMaterial } from './key-material.js';
import { KEY_COLUMNS, type KeyRow } from './key-rows.js';

// Automatic rotation (spec section 15.3): the policy's parameters, when a key is due, and
// the one statement that rotates a due key. A due rotation runs where a request resolves
// the key (before its operation) and in the upkeep's sweep; the statement's condition on
// the key's last rotation date makes it happen once per due time, however many requests,
// sweeps or instances find the key due at once (docs/design.md, "Rotation exactly once").

export const MIN_ROTATION_INTERVAL_S = 7 * 86_400;
export const MAX_ROTATION_INTERVAL_S = 730 * 86_400;
const UNIT_SECONDS = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;

/** `<digits><d|h|m|s>`, 7 to 730 days, as seconds. */
export const RotationInterval = because(
  z
    .string()
    .regex(/^[0-9]{1,10}[dhms]$/)
    .transform((v) => Number(v.slice(0, -1)) * UNIT_SECONDS[v.slice(-1) as keyof typeof UNIT_SECONDS])
    .pipe(z.number().int().min(MIN_ROTATION_INTERVAL_S).max(MAX_ROTATION_INTERVAL_S)),
  'it must be 1 to 10 digits followed by d, h, m or s (days, hours, minutes, seconds), from 7 to 730 days',
)
  .describe('1 to 10 digits and a unit d, h, m or s, from 7 to 730 days (604800s to 63072000s)')
  .meta({ example: '365d' });

export const EnableAutomaticRotation = booleanParam.describe('true or false (REST: a JSON boolean)');

/** True for the request values that mean `true` (before or after parsing). */
export const meansTrue = (v: unknown) => v === true || v === 'true';

/**
 * The check of an input that takes EnableAutomaticRotation and RotationInterval: `true`
 * needs an interval. It runs even when another field failed, so the missing interval is
 * reported among the missing parameters (spec 20.7 step 4).
 */
export const intervalRequiredWhenEnabled: [
  (i: { EnableAutomaticRotation?: unknown; RotationInterval?: unknown }) => boolean,
  { path: string[]; message: string; when: () => boolean },
] = [
  (i) => !meansTrue(i.EnableAutomaticRotation) || i.RotationInterval !== undefined,
  { path: ['RotationInterval'], message: 'required', when: () => true },
];

/** A key that rotates now: its policy is on, it is Enabled, and its next rotation is not after `now`. */
export function rotationDue(
  key: Pick<KeyRow, 'state' | 'next_rotation_date' | 'rotation_interval_s'>,
  now: Date,
): boolean {
  return (
    key.rotation_interval_s !== null &&
    key.state === 'Enabled' &&
    key.next_rotation_date !== null &&
    key.next_rotation_date.getTime() <= now.getTime()
  );
}

/** What a rotation made: the key as it is after it, and the new version's wrapped material. */
export interface Rotated {
  key: KeyRow;
  wrappedMaterial: Buffer;
}

/**
 * Rotates `key` if it is still as read and due: one new version, made primary, dated `now`,
 * and the next due time `now` + interval (spec 15.3: one new version however many intervals
 * went by). One statement, so it needs no transaction of its own; on PostgreSQL a concurrent
 * rotation of the same key makes the row's condition fail once the other commits (the
 * UPDATE re-reads the row it waited for). Answers undefined when another rotation (or a
 * change of state or policy) came first.
 */
export async function rotateDueKey(
  q: Queryable,
  masterKey: Buffer,
  scope: Scope,
  key: KeyRow,
  now: Date,
): Promise<Rotated | undefined> {
  if (!rotationDue(key, now) || key.last_rotation_date === null) return undefined;
  const versionId = randomUUID();
  // Only symmetric keys rotate (spec 15.4): no public key.
  const { wrapped } = await wrapFreshMaterial(masterKey, key.key_spec, key.id, versionId);
  const { rows } = await q.query<KeyRow>(
    statement(
      'key.rotate',
      sql`WITH rotated AS (
            UPDATE keys AS k SET primary_key_version = ${versionId}, last_rotation_date = ${now},
                   next_rotation_date = ${now}::timestamptz + make_interval(secs => k.rotation_interval_s)
             WHERE k.account_id = ${scope.accountId} AND k.region = ${scope.region} AND k.id = ${key.id}
               AND k.state = 'Enabled' AND k.next_rotation_date <= ${now}
               AND k.last_rotation_date = ${key.last_rotation_date}
            RETURNING ${KEY_COLUMNS}
          ), version AS (
            INSERT INTO key_versions (account_id, region, key_id, id, wrapped_material, creation_date)
            SELECT account_id, region, id, ${versionId}, ${wrapped}, ${now} FROM rotated
          )
          SELECT * FROM rotated`,
    ),
  );
  const row = rows[0];
  return row ? { key: row, wrappedMaterial: wrapped } : undefined;
}

/** Due keys of every scope, oldest due first, for the upkeep's sweep. */
export async function dueKeys(q: Queryable, now: Date, limit: number): Promise<Array<KeyRow>> {
  const { rows } = await q.query<KeyRow>(
    statement(
      'key.rotation-due',
      sql`SELECT ${KEY_COLUMNS} FROM keys k
           WHERE k.next_rotation_date IS NOT NULL AND k.next_rotation_date <= ${now} AND k.state = 'Enabled'
           ORDER BY k.next_rotation_date LIMIT ${limit}`,
    ),
  );
  return rows;
}
