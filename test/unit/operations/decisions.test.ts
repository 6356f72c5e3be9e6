import { describe, expect, it } from 'vitest';
import type { Permission } from '../../../src/domain/context.js';
import { rotationFields } from '../../../src/domain/keys/key-metadata.js';
import type { KeyRow } from '../../../src/domain/keys/key-rows.js';
import { KEY_STATES, type KeyState, refusedStates, stateRefusal } from '../../../src/domain/keys/key-state.js';
import type { KeyVersionRow } from '../../../src/domain/keys/keys.store.js';
import type { ResolvedKey } from '../../../src/domain/keys/resolver.js';
import { rotationDue } from '../../../src/domain/keys/rotation.js';
import { KmsError } from '../../../src/errors.js';
import { decideAsymmetricKey } from '../../../src/operations/asymmetric-key.js';
import { nextCancelKeyDeletion } from '../../../src/operations/cancel-key-deletion.js';
import { type CreateAliasFacts, decideCreateAlias, PURGE_AND_RETRY } from '../../../src/operations/create-alias.js';
import { CreateKeyFields, createKeyCombination, decideCreateKey } from '../../../src/operations/create-key.js';
import { type CreateKeyVersionFacts, decideCreateKeyVersion } from '../../../src/operations/create-key-version.js';
import { decideDecrypt, versionOfBlob } from '../../../src/operations/decrypt.js';
import { decideDeleteAlias } from '../../../src/operations/delete-alias.js';
import { decideDeleteKeyMaterial } from '../../../src/operations/delete-key-material.js';
import { decideDescribeKey } from '../../../src/operations/describe-key.js';
import { decideDescribeKeyVersion } from '../../../src/operations/describe-key-version.js';
import { nextDisableKey } from '../../../src/operations/disable-key.js';
import { nextEnableKey } from '../../../src/operations/enable-key.js';
import { decideSeal } from '../../../src/operations/encrypt.js';
import { decideGetAlias } from '../../../src/operations/get-alias.js';
import { decideGetParametersForImport } from '../../../src/operations/get-parameters-for-import.js';
import {
  decideExpiry,
  decideImportKey,
  decideMaterial,
  decideToken,
} from '../../../src/operations/import-key-material.js';
import { decideKeyChange } from '../../../src/operations/key-change.js';
import { decideListAliasesByKeyId } from '../../../src/operations/list-aliases-by-key-id.js';
import { decideListKeyVersions } from '../../../src/operations/list-key-versions.js';
import { decided } from '../../../src/operations/operation.js';
import { decideReEncrypt, type ReEncryptFacts } from '../../../src/operations/re-encrypt.js';
import { nextScheduleKeyDeletion } from '../../../src/operations/schedule-key-deletion.js';
import { nextSetDeletionProtection } from '../../../src/operations/set-deletion-protection.js';
import { decideUpdateAlias } from '../../../src/operations/update-alias.js';
import { nextUpdateRotationPolicy } from '../../../src/operations/update-rotation-policy.js';

// The decision functions, without a database: each check in the contract's order
// (spec section 10), the first failing one decides.

const ALLOW: Permission = { allowed: true };
const DENY: Permission = {
  allowed: false,
  detail: {
    AuthAction: 'kms:X',
    AuthPrincipalType: 'SubUser',
    AuthPrincipalDisplayName: 'u',
    NoPermissionType: 'ImplicitDeny',
  },
};
const NOW = new Date('2026-12-01T00:00:00Z');

function key(state: KeyState, over: Partial<KeyRow> = {}): KeyRow {
  return {
    account_id: '1234567890123456',
    region: 'cn-hangzhou',
    id: '0b5b3d5e-6c1e-4a8e-9f3a-2b7c1d9e8f10',
    state,
    key_spec: 'Aliyun_AES_256',
    key_usage: 'ENCRYPT/DECRYPT',
    origin: 'Aliyun_KMS',
    protection_level: 'SOFTWARE',
    description: '',
    creator: 'root',
    creation_date: NOW,
    delete_date: null,
    primary_key_version: 'v1',
    last_rotation_date: null,
    deletion_protection: false,
    deletion_protection_description: '',
    has_material: true,
    material_expire_time: null,
    rotation_interval_s: null,
    next_rotation_date: null,
    ...over,
  };
}

/** The code of a decision that is an error, else the outcome itself. */
const codeOf = (d: unknown) => (d instanceof KmsError ? d.code : d);

