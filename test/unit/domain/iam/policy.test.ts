import { describe, expect, it } from 'vitest';
import { evaluate, PolicyDocument, wildcardMatch } from '../../../../src/domain/iam/policy.js';

const ACCOUNT = '1111222233334444';
const keyArn = (id: string, region = 'cn-hangzhou') => `acs:kms:${region}:${ACCOUNT}:key/${id}`;
const aliasArn = (name: string, region = 'cn-hangzhou') => `acs:kms:${region}:${ACCOUNT}:${name}`;

const policy = (...Statement: PolicyDocument['Statement']): PolicyDocument => ({ Version: '1', Statement });
const allow = (Action: string | string[], Resource: string | string[]) => ({
  Effect: 'Allow' as const,
  Action,
  Resource,
});
const deny = (Action: string | string[], Resource: string | string[]) => ({
  Effect: 'Deny' as const,
  Action,
  Resource,
});

const ALLOWED = { allowed: true };
const IMPLICIT = { allowed: false, type: 'ImplicitDeny' };
const EXPLICIT = { allowed: false, type: 'ExplicitDeny' };

describe('wildcardMatch', () => {
  it('matches literally without wildcards', () => {
    expect(wildcardMatch('abc', 'abc')).toBe(true);
    expect(wildcardMatch('abc', 'abcd')).toBe(false);
    expect(wildcardMatch('abc', 'ab')).toBe(false);
    expect(wildcardMatch('', '')).toBe(true);
  });

  it('lets * match any run, including an empty one', () => {
    expect(wildcardMatch('*', '')).toBe(true);
    expect(wildcardMatch('*', 'anything/at:all')).toBe(true);
    expect(wildcardMatch('key/*', 'key/')).toBe(true);
    expect(wildcardMatch('key/*', 'key/1234')).toBe(true);
    expect(wildcardMatch('key/*', 'alias/app')).toBe(false);
    expect(wildcardMatch('a*b*c', 'aXXbYYc')).toBe(true);
    expect(wildcardMatch('a*b*c', 'aXXbYY')).toBe(false);
    expect(wildcardMatch('*/app', 'alias/team/app')).toBe(true);
    expect(wildcardMatch('a**b', 'ab')).toBe(true);
  });

  it('lets ? match exactly one character', () => {
    expect(wildcardMatch('key/?', 'key/1')).toBe(true);
    expect(wildcardMatch('key/?', 'key/')).toBe(false);
    expect(wildcardMatch('key/?', 'key/12')).toBe(false);
    expect(wildcardMatch('a?c', 'a漢c')).toBe(true);
    expect(wildcardMatch('a?c', 'a😀c')).toBe(true);
  });

  it('treats regular expression characters literally', () => {
    expect(wildcardMatch('a.b', 'aXb')).toBe(false);
    expect(wildcardMatch('a+(b)', 'a+(b)')).toBe(true);
    expect(wildcardMatch('^$', '^$')).toBe(true);
  });

  it('stays fast on patterns that make regular expressions backtrack', () => {
    const start = performance.now();
    expect(wildcardMatch('*a*a*a*a*a*a*a*a*b', 'a'.repeat(5000))).toBe(false);
    expect(performance.now() - start).toBeLessThan(1000);
  });
});

