import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  loadOrCreateMasterKeyFile,
  MASTER_KEY_FILE_NAME,
  masterKeyFingerprint,
  parseMasterKey,
  unwrapKeyMaterial,
  wrapKeyMaterial,
} from '../../../src/domain/crypto/master-key.js';
import { KmsError } from '../../../src/errors.js';

const run = promisify(execFile);

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('parseMasterKey', () => {
  it('decodes standard Base64 of exactly 32 bytes', () => {
    const key = randomBytes(32);
    expect(parseMasterKey(key.toString('base64'))).toEqual(key);
  });

  it('accepts a key whose Base64 uses + and /', () => {
    const key = Buffer.alloc(32, 0xfb);
    const text = key.toString('base64');
    expect(text).toMatch(/[+/]/);
    expect(parseMasterKey(text)).toEqual(key);
  });

  const wrong: Array<[string, string]> = [
    ['empty', ''],
    ['16 bytes', randomBytes(16).toString('base64')],
    ['31 bytes', randomBytes(31).toString('base64')],
    ['33 bytes', randomBytes(33).toString('base64')],
    ['64 bytes', randomBytes(64).toString('base64')],
    ['hex of 32 bytes', randomBytes(32).toString('hex')],
    ['unpadded', randomBytes(32).toString('base64').replace(/=+$/, '')],
    ['url-safe alphabet', Buffer.alloc(32, 0xfb).toString('base64url')],
    ['a trailing newline', `${randomBytes(32).toString('base64')}\n`],
    ['surrounding spaces', ` ${randomBytes(32).toString('base64')} `],
    ['non-zero trailing bits', `${randomBytes(32).toString('base64').slice(0, 42)}B=`],
  ];
  for (const [what, text] of wrong) {
    it(`rejects ${what} with a plain Error that does not echo the value`, () => {
      const err = thrown(() => parseMasterKey(text, 'KMS_MASTER_KEY'));
      expect(err).not.toBeInstanceOf(KmsError);
      expect(err.message).toMatch(/^KMS_MASTER_KEY /);
      expect(err.message).toContain('32 bytes');
      const core = text.trim();
      if (core.length > 0) expect(err.message).not.toContain(core);
    });
  }

  it('says how many bytes a well-formed but wrong-length key holds', () => {
    expect(() => parseMasterKey(randomBytes(16).toString('base64'), 'KMS_MASTER_KEY')).toThrow(
      'KMS_MASTER_KEY decodes to 16 bytes; it must encode exactly 32 bytes',
    );
  });

  it('names "the master key" when no source is given', () => {
    expect(() => parseMasterKey('no pe')).toThrow(/^the master key is not valid standard Base64/);
  });
});

describe('masterKeyFingerprint', () => {
  it('is the hex HMAC-SHA256 of the fixed label under the key', () => {
    const key = randomBytes(32);
    const expected = createHmac('sha256', key).update('kms-emulator master key fingerprint v1').digest('hex');
    expect(masterKeyFingerprint(key)).toBe(expected);
    expect(masterKeyFingerprint(key)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is stable for a key and differs between keys', () => {
    const key = randomBytes(32);
    expect(masterKeyFingerprint(Buffer.from(key))).toBe(masterKeyFingerprint(key));
    expect(masterKeyFingerprint(randomBytes(32))).not.toBe(masterKeyFingerprint(key));
  });

  it('matches a known vector (an all-zero key), so the stored format cannot drift', () => {
    expect(masterKeyFingerprint(Buffer.alloc(32))).toBe(
      createHmac('sha256', Buffer.alloc(32)).update('kms-emulator master key fingerprint v1').digest('hex'),
    );
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => masterKeyFingerprint(randomBytes(16))).toThrow('the master key must be 32 bytes');
  });
});