describe('the checks every operation on one key makes: found, permitted, state', () => {
  it.each([
    ['no key', { notFound: 'Forbidden.AliasNotFound' as const }, undefined, 'Forbidden.AliasNotFound'],
    ['a key the caller may not describe', { key: key('Enabled') }, DENY, 'Forbidden.NoPermission'],
    ['a permitted key in PendingDeletion', { key: key('PendingDeletion') }, ALLOW, 'KeyMetadata'],
  ])('DescribeKey: %s', (_name, found, permission, expected) => {
    const d = decideDescribeKey(found, permission);
    expect(d instanceof KmsError ? d.code : 'KeyMetadata').toBe(expected);
  });

  it('DryRun is the last step: every check first, then DryRunOperationError instead of the result', () => {
    expect(codeOf(decideSeal('Encrypt', { key: key('Enabled') }, ALLOW, true))).toBe('DryRunOperationError');
    expect(codeOf(decideSeal('Encrypt', { key: key('Disabled') }, ALLOW, true))).toBe('Rejected.Disabled');
    expect(codeOf(decideSeal('Encrypt', { key: key('Enabled') }, DENY, true))).toBe('Forbidden.NoPermission');
    expect(decideSeal('Encrypt', { key: key('Enabled') }, ALLOW, false)).not.toBeInstanceOf(KmsError);
  });

  it('RAM is decided before the key state: a denied caller never learns the state', () => {
    expect(codeOf(decideSeal('Encrypt', { key: key('Disabled') }, DENY))).toBe('Forbidden.NoPermission');
    expect(codeOf(decideSeal('Encrypt', { key: key('Disabled') }, ALLOW))).toBe('Rejected.Disabled');
  });

  const crypto: Array<[KeyState, string]> = [
    ['Enabled', 'ok'],
    ['Disabled', 'Rejected.Disabled'],
    ['PendingDeletion', 'Rejected.PendingDeletion'],
    ['PendingImport', 'Rejected.PendingImport'],
  ];
  it.each(crypto)('Encrypt, GenerateDataKey[WithoutPlaintext] and Decrypt on a key in %s: %s', (state, expected) => {
    for (const op of ['Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext'] as const) {
      const d = decideSeal(op, { key: key(state) }, ALLOW);
      expect(d instanceof KmsError ? d.code : 'ok').toBe(expected);
    }
    const version = { ...key(state), version_id: 'v1', wrapped_material: new Uint8Array() } as KeyVersionRow;
    const d = decideDecrypt(version, ALLOW);
    expect(d instanceof KmsError ? d.code : 'ok').toBe(expected);
  });

  it('Decrypt: a blob that names no version of the scope is an invalid CiphertextBlob, before RAM', () => {
    const d = decideDecrypt(undefined, undefined);
    expect(d).toBeInstanceOf(KmsError);
    expect((d as KmsError).code).toBe('InvalidParameter');
    expect((d as KmsError).message).toContain('CiphertextBlob');
  });

  it('ListAliasesByKeyId: found, permitted, any state', () => {
    expect(codeOf(decideListAliasesByKeyId({ notFound: 'Forbidden.KeyNotFound' }, undefined))).toBe(
      'Forbidden.KeyNotFound',
    );
    expect(codeOf(decideListAliasesByKeyId({ key: { state: 'Enabled' } }, DENY))).toBe('Forbidden.NoPermission');
    for (const state of KEY_STATES) expect(decideListAliasesByKeyId({ key: { state } }, ALLOW)).toBe('list');
  });
});

describe('the key lifecycle: which states each operation refuses, and the change it makes', () => {
  const table: Array<[string, Record<KeyState, string>]> = [
    [
      'EnableKey',
      {
        Enabled: 'Enabled',
        Disabled: 'Enabled',
        PendingDeletion: 'Rejected.StateModifiedFailed',
        PendingImport: 'Rejected.StateModifiedFailed',
      },
    ],
    [
      'DisableKey',
      {
        Enabled: 'Disabled',
        Disabled: 'Disabled',
        PendingDeletion: 'Rejected.StateModifiedFailed',
        PendingImport: 'Rejected.StateModifiedFailed',
      },
    ],
    [
      'ScheduleKeyDeletion',
      {
        Enabled: 'PendingDeletion',
        Disabled: 'PendingDeletion',
        PendingDeletion: 'Rejected.StateModifiedFailed',
        PendingImport: 'PendingDeletion',
      },
    ],
    [
      'CancelKeyDeletion',
      {
        Enabled: 'Rejected.StateModifiedFailed',
        Disabled: 'Rejected.StateModifiedFailed',
        PendingDeletion: 'Enabled',
        PendingImport: 'Rejected.StateModifiedFailed',
      },
    ],
  ];
  const next = {
    EnableKey: nextEnableKey,
    DisableKey: nextDisableKey,
    ScheduleKeyDeletion: nextScheduleKeyDeletion(7),
    CancelKeyDeletion: nextCancelKeyDeletion,
  } as const;
  it.each(table)('%s', (op, expected) => {
    for (const state of KEY_STATES) {
      const operation = op as keyof typeof next;
      const d = decideKeyChange(operation, { key: key(state) }, ALLOW, next[operation], NOW);
      expect(d instanceof KmsError ? d.code : d.state, `${op} on ${state}`).toBe(expected[state]);
    }
  });

  it('ScheduleKeyDeletion dates the deletion PendingWindowInDays from now; CancelKeyDeletion clears it', () => {
    expect(decided(nextScheduleKeyDeletion(30)(key('Enabled'), NOW)).deleteDate).toEqual(
      new Date('2026-12-31T00:00:00Z'),
    );
    expect(decided(nextCancelKeyDeletion(key('PendingDeletion'), NOW)).deleteDate).toBeNull();
  });

  it('ScheduleKeyDeletion refuses a protected key in any state that allows it; SetDeletionProtection off clears the text', () => {
    for (const state of ['Enabled', 'Disabled', 'PendingImport'] as const) {
      const protectedKey = key(state, { deletion_protection: true });
      const d = decideKeyChange('ScheduleKeyDeletion', { key: protectedKey }, ALLOW, nextScheduleKeyDeletion(7), NOW);
      expect(codeOf(d)).toBe('Rejected.StateModifiedFailed');
    }
    expect(decided(nextSetDeletionProtection(false, 'x')(key('Enabled'), NOW))).toEqual({
      deletionProtection: { enabled: false, description: '' },
    });
    expect(
      codeOf(
        decideKeyChange(
          'SetDeletionProtection',
          { key: key('PendingDeletion') },
          ALLOW,
          nextSetDeletionProtection(true, ''),
          NOW,
        ),
      ),
    ).toBe('Rejected.PendingDeletion');
  });

  it('CancelKeyDeletion returns a key still waiting for imported material to PendingImport', () => {
    const waiting = key('PendingDeletion', { origin: 'EXTERNAL', primary_key_version: null, has_material: false });
    expect(decided(nextCancelKeyDeletion(waiting, NOW)).state).toBe('PendingImport');
  });

  it('CancelKeyDeletion reads the material flag, not PrimaryKeyVersion (spec 17.1)', () => {
    // Imported once, then deleted: the version id stays, the material does not.
    const deleted = key('PendingDeletion', { origin: 'EXTERNAL', primary_key_version: 'v1', has_material: false });
    expect(decided(nextCancelKeyDeletion(deleted, NOW)).state).toBe('PendingImport');
    const imported = key('PendingDeletion', { origin: 'EXTERNAL', primary_key_version: 'v1', has_material: true });
    expect(decided(nextCancelKeyDeletion(imported, NOW)).state).toBe('Enabled');
  });
});