describe('evaluate', () => {
  it('allows an action and resource matched by an Allow statement', () => {
    const p = policy(allow('kms:Encrypt', keyArn('k1')));
    expect(evaluate([p], 'kms:Encrypt', [keyArn('k1')])).toEqual(ALLOWED);
  });

  it('matches actions case-insensitively', () => {
    const p = policy(allow('KMS:encrypt', keyArn('k1')));
    expect(evaluate([p], 'kms:Encrypt', [keyArn('k1')])).toEqual(ALLOWED);
    expect(evaluate([policy(allow('kms:describe*', '*'))], 'kms:DescribeKey', [keyArn('k1')])).toEqual(ALLOWED);
  });

  it('matches resources case-sensitively', () => {
    const p = policy(allow('kms:*', aliasArn('alias/App')));
    expect(evaluate([p], 'kms:DeleteAlias', [aliasArn('alias/App')])).toEqual(ALLOWED);
    expect(evaluate([p], 'kms:DeleteAlias', [aliasArn('alias/app')])).toEqual(IMPLICIT);
  });

  it('supports wildcards in actions and resources', () => {
    const p = policy(
      allow('kms:*', `acs:kms:*:${ACCOUNT}:key/*`),
      allow('kms:List????', `acs:kms:cn-hangzhou:${ACCOUNT}:key`),
    );
    expect(evaluate([p], 'kms:Decrypt', [keyArn('k1', 'cn-shanghai')])).toEqual(ALLOWED);
    expect(evaluate([p], 'kms:ListKeys', [`acs:kms:cn-hangzhou:${ACCOUNT}:key`])).toEqual(ALLOWED);
    expect(evaluate([p], 'kms:Encrypt', [`acs:kms:cn-hangzhou:9999888877776666:key/k1`])).toEqual(IMPLICIT);
    expect(evaluate([policy(allow('*', '*'))], 'kms:ScheduleKeyDeletion', [keyArn('k1')])).toEqual(ALLOWED);
  });

  it('supports lists of actions and resources', () => {
    const p = policy(allow(['kms:Encrypt', 'kms:Decrypt'], [keyArn('k1'), keyArn('k2')]));
    expect(evaluate([p], 'kms:Decrypt', [keyArn('k2')])).toEqual(ALLOWED);
    expect(evaluate([p], 'kms:Encrypt', [keyArn('k1')])).toEqual(ALLOWED);
    expect(evaluate([p], 'kms:GenerateDataKey', [keyArn('k1')])).toEqual(IMPLICIT);
    expect(evaluate([p], 'kms:Encrypt', [keyArn('k3')])).toEqual(IMPLICIT);
  });

  it('denies implicitly when nothing matches, or when there are no policies', () => {
    expect(evaluate([policy(allow('kms:Encrypt', keyArn('k1')))], 'kms:Decrypt', [keyArn('k1')])).toEqual(IMPLICIT);
    expect(evaluate([], 'kms:Decrypt', [keyArn('k1')])).toEqual(IMPLICIT);
  });

  it('lets an explicit Deny win over an Allow, in the same or another policy', () => {
    const allowAll = policy(allow('kms:*', '*'));
    const denyDelete = policy(deny('kms:DeleteAlias', aliasArn('alias/prod*')));
    expect(evaluate([allowAll, denyDelete], 'kms:DeleteAlias', [aliasArn('alias/prod-db'), keyArn('k1')])).toEqual(
      EXPLICIT,
    );
    expect(evaluate([denyDelete, allowAll], 'kms:DeleteAlias', [aliasArn('alias/prod-db')])).toEqual(EXPLICIT);
    const both = policy(allow('kms:DeleteAlias', '*'), deny('kms:deletealias', '*'));
    expect(evaluate([both], 'kms:DeleteAlias', [aliasArn('alias/dev')])).toEqual(EXPLICIT);
    // The Deny does not reach resources or actions it does not name.
    expect(evaluate([allowAll, denyDelete], 'kms:DeleteAlias', [aliasArn('alias/dev'), keyArn('k1')])).toEqual(ALLOWED);
    expect(evaluate([allowAll, denyDelete], 'kms:UpdateAlias', [aliasArn('alias/prod-db')])).toEqual(ALLOWED);
  });

  it('reports an explicit Deny even when nothing allows', () => {
    expect(evaluate([policy(deny('kms:*', '*'))], 'kms:Encrypt', [keyArn('k1')])).toEqual(EXPLICIT);
  });

  it('requires every resource to be allowed', () => {
    const p = policy(allow('kms:UpdateAlias', [aliasArn('alias/app'), keyArn('old')]));
    expect(evaluate([p], 'kms:UpdateAlias', [aliasArn('alias/app'), keyArn('old'), keyArn('new')])).toEqual(IMPLICIT);
    const more = policy(allow('kms:UpdateAlias', keyArn('new')));
    // Different statements, even in different policies, may allow different resources.
    expect(evaluate([p, more], 'kms:UpdateAlias', [aliasArn('alias/app'), keyArn('old'), keyArn('new')])).toEqual(
      ALLOWED,
    );
  });

  it('does not let an Allow for another action cover a resource', () => {
    const p = policy(allow('kms:CreateAlias', aliasArn('alias/app')), allow('kms:Encrypt', keyArn('k1')));
    expect(evaluate([p], 'kms:CreateAlias', [aliasArn('alias/app'), keyArn('k1')])).toEqual(IMPLICIT);
  });

  it('refuses to decide on an empty resource list', () => {
    expect(() => evaluate([policy(allow('*', '*'))], 'kms:Encrypt', [])).toThrow(/at least one resource/);
  });
});

describe('PolicyDocument schema', () => {
  it('accepts the documented shape, with strings or lists', () => {
    const doc = {
      Version: '1',
      Statement: [
        { Effect: 'Allow', Action: ['kms:Encrypt', 'kms:DescribeKey'], Resource: ['acs:kms:*:1111222233334444:key/*'] },
        { Effect: 'Deny', Action: 'kms:Decrypt', Resource: '*' },
      ],
    };
    expect(PolicyDocument.parse(doc)).toEqual(doc);
  });

  const problems = (doc: unknown) => {
    const result = PolicyDocument.safeParse(doc);
    expect(result.success).toBe(false);
    return result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
  };

  it('refuses a bad Version, Effect, Action or Resource, naming each', () => {
    const found = problems({
      Version: '2',
      Statement: [{ Effect: 'allow', Action: [], Resource: 7 }],
    });
    expect(found).toEqual([
      'Version: expected "1" (a string: quote it in YAML)',
      'Statement.0.Effect: expected "Allow" or "Deny"',
      'Statement.0.Action: must list at least one entry',
      'Statement.0.Resource: expected a non-empty string or a non-empty list of strings',
    ]);
  });

  it('refuses keys it would otherwise ignore, such as Condition', () => {
    const found = problems({
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: '*', Resource: '*', Condition: {} }],
    });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^Statement\.0: unsupported key\(s\) "Condition"/);
  });

  it('refuses an empty or missing statement list', () => {
    expect(problems({ Version: '1', Statement: [] })).toEqual(['Statement: must hold at least one statement']);
    expect(problems({ Version: '1' })).toEqual(['Statement: expected a list of statements']);
    expect(problems('nope')).toEqual([': expected a policy object {Version, Statement}']);
  });
});