describe('wrapKeyMaterial / unwrapKeyMaterial', () => {
  const masterKey = randomBytes(32);
  const material = randomBytes(32);
  const aad = '0b4f5f8e-8a2c-4d7e-9f10-2a3b4c5d6e7f/c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f';

  it('round-trips', () => {
    expect(unwrapKeyMaterial(masterKey, wrapKeyMaterial(masterKey, material, aad), aad)).toEqual(material);
  });

  it('round-trips material of other lengths', () => {
    for (const size of [1, 16, 64]) {
      const m = randomBytes(size);
      expect(unwrapKeyMaterial(masterKey, wrapKeyMaterial(masterKey, m, aad), aad)).toEqual(m);
    }
  });

  it('has the layout version | iv (12) | tag (16) | ciphertext, and hides the material', () => {
    const wrapped = wrapKeyMaterial(masterKey, material, aad);
    expect(wrapped[0]).toBe(1);
    expect(wrapped.length).toBe(1 + 12 + 16 + material.length);
    expect(wrapped.includes(material)).toBe(false);
  });

  it('uses a fresh IV each time', () => {
    const a = wrapKeyMaterial(masterKey, material, aad);
    const b = wrapKeyMaterial(masterKey, material, aad);
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
  });

  it('fails with a plain Error under another master key', () => {
    const wrapped = wrapKeyMaterial(masterKey, material, aad);
    const err = thrown(() => unwrapKeyMaterial(randomBytes(32), wrapped, aad));
    expect(err).not.toBeInstanceOf(KmsError);
    expect(err.message).toBe('wrapped key material does not authenticate: wrong master key or corrupted row');
  });

  it('fails when the material is moved to another key version (different aad)', () => {
    const wrapped = wrapKeyMaterial(masterKey, material, aad);
    expect(() => unwrapKeyMaterial(masterKey, wrapped, `${aad}x`)).toThrow('does not authenticate');
    expect(() => unwrapKeyMaterial(masterKey, wrapped, '')).toThrow('does not authenticate');
  });

  it('fails on any single flipped byte and on every truncation', () => {
    const wrapped = wrapKeyMaterial(masterKey, material, aad);
    for (let i = 0; i < wrapped.length; i++) {
      const tampered = Buffer.from(wrapped);
      tampered[i] = (tampered[i] ?? 0) ^ 0x01;
      const err = thrown(() => unwrapKeyMaterial(masterKey, tampered, aad));
      expect(err).not.toBeInstanceOf(KmsError);
    }
    for (let length = 0; length < wrapped.length; length++) {
      const err = thrown(() => unwrapKeyMaterial(masterKey, wrapped.subarray(0, length), aad));
      expect(err).not.toBeInstanceOf(KmsError);
    }
  });

  it('never puts key bytes in an error', () => {
    const wrapped = wrapKeyMaterial(masterKey, material, aad);
    const err = thrown(() => unwrapKeyMaterial(randomBytes(32), wrapped, aad));
    for (const secret of [masterKey, material]) {
      expect(err.message).not.toContain(secret.toString('base64'));
      expect(err.message).not.toContain(secret.toString('hex'));
    }
    expect(err.cause).toBeUndefined();
  });

  it('refuses a master key that is not 32 bytes and empty material', () => {
    expect(() => wrapKeyMaterial(randomBytes(16), material, aad)).toThrow('the master key must be 32 bytes');
    expect(() => unwrapKeyMaterial(randomBytes(33), Buffer.alloc(60), aad)).toThrow('the master key must be 32 bytes');
    expect(() => wrapKeyMaterial(masterKey, Buffer.alloc(0), aad)).toThrow('key material to wrap is empty');
  });
});

