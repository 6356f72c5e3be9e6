// `npm start`: the compiled server (dist/server.js) when `npm run build` made it from the
// sources as they are now, else the sources through tsx, as on a fresh clone after
// `npm ci`. Compiled JavaScript starts several times faster: tsx starts esbuild and sends
// every import through its loader (docs/design.md, "Start-up"). Either way the server runs
// in this process, so the signals `npm start` gets reach it.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The newest modification time of the files under dir (0 when it does not exist). */
function newest(dir) {
  let latest = 0;
  let entries;
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const p = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs);
  }
  return latest;
}

function compiledIsCurrent() {
  try {
    return fs.statSync(path.join(root, 'dist/server.js')).mtimeMs >= newest(path.join(root, 'src'));
  } catch {
    return false;
  }
}

if (compiledIsCurrent()) {
  await import(pathToFileURL(path.join(root, 'dist/server.js')).href);
} else {
  if (fs.existsSync(path.join(root, 'dist/server.js'))) {
    process.stderr.write('dist/ is older than src/: starting from the sources (run `npm run build` to start faster)\n');
  }
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(path.join(root, 'src/server.ts')).href);
}
