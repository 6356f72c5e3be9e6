import type { EngineResult } from './pglite-engine.js';

// The messages between the service and its PGlite worker (pglite-worker.ts). Values and
// rows cross by structured clone (strings, numbers, booleans, Dates, byte arrays, arrays).

export interface WorkerStart {
  /** The data directory's pgdata folder; none for memory:// (PGlite's in-memory file system). */
  pgdata?: string;
  /**
   * A template's pgdata: copied into `pgdata` (which does not exist yet) before it opens,
   * or for memory:// read into the in-memory file system.
   */
  template?: string;
}

/**
 * A statement's text crosses once: the first query with it carries `text` and names it
 * `textId`; later ones carry the id only (a statement is 0.3–2 KB of SQL).
 */
export type WorkerRequest =
  | { id: number; op: 'query'; textId: number; text?: string; generic?: true; values: readonly unknown[]; tx?: number }
  | { id: number; op: 'exec'; text: string; tx?: number }
  | { id: number; op: 'begin' }
  | { id: number; op: 'commit' | 'rollback'; tx: number }
  | { id: number; op: 'close' };

/** id 0 is the start-up report. */
export type WorkerReply =
  | { id: number; result: EngineResult | number | string | null; error?: undefined }
  | { id: number; error: SerializedError; result?: undefined };

/** An error's message, name and own fields (a database error's code, detail, constraint, ...). */
export interface SerializedError {
  message: string;
  fields: Record<string, string | number | boolean>;
}

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return { message: String(err), fields: {} };
  const fields: Record<string, string | number | boolean> = { name: err.name };
  for (const [key, value] of Object.entries(err)) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  return { message: err.message, fields };
}

/** The error again, on the service's side: same message and fields, this side's stack. */
export function deserializeError(e: SerializedError): Error {
  const err = new Error(e.message);
  const { name, ...fields } = e.fields;
  if (typeof name === 'string') Object.defineProperty(err, 'name', { value: name, configurable: true, writable: true });
  return Object.assign(err, fields);
}
