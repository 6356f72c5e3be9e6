import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createPgDatabase } from '../../src/db/pg-database.js';
import { rotateDueKeys } from '../../src/upkeep.js';
import { type Credentials, expectError, restClient, rpc } from '../helpers/clients.js';
import { FACES, type FaceName, face } from '../helpers/faces.js';
import {
  makeApp,
  onPostgres,
  openPrivateDatabase,
  TEST_MASTER_KEY,
  type TestApp,
  uniqueRegion,
} from '../helpers/test-app.js';
import { advanceServiceClock, serviceNow, versionFace } from '../helpers/version-faces.js';

// Key versions and automatic rotation (spec section 15) on both faces. The service clock
// moves through the admin API, so this file has a database of its own.

const DAY = 86_400;
const DEV_ACCOUNT = '1234567890123456';
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const b64 = (text: string) => Buffer.from(text).toString('base64');
const seconds = (date: string) => Date.parse(date) / 1000;

let db: Database;
let url: string | undefined;
let drop: () => Promise<void>;
let main: TestApp;
/** Over the same database, without CreateKeyVersion's interval and with a limit of 3 versions. */
let loose: TestApp;
const extra: TestApp[] = [];
const extraDbs: Database[] = [];

beforeAll(async () => {
  ({ db, url, drop } = await openPrivateDatabase());
  main = await makeApp(db);
  loose = await makeApp(db, { KMS_KEY_VERSION_MIN_INTERVAL_S: '0', KMS_KEY_VERSION_LIMIT: '3' });
});

afterAll(async () => {
  for (const t of extra) await t.app.close();
  await loose?.app.close();
  await main?.app.close();
  for (const d of extraDbs) await d.close();
  await drop?.();
});

const setup = (name: FaceName, app: TestApp = main) => {
  const region = uniqueRegion();
  return { region, f: face(name, app.http, region), v: versionFace(name, app.http, region) };
};

const versionCount = async (region: string, keyId: string) =>
  (
    await db.query<{ n: number }>('SELECT count(*)::int AS n FROM key_versions WHERE region = $1 AND key_id = $2', [
      region,
      keyId,
    ])
  ).rows[0]!.n;

