import { randomBytes, randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { describe, expect, it } from 'vitest';
import { encryptWithKey } from '../../src/domain/crypto/ciphertext.js';
import { wrapKeyMaterial } from '../../src/domain/crypto/master-key.js';
import { materialAad } from '../../src/domain/keys/key-material.js';
import type { KeyState } from '../../src/domain/keys/key-state.js';
import type { ErrorCode } from '../../src/errors.js';
import { expectError, restClient, rpc } from '../helpers/clients.js';
import { FACES, type Face, face } from '../helpers/faces.js';
import { makeApp, TEST_MASTER_KEY, type TestApp, uniqueRegion, useTestApp } from '../helpers/test-app.js';

// The key-state table of spec section 3, cell by cell, on both faces, through a key id and
// (where the operation takes one) through an alias; then scheduled deletion and its
// cancellation with the service's clock moved past the pending window.

const t = useTestApp();
const ACCOUNT = '1234567890123456';
const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const STATES: KeyState[] = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'];
const b64 = (text: string) => Buffer.from(text).toString('base64');

type Outcome = 'ok' | ErrorCode;

/** A key in a given state, with an alias and a ciphertext made while it could encrypt. */
interface Subject {
  region: string;
  keyId: string;
  alias: string;
  blob: string;
  plaintext: string;
}

async function keyRow(region: string, keyId: string) {
  const { rows } = await t.db.query<{ state: string; delete_date: Date | null; description: string }>(
    'SELECT state, delete_date, description FROM keys WHERE account_id = $1 AND region = $2 AND id = $3',
    [ACCOUNT, region, keyId],
  );
  return rows[0];
}

async function aliasTarget(region: string, alias: string) {
  const { rows } = await t.db.query<{ key_id: string }>(
    'SELECT key_id FROM aliases WHERE account_id = $1 AND region = $2 AND alias_name = $3',
    [ACCOUNT, region, alias],
  );
  return rows[0]?.key_id;
}

/**
 * An EXTERNAL key gets material only by import, which is not built yet. To reach the table's
 * Decrypt/PendingImport cell, store a version the way an import would (wrapped under the
 * master key) while the key stays PendingImport, as a key whose imported material was
 * deleted does in real KMS, and seal a blob under it.
 */
async function importedBlob(region: string, keyId: string, plaintext: string): Promise<string> {
  const versionId = randomUUID();
  const material = randomBytes(32);
  await t.db.query(
    `INSERT INTO key_versions (account_id, region, key_id, id, wrapped_material, creation_date)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [
      ACCOUNT,
      region,
      keyId,
      versionId,
      wrapKeyMaterial(Buffer.from(TEST_MASTER_KEY, 'base64'), material, materialAad(keyId, versionId)),
      new Date(),
    ],
  );
  const blob = encryptWithKey({
    keyId,
    keyVersionId: versionId,
    material,
    plaintext: Buffer.from(plaintext, 'base64'),
    context: Buffer.alloc(0),
  });
  return blob.toString('base64');
}

async function keyIn(f: Face, region: string, state: KeyState): Promise<Subject> {
  const keyId = await f.newKey(state === 'PendingImport' ? { Origin: 'EXTERNAL' } : {});
  const alias = `alias/subject-${randomBytes(4).toString('hex')}`;
  // Before the state changes: CreateAlias refuses a key pending deletion.
  expect((await f.createAlias(alias, keyId)).status).toBe(f.successStatus('create'));
  const plaintext = b64(`made under ${keyId}`);
  let blob: string;
  if (state === 'PendingImport') {
    blob = await importedBlob(region, keyId, plaintext);
  } else {
    const sealed = await f.encrypt(keyId, plaintext);
    expect(sealed.status).toBe(200);
    blob = sealed.body.CiphertextBlob;
  }
  if (state === 'Disabled') expect((await f.disableKey(keyId)).status).toBe(200);
  if (state === 'PendingDeletion') expect((await f.scheduleKeyDeletion(keyId, 7)).status).toBe(200);
  expect((await keyRow(region, keyId))?.state).toBe(state);
  return { region, keyId, alias, blob, plaintext };
}

const CRYPTO: Record<KeyState, Outcome> = {
  Enabled: 'ok',
  Disabled: 'Rejected.Disabled',
  PendingDeletion: 'Rejected.PendingDeletion',
  PendingImport: 'Rejected.PendingImport',
};
const EVERY_STATE: Record<KeyState, Outcome> = {
  Enabled: 'ok',
  Disabled: 'ok',
  PendingDeletion: 'ok',
  PendingImport: 'ok',
};
const SMF = 'Rejected.StateModifiedFailed';

interface Row {
  op: string;
  /**
   * How the operation names the key: 'any' takes all four forms, 'key' a key id or key ARN
   * only (an alias is Unsupported.Alias), 'blob' the ciphertext, 'alias' one of its aliases.
   */
  names: 'any' | 'key' | 'blob' | 'alias';
  outcomes: Record<KeyState, Outcome>;
  run(f: Face, s: Subject, id: string): Promise<Response>;
  /** What a success must have done. */
  verify?(f: Face, s: Subject, res: Response, state: KeyState): Promise<void>;
}

const TABLE: Row[] = [
  {
    op: 'Encrypt',
    names: 'any',
    outcomes: CRYPTO,
    run: (f, _s, id) => f.encrypt(id, b64('hello')),
    verify: async (f, s, res) => {
      expect(res.body.KeyId).toBe(s.keyId);
      expect((await f.decrypt(res.body.CiphertextBlob)).body.Plaintext).toBe(b64('hello'));
    },
  },
  {
    op: 'GenerateDataKey',
    names: 'any',
    outcomes: CRYPTO,
    run: (f, _s, id) => f.generateDataKey(id),
    verify: async (_f, s, res) => {
      expect(res.body.KeyId).toBe(s.keyId);
      expect(Buffer.from(res.body.Plaintext, 'base64')).toHaveLength(32);
    },
  },
  {
    op: 'GenerateDataKeyWithoutPlaintext',
    names: 'any',
    outcomes: CRYPTO,
    run: (f, _s, id) => f.generateDataKey(id, {}, false),
    verify: async (_f, s, res) => {
      expect(res.body.KeyId).toBe(s.keyId);
      expect(res.body.Plaintext).toBeUndefined();
    },
  },
  {
    op: 'Decrypt',
    names: 'blob',
    outcomes: CRYPTO,
    run: (f, s) => f.decrypt(s.blob),
    verify: async (_f, s, res) => {
      expect(res.body).toMatchObject({ Plaintext: s.plaintext, KeyId: s.keyId });
    },
  },
  {
    op: 'DescribeKey',
    names: 'any',
    outcomes: EVERY_STATE,
    run: (f, _s, id) => f.describeKey(id),
    verify: async (_f, s, res, state) => {
      expect(res.body.KeyMetadata).toMatchObject({ KeyId: s.keyId, KeyState: state });
    },
  },
  {
    op: 'ListAliasesByKeyId',
    names: 'key',
    outcomes: EVERY_STATE,
    run: (f, _s, id) => f.listAliasesByKeyId(id),
    verify: async (f, s, res) => {
      expect(f.aliasesOf(res.body).map((a) => a.AliasName)).toEqual([s.alias]);
    },
  },
  {
    op: 'DeleteAlias',
    names: 'alias',
    outcomes: EVERY_STATE,
    run: (f, s) => f.deleteAlias(s.alias),
    verify: async (_f, s) => {
      expect(await aliasTarget(s.region, s.alias)).toBeUndefined();
    },
  },
  {
    op: 'UpdateKeyDescription',
    names: 'key',
    outcomes: EVERY_STATE,
    run: (f, _s, id) => f.updateKeyDescription(id, 'changed'),
    verify: async (_f, s, _res, state) => {
      expect(await keyRow(s.region, s.keyId)).toMatchObject({ description: 'changed', state });
    },
  },
  {
    op: 'EnableKey',
    names: 'key',
    outcomes: { Enabled: 'ok', Disabled: 'ok', PendingDeletion: SMF, PendingImport: SMF },
    run: (f, _s, id) => f.enableKey(id),
    verify: async (f, s, res) => {
      expect((await keyRow(s.region, s.keyId))?.state).toBe('Enabled');
      if (f.name === 'rest') expect(res.body.KeyMetadata.KeyState).toBe('Enabled');
      else expect(Object.keys(res.body)).toEqual(['RequestId']);
    },
  },
  {
    op: 'DisableKey',
    names: 'key',
    outcomes: { Enabled: 'ok', Disabled: 'ok', PendingDeletion: SMF, PendingImport: SMF },
    run: (f, _s, id) => f.disableKey(id),
    verify: async (f, s, res) => {
      expect((await keyRow(s.region, s.keyId))?.state).toBe('Disabled');
      if (f.name === 'rest') expect(res.body.KeyMetadata.KeyState).toBe('Disabled');
      else expect(Object.keys(res.body)).toEqual(['RequestId']);
    },
  },
  {
    op: 'ScheduleKeyDeletion',
    names: 'key',
    outcomes: { Enabled: 'ok', Disabled: 'ok', PendingDeletion: SMF, PendingImport: 'ok' },
    run: (f, _s, id) => f.scheduleKeyDeletion(id, 30),
    verify: async (_f, s) => {
      const row = await keyRow(s.region, s.keyId);
      expect(row?.state).toBe('PendingDeletion');
      expect(row?.delete_date).toBeInstanceOf(Date);
    },
  },
  {
    op: 'CancelKeyDeletion',
    names: 'key',
    outcomes: { Enabled: SMF, Disabled: SMF, PendingDeletion: 'ok', PendingImport: SMF },
    run: (f, _s, id) => f.cancelKeyDeletion(id),
    verify: async (_f, s) => {
      expect(await keyRow(s.region, s.keyId)).toMatchObject({ state: 'Enabled', delete_date: null });
    },
  },
  {
    op: 'CreateAlias',
    names: 'key',
    outcomes: { Enabled: 'ok', Disabled: 'ok', PendingDeletion: SMF, PendingImport: 'ok' },
    run: (f, s, id) => f.createAlias(`alias/for-${s.keyId}`, id),
    verify: async (_f, s) => {
      expect(await aliasTarget(s.region, `alias/for-${s.keyId}`)).toBe(s.keyId);
    },
  },
  {
    op: 'UpdateAlias',
    names: 'key',
    outcomes: { Enabled: 'ok', Disabled: 'ok', PendingDeletion: 'Rejected.PendingDeletion', PendingImport: 'ok' },
    run: async (f, s, id) => {
      // An alias on another Enabled key, to be moved to the subject.
      if ((await aliasTarget(s.region, 'alias/mover')) === undefined) {
        const other = await f.newKey();
        if ((await f.createAlias('alias/mover', other)).status !== f.successStatus('create')) {
          throw new Error('could not create alias/mover');
        }
      }
      return f.updateAlias('alias/mover', id);
    },
    verify: async (_f, s) => {
      expect(await aliasTarget(s.region, 'alias/mover')).toBe(s.keyId);
    },
  },
];

async function expectOutcome(f: Face, row: Row, s: Subject, id: string, state: KeyState) {
  const before = await keyRow(s.region, s.keyId);
  const aliasBefore = await aliasTarget(s.region, 'alias/mover');
  const res = await row.run(f, s, id);
  const outcome = row.outcomes[state];
  if (outcome === 'ok') {
    if (res.status !== 200 && res.status !== 201 && res.status !== 204) {
      throw new Error(`${row.op} on a ${state} key via ${id}: ${res.status} ${JSON.stringify(res.body)}`);
    }
    expect(res.body.Code).toBeUndefined();
    await row.verify?.(f, s, res, state);
  } else {
    expectError(res, f.status(outcome), outcome);
    // A refusal changes nothing.
    expect(await keyRow(s.region, s.keyId)).toEqual(before);
    if (row.op === 'UpdateAlias') expect(await aliasTarget(s.region, 'alias/mover')).not.toBe(s.keyId);
    else expect(await aliasTarget(s.region, 'alias/mover')).toBe(aliasBefore);
  }
}

describe.each(FACES)('the key-state table through the %s face', (name) => {
  describe.each(TABLE)('$op', (row) => {
    it.each(STATES)('on a %s key', async (state) => {
      const region = uniqueRegion();
      const f = face(name, t.http, region);
      const arn = (s: Subject) => `acs:kms:${region}:${ACCOUNT}:key/${s.keyId}`;
      const aliasArn = (s: Subject) => `acs:kms:${region}:${ACCOUNT}:${s.alias}`;

      if (row.names === 'any') {
        // Each form on its own key, since a success may change the state.
        for (const form of [(s: Subject) => s.keyId, arn, (s: Subject) => s.alias, aliasArn]) {
          const s = await keyIn(f, region, state);
          await expectOutcome(f, row, s, form(s), state);
        }
      } else if (row.names === 'key') {
        const s = await keyIn(f, region, state);
        // An alias where only a key is accepted: refused before any lookup or state check.
        for (const id of [s.alias, aliasArn(s)]) {
          const before = await keyRow(region, s.keyId);
          expectError(await row.run(f, s, id), 400, 'Unsupported.Alias');
          expect(await keyRow(region, s.keyId)).toEqual(before);
        }
        await expectOutcome(f, row, s, s.keyId, state);
        const t2 = await keyIn(f, region, state);
        await expectOutcome(f, row, t2, arn(t2), state);
      } else {
        const s = await keyIn(f, region, state);
        await expectOutcome(f, row, s, '', state);
      }
    });
  });

  it('lists keys and aliases in every state', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const subjects = [];
    for (const state of STATES) subjects.push(await keyIn(f, region, state));
    const keys = await f.listKeys({ PageSize: 100 });
    expect(keys.body.TotalCount).toBe(4);
    expect(new Set(f.keysOf(keys.body).map((k) => k.KeyId))).toEqual(new Set(subjects.map((s) => s.keyId)));
    const aliases = await f.listAliases({ PageSize: 100 });
    expect(aliases.body.TotalCount).toBe(4);
    expect(new Set(f.aliasesOf(aliases.body).map((a) => a.KeyId))).toEqual(new Set(subjects.map((s) => s.keyId)));
  });
});

describe.each(FACES)('scheduling and cancelling deletion through the %s face', (name) => {
  it('takes PendingWindowInDays 7..366, required', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const keyId = await f.newKey();
    const schedule = (days: string | number | undefined) =>
      name === 'rpc'
        ? rpc(
            t.http,
            { Action: 'ScheduleKeyDeletion', RegionId: region, KeyId: keyId, PendingWindowInDays: days },
            { method: 'POST' },
          )
        : restClient(t.http, region).post(`/v1/keys/${keyId}/schedule-deletion`, { PendingWindowInDays: days });
    for (const bad of [6, 367, 0, '7.5', '-7', ' 7', 'seven', '1e1']) {
      expect(expectError(await schedule(bad), 400, 'InvalidParameter').Message).toBe(
        'The specified parameter "PendingWindowInDays" is not valid: it must be a whole number of days from 7 to 366',
      );
    }
    expect(expectError(await schedule(undefined), 400, 'MissingParameter').Message).toBe(
      'The parameter "PendingWindowInDays" is needed but not provided.',
    );
    expect(expectError(await schedule(''), 400, 'MissingParameter').Message).toContain('"PendingWindowInDays"');
    expect((await keyRow(region, keyId))?.state).toBe('Enabled');

    for (const days of [7, 366]) {
      const id = await f.newKey();
      const start = Date.now();
      const res = await f.scheduleKeyDeletion(id, days);
      const end = Date.now();
      expect(res.status).toBe(200);
      const m = (await f.describeKey(id)).body.KeyMetadata;
      if (name === 'rest') expect(res.body.KeyMetadata).toEqual(m);
      expect(m.KeyState).toBe('PendingDeletion');
      expect(m.DeleteDate).toMatch(DATE);
      const deleteAt = Date.parse(m.DeleteDate);
      // The date is printed to the second.
      expect(deleteAt).toBeGreaterThanOrEqual(Math.floor((start + days * DAY_MS) / 1000) * 1000);
      expect(deleteAt).toBeLessThanOrEqual(end + days * DAY_MS);
      const row = await keyRow(region, id);
      expect(Math.floor(row!.delete_date!.getTime() / 1000) * 1000).toBe(deleteAt);
    }
  });

  it('CancelKeyDeletion returns a key to Enabled (even one disabled before), an EXTERNAL key to PendingImport', async () => {
    const region = uniqueRegion();
    const f = face(name, t.http, region);
    const disabled = await keyIn(f, region, 'Disabled');
    const external = await keyIn(f, region, 'PendingImport');
    for (const s of [disabled, external]) {
      expect((await f.scheduleKeyDeletion(s.keyId, 7)).status).toBe(200);
      expect((await keyRow(region, s.keyId))?.state).toBe('PendingDeletion');
      const res = await f.cancelKeyDeletion(s.keyId);
      expect(res.status).toBe(200);
    }
    expect((await f.describeKey(disabled.keyId)).body.KeyMetadata).toMatchObject({
      KeyState: 'Enabled',
      DeleteDate: '',
    });
    expect((await f.describeKey(external.keyId)).body.KeyMetadata).toMatchObject({
      KeyState: 'PendingImport',
      DeleteDate: '',
    });
    expect(await keyRow(region, external.keyId)).toMatchObject({ state: 'PendingImport', delete_date: null });
    expect((await f.decrypt(disabled.blob)).body.Plaintext).toBe(disabled.plaintext);
  });
});

describe.each(FACES)('the pending window passing, through the %s face', (name) => {
  // These tests move the service's clock by days. Signatures carry a timestamp checked
  // against that clock, so this app runs with KMS_AUTH=off (root of the default account).
  async function timeApp(env: Record<string, string> = {}): Promise<TestApp> {
    const app = await makeApp(t.db, { KMS_AUTH: 'off', ...env });
    t.extra.push(app);
    return app;
  }

  async function scopeRows(region: string) {
    const q = async (sql: string) => (await t.db.query(sql, [ACCOUNT, region])).rows;
    return {
      keys: (await q('SELECT id FROM keys WHERE account_id = $1 AND region = $2 ORDER BY id')).map((r) => r.id),
      aliases: (
        await q('SELECT alias_name FROM aliases WHERE account_id = $1 AND region = $2 ORDER BY alias_name')
      ).map((r) => r.alias_name),
      versions: (await q('SELECT key_id FROM key_versions WHERE account_id = $1 AND region = $2')).map((r) => r.key_id),
      counters: (await q('SELECT key_count, alias_count FROM scopes WHERE account_id = $1 AND region = $2'))[0],
    };
  }

  it('purges the key, its versions and its aliases once DeleteDate passes; every read agrees', async () => {
    const app = await timeApp();
    const region = uniqueRegion();
    const f = face(name, app.http, region);
    const doomed = await f.newKey();
    const kept = await f.newKey();
    for (const [alias, key] of [
      ['alias/doomed-a', doomed],
      ['alias/doomed-b', doomed],
      ['alias/kept', kept],
    ] as const) {
      expect((await f.createAlias(alias, key)).status).toBe(f.successStatus('create'));
    }
    const blob = (await f.encrypt('alias/doomed-a', b64('short-lived'))).body.CiphertextBlob;
    expect((await f.scheduleKeyDeletion(doomed, 7)).status).toBe(200);

    // Inside the window: still there, refused for crypto with its state.
    app.advance(7 * DAY_MS - 60_000);
    expect((await f.describeKey('alias/doomed-a')).body.KeyMetadata.KeyState).toBe('PendingDeletion');
    expectError(await f.decrypt(blob), 409, 'Rejected.PendingDeletion');
    expect((await f.listAliases()).body.TotalCount).toBe(3);

    // Past it: gone for every read, before and after the purge.
    app.advance(2 * 60_000);
    expectError(await f.describeKey(doomed), 404, 'Forbidden.KeyNotFound');
    expectError(await f.describeKey('alias/doomed-a'), 404, 'Forbidden.AliasNotFound');
    expectError(await f.describeKey(`acs:kms:${region}:${ACCOUNT}:alias/doomed-b`), 404, 'Forbidden.AliasNotFound');
    expectError(await f.encrypt('alias/doomed-b', b64('x')), 404, 'Forbidden.AliasNotFound');
    expectError(await f.generateDataKey(doomed), 404, 'Forbidden.KeyNotFound');
    expectError(await f.listAliasesByKeyId(doomed), 404, 'Forbidden.KeyNotFound');
    expect(expectError(await f.decrypt(blob), 400, 'InvalidParameter').Message).toBe(
      'The specified parameter "CiphertextBlob" is not valid: it is not a blob from Encrypt or GenerateDataKey that decrypts here with this EncryptionContext',
    );

    const aliases = await f.listAliases();
    expect(aliases.body.TotalCount).toBe(1);
    expect(f.aliasesOf(aliases.body).map((a) => a.AliasName)).toEqual(['alias/kept']);
    const keys = await f.listKeys();
    expect(keys.body.TotalCount).toBe(1);
    expect(f.keysOf(keys.body).map((k) => k.KeyId)).toEqual([kept]);

    expect(await scopeRows(region)).toEqual({
      keys: [kept],
      aliases: ['alias/kept'],
      versions: [kept],
      counters: { key_count: 1, alias_count: 1 },
    });
    // A purged ciphertext stays refused; the freed alias name can be used again.
    expectError(await f.decrypt(blob), 400, 'InvalidParameter');
    expect((await f.createAlias('alias/doomed-a', kept)).status).toBe(f.successStatus('create'));
    expect((await scopeRows(region)).counters).toEqual({ key_count: 1, alias_count: 2 });
  });

  it("past the window and before any purge, the key's aliases are gone for the alias writes too", async () => {
    const app = await timeApp();
    const region = uniqueRegion();
    const f = face(name, app.http, region);
    const doomed = await f.newKey();
    const kept = await f.newKey();
    for (const alias of ['alias/gone-a', 'alias/gone-b', 'alias/gone-c']) {
      expect((await f.createAlias(alias, doomed)).status).toBe(f.successStatus('create'));
    }
    expect((await f.scheduleKeyDeletion(doomed, 7)).status).toBe(200);
    app.advance(7 * DAY_MS + 60_000);
    // Nothing has purged yet: the rows are still there.
    expect((await scopeRows(region)).aliases).toEqual(['alias/gone-a', 'alias/gone-b', 'alias/gone-c']);

    expectError(await f.updateAlias('alias/gone-a', kept), 404, 'Forbidden.AliasNotFound');
    expectError(await f.deleteAlias('alias/gone-b'), 404, 'Forbidden.AliasNotFound');
    // The REST read of one alias agrees, and a live alias still reads.
    const rest = restClient(app.http, region);
    expectError(await rest.get(`/v1/aliases/${encodeURIComponent('alias/gone-b')}`), 404, 'Forbidden.AliasNotFound');
    // The name held by the expired key's alias is free: CreateAlias purges and takes it.
    expect((await f.createAlias('alias/gone-c', kept)).status).toBe(f.successStatus('create'));
    expect((await f.describeKey('alias/gone-c')).body.KeyMetadata.KeyId).toBe(kept);
    const read = await rest.get(`/v1/aliases/${encodeURIComponent('alias/gone-c')}`);
    expect([read.status, read.body.Alias]).toEqual([
      200,
      { KeyId: kept, AliasName: 'alias/gone-c', AliasArn: `acs:kms:${region}:${ACCOUNT}:alias/gone-c` },
    ]);
    expect(await scopeRows(region)).toEqual({
      keys: [kept],
      aliases: ['alias/gone-c'],
      versions: [kept],
      counters: { key_count: 1, alias_count: 1 },
    });
  });

  it('at the alias quota, the aliases of a key past its window do not count: CreateAlias makes room', async () => {
    const app = await timeApp({ KMS_ALIAS_QUOTA: '2' });
    const region = uniqueRegion();
    const f = face(name, app.http, region);
    const doomed = await f.newKey();
    const kept = await f.newKey();
    for (const alias of ['alias/q-1', 'alias/q-2']) {
      expect((await f.createAlias(alias, doomed)).status).toBe(f.successStatus('create'));
    }
    expectError(await f.createAlias('alias/q-3', kept), f.status('Rejected.LimitExceeded'), 'Rejected.LimitExceeded');
    expect((await f.scheduleKeyDeletion(doomed, 7)).status).toBe(200);
    app.advance(7 * DAY_MS + 60_000);
    // Nothing has purged yet; the new name is free and the quota has room.
    expect((await f.createAlias('alias/q-3', kept)).status).toBe(f.successStatus('create'));
    expect((await f.createAlias('alias/q-4', kept)).status).toBe(f.successStatus('create'));
    expectError(await f.createAlias('alias/q-5', kept), f.status('Rejected.LimitExceeded'), 'Rejected.LimitExceeded');
    expect(await scopeRows(region)).toEqual({
      keys: [kept],
      aliases: ['alias/q-3', 'alias/q-4'],
      versions: [kept],
      counters: { key_count: 1, alias_count: 2 },
    });
  });

  it('cancelled before the window ends, the key is Enabled again with its aliases', async () => {
    const app = await timeApp();
    const region = uniqueRegion();
    const f = face(name, app.http, region);
    const keyId = await f.newKey();
    await f.createAlias('alias/saved-a', keyId);
    await f.createAlias('alias/saved-b', keyId);
    const blob = (await f.encrypt('alias/saved-a', b64('kept'))).body.CiphertextBlob;
    expect((await f.scheduleKeyDeletion(keyId, 7)).status).toBe(200);
    app.advance(6 * DAY_MS);
    expect((await f.cancelKeyDeletion(keyId)).status).toBe(200);
    app.advance(30 * DAY_MS);

    expect((await f.describeKey('alias/saved-b')).body.KeyMetadata).toMatchObject({
      KeyId: keyId,
      KeyState: 'Enabled',
      DeleteDate: '',
    });
    const aliases = await f.listAliasesByKeyId(keyId);
    expect(aliases.body.TotalCount).toBe(2);
    expect((await f.listAliases()).body.TotalCount).toBe(2);
    expect((await f.decrypt(blob)).body.Plaintext).toBe(b64('kept'));
    expect((await f.encrypt('alias/saved-b', b64('again'))).status).toBe(200);
    expect(await scopeRows(region)).toEqual({
      keys: [keyId],
      aliases: ['alias/saved-a', 'alias/saved-b'],
      versions: [keyId],
      counters: { key_count: 1, alias_count: 2 },
    });
  });
});
