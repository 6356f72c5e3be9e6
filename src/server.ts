import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { loadConfig } from './config.js';
import { describeDatabase } from './db/open.js';

// The only entry point: read the environment once, build, listen, close cleanly on
// SIGTERM/SIGINT (which also closes PGlite, so the embedded database stays consistent).

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  const app = await buildApp(config);
  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'stopping after an error');
    else app.log.info({ signal }, 'stopping');
    await app.close();
  });
  if (!config.auth) {
    app.log.warn('KMS_AUTH=off: every request is served as the default account root, without checking credentials');
  }
  await app.listen({ host: config.host, port: config.port });
  app.log.info(
    { database: describeDatabase(config), defaultRegion: config.defaultRegion, auth: config.auth ? 'on' : 'off' },
    'KMS emulator ready',
  );
}

main().catch((err: unknown) => {
  // Name the underlying cause too (e.g. ECONNREFUSED behind ServiceUnavailableTemporary).
  const cause = (err as { cause?: { message?: string; code?: string } })?.cause;
  const detail = cause ? ` (cause: ${cause.code ?? ''} ${cause.message ?? ''})`.replace('( ', '(') : '';
  process.stderr.write(`Start-up failed: ${(err as Error)?.message ?? String(err)}${detail}\n`);
  process.exit(1);
});
