// SIGINT and SIGTERM, caught from the first statement of server.ts (in the image node is
// PID 1, which ignores a signal it has no handler for): a signal that comes during
// start-up (`docker stop` in the first seconds) is never dropped. run-server.ts decides
// what it does there: exit at once where nothing can be left half-written, else close the
// database as soon as it is open.
//
// Ctrl-C under `npm start` delivers SIGINT twice (the terminal signals the whole process
// group, and npm forwards its own copy), so signals in the first second count as one; a
// later second signal stops at once.

const SAME_SIGNAL_MS = 1000;

export type Stopper = (signal: NodeJS.Signals) => void;

export class StopSignals {
  #received: { signal: NodeJS.Signals; at: number } | undefined;
  #stopper: Stopper | undefined;
  readonly #onSignal = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (this.#received !== undefined) {
      if (now - this.#received.at < SAME_SIGNAL_MS) return;
      process.stderr.write(`second ${signal}: stopping now, without closing cleanly\n`);
      process.exit(1);
    }
    this.#received = { signal, at: now };
    this.#stopper?.(signal);
  };

  constructor() {
    process.on('SIGINT', this.#onSignal);
    process.on('SIGTERM', this.#onSignal);
  }

  /** The first signal received, if any (start-up checks it between its steps). */
  get received(): NodeJS.Signals | undefined {
    return this.#received?.signal;
  }

  /** What a signal does from now on; called at once if one came already. */
  onStop(stopper: Stopper): void {
    this.#stopper = stopper;
    if (this.#received !== undefined) stopper(this.#received.signal);
  }
}
