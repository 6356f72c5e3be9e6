import { describe, expect, it } from 'vitest';
import { expectError } from '../helpers/clients.js';
import { FACES, face } from '../helpers/faces.js';
import { makeApp, uniqueAccount, uniqueRegion, useTestApp } from '../helpers/test-app.js';

// Every alias rule of spec section 2, on both faces, against a real database.

const t = useTestApp();

async function aliasRows(region: string, account = '1234567890123456') {
  const { rows } = await t.db.query<{ alias_name: string; key_id: string }>(
    'SELECT alias_name, key_id FROM aliases WHERE account_id = $1 AND region = $2 ORDER BY alias_name',
    [account, region],
  );
  return rows;
}

describe.each(FACES)('aliases through the %s face', (name) => {
  const setup = () => {
    const region = uniqueRegion();
    return { region, f: face(name, t.http, region) };
  };

  it('creates an alias, resolves it, and stores the bare key id', async () => {
    const { region, f } = setup();
    const keyId = await f.newKey();
    const arn = `acs:kms:${region}:1234567890123456:key/${keyId}`;
    const res = await f.createAlias('alias/app', arn);
    expect(res.status).toBe(f.successStatus('create'));
    expect(res.body.Code).toBeUndefined();
    expect(res.body.RequestId).toMatch(/^[0-9A-F-]{36}$/);
    if (name === 'rest') {
      expect(res.body.Alias).toEqual({
        KeyId: keyId,
        AliasName: 'alias/app',
        AliasArn: `acs:kms:${region}:1234567890123456:alias/app`,
      });
    } else {
      expect(Object.keys(res.body)).toEqual(['RequestId']);
    }
    expect(await aliasRows(region)).toEqual([{ alias_name: 'alias/app', key_id: keyId }]);
    const described = await f.describeKey('alias/app');
    expect(described.status).toBe(200);
    expect(described.body.KeyMetadata.KeyId).toBe(keyId);
  });

  it('rejects a duplicate alias in the same region and keeps the first', async () => {
    const { region, f } = setup();
    const k1 = await f.newKey();
    const k2 = await f.newKey();
    expect((await f.createAlias('alias/dup', k1)).status).toBe(f.successStatus('create'));
    const body = expectError(
      await f.createAlias('alias/dup', k2),
      f.status('AliasAlreadyExists'),
      'AliasAlreadyExists',
    );
    expect(body.Message).toBe('AliasName Already Exists.');
    expect(await aliasRows(region)).toEqual([{ alias_name: 'alias/dup', key_id: k1 }]);
  });

  it('allows the same name in two regions and in two accounts', async () => {
    const { region, f } = setup();
    const other = face(name, t.http, uniqueRegion());
    const k1 = await f.newKey();
    const k2 = await other.newKey();
    expect((await f.createAlias('alias/shared', k1)).status).toBe(f.successStatus('create'));
    expect((await other.createAlias('alias/shared', k2)).status).toBe(f.successStatus('create'));
    // A second account over the same database: its own namespace.
    const account = uniqueAccount();
    const second = await makeApp(t.db, { KMS_ACCOUNT_ID: account });
    t.extra.push(second);
    const g = face(name, second.http, region);
    const k3 = await g.newKey();
    expect((await g.createAlias('alias/shared', k3)).status).toBe(f.successStatus('create'));
    expect((await f.describeKey('alias/shared')).body.KeyMetadata.KeyId).toBe(k1);
    expect((await other.describeKey('alias/shared')).body.KeyMetadata.KeyId).toBe(k2);
    expect((await g.describeKey('alias/shared')).body.KeyMetadata.KeyId).toBe(k3);
    // Neither account sees the other's key, alias or alias ARN.
    expectError(await g.describeKey(k1), 404, 'Forbidden.KeyNotFound');
    expectError(await g.describeKey(`acs:kms:${region}:1234567890123456:alias/shared`), 404, 'Forbidden.AliasNotFound');
    expectError(await g.createAlias('alias/steal', k1), 404, 'Forbidden.KeyNotFound');
    expect(await aliasRows(region, account)).toEqual([{ alias_name: 'alias/shared', key_id: k3 }]);
  });

  it('refuses an alias to a missing key and to a key of another region', async () => {
    const { region, f } = setup();
    const elsewhere = face(name, t.http, uniqueRegion());
    const foreign = await elsewhere.newKey();
    const body = expectError(
      await f.createAlias('alias/x', '00000000-0000-4000-8000-000000000000'),
      404,
      'Forbidden.KeyNotFound',
    );
    expect(body.Message).toBe('The specified Key is not found.');
    expectError(await f.createAlias('alias/x', foreign), 404, 'Forbidden.KeyNotFound');
    expectError(
      await f.createAlias('alias/x', `acs:kms:other-region:1234567890123456:key/${foreign}`),
      404,
      'Forbidden.KeyNotFound',
    );
    expect(await aliasRows(region)).toEqual([]);
  });

  it('refuses an alias where only a key is accepted (Unsupported.Alias), before any lookup', async () => {
    const { region, f } = setup();
    const k = await f.newKey();
    await f.createAlias('alias/a', k);
    for (const id of ['alias/a', 'alias/missing', `acs:kms:${region}:1234567890123456:alias/a`]) {
      const body = expectError(await f.createAlias('alias/b', id), 400, 'Unsupported.Alias');
      expect(body.Message).toBe(
        'Alias is not valid for this api: this operation takes a key id or key ARN, not an alias',
      );
      expectError(await f.updateAlias('alias/a', id), 400, 'Unsupported.Alias');
      expectError(await f.listAliasesByKeyId(id), 400, 'Unsupported.Alias');
    }
    expect(await aliasRows(region)).toEqual([{ alias_name: 'alias/a', key_id: k }]);
  });

  it('validates alias names: prefix, charset, length, reserved prefix on create only', async () => {
    const { region, f } = setup();
    const k = await f.newKey();
    const max = `alias/${'a'.repeat(255)}`;
    expect((await f.createAlias(max, k)).status).toBe(f.successStatus('create'));
    expect((await f.createAlias('alias/A-z_0/9//x/', k)).status).toBe(f.successStatus('create'));
    for (const bad of [
      'alias/',
      `alias/${'a'.repeat(256)}`,
      'alias/has space',
      'alias/caf\u00e9',
      'alias/semi;colon',
      'alias/dot.ted',
      'Alias/upper-prefix',
      'app',
      'alias/x\n',
    ]) {
      const body = expectError(await f.createAlias(bad, k), 400, 'InvalidParameter');
      expect(body.Message).toBe(
        'The specified parameter "AliasName" is not valid: it must start with alias/ followed by 1 to 255 of A-Z a-z 0-9 _ - /',
      );
    }
    for (const reserved of ['alias/acs', 'alias/acs-reserved', 'alias/acsx']) {
      const body = expectError(await f.createAlias(reserved, k), 400, 'InvalidParameter');
      expect(body.Message).toBe(
        'The specified parameter "AliasName" is not valid: names that start with alias/acs are reserved',
      );
    }
    // The reserved prefix is only refused on create: elsewhere it is a name that does not exist.
    expectError(await f.deleteAlias('alias/acs-x'), 404, 'Forbidden.AliasNotFound');
    expectError(await f.updateAlias('alias/acs-x', k), 404, 'Forbidden.AliasNotFound');
    expectError(await f.deleteAlias('alias/bad name'), 400, 'InvalidParameter');
    expect((await aliasRows(region)).map((r) => r.alias_name)).toEqual(['alias/A-z_0/9//x/', max]);
  });

  it('names are case-sensitive', async () => {
    const { f } = setup();
    const k1 = await f.newKey();
    const k2 = await f.newKey();
    await f.createAlias('alias/App', k1);
    expect((await f.createAlias('alias/app', k2)).status).toBe(f.successStatus('create'));
    expect((await f.describeKey('alias/App')).body.KeyMetadata.KeyId).toBe(k1);
    expect((await f.describeKey('alias/app')).body.KeyMetadata.KeyId).toBe(k2);
  });

  it('reports missing parameters before malformed ones', async () => {
    const { f } = setup();
    let body = expectError(await f.createAlias('bad name', undefined), 400, 'MissingParameter');
    expect(body.Message).toBe('The parameter "KeyId" is needed but not provided.');
    body = expectError(await f.createAlias(undefined, 'alias/x'), 400, 'MissingParameter');
    expect(body.Message).toBe('The parameter "AliasName" is needed but not provided.');
    // An empty value counts as absent.
    body = expectError(await f.createAlias('alias/ok', ''), 400, 'MissingParameter');
    expect(body.Message).toContain('"KeyId"');
    expectError(await f.updateAlias('alias/ok', undefined), 400, 'MissingParameter');
  });

  it('re-points an alias and lists it by the new key only', async () => {
    const { region, f } = setup();
    const k1 = await f.newKey();
    const k2 = await f.newKey();
    await f.createAlias('alias/rotate', k1);
    await f.createAlias('alias/stay', k1);
    const res = await f.updateAlias('alias/rotate', `acs:kms:${region}:1234567890123456:key/${k2}`);
    expect(res.status).toBe(200);
    if (name === 'rest') expect(res.body.Alias.KeyId).toBe(k2);
    const byOld = await f.listAliasesByKeyId(k1);
    expect(byOld.status).toBe(200);
    expect(f.aliasesOf(byOld.body).map((a) => a.AliasName)).toEqual(['alias/stay']);
    expect(byOld.body.TotalCount).toBe(1);
    const byNew = await f.listAliasesByKeyId(k2);
    expect(f.aliasesOf(byNew.body)).toEqual([
      { KeyId: k2, AliasName: 'alias/rotate', AliasArn: `acs:kms:${region}:1234567890123456:alias/rotate` },
    ]);
    expect((await f.describeKey('alias/rotate')).body.KeyMetadata.KeyId).toBe(k2);
    expect(await aliasRows(region)).toEqual([
      { alias_name: 'alias/rotate', key_id: k2 },
      { alias_name: 'alias/stay', key_id: k1 },
    ]);
  });

  it('re-pointing to the key it already has succeeds and changes nothing', async () => {
    const { region, f } = setup();
    const k = await f.newKey();
    await f.createAlias('alias/same', k);
    const before = await t.db.query('SELECT updated_at FROM aliases WHERE region = $1', [region]);
    expect((await f.updateAlias('alias/same', k)).status).toBe(200);
    const after = await t.db.query('SELECT updated_at FROM aliases WHERE region = $1', [region]);
    expect(after.rows).toEqual(before.rows);
  });

  it('UpdateAlias: a missing alias is 404, a missing target key is 404', async () => {
    const { f } = setup();
    const k = await f.newKey();
    let body = expectError(await f.updateAlias('alias/none', k), 404, 'Forbidden.AliasNotFound');
    expect(body.Message).toBe('The specified Alias is not found.');
    await f.createAlias('alias/here', k);
    body = expectError(
      await f.updateAlias('alias/here', '00000000-0000-4000-8000-000000000001'),
      404,
      'Forbidden.KeyNotFound',
    );
  });

  it('UpdateAlias refuses a target with another KeyUsage', async () => {
    const { region, f } = setup();
    const k = await f.newKey();
    await f.createAlias('alias/usage', k);
    // No SIGN/VERIFY key spec is built yet, so the other key is written directly.
    const signKey = '11111111-1111-4111-8111-111111111111';
    await t.db.query(
      `INSERT INTO keys (account_id, region, id, state, key_spec, key_usage, origin, protection_level, creator, creation_date)
       VALUES ('1234567890123456', $1, $2, 'Enabled', 'RSA_2048', 'SIGN/VERIFY', 'Aliyun_KMS', 'SOFTWARE', 'test', now())`,
      [region, signKey],
    );
    const body = expectError(await f.updateAlias('alias/usage', signKey), 400, 'InvalidParameter');
    expect(body.Message).toBe(
      'The specified parameter "KeyId" is not valid: the key must have the KeyUsage of the alias\'s current key',
    );
    expect(await aliasRows(region)).toEqual([{ alias_name: 'alias/usage', key_id: k }]);
  });

  it('key state: CreateAlias refuses a key pending deletion, UpdateAlias refuses such a target', async () => {
    const { region, f } = setup();
    const live = await f.newKey();
    const doomed = await f.newKey();
    await f.createAlias('alias/on-doomed', doomed);
    await f.createAlias('alias/live', live);
    expect((await f.scheduleKeyDeletion(doomed, 7)).status).toBe(200);
    expectError(await f.createAlias('alias/new', doomed), 409, 'Rejected.StateModifiedFailed');
    expectError(await f.updateAlias('alias/live', doomed), 409, 'Rejected.PendingDeletion');
    // Checked even when the alias already points at that key.
    expectError(await f.updateAlias('alias/on-doomed', doomed), 409, 'Rejected.PendingDeletion');
    // Disabled keys take aliases.
    await f.disableKey(live);
    expect((await f.createAlias('alias/on-disabled', live)).status).toBe(f.successStatus('create'));
    // DeleteAlias, ListAliases and ListAliasesByKeyId work in every state.
    expect((await f.listAliasesByKeyId(doomed)).body.TotalCount).toBe(1);
    expect((await f.listAliases()).body.TotalCount).toBe(3);
    expect((await f.deleteAlias('alias/on-doomed')).status).toBe(f.successStatus('delete'));
    expect((await aliasRows(region)).map((r) => r.alias_name)).toEqual(['alias/live', 'alias/on-disabled']);
  });

  it('deletes an alias, leaves its key describable, and lets the name be created again', async () => {
    const { region, f } = setup();
    const k1 = await f.newKey();
    const k2 = await f.newKey();
    await f.createAlias('alias/tmp', k1);
    const del = await f.deleteAlias('alias/tmp');
    expect(del.status).toBe(f.successStatus('delete'));
    if (name === 'rest') {
      expect(del.text).toBe('');
      expect(del.headers['x-acs-request-id']).toMatch(/^[0-9A-F-]{36}$/);
    } else expect(Object.keys(del.body)).toEqual(['RequestId']);
    expect(await aliasRows(region)).toEqual([]);
    const key = await f.describeKey(k1);
    expect(key.status).toBe(200);
    expect(key.body.KeyMetadata.KeyState).toBe('Enabled');
    expectError(await f.describeKey('alias/tmp'), 404, 'Forbidden.AliasNotFound');
    expectError(await f.deleteAlias('alias/tmp'), 404, 'Forbidden.AliasNotFound');
    expect((await f.createAlias('alias/tmp', k2)).status).toBe(f.successStatus('create'));
    expect(await aliasRows(region)).toEqual([{ alias_name: 'alias/tmp', key_id: k2 }]);
    expect((await f.listAliases()).body.TotalCount).toBe(1);
  });

  it('lists in byte order and pages walk every alias exactly once', async () => {
    const { f } = setup();
    const k = await f.newKey();
    const names = [
      'alias/b',
      'alias/B',
      'alias/a',
      'alias/_',
      'alias/-',
      'alias/a/b',
      'alias/Z9',
      'alias/0',
      'alias/aa',
      'alias/a-',
    ];
    for (const n of names) expect((await f.createAlias(n, k)).status).toBe(f.successStatus('create'));
    const expected = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    const seen: string[] = [];
    for (let page = 1; page <= 4; page++) {
      const res = await f.listAliases({ PageNumber: page, PageSize: 3 });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ PageNumber: page, PageSize: 3, TotalCount: 10 });
      const items = f.aliasesOf(res.body);
      expect(Array.isArray(items)).toBe(true);
      seen.push(...items.map((a) => a.AliasName));
    }
    expect(seen).toEqual(expected);
    const past = await f.listAliases({ PageNumber: 5, PageSize: 3 });
    expect(past.status).toBe(200);
    expect(f.aliasesOf(past.body)).toEqual([]);
    expect(past.body.TotalCount).toBe(10);
    const zero = await f.listAliases({ PageSize: 0 });
    expect(f.aliasesOf(zero.body)).toEqual([]);
    expect(zero.body.TotalCount).toBe(10);
    const dflt = await f.listAliases();
    expect(dflt.body).toMatchObject({ PageNumber: 1, PageSize: 10 });
  });

  it('an empty list is still an array', async () => {
    const { f } = setup();
    const res = await f.listAliases();
    expect(res.status).toBe(200);
    expect(f.aliasesOf(res.body)).toEqual([]);
    expect(res.body.TotalCount).toBe(0);
  });

  it('rejects bad page parameters', async () => {
    const { f } = setup();
    for (const bad of ['101', '-1', 'abc', '1e2', ' 5', '0x10', '5.0', '99999999999']) {
      const body = expectError(await f.listAliases({ PageSize: bad }), 400, 'InvalidParameter');
      expect(body.Message).toBe(
        'The specified parameter "PageSize" is not valid: it must be a whole number from 0 to 100',
      );
    }
    expect(expectError(await f.listAliases({ PageNumber: 0 }), 400, 'InvalidParameter').Message).toBe(
      'The specified parameter "PageNumber" is not valid: it must be a whole number from 1 to 2147483647',
    );
    expect((await f.listAliases({ PageSize: 100 })).status).toBe(200);
  });

  it('ListAliasesByKeyId: unknown key is 404; pages like ListAliases', async () => {
    const { f } = setup();
    expectError(await f.listAliasesByKeyId('00000000-0000-4000-8000-000000000002'), 404, 'Forbidden.KeyNotFound');
    const k = await f.newKey();
    for (const n of ['alias/k3', 'alias/k1', 'alias/k2']) await f.createAlias(n, k);
    const res = await f.listAliasesByKeyId(k, { PageNumber: 2, PageSize: 2 });
    expect(res.body).toMatchObject({ PageNumber: 2, PageSize: 2, TotalCount: 3 });
    expect(f.aliasesOf(res.body).map((a) => a.AliasName)).toEqual(['alias/k3']);
  });

  it('50 concurrent creates of one name give exactly one success', async () => {
    const { region, f } = setup();
    const keys = await Promise.all([f.newKey(), f.newKey()]);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => f.createAlias('alias/race', keys[i % 2]!)));
    const codes = results.map((r) => (r.status < 300 ? 'ok' : r.body.Code));
    expect(codes.filter((c) => c === 'ok')).toHaveLength(1);
    expect(codes.filter((c) => c === 'AliasAlreadyExists')).toHaveLength(49);
    expect(await aliasRows(region)).toHaveLength(1);
  });
});

