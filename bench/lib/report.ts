import { readFileSync, writeFileSync } from 'node:fs';
// Medians, the targets of issue 7 with PASS/MISS, and the table printed and written.

import { MOTO_OPERATIONS, OPERATIONS } from './kms.js';
import type { LoadResult } from './scenario.js';

export type System = 'pg' | 'pglite' | 'ref' | 'refpglite' | 'moto';

export const SYSTEM_LABEL: Record<System, string> = {
  pg: 'service / PostgreSQL',
  pglite: 'service / PGlite',
  ref: 'minimal Fastify+pg',
  refpglite: 'minimal Fastify+PGlite',
  moto: 'moto_server',
};

/** Issue 16's reads and alias writes, for the embedded targets. */
const EMBEDDED_READS = ['ListAliases', 'ListAliasesByKeyId', 'DescribeKey (alias)', 'Encrypt (alias)'];
const ALIAS_WRITES = ['CreateAlias', 'UpdateAlias', 'DeleteAlias'];

export interface Row {
  id: string;
  system: System;
  face: string;
  op: string;
  /** Why the row was not measured (e.g. the operation is not available). */
  unavailable?: string;
  runs: LoadResult[];
}

export interface Summary {
  reqPerSec: number;
  p50: number;
  p99: number;
  errors: number;
  runs: number;
}

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

export function summarize(row: Row): Summary {
  return {
    reqPerSec: median(row.runs.map((r) => r.requestsPerSec)),
    p50: median(row.runs.map((r) => r.p50)),
    p99: median(row.runs.map((r) => r.p99)),
    errors: row.runs.reduce((a, r) => a + r.errors, 0),
    runs: row.runs.length,
  };
}

export interface Check {
  target: string;
  subject: string;
  value: number;
  threshold: number;
  /** 'min': value must be >= threshold; 'max': value must be < / <= threshold. */
  kind: 'min' | 'max' | 'maxStrict';
  unit: 'x' | 'ms';
  status: 'PASS' | 'MISS' | 'n/a';
  /**
   * PGlite's figure for the same check, reported beside it (the targets are for PostgreSQL);
   * for the handler ratios, against the minimal Fastify+PGlite handler.
   */
  pglite?: number;
  note?: string;
}

function verdict(value: number, threshold: number, kind: Check['kind']): Check['status'] {
  if (!Number.isFinite(value)) return 'n/a';
  if (kind === 'min') return value >= threshold ? 'PASS' : 'MISS';
  if (kind === 'max') return value <= threshold ? 'PASS' : 'MISS';
  return value < threshold ? 'PASS' : 'MISS';
}

export interface ScalePoint {
  aliases: number;
  op: 'ListAliases' | 'DescribeKey (alias)';
  result: LoadResult;
}