describe('CreateKey: RAM, then the quota', () => {
  it.each([
    [{ permission: DENY, quota: 0 }, 'Forbidden.NoPermission'],
    [{ permission: DENY, keysAfter: 99, quota: 2 }, 'Forbidden.NoPermission'],
    [{ permission: ALLOW, quota: 2 }, 'create'],
    [{ permission: ALLOW, keysAfter: 2, quota: 2 }, 'create'],
    [{ permission: ALLOW, keysAfter: 3, quota: 2 }, 'Rejected.LimitExceeded'],
    [{ permission: ALLOW, keysAfter: null, quota: 0 }, 'create'],
  ])('%j -> %s', (facts, expected) => {
    expect(codeOf(decideCreateKey(facts))).toBe(expected);
  });
});

describe('CreateAlias: resolution, RAM, key state, a free name, the quota', () => {
  const base: CreateAliasFacts = {
    found: { key: { id: 'k', state: 'Enabled' } },
    permission: ALLOW,
    inserted: true,
    aliasesAfter: 1,
    quota: 2,
  };
  it.each<[string, Partial<CreateAliasFacts>, string]>([
    ['created', {}, 'created'],
    [
      'no key',
      { found: { notFound: 'Forbidden.KeyNotFound' }, permission: undefined, inserted: false },
      'Forbidden.KeyNotFound',
    ],
    [
      'denied, whatever the state',
      { permission: DENY, found: { key: { id: 'k', state: 'PendingDeletion' } }, inserted: false },
      'Forbidden.NoPermission',
    ],
    [
      'a key in PendingDeletion',
      { found: { key: { id: 'k', state: 'PendingDeletion' } }, inserted: false },
      'Rejected.StateModifiedFailed',
    ],
    ['a Disabled key takes aliases', { found: { key: { id: 'k', state: 'Disabled' } } }, 'created'],
    ['a taken name, first attempt: purge and retry', { inserted: false }, PURGE_AND_RETRY],
    ['a taken name after a purge', { inserted: false, purged: true }, 'AliasAlreadyExists'],
    ['a taken name, nothing to purge', { inserted: false, purged: false }, 'AliasAlreadyExists'],
    ['over the quota, first attempt: purge and retry', { aliasesAfter: 3 }, PURGE_AND_RETRY],
    ['over the quota after a purge', { aliasesAfter: 3, purged: true }, 'Rejected.LimitExceeded'],
    ['no quota', { aliasesAfter: null, quota: 0 }, 'created'],
    [
      'a taken name is decided before the quota',
      { inserted: false, aliasesAfter: 3, purged: false },
      'AliasAlreadyExists',
    ],
  ])('%s', (_name, facts, expected) => {
    expect(codeOf(decideCreateAlias({ ...base, ...facts }))).toBe(expected);
  });
});

describe('UpdateAlias: the alias, the target, RAM, the target state, the same usage', () => {
  const a = key('Enabled', { id: 'a' });
  const b = key('Enabled', { id: 'b' });
  it.each<[string, Parameters<typeof decideUpdateAlias>[0], string]>([
    ['re-points', { current: { key: a }, target: { key: b }, permission: ALLOW }, 'repoint'],
    ['already there', { current: { key: a }, target: { key: a }, permission: ALLOW }, 'unchanged'],
    [
      'the alias is decided before the target',
      {
        current: { notFound: 'Forbidden.AliasNotFound' },
        target: { notFound: 'Forbidden.KeyNotFound' },
        permission: undefined,
      },
      'Forbidden.AliasNotFound',
    ],
    [
      'no target',
      { current: { key: a }, target: { notFound: 'Forbidden.KeyNotFound' }, permission: undefined },
      'Forbidden.KeyNotFound',
    ],
    [
      'denied',
      { current: { key: a }, target: { key: key('PendingDeletion', { id: 'b' }) }, permission: DENY },
      'Forbidden.NoPermission',
    ],
    [
      'a target in PendingDeletion',
      { current: { key: a }, target: { key: key('PendingDeletion', { id: 'b' }) }, permission: ALLOW },
      'Rejected.PendingDeletion',
    ],
    [
      'the state is checked even when the alias already points there',
      {
        current: { key: key('PendingDeletion', { id: 'a' }) },
        target: { key: key('PendingDeletion', { id: 'a' }) },
        permission: ALLOW,
      },
      'Rejected.PendingDeletion',
    ],
    [
      'another usage',
      {
        current: { key: a },
        target: { key: key('Enabled', { id: 'b', key_usage: 'SIGN/VERIFY' }) },
        permission: ALLOW,
      },
      'InvalidParameter',
    ],
  ])('%s', (_name, facts, expected) => {
    expect(codeOf(decideUpdateAlias(facts))).toBe(expected);
  });
});