describe('loadOrCreateMasterKeyFile', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'kms-master-key-'));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  const posix = process.platform !== 'win32';

  it('creates the directory and a 0600 file holding Base64 of 32 random bytes, then reads it back', () => {
    const dir = join(root, 'nested', 'data');
    const key = loadOrCreateMasterKeyFile(dir);
    expect(key).toHaveLength(32);
    const file = join(dir, MASTER_KEY_FILE_NAME);
    expect(readFileSync(file, 'utf8')).toBe(`${key.toString('base64')}\n`);
    if (posix) {
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(dir).mode & 0o077).toBe(0);
    }
    expect(loadOrCreateMasterKeyFile(dir)).toEqual(key);
    // No temporary file is left behind.
    expect(readdirSync(dir)).toEqual([MASTER_KEY_FILE_NAME]);
  });

  it('creates a different key in each new directory', () => {
    expect(loadOrCreateMasterKeyFile(join(root, 'a')).equals(loadOrCreateMasterKeyFile(join(root, 'b')))).toBe(false);
  });

  it('reads an existing file written by hand, tolerating a trailing CRLF', () => {
    const key = randomBytes(32);
    writeFileSync(join(root, MASTER_KEY_FILE_NAME), `${key.toString('base64')}\r\n`, { mode: 0o600 });
    const warnings: string[] = [];
    expect(loadOrCreateMasterKeyFile(root, { warn: (m) => warnings.push(m) })).toEqual(key);
    expect(warnings).toEqual([]);
  });

  it.runIf(posix)('still reads a file with wider permissions, and warns', () => {
    const key = randomBytes(32);
    const file = join(root, MASTER_KEY_FILE_NAME);
    writeFileSync(file, key.toString('base64'));
    chmodSync(file, 0o644);
    const warnings: string[] = [];
    expect(loadOrCreateMasterKeyFile(root, { warn: (m) => warnings.push(m) })).toEqual(key);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('0644');
    expect(warnings[0]).not.toContain(key.toString('base64'));
    // Without a warn callback it reads silently.
    expect(loadOrCreateMasterKeyFile(root)).toEqual(key);
    // It never changes the file's mode itself.
    expect(statSync(file).mode & 0o777).toBe(0o644);
  });

  it('refuses a malformed file with a message naming the file, not the content, and leaves it alone', () => {
    const file = join(root, MASTER_KEY_FILE_NAME);
    const content = randomBytes(16).toString('base64');
    writeFileSync(file, content, { mode: 0o600 });
    const err = thrown(() => loadOrCreateMasterKeyFile(root));
    expect(err.message).toContain(file);
    expect(err.message).toContain('decodes to 16 bytes');
    expect(err.message).not.toContain(content);
    expect(readFileSync(file, 'utf8')).toBe(content);
  });

  it('refuses an empty file rather than replacing it', () => {
    const file = join(root, MASTER_KEY_FILE_NAME);
    writeFileSync(file, '', { mode: 0o600 });
    expect(() => loadOrCreateMasterKeyFile(root)).toThrow(`master key file ${file} is empty`);
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('is not confused by a stale temporary file from a crashed start', () => {
    writeFileSync(join(root, `.${MASTER_KEY_FILE_NAME}.12345.abcdef.tmp`), 'garbage');
    const key = loadOrCreateMasterKeyFile(root);
    expect(loadOrCreateMasterKeyFile(root)).toEqual(key);
  });

  it('gives every one of several racing processes the same key', async () => {
    const dir = join(root, 'race');
    const modulePath = fileURLToPath(new URL('../../../src/domain/crypto/master-key.ts', import.meta.url));
    const script = [
      `const { loadOrCreateMasterKeyFile, masterKeyFingerprint } = await import(${JSON.stringify(modulePath)});`,
      `process.stdout.write(masterKeyFingerprint(loadOrCreateMasterKeyFile(${JSON.stringify(dir)})));`,
    ].join('\n');
    const children = Array.from({ length: 6 }, () =>
      run(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
        cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      }),
    );
    const fingerprints = (await Promise.all(children)).map((r) => r.stdout);
    const onDisk = masterKeyFingerprint(parseMasterKey(readFileSync(join(dir, MASTER_KEY_FILE_NAME), 'utf8').trim()));
    expect(fingerprints).toEqual(Array(6).fill(onDisk));
    expect(readdirSync(dir)).toEqual([MASTER_KEY_FILE_NAME]);
  });
});