export function evaluateTargets(rows: Map<string, Row>, scale: ScalePoint[]): Check[] {
  const s = (id: string) => {
    const row = rows.get(id);
    return row && !row.unavailable && row.runs.length ? summarize(row) : undefined;
  };
  const rate = (id: string) => s(id)?.reqPerSec ?? Number.NaN;
  const checks: Check[] = [];
  const add = (c: Omit<Check, 'status'>) => checks.push({ ...c, status: verdict(c.value, c.threshold, c.kind) });

  for (const face of ['rpc', 'rest']) {
    for (const op of MOTO_OPERATIONS) {
      add({
        target: 'alias operation >= 10x moto throughput',
        subject: `${op} ${face.toUpperCase()}`,
        value: rate(`pg/${face}/${op}`) / rate(`moto/aws/${op}`),
        pglite: rate(`pglite/${face}/${op}`) / rate(`moto/aws/${op}`),
        threshold: 10,
        kind: 'min',
        unit: 'x',
      });
    }
  }
  for (const face of ['rpc', 'rest']) {
    add({
      target: 'CreateAlias >= 0.6x minimal INSERT handler',
      subject: `CreateAlias ${face.toUpperCase()}`,
      value: rate(`pg/${face}/CreateAlias`) / rate('ref/http/INSERT'),
      pglite: rate(`pglite/${face}/CreateAlias`) / rate('refpglite/http/INSERT'),
      threshold: 0.6,
      kind: 'min',
      unit: 'x',
    });
    for (const op of ['DescribeKey (alias)', 'Encrypt (alias)']) {
      add({
        target: `${op} >= 0.7x minimal SELECT handler`,
        subject: `${op} ${face.toUpperCase()}`,
        value: rate(`pg/${face}/${op}`) / rate('ref/http/SELECT'),
        pglite: rate(`pglite/${face}/${op}`) / rate('refpglite/http/SELECT'),
        threshold: 0.7,
        kind: 'min',
        unit: 'x',
      });
    }
    for (const spec of ['RSA_2048', 'EC_P256']) {
      add({
        target: 'AsymmetricSign by alias >= 0.9x by key id',
        subject: `${spec} ${face.toUpperCase()}`,
        value: rate(`pg/${face}/AsymmetricSign ${spec} (alias)`) / rate(`pg/${face}/AsymmetricSign ${spec} (key id)`),
        pglite:
          rate(`pglite/${face}/AsymmetricSign ${spec} (alias)`) /
          rate(`pglite/${face}/AsymmetricSign ${spec} (key id)`),
        threshold: 0.9,
        kind: 'min',
        unit: 'x',
      });
    }
    add({
      target: 'Encrypt by alias, key with 50 versions: within 1.1x of one version',
      subject: `Encrypt ${face.toUpperCase()}`,
      value: rate(`pg/${face}/Encrypt (alias)`) / rate(`pg/${face}/Encrypt (alias, 50 versions)`),
      pglite: rate(`pglite/${face}/Encrypt (alias)`) / rate(`pglite/${face}/Encrypt (alias, 50 versions)`),
      threshold: 1.1,
      kind: 'max',
      unit: 'x',
    });
    add({
      target: 'Encrypt by alias >= 0.9x Encrypt by key id',
      subject: `Encrypt ${face.toUpperCase()}`,
      value: rate(`pg/${face}/Encrypt (alias)`) / rate(`pg/${face}/Encrypt (key id)`),
      pglite: rate(`pglite/${face}/Encrypt (alias)`) / rate(`pglite/${face}/Encrypt (key id)`),
      threshold: 0.9,
      kind: 'min',
      unit: 'x',
    });
  }
  for (const face of ['rpc', 'rest']) {
    for (const op of OPERATIONS) {
      add({
        target: 'p99 < 20 ms at 50 connections (PostgreSQL)',
        subject: `${op} ${face.toUpperCase()}`,
        value: s(`pg/${face}/${op}`)?.p99 ?? Number.NaN,
        pglite: s(`pglite/${face}/${op}`)?.p99,
        threshold: 20,
        kind: 'maxStrict',
        unit: 'ms',
      });
    }
  }
  // Issue 16: the embedded default (the measured column is PGlite's).
  for (const face of ['rpc', 'rest']) {
    for (const op of [...EMBEDDED_READS, ...ALIAS_WRITES]) {
      const read = EMBEDDED_READS.includes(op);
      add({
        target: `embedded: ${read ? 'read >= 5x' : 'alias write >= 3x'} moto throughput`,
        subject: `${op} ${face.toUpperCase()}`,
        value: rate(`pglite/${face}/${op}`) / rate(`moto/aws/${op}`),
        threshold: read ? 5 : 3,
        kind: 'min',
        unit: 'x',
      });
    }
  }
  for (const face of ['rpc', 'rest']) {
    for (const op of [...EMBEDDED_READS, ...ALIAS_WRITES]) {
      add({
        target: 'embedded: p99 <= 50 ms at 50 connections',
        subject: `${op} ${face.toUpperCase()}`,
        value: s(`pglite/${face}/${op}`)?.p99 ?? Number.NaN,
        threshold: 50,
        kind: 'max',
        unit: 'ms',
      });
    }
  }
  for (const op of ['ListAliases', 'DescribeKey (alias)'] as const) {
    const at = (n: number) => scale.find((p) => p.op === op && p.aliases === n)?.result;
    const small = at(100);
    const big = at(100_000);
    for (const q of ['p50', 'p99'] as const) {
      add({
        target: 'latency at 100,000 aliases <= 1.5x at 100',
        subject: `${op} ${q}`,
        value: small && big ? big[q] / small[q] : Number.NaN,
        threshold: 1.5,
        kind: 'max',
        unit: 'x',
        note: small && big ? `${big[q].toFixed(2)} ms vs ${small[q].toFixed(2)} ms` : undefined,
      });
    }
  }
  return checks;
}

const fmt = (n: number | undefined, digits = 1) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(digits));
const pad = (s: string, w: number) => s.padEnd(w);
const lpad = (s: string, w: number) => s.padStart(w);

export function resultTable(rows: Row[]): string {
  const lines = [
    `${pad('system', 22)} ${pad('face', 6)} ${pad('operation', 22)} ${lpad('req/s', 9)} ${lpad('p50 ms', 8)} ${lpad('p99 ms', 8)} ${lpad('errors', 7)}`,
  ];
  for (const row of rows) {
    const head = `${pad(SYSTEM_LABEL[row.system], 22)} ${pad(row.face, 6)} ${pad(row.op, 22)}`;
    if (row.unavailable) {
      lines.push(`${head} not available: ${row.unavailable.slice(0, 120)}`);
      continue;
    }
    if (row.runs.length === 0) continue;
    const m = summarize(row);
    lines.push(
      `${head} ${lpad(fmt(m.reqPerSec, 0), 9)} ${lpad(fmt(m.p50, 2), 8)} ${lpad(fmt(m.p99, 2), 8)} ${lpad(String(m.errors), 7)}`,
    );
  }
  return lines.join('\n');
}

