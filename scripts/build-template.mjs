// `npm run build`, after tsc: the PGlite template beside dist/ (pglite-template/), so that
// a first start, from a clone, the npm package or the container image, copies a migrated
// database instead of running initdb and the migrations (src/db/pglite-template.ts). The
// templates of other migrations are removed; one that exists already is kept.

import fs from 'node:fs';
import path from 'node:path';
import { readMigrations } from '../dist/db/migrate.js';
import { buildTemplate, packagedTemplateDir, templateName } from '../dist/db/pglite-template.js';

const dir = packagedTemplateDir();
const migrations = readMigrations();
const name = templateName(migrations);
if (fs.existsSync(path.join(dir, name, 'pgdata', 'PG_VERSION'))) {
  process.stdout.write(`pglite-template/${name}: current\n`);
} else {
  const started = Date.now();
  if (fs.existsSync(dir)) {
    for (const entry of fs.readdirSync(dir)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
  }
  await buildTemplate(dir, migrations, { shared: true });
  fs.chmodSync(dir, 0o755);
  process.stdout.write(`pglite-template/${name}: built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
