import { MemoryFS, type messages, PGlite, parse, protocol } from '@electric-sql/pglite';

// The embedded database itself, as the PGlite worker runs it (pglite-worker.ts; the
// service talks to it through pglite-database.ts). Two things differ from PGlite's own
// query() (docs/design.md, "PGlite in a worker"):
//
// - Every statement text is prepared once (Parse and Describe, like the pg adapter's named
//   statements), then each run is one Bind + Execute + Sync message: PGlite's query()
//   parses and plans the text anew and calls into the engine six times per statement.
//   Parameters and results go through PGlite's own type serializers and parsers.
// - One lock serializes the connection, as PGlite's transaction() does: a statement waits
//   while a transaction is open, and a transaction's statements run only inside it.

const { serialize } = protocol;

export interface EngineResult {
  rows: Record<string, unknown>[];
  rowCount: number;
}

interface Prepared {
  name: string;
  paramTypes: number[];
  /** The RowDescription message (absent for statements that return no rows). */
  rowDescription?: messages.BackendMessage;
}

/** At most this many prepared statements stay in the session; the oldest goes first. */
const MAX_PREPARED = 500;

const GENERIC_ON = 'SET plan_cache_mode = force_generic_plan; SET enable_seqscan = off';
const GENERIC_OFF = 'RESET plan_cache_mode; RESET enable_seqscan';

/** SQLSTATE of COMMIT answered by ROLLBACK (PGlite's TransactionAbortedError). */
const TRANSACTION_ABORTED = '25P02';

export interface EngineOptions {
  /** The data directory (PGlite's node file system); none: PGlite's in-memory file system. */
  pgdata?: string | undefined;
  /** For the in-memory file system: a data directory's files (a template's) to start from. */
  files?: DataDirFiles | undefined;
  /** PGlite's WebAssembly, compiled ahead (pglite-worker.ts); PGlite compiles it when absent. */
  wasmModule?: WebAssembly.Module | undefined;
  /** PGlite's file bundle (pglite.data), read ahead; PGlite reads it when absent. */
  fsBundle?: ArrayBuffer | undefined;
}

const START_SETTINGS = { shared_buffers: '4MB', max_connections: '5' };

function settings(values: Record<string, string>): string[] {
  return Object.entries(values).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
}

/** A data directory's folders and files, by path relative to it (folders parents first). */
export interface DataDirFiles {
  dirs: string[];
  files: Array<[string, Uint8Array]>;
}

/**
 * PGlite's in-memory file system, holding a data directory's files before PostgreSQL
 * starts: memory:// opens a copy of the template without writing it to disk or unpacking
 * a tarball (PGlite's `loadDataDir`, 2–3 s). PGlite calls `initialSyncFs` once its module
 * exists and before it looks for PG_VERSION.
 */
class PreloadedMemoryFS extends MemoryFS {
  constructor(private readonly preload: DataDirFiles) {
    super();
  }

  override async initialSyncFs(): Promise<void> {
    const FS = this.pg!.Module.FS;
    const root = PGlite.paths.PGDATA;
    FS.mkdirTree(root, 0o700);
    for (const dir of this.preload.dirs) FS.mkdir(`${root}/${dir}`, 0o700);
    // canOwn: the file system keeps the bytes read instead of a copy (each new page costs).
    for (const [file, bytes] of this.preload.files) FS.writeFile(`${root}/${file}`, bytes, { canOwn: true });
  }
}

/**
 * The bundle as PGlite takes it: it calls only `arrayBuffer()`. A real Blob costs ~70 ms of
 * CPU at start-up (Node 20 streams a Blob's bytes back in chunks and joins them).
 */
