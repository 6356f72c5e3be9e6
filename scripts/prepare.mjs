// `prepare` (npm runs it after `npm ci` / `npm install` in this folder): the build, so that
// `npm start` runs compiled JavaScript and a first start copies the PGlite template
// (docs/design.md, "Start-up: the PGlite template"). An install without the dev
// dependencies (`--omit=dev`) cannot build: it says so and succeeds.

import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

try {
  createRequire(import.meta.url).resolve('typescript');
} catch {
  process.stdout.write(
    'prepare: no dev dependencies installed, so no build (run `npm run build` after installing them)\n',
  );
  process.exit(0);
}
const built = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
process.exit(built.status ?? 1);
