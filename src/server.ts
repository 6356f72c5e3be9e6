import { StopSignals } from './stop-signals.js';

// The only entry point. Signals are caught first (stop-signals.ts has no imports), then
// the rest is loaded: a SIGTERM while modules load or the database opens is not dropped.
// Second, PGlite's worker (unless DATABASE_URL names a PostgreSQL server), which then
// compiles PGlite while the service's modules load.

const signals = new StopSignals();
(await import('./db/pglite-worker-start.js')).startPgliteWorkerEarly();
const { runServer } = await import('./run-server.js');
await runServer(signals);
