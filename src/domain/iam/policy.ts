// RAM policy documents and their evaluation (spec section 6).
//
// A policy is Alibaba policy JSON: `{Version: "1", Statement: [{Effect, Action, Resource}]}`
// with `Action` and `Resource` as a string or a list, `*` matching any run of characters and
// `?` exactly one. Actions match case-insensitively (RAM treats `kms:encrypt` and
// `kms:Encrypt` alike); resources (ARNs) match case-sensitively.
//
// Keys the emulator does not implement (`Condition`, `NotAction`, `NotResource`, `Principal`)
// are refused when the document is parsed rather than ignored: ignoring a Condition on an
// Allow would grant more than the author meant.

import { z } from 'zod';

const Pattern = z.string().min(1, { error: 'must not be empty' });

const PatternList = z.union([Pattern, z.array(Pattern).min(1, { error: 'must list at least one entry' })], {
  error: 'expected a non-empty string or a non-empty list of strings',
});

export const PolicyStatement = z.strictObject(
  {
    Effect: z.enum(['Allow', 'Deny'], { error: 'expected "Allow" or "Deny"' }),
    Action: PatternList,
    Resource: PatternList,
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unsupported key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}: a statement has only Effect, Action and Resource`
        : 'expected a statement object {Effect, Action, Resource}',
  },
);

export const PolicyDocument = z.strictObject(
  {
    Version: z.literal('1', { error: 'expected "1" (a string: quote it in YAML)' }),
    Statement: z.array(PolicyStatement, { error: 'expected a list of statements' }).min(1, {
      error: 'must hold at least one statement',
    }),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unsupported key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}: a policy has only Version and Statement`
        : 'expected a policy object {Version, Statement}',
  },
);

export type PolicyStatement = z.infer<typeof PolicyStatement>;
export type PolicyDocument = z.infer<typeof PolicyDocument>;

export type PolicyDecision = { allowed: true } | { allowed: false; type: 'ImplicitDeny' | 'ExplicitDeny' };

/**
 * Glob match with `*` (any run, including empty) and `?` (one character). Iterative with
 * a single backtrack point, so it runs in O(pattern x value) whatever the pattern: a
 * regular expression built from a pattern with several stars can backtrack exponentially.
 * Characters are compared by code point, so `?` matches one character even outside the BMP.
 */
export function wildcardMatch(pattern: string, value: string): boolean {
  const p = Array.from(pattern);
  const v = Array.from(value);
  let pi = 0;
  let vi = 0;
  let starP = -1;
  let starV = 0;
  while (vi < v.length) {
    if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === v[vi]))) {
      pi += 1;
      vi += 1;
    } else if (pi < p.length && p[pi] === '*') {
      starP = pi;
      starV = vi;
      pi += 1;
    } else if (starP !== -1) {
      // Let the last star swallow one more character and retry from there.
      pi = starP + 1;
      starV += 1;
      vi = starV;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi += 1;
  return pi === p.length;
}

const asList = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

const matchesAction = (statement: PolicyStatement, action: string): boolean =>
  asList(statement.Action).some((pattern) => wildcardMatch(pattern.toLowerCase(), action.toLowerCase()));

const matchesResource = (statement: PolicyStatement, resource: string): boolean =>
  asList(statement.Resource).some((pattern) => wildcardMatch(pattern, resource));

/**
 * Decides whether `action` on every one of `resources` is allowed by `policies`.
 *
 * - Any Deny statement matching the action and any one of the resources: ExplicitDeny.
 *   A Deny wins over every Allow, in any policy.
 * - Otherwise allowed only if each resource is matched, together with the action, by some
 *   Allow statement (not necessarily the same one for every resource).
 * - Otherwise ImplicitDeny, which includes having no policies at all.
 */
export function evaluate(
  policies: readonly PolicyDocument[],
  action: string,
  resources: readonly string[],
): PolicyDecision {
  if (resources.length === 0) {
    // Every operation checks at least one resource (spec section 6); an empty list is a bug
    // in the caller, and allowing on it would be a silent hole.
    throw new Error('evaluate() needs at least one resource');
  }
  const statements = policies.flatMap((policy) => policy.Statement).filter((s) => matchesAction(s, action));

  const denied = statements.some(
    (s) => s.Effect === 'Deny' && resources.some((resource) => matchesResource(s, resource)),
  );
  if (denied) return { allowed: false, type: 'ExplicitDeny' };

  const allows = statements.filter((s) => s.Effect === 'Allow');
  const everyAllowed = resources.every((resource) => allows.some((s) => matchesResource(s, resource)));
  return everyAllowed ? { allowed: true } : { allowed: false, type: 'ImplicitDeny' };
}
