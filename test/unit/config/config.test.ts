import { describe, expect, it } from 'vitest';
import { closestName, editDistance, nearMiss } from '../../../src/closest-name.js';
import { ConfigSchema, loadConfig, SETTINGS, unknownSettings } from '../../../src/config.js';

describe('closest names', () => {
  it('counts insertions, deletions and substitutions', () => {
    expect(editDistance('', '')).toBe(0);
    expect(editDistance('KMS_AUTH', 'KMS_AUTHH')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
  });

  it('prefers a name that has every word, then the fewest edits', () => {
    expect(closestName('KMS_REGION', ['KMS_AUTH', 'KMS_DEFAULT_REGION'])?.name).toBe('KMS_DEFAULT_REGION');
    expect(closestName('KMS_QUOTA', ['KMS_ALIAS_QUOTA', 'KMS_KEY_QUOTA'])?.name).toBe('KMS_KEY_QUOTA');
    expect(closestName('KMS_AUTHH', ['KMS_AUTH', 'KMS_DEFAULT_REGION'])?.name).toBe('KMS_AUTH');
  });

  it('ignores case, and guesses only within two edits', () => {
    expect(closestName('keyspec', ['KeySpec', 'KeyId'])).toEqual({ name: 'KeySpec', distance: 0 });
    expect(nearMiss('keyspec', ['KeyId', 'KeySpec'])).toBe('KeySpec');
    expect(nearMiss('Descripton', ['KeyId', 'Description'])).toBe('Description');
    expect(nearMiss('AliasNme', ['AliasName', 'KeyId'])).toBe('AliasName');
    expect(nearMiss('Padding', ['AliasName', 'KeyId'])).toBeUndefined();
    expect(nearMiss('KeyId', ['KeyId'])).toBeUndefined();
    // One or two characters are close to any short name: no guess.
    expect(nearMiss('Ke', ['KeyId'])).toBeUndefined();
    expect(nearMiss('Ke', ['Key'])).toBe('Key');
    expect(nearMiss('k', ['K'])).toBe('K');
  });
});

describe('settings', () => {
  it('are the fields of the config schema', () => {
    expect(SETTINGS).toEqual(Object.keys(ConfigSchema.in.shape));
    expect(SETTINGS).toContain('KMS_AUTH');
    expect(SETTINGS).toContain('LOG_LEVEL');
  });

  it('an unknown KMS_* variable, in any case, is named with the closest setting; others are not', () => {
    expect(
      unknownSettings({
        KMS_AUTHH: 'off',
        kms_auth: 'off',
        KMS_KEY_QUOTA: '5',
        KMS_REGION: 'cn-shanghai',
        PATH: '/bin',
        KMSX: '1',
      }),
    ).toEqual([
      { name: 'KMS_AUTHH', closest: 'KMS_AUTH' },
      { name: 'KMS_REGION', closest: 'KMS_DEFAULT_REGION' },
      { name: 'kms_auth', closest: 'KMS_AUTH' },
    ]);
  });

  it('loadConfig keeps the unknown names for the start-up warning, never their values', () => {
    const config = loadConfig({ DATABASE_URL: 'memory://', KMS_AUTHH: 'off' });
    expect(config.auth).toBe(true);
    expect(config.unknownSettings).toEqual([{ name: 'KMS_AUTHH', closest: 'KMS_AUTH' }]);
    expect(JSON.stringify(config.unknownSettings)).not.toContain('off');
  });
});