describe('DeleteAlias and the REST read of one alias', () => {
  it('DeleteAlias: the alias, then RAM; any state', () => {
    expect(codeOf(decideDeleteAlias({ notFound: 'Forbidden.AliasNotFound' }, undefined))).toBe(
      'Forbidden.AliasNotFound',
    );
    expect(codeOf(decideDeleteAlias({ key: key('Enabled') }, DENY))).toBe('Forbidden.NoPermission');
    for (const state of KEY_STATES) expect(decideDeleteAlias({ key: key(state) }, ALLOW)).toBe('delete');
  });
  it('GetAlias: the alias, then RAM', () => {
    expect(codeOf(decideGetAlias({ notFound: 'Forbidden.AliasNotFound' }, undefined))).toBe('Forbidden.AliasNotFound');
    expect(codeOf(decideGetAlias({ key: key('PendingDeletion') }, DENY))).toBe('Forbidden.NoPermission');
    expect(decideGetAlias({ key: key('PendingDeletion') }, ALLOW)).toBe('read');
  });
});

describe('the rules that statements apply in SQL agree with the decisions', () => {
  // CreateAlias and UpdateAlias insert or re-point only when the key's state is not in
  // refusedStates(op); the decision refuses exactly those states.
  it.each(['CreateAlias', 'UpdateAlias'] as const)('%s', (op) => {
    for (const state of KEY_STATES) {
      expect(refusedStates(op).includes(state), `${op} on ${state}`).toBe(stateRefusal(op, state) !== undefined);
    }
  });
});

describe('key material import (spec 17): lookup, RAM, state, origin, then token and material', () => {
  const external = (state: KeyState, over: Partial<KeyRow> = {}) =>
    key(state, { origin: 'EXTERNAL', primary_key_version: null, has_material: false, ...over });
  const codeOf = (d: unknown) => (d instanceof KmsError ? d.code : 'ok');
  const missing = { notFound: 'Forbidden.KeyNotFound' as const };

  it.each([
    ['no key', missing, DENY, 'RSA_2048', 'Forbidden.KeyNotFound'],
    ['denied, not EXTERNAL', { key: key('Enabled') }, DENY, 'RSA_2048', 'Forbidden.NoPermission'],
    ['not EXTERNAL', { key: key('Enabled') }, ALLOW, 'RSA_2048', 'Unsupported.Origin'],
    ['pending deletion', { key: external('PendingDeletion') }, ALLOW, 'RSA_2048', 'ok'],
    ['SM2 on a SOFTWARE key', { key: external('PendingImport') }, ALLOW, 'EC_SM2', 'InvalidParameter'],
    ['SM2 on an HSM key', { key: external('PendingImport', { protection_level: 'HSM' }) }, ALLOW, 'EC_SM2', 'ok'],
  ])('GetParametersForImport: %s', (_, found, permission, spec, code) => {
    expect(codeOf(decideGetParametersForImport(found as never, permission, spec))).toBe(code);
  });

  it.each([
    ['no key', missing, ALLOW, 'Forbidden.KeyNotFound'],
    ['denied while pending deletion', { key: external('PendingDeletion') }, DENY, 'Forbidden.NoPermission'],
    ['pending deletion', { key: external('PendingDeletion') }, ALLOW, 'Rejected.StateModifiedFailed'],
    ['pending deletion, not EXTERNAL', { key: key('PendingDeletion') }, ALLOW, 'Rejected.StateModifiedFailed'],
    ['not EXTERNAL', { key: key('Disabled') }, ALLOW, 'Unsupported.Origin'],
    ['Disabled EXTERNAL', { key: external('Disabled') }, ALLOW, 'ok'],
  ])('ImportKeyMaterial: %s', (_, found, permission, code) => {
    expect(codeOf(decideImportKey(found as never, permission))).toBe(code);
  });

  it.each([
    ['pending deletion', { key: external('PendingDeletion') }, ALLOW, 'ok'],
    ['not EXTERNAL', { key: key('Enabled') }, ALLOW, 'Unsupported.Origin'],
    ['denied', { key: key('Enabled') }, DENY, 'Forbidden.NoPermission'],
  ])('DeleteKeyMaterial: %s', (_, found, permission, code) => {
    expect(codeOf(decideDeleteKeyMaterial(found as never, permission))).toBe(code);
  });

  it('the token: unknown or for another key is invalid, past its expiry expired', () => {
    const token = {
      token: 't',
      key_id: 'k',
      wrapping_key_spec: 'RSA_2048' as const,
      wrapping_algorithm: 'RSAES_OAEP_SHA_256' as const,
      wrapped_private_key: new Uint8Array(1),
      expires_at: new Date(NOW.getTime() + 1000),
    };
    expect(codeOf(decideToken(undefined, 'k', NOW))).toBe('InvalidImportToken');
    expect(codeOf(decideToken(token, 'other', NOW))).toBe('InvalidImportToken');
    expect(codeOf(decideToken(token, 'k', NOW))).toBe('ok');
    expect(codeOf(decideToken({ ...token, expires_at: NOW }, 'k', NOW))).toBe('ExpiredImportToken');
  });

  it('the material: decrypted, of the spec length, equal to what was imported before', () => {
    const fp = (m: Buffer) => Buffer.alloc(32, m[0]);
    expect(codeOf(decideMaterial(undefined, 'Aliyun_AES_256', null, fp))).toBe('InvalidKeyMaterial');
    expect(codeOf(decideMaterial(Buffer.alloc(16), 'Aliyun_AES_256', null, fp))).toBe('InvalidKeyMaterial');
    expect(codeOf(decideMaterial(Buffer.alloc(16), 'Aliyun_SM4', null, fp))).toBe('ok');
    expect(codeOf(decideMaterial(Buffer.alloc(32, 1), 'Aliyun_AES_256', fp(Buffer.alloc(1, 1)), fp))).toBe('ok');
    expect(codeOf(decideMaterial(Buffer.alloc(32, 2), 'Aliyun_AES_256', fp(Buffer.alloc(1, 1)), fp))).toBe(
      'InvalidKeyMaterial',
    );
  });

  it('the expiry: absent or 0 never, not before the service clock', () => {
    expect(decided(decideExpiry(undefined, NOW))).toBeNull();
    expect(decided(decideExpiry(0, NOW))).toBeNull();
    const now = NOW.getTime() / 1000;
    expect(decided(decideExpiry(now, NOW))).toEqual(NOW);
    expect(codeOf(decideExpiry(now - 1, NOW))).toBe('InvalidParameter');
  });
});