describe.each(FACES)('automatic rotation (%s face)', (name) => {
  it('rotates a key named by an alias once its interval passed; old ciphertexts still decrypt', async () => {
    const { region, f, v } = setup(name);
    const created = await f.createKey({ Description: 'rotating', ...v.rotationParams('7d') });
    expect(created.status).toBe(f.successStatus('create'));
    const m0 = created.body.KeyMetadata;
    expect(m0).toMatchObject({ AutomaticRotation: 'Enabled', RotationInterval: '604800s' });
    expect(m0.LastRotationDate).toBe(m0.CreationDate);
    expect(seconds(m0.NextRotationDate) - seconds(m0.LastRotationDate)).toBe(7 * DAY);
    const keyId = m0.KeyId as string;
    expect((await f.createAlias('alias/rotating', keyId)).status).toBe(f.successStatus('create'));

    const before = await f.encrypt('alias/rotating', b64('before'), { app: 'a' });
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ KeyId: keyId, KeyVersionId: m0.PrimaryKeyVersion });

    await advanceServiceClock(main.http, 7 * DAY + 60);
    const after = await f.encrypt('alias/rotating', b64('after'), { app: 'a' });
    expect(after.status).toBe(200);
    expect(after.body.KeyId).toBe(keyId);
    expect(after.body.KeyVersionId).not.toBe(m0.PrimaryKeyVersion);
    // Another request does not rotate again: the due time moved on.
    const again = await f.encrypt('alias/rotating', b64('again'));
    expect(again.body.KeyVersionId).toBe(after.body.KeyVersionId);

    const old = await f.decrypt(before.body.CiphertextBlob, { app: 'a' });
    expect(old.status).toBe(200);
    expect(old.body).toMatchObject({ Plaintext: b64('before'), KeyId: keyId, KeyVersionId: m0.PrimaryKeyVersion });
    const fresh = await f.decrypt(after.body.CiphertextBlob, { app: 'a' });
    expect(fresh.body).toMatchObject({ Plaintext: b64('after'), KeyVersionId: after.body.KeyVersionId });

    const list = await v.listKeyVersions('alias/rotating');
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({ PageNumber: 1, PageSize: 10, TotalCount: 2 });
    const versions = v.versionsOf(list.body);
    expect(versions.map((x) => x.KeyVersionId)).toEqual([m0.PrimaryKeyVersion, after.body.KeyVersionId]);
    for (const x of versions) {
      expect(x.KeyId).toBe(keyId);
      expect(x.CreationDate).toMatch(DATE);
    }

    const m1 = (await f.describeKey('alias/rotating')).body.KeyMetadata;
    expect(m1).toMatchObject({
      PrimaryKeyVersion: after.body.KeyVersionId,
      AutomaticRotation: 'Enabled',
      RotationInterval: '604800s',
      LastRotationDate: versions[1]!.CreationDate,
      CreationDate: m0.CreationDate,
    });
    expect(seconds(m1.LastRotationDate) - seconds(m0.LastRotationDate)).toBeGreaterThanOrEqual(7 * DAY + 60);
    expect(seconds(m1.NextRotationDate) - seconds(m1.LastRotationDate)).toBe(7 * DAY);
    const { rows } = await db.query(
      'SELECT primary_key_version, rotation_interval_s FROM keys WHERE region = $1 AND id = $2',
      [region, keyId],
    );
    expect(rows).toEqual([{ primary_key_version: after.body.KeyVersionId, rotation_interval_s: 7 * DAY }]);
    expect(await versionCount(region, keyId)).toBe(2);
  });

  it('turns the policy off and on, shows Suspended while the key is disabled, and rotates at the next touch', async () => {
    const { region, f, v } = setup(name);
    const keyId = await f.newKey();
    const off = (await f.describeKey(keyId)).body.KeyMetadata;
    expect(off).toMatchObject({ AutomaticRotation: 'Disabled', RotationInterval: '', NextRotationDate: '' });

    const on = await v.updateRotationPolicy(keyId, true, '30d');
    expect(on.status).toBe(200);
    if (name === 'rpc') expect(Object.keys(on.body)).toEqual(['RequestId']);
    else expect(on.body.KeyMetadata).toMatchObject({ AutomaticRotation: 'Enabled', RotationInterval: '2592000s' });
    const m = (await f.describeKey(keyId)).body.KeyMetadata;
    expect(m).toMatchObject({ AutomaticRotation: 'Enabled', RotationInterval: '2592000s' });
    expect(seconds(m.NextRotationDate) - seconds(m.LastRotationDate)).toBe(30 * DAY);

    expect((await v.updateRotationPolicy(keyId, false)).status).toBe(200);
    expect((await f.describeKey(keyId)).body.KeyMetadata).toMatchObject({
      AutomaticRotation: 'Disabled',
      RotationInterval: '',
      NextRotationDate: '',
    });
    // false: the interval is checked, then ignored.
    expectError(await v.updateRotationPolicy(keyId, false, '1d'), 400, 'InvalidParameter');
    expect((await v.updateRotationPolicy(keyId, false, '8d')).status).toBe(200);
    expect((await f.describeKey(keyId)).body.KeyMetadata.AutomaticRotation).toBe('Disabled');

    // Disabled: the policy shows as Suspended and nothing rotates, even when due.
    expect((await v.updateRotationPolicy(keyId, true, '7d')).status).toBe(200);
    expect((await f.disableKey(keyId)).status).toBe(200);
    const suspended = (await f.describeKey(keyId)).body.KeyMetadata;
    expect(suspended).toMatchObject({
      KeyState: 'Disabled',
      AutomaticRotation: 'Suspended',
      RotationInterval: '604800s',
    });
    expect(suspended.NextRotationDate).toMatch(DATE);
    await advanceServiceClock(main.http, 8 * DAY);
    expect((await f.describeKey(keyId)).body.KeyMetadata.AutomaticRotation).toBe('Suspended');
    await rotateDueKeys(db, Buffer.from(TEST_MASTER_KEY, 'base64'), await serviceNow(main.http));
    expect(await versionCount(region, keyId)).toBe(1);
    expectError(await v.updateRotationPolicy(keyId, true, '7d'), 409, 'Rejected.Disabled');

    // EnableKey does not rotate (it resolved a Disabled key); the next request does.
    const enabled = await f.enableKey(keyId);
    expect(enabled.status).toBe(200);
    expect(await versionCount(region, keyId)).toBe(1);
    const later = (await f.describeKey(keyId)).body.KeyMetadata;
    expect(later.AutomaticRotation).toBe('Enabled');
    expect(later.PrimaryKeyVersion).not.toBe(m.PrimaryKeyVersion);
    expect(await versionCount(region, keyId)).toBe(2);
  });

  it('a refused TagResource on a due key keeps the rotation its resolution ran (spec 20.7 step 6)', async () => {
    const { region, f, v } = setup(name);
    const tags = Array.from({ length: 20 }, (_, i) => ({ TagKey: `k${i}`, TagValue: 'v' }));
    const keyId = await f.newKey({
      ...v.rotationParams('7d'),
      ...(name === 'rpc' ? { Tags: JSON.stringify(tags) } : {}),
    });
    if (name === 'rest') await restClient(main.http, region).post(`/v1/keys/${keyId}/tags`, { Tags: tags });
    await advanceServiceClock(main.http, 7 * DAY + 60);
    const calledAt = (await serviceNow(main.http)).getTime() / 1000;
    const extra = [{ TagKey: 'k20', TagValue: 'one-too-many' }];
    const refused =
      name === 'rpc'
        ? await rpc(main.http, { RegionId: region, Action: 'TagResource', KeyId: keyId, Tags: JSON.stringify(extra) })
        : await restClient(main.http, region).post(`/v1/keys/${keyId}/tags`, { Tags: extra });
    expectError(refused, 400, 'InvalidParameter');
    // Rotated by the refused call itself, dated then; the tags are as they were.
    expect(await versionCount(region, keyId)).toBe(2);
    const { rows } = await db.query<{ created_at: Date; n: number }>(
      `SELECT max(v.creation_date) AS created_at, (SELECT count(*)::int FROM key_tags t WHERE t.region = $1 AND t.key_id = $2) AS n
         FROM key_versions v WHERE v.region = $1 AND v.key_id = $2`,
      [region, keyId],
    );
    expect(rows[0]!.n).toBe(20);
    expect(Math.abs(rows[0]!.created_at.getTime() / 1000 - calledAt)).toBeLessThan(60);
  });

  it('rotates at once when a policy is set whose next date has passed, once however many intervals went by', async () => {
    const { region, f, v } = setup(name);
    const keyId = await f.newKey();
    await advanceServiceClock(main.http, 40 * DAY);
    const first = (await f.describeKey(keyId)).body.KeyMetadata;
    expect((await v.updateRotationPolicy(keyId, true, '7d')).status).toBe(200);
    expect(await versionCount(region, keyId)).toBe(2);
    const m = (await f.describeKey(keyId)).body.KeyMetadata;
    expect(m.PrimaryKeyVersion).not.toBe(first.PrimaryKeyVersion);
    expect(seconds(m.LastRotationDate) - seconds(first.CreationDate)).toBeGreaterThanOrEqual(40 * DAY);

    // Five intervals later: one new version, and the next date is an interval from now.
    await advanceServiceClock(main.http, 35 * DAY + 10);
    const r = (await f.describeKey(keyId)).body.KeyMetadata;
    expect(await versionCount(region, keyId)).toBe(3);
    expect(seconds(r.LastRotationDate) - seconds(m.LastRotationDate)).toBeGreaterThanOrEqual(35 * DAY);
    expect(seconds(r.NextRotationDate) - seconds(r.LastRotationDate)).toBe(7 * DAY);
  });

  it('rotates a due key when a ciphertext blob names it; ListKeys does not rotate', async () => {
    const { region, f, v } = setup(name);
    const keyId = await f.newKey(v.rotationParams('7d'));
    const blob = (await f.encrypt(keyId, b64('kept'))).body.CiphertextBlob as string;
    await advanceServiceClock(main.http, 7 * DAY + 1);
    expect((await f.listKeys()).status).toBe(200);
    expect(await versionCount(region, keyId)).toBe(1);
    const opened = await f.decrypt(blob);
    expect(opened.body).toMatchObject({ Plaintext: b64('kept'), KeyId: keyId });
    expect(await versionCount(region, keyId)).toBe(2);
    const m = (await f.describeKey(keyId)).body.KeyMetadata;
    expect(m.PrimaryKeyVersion).not.toBe(opened.body.KeyVersionId);
    expect(await versionCount(region, keyId)).toBe(2);
  });

  it('takes the policy parameters by the grammar and limits of 15.3', async () => {
    const { f, v } = setup(name);
    const keyId = await f.newKey();
    for (const good of ['7d', '604800s', '168h', '10080m', '730d', '63072000s', '0000000007d']) {
      const res = await v.updateRotationPolicy(keyId, true, good);
      expect(res.status, good).toBe(200);
    }
    expect((await f.describeKey(keyId)).body.KeyMetadata.RotationInterval).toBe('604800s');
    for (const bad of ['6d', '604799s', '731d', '63072001s', '7D', '7', 'd', '7 d', '1.5d', '12345678901s', '-7d']) {
      const body = expectError(await v.updateRotationPolicy(keyId, true, bad), 400, 'InvalidParameter');
      expect(body.Message).toMatch(/^The specified parameter "RotationInterval" is not valid/);
    }
    const missing = expectError(await v.updateRotationPolicy(keyId, true), 400, 'MissingParameter');
    expect(missing.Message).toBe('The parameter "RotationInterval" is needed but not provided.');
    expect(expectError(await v.updateRotationPolicy(keyId, undefined, '7d'), 400, 'MissingParameter').Message).toBe(
      'The parameter "EnableAutomaticRotation" is needed but not provided.',
    );
    for (const bad of ['yes', 'TRUE', '1']) {
      expectError(await v.updateRotationPolicy(keyId, bad, '7d'), 400, 'InvalidParameter');
    }
    expectError(await v.updateRotationPolicy('alias/x', true, '7d'), 400, 'Unsupported.Alias');

    // CreateKey: the same grammar, the interval required with true, symmetric Aliyun_KMS keys only.
    const rotation = v.rotationParams('7d');
    expectError(
      await f.createKey({ EnableAutomaticRotation: rotation.EnableAutomaticRotation! }),
      400,
      'MissingParameter',
    );
    expectError(await f.createKey({ ...v.rotationParams('6d') }), 400, 'InvalidParameter');
    const external = expectError(await f.createKey({ Origin: 'EXTERNAL', ...rotation }), 400, 'InvalidParameter');
    expect(external.Message).toMatch(/"EnableAutomaticRotation"/);
    expect((await f.createKey({ KeySpec: 'Aliyun_SM4', ...rotation })).body.KeyMetadata.AutomaticRotation).toBe(
      'Enabled',
    );
    // false with an interval: no policy.
    const noPolicy = await f.createKey({
      EnableAutomaticRotation: name === 'rpc' ? 'false' : (false as unknown as string),
      RotationInterval: '7d',
    });
    expect(noPolicy.body.KeyMetadata).toMatchObject({ AutomaticRotation: 'Disabled', RotationInterval: '' });
  });

  it('refuses rotation policies on keys of Origin EXTERNAL and answers state codes', async () => {
    const { f, v } = setup(name);
    const external = await f.newKey({ Origin: 'EXTERNAL' });
    // PendingImport is a state code (20.7 step 8) before the origin (step 9).
    expectError(await v.updateRotationPolicy(external, true, '7d'), 409, 'Rejected.PendingImport');
    expectError(await v.createKeyVersion(external), 409, 'Rejected.PendingImport');
    const list = await v.listKeyVersions(external);
    expect(list.status).toBe(200);
    expect(list.body.TotalCount).toBe(0);
    expect(v.versionsOf(list.body)).toEqual([]);
    const meta = (await f.describeKey(external)).body.KeyMetadata;
    expect(meta).toMatchObject({ PrimaryKeyVersion: '', LastRotationDate: '', AutomaticRotation: 'Disabled' });

    const keyId = await f.newKey();
    expect((await f.scheduleKeyDeletion(keyId, 7)).status).toBe(200);
    expectError(await v.updateRotationPolicy(keyId, true, '7d'), 409, 'Rejected.PendingDeletion');
    expectError(await v.createKeyVersion(keyId), 409, 'Rejected.PendingDeletion');
    expect((await v.listKeyVersions(keyId)).body.TotalCount).toBe(1);
    expectError(
      await v.updateRotationPolicy('0b5b3d5e-6c1e-4a8e-9f3a-2b7c1d9e8f10', true, '7d'),
      404,
      'Forbidden.KeyNotFound',
    );
  });
});

