import Fastify from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { createUpkeep, startUpkeep, type UpkeepJob, upkeepJobs } from '../../src/upkeep.js';

// The scheduler alone, on fake timers: named jobs in order, failures isolated, rounds never
// overlapping, stopped with the app. The jobs themselves run against a database in
// test/http/upkeep.test.ts.

function recorder() {
  const runs: string[] = [];
  const warnings: Array<{ job: string; message: string }> = [];
  const logger = {
    warn: (obj: { job: string; err: Error }) => {
      warnings.push({ job: obj.job, message: obj.err.message });
    },
  };
  const job = (name: string, body: () => Promise<void> = async () => {}, atStart = false): UpkeepJob => ({
    name,
    atStart,
    async run() {
      runs.push(name);
      await body();
    },
  });
  return { runs, warnings, logger: logger as never, job };
}

describe('upkeep', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs its named jobs in order every interval, each with the clock of its start', async () => {
    const r = recorder();
    const times: number[] = [];
    let t = 0;
    const timed: UpkeepJob = {
      name: 'timed',
      async run(now) {
        times.push(now.getTime());
      },
    };
    const upkeep = createUpkeep({
      jobs: [r.job('a'), r.job('b'), timed],
      intervalMs: 1000,
      clock: () => {
        t += 1;
        return new Date(t);
      },
      logger: r.logger,
    });
    upkeep.start();
    await vi.advanceTimersByTimeAsync(999);
    expect(r.runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(2001);
    expect(r.runs).toEqual(['a', 'b', 'a', 'b', 'a', 'b']);
    expect(times).toEqual([3, 6, 9]);
    await upkeep.stop();
  });

  it('logs a failing job with its name and still runs the others, then tries it again', async () => {
    const r = recorder();
    const upkeep = createUpkeep({
      jobs: [
        r.job('first'),
        r.job('broken', async () => {
          throw new Error('database away');
        }),
        r.job('last'),
      ],
      intervalMs: 100,
      clock: () => new Date(),
      logger: r.logger,
    });
    upkeep.start();
    await vi.advanceTimersByTimeAsync(200);
    expect(r.runs).toEqual(['first', 'broken', 'last', 'first', 'broken', 'last']);
    expect(r.warnings).toEqual([
      { job: 'broken', message: 'database away' },
      { job: 'broken', message: 'database away' },
    ]);
    await upkeep.stop();
  });

  it('never starts a round while the last one runs', async () => {
    const r = recorder();
    let running = 0;
    let most = 0;
    const slow = r.job('slow', async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 350));
      running--;
    });
    const upkeep = createUpkeep({ jobs: [slow], intervalMs: 100, clock: () => new Date(), logger: r.logger });
    upkeep.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(most).toBe(1);
    // Rounds start at 100 (ends 450), 500 (ends 850) and 900: the turns in between are skipped.
    expect(r.runs).toEqual(['slow', 'slow', 'slow']);
    const stopped = upkeep.stop();
    await vi.advanceTimersByTimeAsync(350);
    await stopped;
  });

  it('stop ends the rounds and waits for the one running', async () => {
    const r = recorder();
    let finished = false;
    const slow = r.job('slow', async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      finished = true;
    });
    const upkeep = createUpkeep({ jobs: [slow], intervalMs: 100, clock: () => new Date(), logger: r.logger });
    upkeep.start();
    await vi.advanceTimersByTimeAsync(150);
    const stopped = upkeep.stop();
    await vi.advanceTimersByTimeAsync(300);
    await stopped;
    expect(finished).toBe(true);
    await vi.advanceTimersByTimeAsync(1000);
    expect(r.runs).toEqual(['slow']);
  });

  it('with an interval of 0 runs no rounds', async () => {
    const r = recorder();
    const upkeep = createUpkeep({ jobs: [r.job('a')], intervalMs: 0, clock: () => new Date(), logger: r.logger });
    upkeep.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(r.runs).toEqual([]);
    await upkeep.stop();
  });

  it('on an app: runs the start-up jobs once it is ready, then rounds until it closes', async () => {
    const r = recorder();
    const app = Fastify();
    startUpkeep(app, {
      jobs: [r.job('every round'), r.job('also at start', async () => {}, true)],
      intervalMs: 100,
      clock: () => new Date(),
      logger: r.logger,
    });
    expect(r.runs).toEqual([]);
    await app.ready();
    expect(r.runs).toEqual(['also at start']);
    await vi.advanceTimersByTimeAsync(100);
    expect(r.runs).toEqual(['also at start', 'every round', 'also at start']);
    await app.close();
    await vi.advanceTimersByTimeAsync(1000);
    expect(r.runs).toHaveLength(3);
  });

  it('ready does not wait for the start-up jobs; close does, and no round overlaps them', async () => {
    const r = recorder();
    let release = () => {};
    let finished = false;
    const slowStart = r.job(
      'slow start',
      async () => {
        await new Promise<void>((resolve) => {
          release = resolve;
        });
        finished = true;
      },
      true,
    );
    const app = Fastify();
    startUpkeep(app, { jobs: [slowStart], intervalMs: 100, clock: () => new Date(), logger: r.logger });
    await app.ready();
    expect(r.runs).toEqual(['slow start']);
    expect(finished).toBe(false);
    // The interval's turns are skipped while the start-up round still runs.
    await vi.advanceTimersByTimeAsync(350);
    expect(r.runs).toEqual(['slow start']);
    let closed = false;
    const closing = app.close().then(() => {
      closed = true;
    });
    await vi.advanceTimersByTimeAsync(10);
    expect(closed).toBe(false);
    release();
    await closing;
    expect(finished).toBe(true);
  });

  it('with an interval of 0 still runs the start-up jobs once', async () => {
    const r = recorder();
    const upkeep = createUpkeep({
      jobs: [r.job('every round'), r.job('also at start', async () => {}, true)],
      intervalMs: 0,
      clock: () => new Date(),
      logger: r.logger,
    });
    upkeep.start();
    upkeep.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(r.runs).toEqual(['also at start']);
    await upkeep.stop();
  });
});

describe('upkeepJobs', () => {
  const jobsFor = (db: Pick<Database, 'kind' | 'created'>) =>
    upkeepJobs({ db: db as Database, nonces: { prune: async () => {} } as never, logger: {} as never }).map((j) => ({
      name: j.name,
      atStart: j.atStart === true,
    }));

  it('vacuums and analyzes at start unless this start created the database; checkpoints on PGlite only', () => {
    const startJobs = (db: Pick<Database, 'kind' | 'created'>) =>
      jobsFor(db)
        .filter((j) => j.atStart)
        .map((j) => j.name);
    expect(startJobs({ kind: 'pglite', created: false })).toEqual(['vacuum-analyze']);
    expect(startJobs({ kind: 'postgres' })).toEqual(['vacuum-analyze']);
    expect(startJobs({ kind: 'pglite', created: true })).toEqual([]);

    expect(jobsFor({ kind: 'pglite', created: false }).map((j) => j.name)).toEqual([
      'purge-expired-keys',
      'expire-imported-material',
      'prune-nonces',
      'checkpoint',
      'vacuum-analyze',
    ]);
    expect(jobsFor({ kind: 'postgres' }).map((j) => j.name)).not.toContain('checkpoint');
  });
});
