// The package's entry point: `import { startEmulator } from 'alibaba-kms-emulator'`.
export type { AppDeps } from './app.js';
export { buildApp } from './app.js';
export type { Config } from './config.js';
export { loadConfig } from './config.js';
export type { Emulator, EmulatorAccount, ResetScope, StartEmulatorOptions } from './harness.js';
export { startEmulator } from './harness.js';