describe.each(FACES)('key versions (%s face)', (name) => {
  it('CreateKeyVersion respects the minimum interval, counting key creation and rotations', async () => {
    const { region, f, v } = setup(name);
    const keyId = await f.newKey();
    const tooSoon = expectError(
      await v.createKeyVersion(keyId),
      f.status('Rejected.LimitExceeded'),
      'Rejected.LimitExceeded',
    );
    expect(tooSoon.Message).toMatch(/KMS_KEY_VERSION_MIN_INTERVAL_S/);
    await advanceServiceClock(main.http, 7 * DAY);
    const made = await v.createKeyVersion(keyId);
    expect(made.status).toBe(f.successStatus('create'));
    expect(Object.keys(made.body).sort()).toEqual(['KeyVersion', 'RequestId']);
    expect(made.body.KeyVersion.KeyId).toBe(keyId);
    expect(made.body.KeyVersion.KeyVersionId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(made.body.KeyVersion.CreationDate).toMatch(DATE);
    const m = (await f.describeKey(keyId)).body.KeyMetadata;
    expect(m.PrimaryKeyVersion).toBe(made.body.KeyVersion.KeyVersionId);
    expect(m.LastRotationDate).toBe(made.body.KeyVersion.CreationDate);
    expect((await f.encrypt(keyId, b64('x'))).body.KeyVersionId).toBe(made.body.KeyVersion.KeyVersionId);
    expectError(await v.createKeyVersion(keyId), f.status('Rejected.LimitExceeded'), 'Rejected.LimitExceeded');
    expect(await versionCount(region, keyId)).toBe(2);
  });

  it('CreateKeyVersion stops at KMS_KEY_VERSION_LIMIT and moves the next rotation date', async () => {
    const { region, f, v } = setup(name, loose);
    const keyId = await f.newKey(v.rotationParams('30d'));
    expect((await f.createAlias('alias/limited', keyId)).status).toBe(f.successStatus('create'));
    const ids: string[] = [(await f.describeKey(keyId)).body.KeyMetadata.PrimaryKeyVersion];
    for (let i = 0; i < 2; i++) {
      const res = await v.createKeyVersion('alias/limited');
      expect(res.status).toBe(f.successStatus('create'));
      ids.push(res.body.KeyVersion.KeyVersionId);
    }
    const limit = expectError(
      await v.createKeyVersion(keyId),
      f.status('Rejected.LimitExceeded'),
      'Rejected.LimitExceeded',
    );
    expect(limit.Message).toMatch(/KMS_KEY_VERSION_LIMIT/);
    expect(await versionCount(region, keyId)).toBe(3);
    const m = (await f.describeKey(keyId)).body.KeyMetadata;
    expect(seconds(m.NextRotationDate) - seconds(m.LastRotationDate)).toBe(30 * DAY);

    // Listing: CreationDate order (ties by id), pages.
    const all = v.versionsOf((await v.listKeyVersions(keyId, { PageSize: 100 })).body);
    // The order of the stored dates (milliseconds), ties by id in byte order.
    const stored = await db.query<{ id: string; ms: number }>(
      'SELECT id, (extract(epoch FROM creation_date) * 1000)::float8 AS ms FROM key_versions WHERE region = $1',
      [region],
    );
    const expected = stored.rows.sort((a, b) => a.ms - b.ms || (a.id < b.id ? -1 : 1)).map((r) => r.id);
    expect([...expected].sort()).toEqual([...ids].sort());
    expect(all.map((x) => x.KeyVersionId)).toEqual(expected);
    const page2 = await v.listKeyVersions('alias/limited', { PageNumber: 2, PageSize: 1 });
    expect(page2.body).toMatchObject({ PageNumber: 2, PageSize: 1, TotalCount: 3 });
    expect(v.versionsOf(page2.body).map((x) => x.KeyVersionId)).toEqual([expected[1]]);
    const empty = await v.listKeyVersions(keyId, { PageNumber: 9, PageSize: 0 });
    expect(empty.body).toMatchObject({ PageSize: 0, TotalCount: 3 });
    expect(v.versionsOf(empty.body)).toEqual([]);
    expectError(await v.listKeyVersions(keyId, { PageSize: 101 }), 400, 'InvalidParameter');
    expectError(await v.listKeyVersions(keyId, { PageNumber: 0 }), 400, 'InvalidParameter');
  });

  it('DescribeKeyVersion finds only versions of the named key', async () => {
    const { f, v } = setup(name);
    const keyId = await f.newKey();
    const other = await f.newKey();
    expect((await f.createAlias('alias/dkv', keyId)).status).toBe(f.successStatus('create'));
    const versionId = (await f.describeKey(keyId)).body.KeyMetadata.PrimaryKeyVersion as string;
    const otherVersion = (await f.describeKey(other)).body.KeyMetadata.PrimaryKeyVersion as string;
    const res = await v.describeKeyVersion('alias/dkv', versionId);
    expect(res.status).toBe(200);
    expect(res.body.KeyVersion).toEqual({
      KeyId: keyId,
      KeyVersionId: versionId,
      CreationDate: (await f.describeKey(keyId)).body.KeyMetadata.CreationDate,
    });
    for (const wrong of [otherVersion, versionId.toUpperCase(), 'not-a-version', `${versionId}x`, 'a\u0000b']) {
      const body = expectError(await v.describeKeyVersion(keyId, wrong), 404, 'Forbidden.KeyVersionNotFound');
      expect(body.Message).toBe('The specified Key version is not found.');
    }
    expectError(await v.describeKeyVersion('alias/none', versionId), 404, 'Forbidden.AliasNotFound');
    // Every state may be described and listed.
    expect((await f.disableKey(keyId)).status).toBe(200);
    expect((await v.describeKeyVersion(keyId, versionId)).status).toBe(200);
    expect((await v.listKeyVersions(keyId)).status).toBe(200);
    expectError(await v.createKeyVersion(keyId), 409, 'Rejected.Disabled');
  });
});

describe.each(FACES)('rotation races (%s face)', (name) => {
  it('two CreateKeyVersion calls inside the minimum interval: exactly one succeeds', async () => {
    const { region, f, v } = setup(name);
    const keyId = await f.newKey();
    await advanceServiceClock(main.http, 8 * DAY);
    const results = await Promise.all([v.createKeyVersion(keyId), v.createKeyVersion(keyId)]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([f.successStatus('create'), f.status('Rejected.LimitExceeded')].sort());
    const refused = results.find((r) => r.status !== f.successStatus('create'))!;
    expect(refused.body.Code).toBe('Rejected.LimitExceeded');
    expect(await versionCount(region, keyId)).toBe(2);
  });

  it('100 concurrent Encrypts through an alias across a due rotation make exactly one new version', async () => {
    // On PostgreSQL, half of them go through a second instance with a connection pool of its own.
    let second = main;
    if (onPostgres && url) {
      const otherDb = createPgDatabase({ url, poolMax: 20, timeoutMs: 10_000, logger: pino({ level: 'silent' }) });
      extraDbs.push(otherDb);
      second = await makeApp(otherDb);
      extra.push(second);
    }
    const { region, f, v } = setup(name);
    const f2 = face(name, second.http, region);
    const keyId = await f.newKey(v.rotationParams('7d'));
    expect((await f.createAlias('alias/busy', keyId)).status).toBe(f.successStatus('create'));
    const first = (await f.describeKey(keyId)).body.KeyMetadata.PrimaryKeyVersion;
    await advanceServiceClock(main.http, 7 * DAY + 1);
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? f : f2).encrypt('alias/busy', b64(`m${i}`))),
    );
    for (const r of results) expect(r.status).toBe(200);
    const used = new Set(results.map((r) => r.body.KeyVersionId as string));
    expect(used.size).toBe(1);
    expect(used.has(first)).toBe(false);
    expect(await versionCount(region, keyId)).toBe(2);
    expect(v.versionsOf((await v.listKeyVersions(keyId)).body)).toHaveLength(2);
  });

  it('the sweeper and requests rotate a due key once between them', async () => {
    const { region, f, v } = setup(name);
    const keyId = await f.newKey(v.rotationParams('7d'));
    await advanceServiceClock(main.http, 7 * DAY + 1);
    const now = await serviceNow(main.http);
    const masterKey = Buffer.from(TEST_MASTER_KEY, 'base64');
    const [swept, ...encrypted] = await Promise.all([
      rotateDueKeys(db, masterKey, now),
      ...Array.from({ length: 10 }, () => f.encrypt(keyId, b64('x'))),
    ]);
    expect(swept).toBeGreaterThanOrEqual(0);
    for (const r of encrypted) expect(r.status).toBe(200);
    expect(await versionCount(region, keyId)).toBe(2);
    // A due key nobody touches is rotated by the sweep alone.
    const idle = await f.newKey(v.rotationParams('7d'));
    await advanceServiceClock(main.http, 7 * DAY + 1);
    const later = await serviceNow(main.http);
    expect(await rotateDueKeys(db, masterKey, later)).toBeGreaterThanOrEqual(1);
    expect(await versionCount(region, idle)).toBe(2);
    expect(await rotateDueKeys(db, masterKey, later)).toBe(0);
  });
});