describe('key versions (spec 15.2): found, RAM, state, origin, then interval and count', () => {
  const DAY_MS = 86_400_000;
  const facts = (over: Partial<CreateKeyVersionFacts> = {}): CreateKeyVersionFacts => ({
    found: { key: key('Enabled', { last_rotation_date: new Date(NOW.getTime() - 8 * DAY_MS) }) },
    permission: ALLOW,
    now: NOW,
    minIntervalSeconds: 7 * 86_400,
    limit: 50,
    versionCount: 1,
    ...over,
  });
  const old = new Date(NOW.getTime() - 8 * DAY_MS);

  it.each([
    ['a key past the interval', facts(), 'create'],
    [
      'no key',
      facts({ found: { notFound: 'Forbidden.AliasNotFound' }, permission: undefined }),
      'Forbidden.AliasNotFound',
    ],
    [
      'RAM refused, in any state',
      facts({ found: { key: key('Disabled') }, permission: DENY }),
      'Forbidden.NoPermission',
    ],
    ['a Disabled key', facts({ found: { key: key('Disabled', { last_rotation_date: old }) } }), 'Rejected.Disabled'],
    ['a PendingDeletion key', facts({ found: { key: key('PendingDeletion') } }), 'Rejected.PendingDeletion'],
    [
      'a PendingImport key (state before origin)',
      facts({ found: { key: key('PendingImport', { origin: 'EXTERNAL' }) } }),
      'Rejected.PendingImport',
    ],
    [
      'an EXTERNAL key',
      facts({ found: { key: key('Enabled', { origin: 'EXTERNAL', last_rotation_date: old }) } }),
      'Rejected.UnsupportedOperation',
    ],
    [
      'a key rotated 6 days ago',
      facts({ found: { key: key('Enabled', { last_rotation_date: new Date(NOW.getTime() - 6 * DAY_MS) }) } }),
      'Rejected.LimitExceeded',
    ],
    [
      'a key rotated exactly 7 days ago',
      facts({ found: { key: key('Enabled', { last_rotation_date: new Date(NOW.getTime() - 7 * DAY_MS) }) } }),
      'create',
    ],
    [
      'a key rotated just now, without an interval',
      facts({ minIntervalSeconds: 0, found: { key: key('Enabled', { last_rotation_date: NOW }) } }),
      'create',
    ],
    ['a key at the limit', facts({ versionCount: 50 }), 'Rejected.LimitExceeded'],
    ['a key at the limit, without a limit', facts({ versionCount: 5000, limit: 0 }), 'create'],
    ['a first read (versions not counted yet)', facts({ versionCount: undefined }), 'create'],
  ])('CreateKeyVersion: %s', (_name, f, expected) => {
    expect(codeOf(decideCreateKeyVersion(f))).toBe(expected);
  });

  it('ListKeyVersions and DescribeKeyVersion: any state; a missing version is found before RAM', () => {
    for (const state of KEY_STATES) expect(decideListKeyVersions({ key: { state } }, ALLOW)).toBe('list');
    expect(codeOf(decideListKeyVersions({ key: { state: 'Enabled' } }, DENY))).toBe('Forbidden.NoPermission');
    const version = { id: 'v1', creation_date: NOW };
    for (const state of KEY_STATES) {
      expect(decideDescribeKeyVersion({ found: { key: { state } }, version, permission: ALLOW })).toBe('describe');
    }
    expect(
      codeOf(
        decideDescribeKeyVersion({
          found: { notFound: 'Forbidden.KeyNotFound' },
          version: undefined,
          permission: undefined,
        }),
      ),
    ).toBe('Forbidden.KeyNotFound');
    expect(
      codeOf(decideDescribeKeyVersion({ found: { key: { state: 'Enabled' } }, version: undefined, permission: DENY })),
    ).toBe('Forbidden.KeyVersionNotFound');
    expect(codeOf(decideDescribeKeyVersion({ found: { key: { state: 'Enabled' } }, version, permission: DENY }))).toBe(
      'Forbidden.NoPermission',
    );
  });
});

