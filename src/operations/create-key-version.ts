import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Queryable } from '../db/database.js';
import { sql, statement } from '../db/sql.js';
import type { Permission } from '../domain/context.js';
import { SYMMETRIC_MATERIAL_BYTES, wrapFreshMaterial } from '../domain/keys/key-material.js';
import { formatDate } from '../domain/keys/key-metadata.js';
import type { KeyRow } from '../domain/keys/key-rows.js';
import { type Found, findKey } from '../domain/keys/resolver.js';
import { AnyKeyId } from '../domain/params.js';
import { keyArn, type Scope } from '../domain/scope.js';
import { errorWithReason, KmsError } from '../errors.js';
import { type Decision, decided, defineOperation, keyAccessRefusal } from './operation.js';
import { AnyKeyPath, type KeyVersion, KeyVersionResponse, oneKeyVersion, RegionQuery } from './presenters.js';

// CreateKeyVersion (spec section 15.2): new material for a key of Origin Aliyun_KMS, made
// primary on a symmetric key. The material is made before the transaction (a key pair
// takes a while); in the transaction the key row is locked, so of two calls inside the
// minimum interval exactly one passes the interval check.

export const CreateKeyVersionInput = z.object({ KeyId: AnyKeyId });

export interface CreateKeyVersionFacts {
  found: Found<KeyRow>;
  permission: Permission | undefined;
  now: Date;
  /** KMS_KEY_VERSION_MIN_INTERVAL_S and KMS_KEY_VERSION_LIMIT; 0: none. */
  minIntervalSeconds: number;
  limit: number;
  /** The key's versions now; undefined before they are counted (the first read). */
  versionCount?: number;
}

/** Found, RAM, state, origin (20.7 steps 6-9), then the interval and the count (step 10). */
export function decideCreateKeyVersion(f: CreateKeyVersionFacts): Decision<'create'> {
  const refused = keyAccessRefusal('CreateKeyVersion', f.found, f.permission);
  if (refused) return refused;
  const key = f.found.key!;
  if (key.origin === 'EXTERNAL') return new KmsError('Rejected.UnsupportedOperation');
  const last = key.last_rotation_date;
  if (f.minIntervalSeconds > 0 && last !== null && last.getTime() + f.minIntervalSeconds * 1000 > f.now.getTime()) {
    return errorWithReason(
      'Rejected.LimitExceeded',
      `a key gets a new version at most once in ${f.minIntervalSeconds} seconds after its last rotation; ` +
        'KMS_KEY_VERSION_MIN_INTERVAL_S sets it (0: no interval)',
    );
  }
  if (f.limit > 0 && f.versionCount !== undefined && f.versionCount >= f.limit) {
    return errorWithReason(
      'Rejected.LimitExceeded',
      `a key has at most ${f.limit} versions; KMS_KEY_VERSION_LIMIT raises it (0: no limit)`,
    );
  }
  return 'create';
}

async function countVersions(q: Queryable, scope: Scope, keyId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    statement(
      'key-version.count',
      sql`SELECT count(*)::int AS n FROM key_versions
           WHERE key_id = ${keyId} AND account_id = ${scope.accountId} AND region = ${scope.region}`,
    ),
  );
  return rows[0]?.n ?? 0;
}

/** Adds the version and makes it the key's newest (and, on a symmetric key, its primary). */
async function addVersion(
  q: Queryable,
  scope: Scope,
  key: KeyRow,
  v: { id: string; wrapped: Buffer; publicKey: Buffer | null; now: Date },
): Promise<void> {
  const primary = key.key_spec in SYMMETRIC_MATERIAL_BYTES;
  await q.query(
    statement(
      'key-version.create',
      sql`WITH version AS (
            INSERT INTO key_versions (account_id, region, key_id, id, wrapped_material, creation_date, public_key)
            VALUES (${scope.accountId}, ${scope.region}, ${key.id}, ${v.id}, ${v.wrapped}, ${v.now},
                    ${v.publicKey}::bytea)
          )
          UPDATE keys AS k SET
                 primary_key_version = CASE WHEN ${primary}::boolean THEN ${v.id} ELSE k.primary_key_version END,
                 last_rotation_date = ${v.now},
                 next_rotation_date = ${v.now}::timestamptz + make_interval(secs => k.rotation_interval_s)
           WHERE k.account_id = ${scope.accountId} AND k.region = ${scope.region} AND k.id = ${key.id}`,
    ),
  );
}

export const createKeyVersion = defineOperation({
  name: 'CreateKeyVersion',
  input: CreateKeyVersionInput,
  async run({ db, clock, masterKey, keyVersions }, ctx, input): Promise<KeyVersion> {
    const now = clock();
    const facts = (found: Found<KeyRow>, versionCount?: number): CreateKeyVersionFacts => ({
      found,
      permission: found.key && ctx.permission('kms:CreateKeyVersion', [keyArn(ctx, found.key.id)]),
      now,
      minIntervalSeconds: keyVersions.minIntervalSeconds,
      limit: keyVersions.limit,
      ...(versionCount !== undefined && { versionCount }),
    });
    // A first read learns the key's spec (and refuses early, before any material is made).
    const first = await findKey(db, ctx, input.KeyId, now, { rotateWith: masterKey });
    decided(decideCreateKeyVersion(facts(first)));
    const key = first.key!;
    const versionId = randomUUID();
    // A key pair takes a while: made before the transaction (spec 13.2).
    const { wrapped, publicKey } = await wrapFreshMaterial(masterKey, key.key_spec, key.id, versionId);
    await db.transaction(async (tx) => {
      const found = await findKey(tx, ctx, key.id, now, { lock: 'update', rotateWith: masterKey });
      const count = found.key ? await countVersions(tx, ctx, found.key.id) : undefined;
      decided(decideCreateKeyVersion(facts(found, count)));
      await addVersion(tx, ctx, found.key!, { id: versionId, wrapped, publicKey, now });
    });
    return { KeyId: key.id, KeyVersionId: versionId, CreationDate: formatDate(now) };
  },
  rpc: oneKeyVersion,
  rest: [
    {
      method: 'POST',
      url: '/v1/keys/:KeyId/versions',
      summary: 'Create a key version; on a symmetric key it becomes the primary (CreateKeyVersion)',
      tags: ['Key versions'],
      status: 201,
      params: AnyKeyPath,
      querystring: RegionQuery,
      response: KeyVersionResponse,
      present: oneKeyVersion,
    },
  ],
});
