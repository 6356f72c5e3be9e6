import { createRequire } from 'node:module';
import { extname } from 'node:path';

/** The YAML parser, loaded when a YAML file is read (~100 ms of start-up otherwise). */
const yaml = () => createRequire(import.meta.url)('yaml') as typeof import('yaml');

// The JSON-or-YAML reader shared by the identities file and the seed file. Parser
// messages are never passed on, since they quote the offending source line, which may
// hold a secret or key material: only the position is reported.

export class StructuredFileSyntaxError extends Error {
  override name = 'StructuredFileSyntaxError';
}

/** `.json` is JSON, `.yaml`/`.yml` is YAML, anything else is tried as JSON, then as YAML. */
export function parseJsonOrYaml(text: string, fileName: string): unknown {
  const ext = extname(fileName).toLowerCase();
  if (ext === '.json') return parseJson(text);
  if (ext === '.yaml' || ext === '.yml') return parseYamlText(text);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return parseYamlText(text);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    const where = position === undefined ? '' : ` at ${lineAndColumn(text, Number(position))}`;
    throw new StructuredFileSyntaxError(`not valid JSON${where}`);
  }
}

function parseYamlText(text: string): unknown {
  try {
    // uniqueKeys (the default) makes a key given twice an error rather than last-one-wins.
    return yaml().parse(text) as unknown;
  } catch (err) {
    if (err instanceof yaml().YAMLParseError) {
      const where = err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
      throw new StructuredFileSyntaxError(`not valid YAML${where} (${err.code})`);
    }
    throw new StructuredFileSyntaxError('not valid YAML');
  }
}

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}
