import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';

// `.env` in the working directory, as .env.example promises: its variables apply unless
// the environment sets them (the environment wins, as with docker and most dotenv tools).
// Parsed by Node's own util.parseEnv (Node >= 20.12), so quoting follows Node's rules.

export interface DotEnv {
  /** The environment with the file's variables under it. */
  env: Record<string, string | undefined>;
  /** The file read, when there was one. */
  file: string | undefined;
}

export function withDotEnv(env: Record<string, string | undefined>, dir = process.cwd()): DotEnv {
  const file = path.join(dir, '.env');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { env, file: undefined };
    throw err;
  }
  if (typeof util.parseEnv !== 'function') {
    throw new Error(`${file} needs Node 20.12 or later to be read (util.parseEnv); export the variables instead.`);
  }
  const fromFile = util.parseEnv(text) as Record<string, string>;
  return { env: { ...fromFile, ...env }, file };
}