describe('automatic rotation (spec 15.3)', () => {
  const policy = { rotation_interval_s: 604_800, next_rotation_date: NOW };
  it.each([
    ['Enabled, due now', key('Enabled', policy), true],
    [
      'Enabled, due a second later',
      key('Enabled', { ...policy, next_rotation_date: new Date(NOW.getTime() + 1000) }),
      false,
    ],
    ['Disabled, due', key('Disabled', policy), false],
    ['PendingDeletion, due', key('PendingDeletion', policy), false],
    ['no policy', key('Enabled'), false],
  ])('due: %s', (_name, k, expected) => {
    expect(rotationDue(k, NOW)).toBe(expected);
  });

  it('KeyMetadata shows the policy: Enabled, Suspended while Disabled or PendingDeletion, else Disabled', () => {
    expect(rotationFields(key('Enabled'))).toEqual({
      AutomaticRotation: 'Disabled',
      RotationInterval: '',
      NextRotationDate: '',
    });
    expect(rotationFields(key('Enabled', policy))).toEqual({
      AutomaticRotation: 'Enabled',
      RotationInterval: '604800s',
      NextRotationDate: '2026-12-01T00:00:00Z',
    });
    for (const state of ['Disabled', 'PendingDeletion'] as const) {
      expect(rotationFields(key(state, policy)).AutomaticRotation).toBe('Suspended');
    }
  });

  it('UpdateRotationPolicy: state first (the lifecycle shape), then key type, then the policy', () => {
    const on = nextUpdateRotationPolicy(true, 604_800);
    const off = nextUpdateRotationPolicy(false, undefined);
    const decide = (k: KeyRow, next = on) =>
      codeOf(decideKeyChange('UpdateRotationPolicy', { key: k }, ALLOW, next, NOW));
    expect(decideKeyChange('UpdateRotationPolicy', { key: key('Enabled') }, ALLOW, on, NOW)).toEqual({
      rotationIntervalS: 604_800,
    });
    expect(decideKeyChange('UpdateRotationPolicy', { key: key('Enabled') }, ALLOW, off, NOW)).toEqual({
      rotationIntervalS: null,
    });
    expect(decide(key('Disabled'))).toBe('Rejected.Disabled');
    expect(decide(key('PendingDeletion'))).toBe('Rejected.PendingDeletion');
    expect(decide(key('PendingImport', { origin: 'EXTERNAL' }))).toBe('Rejected.PendingImport');
    expect(decide(key('Enabled', { origin: 'EXTERNAL' }), off)).toBe('Rejected.UnsupportedOperation');
    expect(decide(key('Enabled', { key_spec: 'RSA_2048' }))).toBe('Rejected.UnsupportedOperation');
    expect(codeOf(decideKeyChange('UpdateRotationPolicy', { key: key('Disabled') }, DENY, on, NOW))).toBe(
      'Forbidden.NoPermission',
    );
  });

  it("Decrypt: a blob whose format is not its version's spec names nothing (InvalidParameter at resolution)", () => {
    const version = (spec: string) =>
      ({
        ...key('Enabled', { key_spec: spec }),
        version_id: 'v1',
        wrapped_material: new Uint8Array(),
      }) as KeyVersionRow;
    expect(versionOfBlob({ formatVersion: 1 }, version('Aliyun_AES_256'))).toBeDefined();
    expect(versionOfBlob({ formatVersion: 2 }, version('Aliyun_SM4'))).toBeDefined();
    expect(versionOfBlob({ formatVersion: 2 }, version('Aliyun_AES_256'))).toBeUndefined();
    expect(versionOfBlob({ formatVersion: 1 }, version('Aliyun_SM4'))).toBeUndefined();
    expect(versionOfBlob({ formatVersion: 1 }, version('RSA_2048'))).toBeUndefined();
    expect(codeOf(decideDecrypt(versionOfBlob({ formatVersion: 1 }, version('Aliyun_SM4')), undefined))).toBe(
      'InvalidParameter',
    );
  });
});

