// Log lines for a person at a terminal, written by the service itself: pino-pretty is a
// development tool (a devDependency), and an installed emulator must print readable lines
// without it. One line per entry: time, level, message, then the fields as key=value;
// request lines read like an access log. JSON stays the format for pipes and files.

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '36'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '35'],
};
const SKIP = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'v']);

function paint(color: boolean, code: string, text: string): string {
  return color ? `\x1b[${code}m${text}\x1b[0m` : text;
}

function value(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

/** One pino JSON line as one readable line (or the text unchanged if it is not JSON). */
export function prettyLine(json: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = new Date(typeof entry.time === 'number' ? entry.time : Date.now()).toISOString().slice(11, 23);
  const [level, levelColor] = LEVELS[entry.level as number] ?? ['LOG  ', '0'];
  const parts = [paint(color, '90', time), paint(color, levelColor, level)];
  const rest = { ...entry };
  const req = entry.req as { method?: string; path?: string; paramNames?: string[] } | undefined;
  if (req && typeof entry.statusCode === 'number') {
    // An access-log line: POST /v1/keys 201 CreateKey 3.1ms
    parts.push(`${req.method ?? ''} ${req.path ?? ''} ${entry.statusCode}`);
    if (entry.operation) parts.push(String(entry.operation));
    if (entry.code) parts.push(paint(color, '33', String(entry.code)));
    if (typeof entry.responseTimeMs === 'number') parts.push(`${entry.responseTimeMs}ms`);
    for (const k of ['req', 'statusCode', 'operation', 'code', 'responseTimeMs']) delete rest[k];
    if (req.paramNames?.length) rest.params = req.paramNames.join(',');
  } else {
    parts.push(String(entry.msg ?? ''));
  }
  let stack = '';
  const err = rest.err as { message?: string; stack?: string } | undefined;
  if (err && typeof err === 'object') {
    stack = err.stack ? `\n${err.stack}` : '';
    rest.err = err.message;
  }
  const fields = Object.entries(rest).filter(([k, v]) => !SKIP.has(k) && v !== undefined);
  const shown = fields.map(([k, v]) => `${paint(color, '90', `${k}=`)}${value(v)}`);
  // Many fields (the start-up summary) read better one per line.
  const tail = shown.length > 4 ? shown.map((f) => `\n    ${f}`).join('') : shown.map((f) => ` ${f}`).join('');
  return `${parts.join(' ')}${tail}${stack}\n`;
}

/** A pino destination that writes readable lines to `out`. */
export function prettyStream(out: { write(text: string): unknown }, color: boolean) {
  return {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line) out.write(prettyLine(line, color));
    },
  };
}
