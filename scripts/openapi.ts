import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';

// `npm run openapi` writes openapi.yaml from the route schemas; `npm run openapi:check`
// fails when the committed file differs from what the routes produce.

export const OPENAPI_PATH = fileURLToPath(new URL('../openapi.yaml', import.meta.url));

export async function generateOpenApi(): Promise<string> {
  const app = await buildApp(
    loadConfig({
      DATABASE_URL: 'memory://',
      KMS_MASTER_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'silent',
      KMS_SWEEP_INTERVAL_MS: '0',
    }),
    { logStream: new Writable({ write: (_c, _e, cb) => cb() }) },
  );
  try {
    // No YAML anchors: some generators do not follow them.
    return YAML.stringify(app.swagger(), { aliasDuplicateObjects: false, lineWidth: 0 });
  } finally {
    await app.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const generated = await generateOpenApi();
  if (process.argv.includes('--check')) {
    const committed = fs.existsSync(OPENAPI_PATH) ? fs.readFileSync(OPENAPI_PATH, 'utf8') : '';
    if (committed !== generated) {
      process.stderr.write('openapi.yaml is out of date with the routes: run `npm run openapi` and commit it.\n');
      process.exit(1);
    }
    process.stdout.write('openapi.yaml matches the routes.\n');
  } else {
    fs.writeFileSync(OPENAPI_PATH, generated);
    process.stdout.write(`wrote ${OPENAPI_PATH}\n`);
  }
}