describe('CreateKey: the spec, usage, origin and rotation combinations (spec 13.1, 13.3)', () => {
  const combine = (raw: Record<string, unknown>) => {
    try {
      return createKeyCombination(CreateKeyFields.parse(raw));
    } catch (err) {
      return err;
    }
  };
  const problem = (raw: Record<string, unknown>) => {
    const out = combine(raw);
    return out instanceof KmsError ? `${out.code} ${out.message.match(/"(\w+)"/)?.[1]}` : 'ok';
  };
  it.each([
    [{}, 'ENCRYPT/DECRYPT'],
    [{ KeySpec: 'RSA_2048' }, 'SIGN/VERIFY'],
    [{ KeySpec: 'RSA_3072', KeyUsage: 'ENCRYPT/DECRYPT' }, 'ENCRYPT/DECRYPT'],
    [{ KeySpec: 'EC_P256' }, 'SIGN/VERIFY'],
    [{ KeySpec: 'EC_P256K' }, 'SIGN/VERIFY'],
    [{ KeySpec: 'EC_SM2' }, 'SIGN/VERIFY'],
    [{ KeySpec: 'EC_SM2', KeyUsage: 'ENCRYPT/DECRYPT' }, 'ENCRYPT/DECRYPT'],
  ])('%j makes a %s key', (raw, usage) => {
    expect((combine(raw) as { KeyUsage: string }).KeyUsage).toBe(usage);
  });
  it.each([
    [{ KeySpec: 'EC_P256', KeyUsage: 'ENCRYPT/DECRYPT' }, 'InvalidParameter KeyUsage'],
    [{ KeySpec: 'EC_P256K', KeyUsage: 'ENCRYPT/DECRYPT' }, 'InvalidParameter KeyUsage'],
    [{ KeyUsage: 'SIGN/VERIFY' }, 'InvalidParameter KeyUsage'],
    [{ KeySpec: 'EC_SM2', Origin: 'EXTERNAL' }, 'InvalidParameter Origin'],
    // The usage is judged before the origin, the origin before the rotation.
    [{ KeySpec: 'EC_P256', KeyUsage: 'ENCRYPT/DECRYPT', Origin: 'EXTERNAL' }, 'InvalidParameter KeyUsage'],
    [{ KeySpec: 'RSA_2048', Origin: 'EXTERNAL', EnableAutomaticRotation: 'true' }, 'InvalidParameter Origin'],
    [{ KeySpec: 'RSA_2048', EnableAutomaticRotation: 'true' }, 'InvalidParameter EnableAutomaticRotation'],
    [{ Origin: 'EXTERNAL', EnableAutomaticRotation: 'true' }, 'InvalidParameter EnableAutomaticRotation'],
    [{ EnableAutomaticRotation: 'false', KeySpec: 'EC_P256', ProtectionLevel: 'HSM' }, 'ok'],
  ])('%j: %s', (raw, expected) => {
    expect(problem(raw)).toBe(expected);
  });
});

describe('the asymmetric operations: key, version, RAM, state, kind and usage, algorithm (spec 14.1, 20.7)', () => {
  const asym = (state: KeyState, over: Partial<ResolvedKey> = {}): { key: ResolvedKey } => ({
    key: {
      ...key(state, { key_spec: 'EC_P256', key_usage: 'SIGN/VERIFY', primary_key_version: null }),
      version_id: 'v1',
      version_material: new Uint8Array([1]),
      version_public_key: new Uint8Array([2]),
      ...over,
    },
  });
  const sign = { usage: 'SIGN/VERIFY', algorithm: 'ECDSA_SHA_256' } as const;
  it.each<[string, Parameters<typeof decideAsymmetricKey>[1], Permission | undefined, object, string]>([
    ['no key', { notFound: 'Forbidden.KeyNotFound' }, undefined, sign, 'Forbidden.KeyNotFound'],
    [
      'no such version',
      asym('Disabled', { version_id: null, version_material: null }),
      undefined,
      sign,
      'Forbidden.KeyVersionNotFound',
    ],
    ['RAM before state', asym('Disabled'), DENY, sign, 'Forbidden.NoPermission'],
    ['state before kind', asym('Disabled', { key_spec: 'Aliyun_AES_256' }), ALLOW, sign, 'Rejected.Disabled'],
    ['PendingDeletion', asym('PendingDeletion'), ALLOW, sign, 'Rejected.PendingDeletion'],
    ['PendingImport', asym('PendingImport'), ALLOW, sign, 'Rejected.PendingImport'],
    [
      'a symmetric key with a valid algorithm',
      asym('Enabled', { key_spec: 'Aliyun_AES_256', version_public_key: null }),
      ALLOW,
      sign,
      'Rejected.UnsupportedOperation',
    ],
    [
      'the other usage',
      asym('Enabled', { key_spec: 'RSA_2048', key_usage: 'ENCRYPT/DECRYPT' }),
      ALLOW,
      { usage: 'SIGN/VERIFY', algorithm: 'RSA_PSS_SHA_256' },
      'Rejected.UnsupportedOperation',
    ],
    [
      'the usage before the algorithm',
      asym('Enabled', { key_usage: 'ENCRYPT/DECRYPT' }),
      ALLOW,
      { usage: 'SIGN/VERIFY', algorithm: 'SM2DSA' },
      'Rejected.UnsupportedOperation',
    ],
    [
      'an algorithm of another spec',
      asym('Enabled'),
      ALLOW,
      { usage: 'SIGN/VERIFY', algorithm: 'RSA_PKCS1_SHA_256' },
      'InvalidParameter',
    ],
    [
      'GetPublicKey takes either usage',
      asym('Enabled', { key_spec: 'EC_SM2', key_usage: 'ENCRYPT/DECRYPT' }),
      ALLOW,
      {},
      'usable',
    ],
    ['all fits', asym('Enabled'), ALLOW, sign, 'usable'],
  ])('%s', (_name, found, permission, needs, expected) => {
    const d = decideAsymmetricKey('AsymmetricSign', found, permission, needs);
    expect(d instanceof KmsError ? d.code : 'usable').toBe(expected);
  });

  it('symmetric-only operations refuse an asymmetric key after its state: UnsupportedOperation', () => {
    const rsa = key('Enabled', { key_spec: 'RSA_2048', key_usage: 'ENCRYPT/DECRYPT' });
    const d = decideSeal('GenerateDataKey', { key: rsa }, ALLOW, true);
    expect([codeOf(d), (d as KmsError).message]).toEqual(['UnsupportedOperation', 'This action is not supported.']);
    expect(codeOf(decideSeal('Encrypt', { key: { ...rsa, state: 'Disabled' } }, ALLOW))).toBe('Rejected.Disabled');
    expect(codeOf(decideSeal('GenerateAndExportDataKey', { key: rsa }, DENY))).toBe('Forbidden.NoPermission');
  });

  it('Decrypt: a blob naming a version of an asymmetric key is an invalid CiphertextBlob (spec 13.5)', () => {
    const version = { ...key('Enabled', { key_spec: 'EC_SM2' }), version_id: 'v', wrapped_material: new Uint8Array() };
    expect(codeOf(decideDecrypt(version, ALLOW))).toBe('InvalidParameter');
    expect(codeOf(decideDecrypt(version, DENY, 'ExportDataKey'))).toBe('InvalidParameter');
  });
});

