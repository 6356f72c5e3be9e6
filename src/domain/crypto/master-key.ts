// The master key: 32 bytes from configuration (KMS_MASTER_KEY) or, for the embedded
// database, from a file generated on first start. It never encrypts client data itself; it
// wraps every key version's material, so the database never holds material in the clear.
//
// Errors here are plain Errors: a wrong or malformed master key is an operator problem found
// at start-up, and a failed unwrap at run time means a wrong key or a corrupted row, which the
// service answers as InternalFailure. No message ever contains key bytes or their Base64.

import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { tryDecodeStrictBase64 } from './ciphertext.js';

export const MASTER_KEY_BYTES = 32;
export const MASTER_KEY_FILE_NAME = 'master.key';

// Changing this string changes every fingerprint, and every existing database would then
// refuse its own key: it is part of the stored format.
const FINGERPRINT_LABEL = 'kms-emulator master key fingerprint v1';

// Wrapped material layout (version 1): version byte | IV (12) | GCM tag (16) | ciphertext.
const WRAP_FORMAT_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const WRAP_HEADER_BYTES = 1 + IV_BYTES + TAG_BYTES;

/**
 * Decodes a master key given as strict standard Base64 of exactly 32 bytes (44 characters,
 * one '=' of padding). `source` names where it came from, for the message (e.g.
 * 'KMS_MASTER_KEY'); the value itself is never repeated.
 */
export function parseMasterKey(base64: string, source = 'the master key'): Buffer {
  if (base64.length === 0) {
    throw new Error(`${source} is empty; it must be the standard Base64 encoding of exactly ${MASTER_KEY_BYTES} bytes`);
  }
  const decoded = tryDecodeStrictBase64(base64);
  if (decoded === undefined) {
    throw new Error(
      `${source} is not valid standard Base64 (alphabet A-Z a-z 0-9 + /, '=' padding, no whitespace); ` +
        `it must encode exactly ${MASTER_KEY_BYTES} bytes, e.g. the output of "openssl rand -base64 32"`,
    );
  }
  if (decoded.length !== MASTER_KEY_BYTES) {
    throw new Error(
      `${source} decodes to ${decoded.length} bytes; it must encode exactly ${MASTER_KEY_BYTES} bytes, ` +
        'e.g. the output of "openssl rand -base64 32"',
    );
  }
  return decoded;
}

/**
 * A fingerprint of the master key, stored in the database so that start-up can tell a wrong
 * key (which would make every wrapped material unreadable) from the right one before serving
 * anything. An HMAC of a constant: it identifies the key without revealing it.
 */
export function masterKeyFingerprint(masterKey: Buffer): string {
  assertMasterKey(masterKey);
  return createHmac('sha256', masterKey).update(FINGERPRINT_LABEL, 'utf8').digest('hex');
}

/**
 * Wraps key material under the master key with AES-256-GCM and a fresh IV.
 * `aad` binds the result to its key version (the caller passes e.g. `${keyId}/${keyVersionId}`),
 * so wrapped material copied onto another row does not unwrap there.
 * Layout: version (1) | IV (12) | tag (16) | ciphertext.
 */
export function wrapKeyMaterial(masterKey: Buffer, material: Buffer, aad: string): Buffer {
  assertMasterKey(masterKey);
  if (material.length === 0) throw new Error('key material to wrap is empty');
  const version = Buffer.from([WRAP_FORMAT_VERSION]);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(wrapAad(version, aad));
  const ciphertext = Buffer.concat([cipher.update(material), cipher.final()]);
  return Buffer.concat([version, iv, cipher.getAuthTag(), ciphertext]);
}

/**
 * Reverses wrapKeyMaterial. Throws a plain Error when the data is malformed or does not
 * authenticate: a different master key, a different `aad`, or a corrupted row.
 */
