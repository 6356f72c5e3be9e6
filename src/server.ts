import { StopSignals } from './stop-signals.js';

// The only entry point. Signals are caught first (stop-signals.ts has no imports), then
// the rest is loaded: a SIGTERM while modules load or the database opens is not dropped.

const signals = new StopSignals();
const { runServer } = await import('./run-server.js');
await runServer(signals);