describe('ReEncrypt: source then destination, resolution, RAM, state, key type (spec 16.1, 20.7)', () => {
  const version = (over: Partial<KeyRow> = {}): KeyVersionRow => ({
    ...key('Enabled', over),
    version_id: 'v1',
    wrapped_material: new Uint8Array(),
  });
  const dest = (over: Partial<KeyRow> = {}) => ({ key: key('Enabled', { id: 'dest', ...over }) as ResolvedKey });
  const DENY_TO: Permission = {
    allowed: false,
    detail: { ...(DENY as { detail: object }).detail, AuthAction: 'kms:ReEncryptTo' } as never,
  };
  const DENY_FROM: Permission = {
    allowed: false,
    detail: { ...(DENY as { detail: object }).detail, AuthAction: 'kms:ReEncryptFrom' } as never,
  };
  const facts = (over: Partial<ReEncryptFacts> = {}): ReEncryptFacts => ({
    source: { kind: 'symmetric', version: version() },
    destination: dest(),
    from: ALLOW,
    to: ALLOW,
    ...over,
  });
  const outcome = (f: ReEncryptFacts) => {
    const d = decideReEncrypt(f);
    return d instanceof KmsError ? d.code : d.kind;
  };
  it.each<[string, Partial<ReEncryptFacts>, string]>([
    ['a symmetric source and destination', {}, 'symmetric'],
    [
      'an invisible blob version, before the destination',
      { source: { kind: 'symmetric', version: undefined }, destination: { notFound: 'Forbidden.AliasNotFound' } },
      'InvalidParameter',
    ],
    [
      'SourceKeyId that names nothing',
      { source: { kind: 'symmetric', version: version(), named: { notFound: 'Forbidden.KeyNotFound' } } },
      'Forbidden.KeyNotFound',
    ],
    [
      'the destination not found, before RAM',
      { destination: { notFound: 'Forbidden.AliasNotFound' }, from: DENY_FROM },
      'Forbidden.AliasNotFound',
    ],
    ['ReEncryptFrom refused first', { from: DENY_FROM, to: DENY_TO }, 'Forbidden.NoPermission'],
    [
      'the source state before the destination state',
      {
        source: { kind: 'symmetric', version: version({ state: 'PendingDeletion' }) },
        destination: { key: key('Disabled') as ResolvedKey },
      },
      'Rejected.PendingDeletion',
    ],
    ['the destination state', { destination: { key: key('Disabled') as ResolvedKey } }, 'Rejected.Disabled'],
    [
      'SourceKeyId of another key',
      {
        source: {
          kind: 'symmetric',
          version: version(),
          named: { key: key('Enabled', { id: 'other' }) as ResolvedKey },
        },
      },
      'InvalidParameter',
    ],
    ['an asymmetric destination', { destination: dest({ key_spec: 'RSA_2048' }) }, 'UnsupportedOperation'],
    [
      'an asymmetric source version missing',
      {
        source: {
          kind: 'asymmetric',
          algorithm: 'SM2PKE',
          found: { key: { ...key('Enabled', { key_spec: 'EC_SM2' }), version_id: null } },
        },
      },
      'Forbidden.KeyVersionNotFound',
    ],
    [
      'an asymmetric SIGN/VERIFY source',
      {
        source: {
          kind: 'asymmetric',
          algorithm: 'SM2PKE',
          found: {
            key: {
              ...key('Enabled', { key_spec: 'EC_SM2', key_usage: 'SIGN/VERIFY' }),
              version_id: 'v',
              version_material: new Uint8Array([1]),
              version_public_key: new Uint8Array([1]),
            },
          },
        },
      },
      'Rejected.UnsupportedOperation',
    ],
    [
      'an asymmetric source',
      {
        source: {
          kind: 'asymmetric',
          algorithm: 'SM2PKE',
          found: {
            key: {
              ...key('Enabled', { key_spec: 'EC_SM2' }),
              version_id: 'v',
              version_material: new Uint8Array([1]),
              version_public_key: new Uint8Array([1]),
            },
          },
        },
      },
      'asymmetric',
    ],
  ])('%s', (_name, over, expected) => {
    expect(outcome(facts(over))).toBe(expected);
  });
  it('a denial names the failing action: ReEncryptTo when only it is refused', () => {
    const d = decideReEncrypt(facts({ to: DENY_TO })) as KmsError;
    expect([
      d.code,
      (d.details as { AccessDeniedDetail: { AuthAction: string } }).AccessDeniedDetail.AuthAction,
    ]).toEqual(['Forbidden.NoPermission', 'kms:ReEncryptTo']);
  });
});