describe.each(FACES)('RAM for the version operations (%s face)', (name) => {
  it('checks the key ARN only (also through an alias), before the key state', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kms-versions-ram-'));
    try {
      const region = uniqueRegion();
      const f = face(name, main.http, region);
      const keyId = await f.newKey();
      expect((await f.createAlias('alias/ram', keyId)).status).toBe(f.successStatus('create'));
      const keyArn = `acs:kms:${region}:${DEV_ACCOUNT}:key/${keyId}`;
      const reader: Credentials = { accessKeyId: 'LTAI_versions_reader', secret: 'reader-secret' };
      const file = path.join(dir, 'identities.json');
      writeFileSync(
        file,
        JSON.stringify({
          accounts: [
            {
              accountId: DEV_ACCOUNT,
              accessKeys: [],
              users: [
                {
                  name: 'reader',
                  accessKeys: [{ accessKeyId: reader.accessKeyId, accessKeySecret: reader.secret }],
                  policies: [
                    {
                      Version: '1',
                      Statement: [
                        {
                          Effect: 'Allow',
                          Action: ['kms:ListKeyVersions', 'kms:DescribeKeyVersion', 'kms:DescribeKey'],
                          Resource: keyArn,
                        },
                      ],
                    },
                  ],
                },
              ],
            },
          ],
        }),
      );
      const t = await makeApp(db, { KMS_IDENTITIES_FILE: file });
      extra.push(t);
      const v = versionFace(name, t.http, region, reader);
      const versionId = (await face(name, t.http, region).describeKey(keyId)).body.KeyMetadata.PrimaryKeyVersion;
      expect((await v.listKeyVersions('alias/ram')).status).toBe(200);
      expect((await v.describeKeyVersion('alias/ram', versionId)).status).toBe(200);
      const denied = expectError(await v.createKeyVersion('alias/ram'), 403, 'Forbidden.NoPermission');
      expect(denied.AccessDeniedDetail).toMatchObject({ AuthAction: 'kms:CreateKeyVersion' });
      expect(
        expectError(await v.updateRotationPolicy(keyId, true, '7d'), 403, 'Forbidden.NoPermission').AccessDeniedDetail,
      ).toMatchObject({ AuthAction: 'kms:UpdateRotationPolicy' });
      // RAM comes before the state: a denied caller never learns that the key is disabled.
      expect((await f.disableKey(keyId)).status).toBe(200);
      expectError(await v.createKeyVersion(keyId), 403, 'Forbidden.NoPermission');
      // A version that is not the key's: 404 before RAM (20.7 step 6), for the reader too.
      expectError(await v.describeKeyVersion(keyId, 'nope'), 404, 'Forbidden.KeyVersionNotFound');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