export function unwrapKeyMaterial(masterKey: Buffer, wrapped: Buffer, aad: string): Buffer {
  assertMasterKey(masterKey);
  if (wrapped.length <= WRAP_HEADER_BYTES || wrapped[0] !== WRAP_FORMAT_VERSION) {
    throw new Error('wrapped key material is malformed (corrupted row?)');
  }
  const version = wrapped.subarray(0, 1);
  const iv = wrapped.subarray(1, 1 + IV_BYTES);
  const tag = wrapped.subarray(1 + IV_BYTES, WRAP_HEADER_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(wrapAad(version, aad));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(wrapped.subarray(WRAP_HEADER_BYTES)), decipher.final()]);
  } catch {
    throw new Error('wrapped key material does not authenticate: wrong master key or corrupted row');
  }
}

export interface LoadMasterKeyFileOptions {
  /** Told when the file is readable or writable by group or others (it is still used). */
  warn?: (message: string) => void;
}

/**
 * The embedded database's master key: reads `<dir>/master.key` (Base64 of 32 bytes), or
 * creates it with 32 random bytes, mode 0600, creating `dir` (mode 0700) if missing.
 *
 * Creation is atomic and exclusive: the key is written and synced to a private temporary
 * file, then hard-linked to master.key, which fails if the name exists. A second process
 * racing to create therefore either loses the link and reads the winner's key, or never sees
 * a half-written file. Losing this file loses every key in the database, hence the fsyncs.
 */
export function loadOrCreateMasterKeyFile(dir: string, options: LoadMasterKeyFileOptions = {}): Buffer {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, MASTER_KEY_FILE_NAME);
  const existing = readMasterKeyFile(path, options);
  if (existing !== undefined) return existing;

  const key = randomBytes(MASTER_KEY_BYTES);
  const content = `${key.toString('base64')}\n`;
  if (createExclusively(dir, path, content)) {
    syncDirectory(dir);
    return key;
  }
  // Another process created it between our read and our link: use theirs.
  const winner = readMasterKeyFile(path, options);
  if (winner === undefined) throw new Error(`master key file ${path} vanished while being created`);
  return winner;
}

function readMasterKeyFile(path: string, options: LoadMasterKeyFileOptions): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  // Group/other bits mean nothing on Windows.
  if (process.platform !== 'win32') {
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      options.warn?.(
        `master key file ${path} has mode ${mode.toString(8).padStart(4, '0')}; it should be 0600 (chmod 600)`,
      );
    }
  }
  // The file is ours, but people open it in editors: tolerate surrounding whitespace only.
  return parseMasterKey(text.trim(), `master key file ${path}`);
}

/** Returns false when `path` already exists (someone else created it first). */
function createExclusively(dir: string, path: string, content: string): boolean {
  const tmp = join(dir, `.${MASTER_KEY_FILE_NAME}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  writeSynced(tmp, content);
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    // Some mounted file systems have no hard links: fall back to an exclusive create. A
    // concurrent reader could then see a short file, but it fails parsing loudly rather than
    // using a wrong key.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'ENOSYS') {
      try {
        writeSynced(path, content);
        return true;
      } catch (fallbackErr) {
        if ((fallbackErr as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw fallbackErr;
      }
    }
    throw err;
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // Already gone or not removable: harmless, it holds nothing the real file does not.
    }
  }
}

/** Creates `path` exclusively ('wx') with mode 0600 and flushes it to disk. */
function writeSynced(path: string, content: string): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    writeFileSync(fd, content, 'utf8');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

// Makes the new directory entry durable. Not possible on every platform (Windows cannot open
// a directory), where it is skipped: the file's own data is already synced.
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // best effort, see above
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function wrapAad(version: Buffer, aad: string): Buffer {
  return Buffer.concat([version, Buffer.from(aad, 'utf8')]);
}

function assertMasterKey(masterKey: Buffer): void {
  if (masterKey.length !== MASTER_KEY_BYTES) throw new Error(`the master key must be ${MASTER_KEY_BYTES} bytes`);
}
