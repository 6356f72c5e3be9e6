import { raw, type SqlFragment, sql } from '../../db/sql.js';
import type { KeyState } from './key-state.js';

// A key as the database holds it, and the SQL pieces every statement that reads keys
// shares. Time always comes from the service's clock as a parameter, never now().

export interface KeyRow {
  account_id: string;
  region: string;
  id: string;
  state: KeyState;
  key_spec: string;
  key_usage: string;
  origin: string;
  protection_level: string;
  description: string;
  creator: string;
  creation_date: Date;
  delete_date: Date | null;
  primary_key_version: string | null;
  last_rotation_date: Date | null;
  deletion_protection: boolean;
  deletion_protection_description: string;
  /** False for an EXTERNAL key before its first import and after its material was deleted or expired. */
  has_material: boolean;
  material_expire_time: Date | null;
  /** The automatic rotation policy's interval (spec 15.3); null when the policy is off. */
  rotation_interval_s: number | null;
  /** last_rotation_date + the interval while the policy is on; else null. */
  next_rotation_date: Date | null;
}

/** The columns of KeyRow, of the table aliased `k`. */
export const KEY_COLUMNS = raw(
  'k.account_id, k.region, k.id, k.state, k.key_spec, k.key_usage, k.origin, k.protection_level, k.description, ' +
    'k.creator, k.creation_date, k.delete_date, k.primary_key_version, k.last_rotation_date, ' +
    'k.deletion_protection, k.deletion_protection_description, k.has_material, k.material_expire_time, ' +
    'k.rotation_interval_s, k.next_rotation_date',
);

/** A key (aliased `k`) whose deletion date has passed is gone, even before the purge reaches it. */
export const keyIsLive = (now: Date): SqlFragment => sql`(k.delete_date IS NULL OR k.delete_date > ${now})`;