describe('alias quota', () => {
  it.each(FACES)('creates racing at the quota never exceed it (%s)', async (name) => {
    const small = await makeApp(t.db, { KMS_ALIAS_QUOTA: '5' });
    t.extra.push(small);
    const region = uniqueRegion();
    const f = face(name, small.http, region);
    const k = await f.newKey();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => f.createAlias(`alias/q${i}`, k)));
    const ok = results.filter((r) => r.status === f.successStatus('create'));
    const limited = results.filter((r) => r.body.Code === 'Rejected.LimitExceeded');
    expect(ok).toHaveLength(5);
    expect(limited).toHaveLength(15);
    expect(limited[0]!.status).toBe(f.status('Rejected.LimitExceeded'));
    expect(limited[0]!.body.Message).toBe(
      'The request was rejected because user create resource limit was exceeded: the alias quota of 5 per account and region is reached; KMS_ALIAS_QUOTA raises it (0: no limit)',
    );
    expect(await aliasRows(region)).toHaveLength(5);
    const { rows } = await t.db.query<{ alias_count: number }>('SELECT alias_count FROM scopes WHERE region = $1', [
      region,
    ]);
    expect(rows[0]!.alias_count).toBe(5);
    // Deleting one frees a place; a duplicate at the quota is AliasAlreadyExists (uniqueness first).
    const taken = (await aliasRows(region))[0]!.alias_name;
    expectError(await f.createAlias(taken, k), f.status('AliasAlreadyExists'), 'AliasAlreadyExists');
    await f.deleteAlias(taken);
    expect((await f.createAlias('alias/after-delete', k)).status).toBe(f.successStatus('create'));
    expectError(
      await f.createAlias('alias/one-too-many', k),
      f.status('Rejected.LimitExceeded'),
      'Rejected.LimitExceeded',
    );
  });
});