function bundleOf(bytes: ArrayBuffer): Blob {
  return { arrayBuffer: () => Promise.resolve(bytes) } as Blob;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class PgliteEngine {
  private readonly prepared = new Map<string, Prepared>();
  private nextName = 1;
  /** The lock: whoever holds `held` owns the connection; the rest wait in order. */
  private held = false;
  private readonly waiting: Array<() => void> = [];
  private transactionId: number | undefined;
  private nextTransactionId = 1;

  private constructor(private readonly pg: PGlite) {}

  static async open(options: EngineOptions): Promise<PgliteEngine> {
    // Small shared memory (PostgreSQL zeroes all of it at start), small WAL segments in a
    // new database (docs/design.md, "Start-up: the PGlite template").
    const pg = new PGlite({
      ...(options.pgdata !== undefined
        ? { dataDir: options.pgdata }
        : options.files
          ? { fs: new PreloadedMemoryFS(options.files) }
          : {}),
      startParams: [...PGlite.defaultStartParams, ...settings(START_SETTINGS)],
      initDbStartParams: ['--wal-segsize=1', '--set', 'wal_recycle=off'],
      ...(options.wasmModule ? { pgliteWasmModule: options.wasmModule } : {}),
      ...(options.fsBundle ? { fsBundle: bundleOf(options.fsBundle) } : {}),
    });
    await pg.waitReady;
    return new PgliteEngine(pg);
  }

  private async acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = false;
  }

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private checkTransaction(transactionId: number): void {
    if (this.transactionId !== transactionId) throw new Error('Transaction is closed');
  }

  /** One statement, outside a transaction or inside the open one. */
  query(text: string, values: readonly unknown[], transactionId?: number, generic = false): Promise<EngineResult> {
    const run = generic ? () => this.runGeneric(text, values) : () => this.run(text, values);
    if (transactionId === undefined) return this.exclusive(run);
    this.checkTransaction(transactionId);
    return run();
  }

  /**
   * A statement marked `plan: 'generic'` (list pages): bound while the session plans
   * generically and by index, as the PostgreSQL adapter's connections for them do; PGlite's
   * plan cache, like PostgreSQL's, otherwise planned every call anew once CreateAlias had
   * skewed the statistics (docs/design.md, "The plan cache"). The settings are set and reset
   * around the one statement, on the one connection.
   */
  private async runGeneric(text: string, values: readonly unknown[]): Promise<EngineResult> {
    await this.simple(GENERIC_ON);
    try {
      return await this.run(text, values);
    } finally {
      // In an aborted transaction RESET is refused, and the ROLLBACK undoes the SET anyway.
      await this.simple(GENERIC_OFF).catch(() => {});
    }
  }

  /** A statement without parameters, as one simple-protocol message. */
  private async simple(text: string): Promise<void> {
    const { messages } = await this.pg.execProtocol(serialize.query(text), { syncToFs: false });
    const failed = messages.find((m) => m.name === 'error');
    if (failed) throw failed;
  }

  /** A script of statements without parameters (migrations, VACUUM). */
  exec(text: string, transactionId?: number): Promise<void> {
    if (transactionId === undefined) return this.exclusive(() => this.runExec(text));
    this.checkTransaction(transactionId);
    return this.runExec(text);
  }

  /** Waits for the connection, opens a transaction and keeps the connection until it ends. */
  async begin(): Promise<number> {
    await this.acquire();
    try {
      await this.pg.exec('BEGIN');
    } catch (err) {
      this.release();
      throw err;
    }
    this.transactionId = this.nextTransactionId++;
    return this.transactionId;
  }

  /** COMMIT (an aborted transaction answers 25P02, as PGlite's transaction() does); ends it either way. */
  async commit(transactionId: number): Promise<void> {
    this.checkTransaction(transactionId);
    try {
      const [result] = await this.pg.exec('COMMIT');
      if (result?.command === 'ROLLBACK') {
        throw Object.assign(new Error('Transaction was rolled back instead of committed'), {
          code: TRANSACTION_ABORTED,
          severity: 'ERROR',
        });
      }
    } finally {
      this.endTransaction();
    }
  }

  async rollback(transactionId: number): Promise<void> {
    this.checkTransaction(transactionId);
    try {
      await this.pg.exec('ROLLBACK');
    } finally {
      this.endTransaction();
    }
  }

  private endTransaction(): void {
    this.transactionId = undefined;
    this.release();
  }

  close(): Promise<void> {
    return this.exclusive(() => this.pg.close());
  }

  private async runExec(text: string): Promise<void> {
    await this.pg.exec(text);
    // A script may change a table a prepared statement reads (a migration); VACUUM and
    // ANALYZE (the upkeep's) change no result type, so they keep the statements.
    if (this.prepared.size > 0 && !/^\s*(VACUUM|ANALYZE)\b/i.test(text)) await this.forgetPrepared();
  }

  private async forgetPrepared(): Promise<void> {
    this.prepared.clear();
    // Names are never reused, so a DEALLOCATE refused here (an aborted transaction) leaves
    // statements that nothing names again rather than a clash.
    await this.pg.exec('DEALLOCATE ALL').catch(() => {});
  }

  private async prepare(text: string): Promise<Prepared> {
    const name = `kms_${this.nextName++}`;
    const { messages: described } = await this.pg.execProtocol(
      concat([serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync()]),
      { syncToFs: false },
    );
    const params = described.find((m) => m.name === 'parameterDescription') as
      | messages.ParameterDescriptionMessage
      | undefined;
    const prepared: Prepared = {
      name,
      paramTypes: params?.dataTypeIDs ?? [],
      rowDescription: described.find((m) => m.name === 'rowDescription'),
    };
    if (this.prepared.size >= MAX_PREPARED) {
      const [oldText, oldest] = this.prepared.entries().next().value as [string, Prepared];
      this.prepared.delete(oldText);
      await this.pg
        .execProtocol(concat([serialize.close({ type: 'S', name: oldest.name }), serialize.sync()]), {
          syncToFs: false,
        })
        .catch(() => {}); // names are never reused: a statement left behind is only memory
    }
    this.prepared.set(text, prepared);
    return prepared;
  }

  private async run(text: string, values: readonly unknown[]): Promise<EngineResult> {
    const statement = this.prepared.get(text) ?? (await this.prepare(text));
    const serializers = this.pg.serializers;
    const params = values.map((value, i) => {
      if (value === null || value === undefined) return null;
      const serializer = serializers[statement.paramTypes[i] ?? 0];
      return serializer ? serializer(value) : String(value);
    });
    const { messages: answer } = await this.pg.execProtocol(
      concat([serialize.bind({ statement: statement.name, values: params }), serialize.execute({}), serialize.sync()]),
      { syncToFs: false },
    );
    // As PGlite's query() does after a statement outside a transaction (a no-op for the
    // memory and node file systems the service uses).
    if (this.transactionId === undefined) await this.pg.syncToFs();
    const [result] = parse.parseResults(
      statement.rowDescription ? [statement.rowDescription, ...answer] : answer,
      this.pg.parsers,
    );
    const rows = (result?.rows ?? []) as Record<string, unknown>[];
    return { rows, rowCount: result?.affectedRows ?? rows.length };
  }
}
