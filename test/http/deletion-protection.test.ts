import { describe, expect, it } from 'vitest';
import { expectError } from '../helpers/clients.js';
import { FACES, face } from '../helpers/faces.js';
import { uniqueRegion, useTestApp } from '../helpers/test-app.js';

// Deletion protection (spec section 19): SetDeletionProtection on both faces, what
// DescribeKey shows, and ScheduleKeyDeletion refused while a key is protected.

const t = useTestApp();

async function row(region: string, keyId: string) {
  const { rows } = await t.db.query<{
    state: string;
    delete_date: Date | null;
    deletion_protection: boolean;
    deletion_protection_description: string;
  }>(
    'SELECT state, delete_date, deletion_protection, deletion_protection_description FROM keys WHERE region = $1 AND id = $2',
    [region, keyId],
  );
  return rows[0];
}

describe.each(FACES)('deletion protection (%s face)', (name) => {
  it('a protected key refuses ScheduleKeyDeletion and changes nothing; unprotected, it is scheduled', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const keyId = await f.newKey();
    const arn = (await f.describeKey(keyId)).body.KeyMetadata.Arn as string;
    expect((await f.describeKey(keyId)).body.KeyMetadata).toMatchObject({
      DeletionProtection: 'Disabled',
      DeletionProtectionDescription: '',
    });

    const set = await f.setDeletionProtection(
      name === 'rpc' ? { ProtectedResourceArn: arn } : { KeyId: keyId },
      true,
      'prod',
    );
    expect(set.status).toBe(200);
    if (name === 'rest') expect(set.body.KeyMetadata.DeletionProtection).toBe('Enabled');
    expect((await f.describeKey(keyId)).body.KeyMetadata).toMatchObject({
      DeletionProtection: 'Enabled',
      DeletionProtectionDescription: 'prod',
    });
    expect(await row(region, keyId)).toMatchObject({
      deletion_protection: true,
      deletion_protection_description: 'prod',
    });

    expectError(await f.scheduleKeyDeletion(keyId, 7), 409, 'Rejected.StateModifiedFailed');
    expect(await row(region, keyId)).toMatchObject({ state: 'Enabled', delete_date: null });
    // Nothing else is blocked.
    expect((await f.disableKey(keyId)).status).toBe(200);
    expect((await f.createAlias('alias/protected', keyId)).status).toBe(f.successStatus('create'));
    // Setting the same value again succeeds and changes nothing.
    expect((await f.setDeletionProtection({ KeyId: keyId }, true, 'prod')).status).toBe(200);

    // Off clears the description; the key can then be scheduled.
    expect((await f.setDeletionProtection({ KeyId: keyId }, false, 'ignored')).status).toBe(200);
    expect(await row(region, keyId)).toMatchObject({ deletion_protection: false, deletion_protection_description: '' });
    expect((await f.describeKey(keyId)).body.KeyMetadata).toMatchObject({
      DeletionProtection: 'Disabled',
      DeletionProtectionDescription: '',
    });
    expect((await f.scheduleKeyDeletion(keyId, 7)).status).toBe(200);
    expect((await row(region, keyId))?.state).toBe('PendingDeletion');
    // A key pending deletion cannot be protected.
    expectError(await f.setDeletionProtection({ KeyId: keyId }, true), 409, 'Rejected.PendingDeletion');
    expect((await row(region, keyId))?.deletion_protection).toBe(false);
  });

  it('the key reference: an alias, another region, a malformed ARN, two different keys', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const [a, b] = [await f.newKey(), await f.newKey()];
    const arnOf = async (id: string) => (await f.describeKey(id)).body.KeyMetadata.Arn as string;
    const [arnA, arnB] = [await arnOf(a), await arnOf(b)];
    expectError(await f.setDeletionProtection({ KeyId: 'alias/x' }, true), 400, 'Unsupported.Alias');
    expectError(
      await f.setDeletionProtection({ KeyId: arnA.replace(region, `${region}x`) }, true),
      404,
      'Forbidden.KeyNotFound',
    );
    expectError(await f.setDeletionProtection({ KeyId: a }, 'yes'), 400, 'InvalidParameter');
    expectError(await f.setDeletionProtection({ KeyId: a }, undefined), 400, 'MissingParameter');
    expectError(await f.setDeletionProtection({ KeyId: a, ProtectedResourceArn: arnB }, true), 400, 'InvalidParameter');
    expect((await f.setDeletionProtection({ KeyId: a, ProtectedResourceArn: arnA }, true)).status).toBe(200);
    expect((await row(region, b))?.deletion_protection).toBe(false);
    expect((await row(region, a))?.deletion_protection).toBe(true);
  });
});

describe('SetDeletionProtection on the RPC face only', () => {
  it('neither ProtectedResourceArn nor KeyId: MissingParameter naming ProtectedResourceArn, before other fields', async () => {
    const f = face('rpc', t.http, uniqueRegion());
    const res = await f.setDeletionProtection({}, undefined);
    expectError(res, 400, 'MissingParameter');
    expect(res.body.Message).toContain('ProtectedResourceArn');
  });

  it('ProtectedResourceArn must be a key ARN: an alias ARN is Unsupported.Alias, anything else InvalidParameter', async () => {
    const region = uniqueRegion();
    const f = face('rpc', t.http, region);
    const keyId = await f.newKey();
    const arn = (await f.describeKey(keyId)).body.KeyMetadata.Arn as string;
    const aliasArn = arn.replace(/key\/.*$/, 'alias/x');
    expectError(await f.setDeletionProtection({ ProtectedResourceArn: aliasArn }, true), 400, 'Unsupported.Alias');
    const bad = await f.setDeletionProtection({ ProtectedResourceArn: keyId }, true);
    expectError(bad, 400, 'InvalidParameter');
    expect(bad.body.Message).toContain('ProtectedResourceArn');
  });
});
