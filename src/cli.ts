#!/usr/bin/env node
import { parseArgs } from 'node:util';

// `npx alibaba-kms-emulator [flags]`: the flags become the environment variables of the
// README's "Configuration" (a flag wins over the variable), then the server starts as
// `npm start` starts it (src/server.ts).

const HELP = `Usage: alibaba-kms-emulator [options]

Starts the local Alibaba Cloud KMS emulator (RPC on /, REST on /v1, admin API on /_emulator).

Options:
  --port <n>          port to listen on (PORT, default 8080; 0 picks a free one)
  --host <addr>       address to listen on (HOST, default 127.0.0.1)
  --data-dir <dir>    embedded database directory (KMS_DATA_DIR, default ./data)
  --memory            embedded database in memory only: nothing is written (DATABASE_URL=memory://)
  --seed <file>       seed file of keys and aliases (KMS_SEED_FILE)
  --log-format <f>    json or pretty (LOG_FORMAT)
  -h, --help          show this help

Every other setting is an environment variable (DATABASE_URL, KMS_MASTER_KEY, KMS_AUTH, ...):
see the README's "Configuration".
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${HELP}`);
  process.exit(2);
}

let values: ReturnType<typeof parse>['values'];
function parse() {
  return parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      memory: { type: 'boolean' },
      seed: { type: 'string' },
      'log-format': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
}
try {
  ({ values } = parse());
} catch (err) {
  fail((err as Error).message);
}

if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
if (values.memory && values['data-dir'] !== undefined) fail('--memory and --data-dir exclude each other.');
if (values['log-format'] !== undefined && !['json', 'pretty'].includes(values['log-format'])) {
  fail('--log-format must be json or pretty.');
}

const env = process.env;
if (values.port !== undefined) env.PORT = values.port;
if (values.host !== undefined) env.HOST = values.host;
if (values['data-dir'] !== undefined) {
  env.KMS_DATA_DIR = values['data-dir'];
  delete env.DATABASE_URL;
}
if (values.memory) env.DATABASE_URL = 'memory://';
if (values.seed !== undefined) env.KMS_SEED_FILE = values.seed;
if (values['log-format'] !== undefined) env.LOG_FORMAT = values['log-format'];

await import('./server.js');
