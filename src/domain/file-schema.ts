import { z } from 'zod';
import { ACCOUNT_ID_PATTERN } from './identifiers.js';

// Zod pieces shared by the schemas of the files read at start-up (the identities file and
// the seed file): messages a person editing the file can act on, and where each problem is.

/** The error of a strict object: the unknown keys and the keys it takes, or the type expected. */
export const objectError = (what: string, keys: string) => (issue: z.core.$ZodRawIssue) =>
  issue.code === 'unrecognized_keys'
    ? `unknown key(s) ${(issue.keys as string[]).map((k) => `"${k}"`).join(', ')}: ${what} has only ${keys}`
    : `expected ${what} object`;

/** An account id field. An unquoted 16-digit id in YAML is a number, and may already have lost precision. */
export const accountIdField = () =>
  z
    .string({ error: 'expected a string of 16 digits (quote it in YAML)' })
    .regex(ACCOUNT_ID_PATTERN, { error: 'must be 16 digits' });

/** `accounts[1].users[0].accessKeys[0].accessKeyId`, or `(root)` for the document itself. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out === '' ? '(root)' : out;
}
