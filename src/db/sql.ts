// SQL that reads as SQL: a tagged template whose interpolations become numbered
// parameters ($1, $2, ...) when the statement is built, so no fragment depends on the
// parameter positions of another. A fragment may be interpolated into another; `raw`
// splices trusted text (a column name chosen from a fixed list), never input.

export class SqlFragment {
  constructor(
    readonly parts: readonly string[],
    readonly args: readonly unknown[],
  ) {}
}

/** Trusted SQL text (an identifier from a fixed set); never a value from a request. */
export class RawSql {
  constructor(readonly text: string) {}
}

export function sql(parts: TemplateStringsArray, ...args: unknown[]): SqlFragment {
  return new SqlFragment(parts, args);
}

export const raw = (text: string) => new RawSql(text);

/** Fragments side by side, with `separator` between them. */
export function joinSql(fragments: readonly SqlFragment[], separator: string): SqlFragment {
  const parts: string[] = [];
  const args: unknown[] = [];
  fragments.forEach((f, i) => {
    parts.push(i === 0 ? '' : separator);
    args.push(f);
  });
  parts.push('');
  return new SqlFragment(parts, args);
}

/**
 * One statement to send: text with numbered parameters and their values. `tag` names it
 * (logs, the tests' statement hooks); the PostgreSQL adapter prepares it by its text.
 */
export interface Statement {
  readonly tag: string;
  readonly text: string;
  readonly values: readonly unknown[];
  /**
   * 'generic': plan it once, without the parameters' values, and by index only. For list
   * pages (`LIMIT $n OFFSET $m`), whose plan is an index walk whatever the values but
   * whose generic cost the planner overrates once the statistics are skewed, so that it
   * would plan every call anew (docs/design.md, "The plan cache"). Outside a transaction
   * the PostgreSQL adapter sends it on connections set for that (inside one it is a hint);
   * PGlite's worker sets and resets the two settings around it.
   */
  readonly plan?: 'generic';
}

export function statement(tag: string, fragment: SqlFragment, options: { plan?: 'generic' } = {}): Statement {
  const values: unknown[] = [];
  const text = render(fragment, values);
  return options.plan ? { tag, text, values, plan: options.plan } : { tag, text, values };
}

function render(fragment: SqlFragment, values: unknown[]): string {
  let text = fragment.parts[0] ?? '';
  fragment.args.forEach((arg, i) => {
    if (arg instanceof SqlFragment) text += render(arg, values);
    else if (arg instanceof RawSql) text += arg.text;
    else {
      values.push(arg);
      text += `$${values.length}`;
    }
    text += fragment.parts[i + 1] ?? '';
  });
  return text;
}