export function checkTable(checks: Check[]): string {
  return checks
    .map((c) => {
      const op = c.kind === 'min' ? '>=' : c.kind === 'max' ? '<=' : '<';
      const value = `${fmt(c.value, 2)}${c.unit === 'x' ? 'x' : ' ms'}`;
      const pglite = c.pglite !== undefined ? `  (PGlite ${fmt(c.pglite, 2)}${c.unit === 'x' ? 'x' : ' ms'})` : '';
      const note = c.note ? `  [${c.note}]` : '';
      return `${pad(c.status, 5)} ${pad(c.target, 46)} ${pad(c.subject, 26)} ${lpad(value, 10)} ${op} ${c.threshold}${c.unit === 'x' ? 'x' : ' ms'}${pglite}${note}`;
    })
    .join('\n');
}

export function scaleTable(points: ScalePoint[]): string {
  const lines = [
    `${pad('aliases', 9)} ${pad('operation', 22)} ${lpad('req/s', 8)} ${lpad('p50 ms', 8)} ${lpad('p99 ms', 8)} ${lpad('errors', 7)}`,
  ];
  for (const p of points) {
    lines.push(
      `${pad(p.aliases.toLocaleString('en-US'), 9)} ${pad(p.op, 22)} ${lpad(fmt(p.result.requestsPerSec, 0), 8)} ${lpad(fmt(p.result.p50, 2), 8)} ${lpad(fmt(p.result.p99, 2), 8)} ${lpad(String(p.result.errors), 7)}`,
    );
  }
  return lines.join('\n');
}

/** The README summary: Markdown tables of the same figures. */
export function markdown(opts: {
  date: string;
  conditions: string[];
  rows: Row[];
  checks: Check[];
  scale: ScalePoint[];
  memory: string[];
}): string {
  const out: string[] = [];
  out.push(`Run of ${opts.date}: ${opts.conditions.join('; ')}.`, '');
  out.push('| system | face | operation | req/s | p50 ms | p99 ms | errors |', '|---|---|---|---:|---:|---:|---:|');
  for (const row of opts.rows) {
    if (row.unavailable) {
      out.push(`| ${SYSTEM_LABEL[row.system]} | ${row.face} | ${row.op} | not available | | | |`);
      continue;
    }
    if (row.runs.length === 0) continue;
    const m = summarize(row);
    out.push(
      `| ${SYSTEM_LABEL[row.system]} | ${row.face} | ${row.op} | ${fmt(m.reqPerSec, 0)} | ${fmt(m.p50, 2)} | ${fmt(m.p99, 2)} | ${m.errors} |`,
    );
  }
  out.push('', '| target | subject | measured | PGlite | verdict |', '|---|---|---:|---:|---|');
  for (const c of opts.checks) {
    const u = c.unit === 'x' ? 'x' : ' ms';
    out.push(
      `| ${c.target} | ${c.subject} | ${fmt(c.value, 2)}${u} | ${c.pglite === undefined ? '' : `${fmt(c.pglite, 2)}${u}`} | ${c.status} |`,
    );
  }
  if (opts.scale.length) {
    out.push('', '| aliases in the region | operation | p50 ms | p99 ms |', '|---:|---|---:|---:|');
    for (const p of opts.scale) {
      out.push(
        `| ${p.aliases.toLocaleString('en-US')} | ${p.op} | ${fmt(p.result.p50, 2)} | ${fmt(p.result.p99, 2)} |`,
      );
    }
  }
  if (opts.memory.length) out.push('', ...opts.memory.map((m) => `- ${m}`));
  return out.join('\n');
}

/**
 * Replaces the section between `<!-- <marker>:start -->` and `<!-- <marker>:end -->` of a
 * README with `section`; appends it under `heading` when the markers are absent.
 */
export function replaceReadmeSection(file: string, marker: string, section: string, heading: string): void {
  const start = `<!-- ${marker}:start -->`;
  const end = `<!-- ${marker}:end -->`;
  const block = `${start}\n${section}\n${end}`;
  const text = readFileSync(file, 'utf8');
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  const next =
    i >= 0 && j > i
      ? `${text.slice(0, i)}${block}${text.slice(j + end.length)}`
      : `${text.trimEnd()}\n\n${heading}\n\n${block}\n`;
  writeFileSync(file, next);
}