describe('without a quota', () => {
  it.each(FACES)('counts on stripe rows and TotalCount stays exact (%s)', async (name) => {
    const unlimited = await makeApp(t.db, { KMS_ALIAS_QUOTA: '0', KMS_KEY_QUOTA: '0' });
    t.extra.push(unlimited);
    const region = uniqueRegion();
    const f = face(name, unlimited.http, region);
    const keys = await Promise.all(Array.from({ length: 6 }, () => f.newKey()));
    const created = await Promise.all(Array.from({ length: 40 }, (_, i) => f.createAlias(`alias/u${i}`, keys[i % 6]!)));
    expect(created.every((r) => r.status === f.successStatus('create'))).toBe(true);
    await Promise.all(Array.from({ length: 15 }, (_, i) => f.deleteAlias(`alias/u${i}`)));
    expect((await f.listAliases({ PageSize: 0 })).body.TotalCount).toBe(25);
    expect((await f.listKeys()).body.TotalCount).toBe(6);
    expect(await aliasRows(region)).toHaveLength(25);
    // The same scope seen by an instance that does enforce a quota counts the same.
    const limited = face(name, t.http, region);
    expect((await limited.listAliases({ PageSize: 0 })).body.TotalCount).toBe(25);
    const { rows } = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM scope_counter_stripes WHERE region = $1',
      [region],
    );
    expect(rows[0]!.n).toBeGreaterThan(1);
  });
});
