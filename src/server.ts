import { StopSignals } from './stop-signals.js';

// The only entry point. Signals are caught first (stop-signals.ts has no imports), then
// the rest is loaded: a SIGTERM while modules load or the database opens is not dropped.
// Second, PGlite's worker (unless DATABASE_URL names a PostgreSQL server), which then
// compiles PGlite while the service's modules load.

const signals = new StopSignals();
// PGlite's WebAssembly runs on V8's baseline compiler only: the optimizing tier recompiled
// PostgreSQL's hot functions in the background during start-up, ~0.6 s of CPU and ~50 MiB
// here, for no measurable gain in the service's throughput (docs/design.md, "Start-up").
// Its functions are validated when first called rather than all at compile time (PGlite's
// 9 MB compiled in 48–50 ms instead of 65–68, ~35 ms less CPU). V8's flags are the
// process's, and nothing else here runs WebAssembly; the worker sets them once it has
// booted, just before the WebAssembly compiles (set before it starts, they cost its boot
// 30 ms: pglite-worker-start.ts).
(await import('./db/pglite-worker-start.js')).startPgliteWorkerEarly(process.env, {
  v8Flags: '--liftoff-only --wasm-lazy-validation',
});
const { runServer } = await import('./run-server.js');
await runServer(signals);
