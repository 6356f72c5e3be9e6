import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import {
  buildIdentityStore,
  IdentitiesError,
  type IdentityStore,
  loadIdentities,
  parseIdentitiesText,
} from '../../../../src/domain/iam/identities.js';
import { evaluate } from '../../../../src/domain/iam/policy.js';

const DEFAULTS = {
  accountId: '1234567890123456',
  accessKeyId: 'DEFAULT_AK',
  accessKeySecret: 'DEFAULT_SK_do_not_print',
};

const dir = mkdtempSync(join(tmpdir(), 'kms-identities-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
function writeFile(content: string, ext: string): string {
  fileCounter += 1;
  const path = join(dir, `identities-${fileCounter}${ext}`);
  writeFileSync(path, content);
  return path;
}

// The example of spec section 9, plus a region on the user's key.
const EXAMPLE = {
  accounts: [
    {
      accountId: '1111222233334444',
      accessKeys: [{ accessKeyId: 'ROOT_AK', accessKeySecret: 'ROOT_SK_secret' }],
      users: [
        {
          name: 'deployer',
          accessKeys: [{ accessKeyId: 'USER_AK', accessKeySecret: 'USER_SK_secret', region: 'cn-shanghai' }],
          policies: [
            {
              Version: '1',
              Statement: [
                {
                  Effect: 'Allow',
                  Action: ['kms:Encrypt', 'kms:DescribeKey'],
                  Resource: ['acs:kms:*:1111222233334444:key/*'],
                },
              ],
            },
          ],
        },
      ],
    },
  ],
};

const SECRETS = ['DEFAULT_SK_do_not_print', 'ROOT_SK_secret', 'USER_SK_secret'];

/** Loads and expects an IdentitiesError; checks that no secret leaks into its message. */
function loadError(file: string | undefined, defaults = DEFAULTS, extraSecrets: string[] = []): IdentitiesError {
  let caught: unknown;
  try {
    loadIdentities({ ...defaults, ...(file !== undefined && { file }) });
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(IdentitiesError);
  const err = caught as IdentitiesError;
  for (const secret of [...SECRETS, ...extraSecrets]) expect(err.message).not.toContain(secret);
  return err;
}

function expectExampleLoaded(store: IdentityStore) {
  expect(store.lookup('ROOT_AK')).toEqual({
    secret: 'ROOT_SK_secret',
    principal: { accountId: '1111222233334444', kind: 'root', policies: [], accessKeyId: 'ROOT_AK' },
  });
  expect(store.lookup('USER_AK')).toEqual({
    secret: 'USER_SK_secret',
    principal: {
      accountId: '1111222233334444',
      kind: 'user',
      userName: 'deployer',
      policies: EXAMPLE.accounts[0]?.users[0]?.policies,
      accessKeyId: 'USER_AK',
      region: 'cn-shanghai',
    },
  });
}

describe('loadIdentities without a file', () => {
  it('creates the default account with its root key', () => {
    const store = loadIdentities(DEFAULTS);
    const principal = { accountId: '1234567890123456', kind: 'root', policies: [], accessKeyId: 'DEFAULT_AK' };
    expect(store.defaultPrincipal()).toEqual(principal);
    expect(store.lookup('DEFAULT_AK')).toEqual({ secret: 'DEFAULT_SK_do_not_print', principal });
    expect(store.lookup('OTHER')).toBeUndefined();
  });

  it('describes itself without the secret', () => {
    const text = loadIdentities(DEFAULTS).describe();
    expect(text).toContain('default account only');
    expect(text).toContain('1234567890123456');
    expect(text).toContain('DEFAULT_AK');
    expect(text).not.toContain('DEFAULT_SK_do_not_print');
  });

  it('refuses bad defaults', () => {
    const err = loadError(undefined, { accountId: '123', accessKeyId: 'bad id', accessKeySecret: '' });
    expect(err.problems).toEqual([
      'KMS_ACCOUNT_ID: must be 16 digits',
      'KMS_ACCESS_KEY_ID: must be 1 to 128 characters from A-Z a-z 0-9 . _ -',
      'KMS_ACCESS_KEY_SECRET: must not be empty',
    ]);
  });
});

describe('loadIdentities with a file', () => {
  it('reads JSON', () => {
    const store = loadIdentities({ ...DEFAULTS, file: writeFile(JSON.stringify(EXAMPLE), '.json') });
    expectExampleLoaded(store);
    expect(store.lookup('DEFAULT_AK')?.principal.accountId).toBe('1234567890123456');
  });

  it('reads YAML (.yaml and .yml)', () => {
    expectExampleLoaded(loadIdentities({ ...DEFAULTS, file: writeFile(toYaml(EXAMPLE), '.yaml') }));
    expectExampleLoaded(loadIdentities({ ...DEFAULTS, file: writeFile(toYaml(EXAMPLE), '.yml') }));
  });

  it('tries JSON then YAML for another extension', () => {
    expectExampleLoaded(loadIdentities({ ...DEFAULTS, file: writeFile(JSON.stringify(EXAMPLE), '.conf') }));
    expectExampleLoaded(loadIdentities({ ...DEFAULTS, file: writeFile(toYaml(EXAMPLE), '') }));
  });

  it('reads hand-written YAML with a policy given as strings', () => {
    const yaml = `
accounts:
  - accountId: "1111222233334444"
    users:
      - name: reader
        accessKeys:
          - { accessKeyId: READER_AK, accessKeySecret: READER_SK }
        policies:
          - Version: "1"
            Statement:
              - Effect: Allow
                Action: kms:Describe*
                Resource: "*"
`;
    const store = loadIdentities({ ...DEFAULTS, file: writeFile(yaml, '.yaml') });
    const principal = store.lookup('READER_AK')?.principal;
    expect(principal?.userName).toBe('reader');
    expect(
      evaluate(principal?.policies ?? [], 'kms:DescribeKey', ['acs:kms:cn-hangzhou:1111222233334444:key/k']),
    ).toEqual({
      allowed: true,
    });
    expect(evaluate(principal?.policies ?? [], 'kms:Encrypt', ['acs:kms:cn-hangzhou:1111222233334444:key/k'])).toEqual({
      allowed: false,
      type: 'ImplicitDeny',
    });
  });

  it('adds keys and users to the default account when the entry names it', () => {
    const file = writeFile(
      JSON.stringify({
        accounts: [
          {
            accountId: DEFAULTS.accountId,
            accessKeys: [{ accessKeyId: 'SECOND_ROOT', accessKeySecret: 's2', region: 'cn-beijing' }],
            users: [{ name: 'ci', accessKeys: [{ accessKeyId: 'CI_AK', accessKeySecret: 's3' }] }],
          },
        ],
      }),
      '.json',
    );
    const store = loadIdentities({ ...DEFAULTS, file });
    expect(store.lookup('DEFAULT_AK')?.principal).toEqual(store.defaultPrincipal());
    expect(store.lookup('SECOND_ROOT')?.principal).toEqual({
      accountId: DEFAULTS.accountId,
      kind: 'root',
      policies: [],
      accessKeyId: 'SECOND_ROOT',
      region: 'cn-beijing',
    });
    expect(store.lookup('CI_AK')?.principal).toMatchObject({
      accountId: DEFAULTS.accountId,
      kind: 'user',
      userName: 'ci',
      policies: [],
    });
    const text = store.describe();
    expect(text.match(/account 1234567890123456/g)).toHaveLength(1);
    expect(text).toContain('root access keys [DEFAULT_AK, SECOND_ROOT]');
    expect(text).toContain('user ci: access keys [CI_AK]');
  });

  it('describes every account, key and user, and no secret', () => {
    const file = writeFile(JSON.stringify(EXAMPLE), '.json');
    const text = loadIdentities({ ...DEFAULTS, file }).describe();
    expect(text).toContain(file);
    expect(text).toContain('account 1234567890123456 (default): root access keys [DEFAULT_AK]');
    expect(text).toContain('account 1111222233334444: root access keys [ROOT_AK]');
    expect(text).toContain('user deployer: access keys [USER_AK]');
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  });
});

describe('loadIdentities refuses a bad file', () => {
  it('that does not exist', () => {
    const err = loadError(join(dir, 'missing.json'));
    expect(err.problems).toEqual(['cannot read the file (ENOENT)']);
    expect(err.message).toContain('missing.json');
  });

  it('that is empty', () => {
    expect(loadError(writeFile('', '.yaml')).problems).toEqual(['the file is empty']);
  });

  it('with a JSON syntax error, naming the position but not the text', () => {
    const json =
      '{\n  "accounts": [\n    { "accountId": "1111222233334444", "accessKeys": [{ "accessKeyId": "A", "accessKeySecret": "SYNTAX_SECRET" ]\n}';
    const err = loadError(writeFile(json, '.json'), DEFAULTS, ['SYNTAX_SECRET']);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^not valid JSON at line 3, column \d+$/);
  });

  it('with a YAML syntax error, naming the position but not the text', () => {
    const yaml =
      'accounts:\n  - accountId: "1111222233334444"\n    accessKeys: [{ accessKeyId: A, accessKeySecret: "YAML_SECRET }\n';
    const err = loadError(writeFile(yaml, '.yaml'), DEFAULTS, ['YAML_SECRET']);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toMatch(/^not valid YAML at line \d+, column \d+ \([A-Z_]+\)$/);
  });

  it('with a key given twice in YAML', () => {
    const err = loadError(writeFile('accounts: []\naccounts: []\n', '.yml'));
    expect(err.problems[0]).toMatch(/^not valid YAML at line 2, column 1 \(DUPLICATE_KEY\)$/);
  });

  it('that is not an object with accounts', () => {
    expect(loadError(writeFile('[]', '.json')).problems).toEqual(['(root): expected an identities file object']);
    expect(loadError(writeFile('{"account": []}', '.json')).problems).toEqual([
      'accounts: expected a list of accounts',
      '(root): unknown key(s) "account": an identities file has only "accounts"',
    ]);
  });

  it('listing every problem with its location, and no secret', () => {
    const file = writeFile(
      JSON.stringify({
        accounts: [
          {
            accountId: '1111222233334444',
            accessKeys: [{ accessKeyId: 'ROOT_AK', accessKeySecret: 'ROOT_SK_secret' }],
          },
          {
            accountId: '12345',
            accessKeys: [{ accessKeyId: 'ROOT_AK', accessKeySecret: 'USER_SK_secret', region: 'Hangzhou' }],
            users: [
              {
                name: 'ops',
                accessKeys: [
                  { accessKeyId: 'DEFAULT_AK', accessKeySecret: 'x1' },
                  { accessKeyId: 'has space', accessKeySecret: '' },
                ],
                policies: [
                  { Version: '1', Statement: [{ Effect: 'Permit', Action: 'kms:*', Resource: '*', Condition: {} }] },
                ],
              },
              { name: 'ops', secret: 'x' },
            ],
          },
          { accountId: 1111222233334444 },
        ],
      }),
      '.json',
    );
    const err = loadError(file);
    expect(err.problems).toEqual([
      'accounts[1].accountId: must be 16 digits',
      'accounts[1].accessKeys[0].region: is not a region id such as cn-hangzhou',
      'accounts[1].users[0].accessKeys[1].accessKeyId: must be 1 to 128 characters from A-Z a-z 0-9 . _ -',
      'accounts[1].users[0].accessKeys[1].accessKeySecret: must not be empty',
      'accounts[1].users[0].policies[0].Statement[0].Effect: expected "Allow" or "Deny"',
      'accounts[1].users[0].policies[0].Statement[0]: unsupported key(s) "Condition": a statement has only Effect, Action and Resource',
      'accounts[1].users[1]: unknown key(s) "secret": a user has only name, accessKeys and policies',
      'accounts[2].accountId: expected a string of 16 digits (quote it in YAML)',
      'accounts[1].accessKeys[0].accessKeyId: duplicate access key id "ROOT_AK" (also at accounts[0].accessKeys[0])',
      'accounts[1].users[0].accessKeys[0].accessKeyId: duplicate access key id "DEFAULT_AK" (also at KMS_ACCESS_KEY_ID (the default account))',
      'accounts[1].users[1].name: duplicate user name "ops" in account 12345 (also at accounts[1].users[0])',
    ]);
    expect(err.message).toContain(file);
    expect(err.message).toContain(
      'accounts[1].users[0].accessKeys[0].accessKeyId: duplicate access key id "DEFAULT_AK"',
    );
  });

  it('with an account listed twice', () => {
    const file = writeFile(
      toYaml({
        accounts: [
          { accountId: '1111222233334444' },
          { accountId: '2222333344445555' },
          { accountId: '1111222233334444' },
        ],
      }),
      '.yaml',
    );
    expect(loadError(file).problems).toEqual([
      'accounts[2].accountId: duplicate account id "1111222233334444" (also at accounts[0])',
    ]);
  });

  it('with a duplicate key id within one user', () => {
    const file = writeFile(
      JSON.stringify({
        accounts: [
          {
            accountId: '1111222233334444',
            users: [
              {
                name: 'u',
                accessKeys: [
                  { accessKeyId: 'K', accessKeySecret: 'a' },
                  { accessKeyId: 'K', accessKeySecret: 'b' },
                ],
              },
            ],
          },
        ],
      }),
      '.json',
    );
    expect(loadError(file).problems).toEqual([
      'accounts[0].users[0].accessKeys[1].accessKeyId: duplicate access key id "K" (also at accounts[0].users[0].accessKeys[0])',
    ]);
  });

  it('with a user name that repeats one of the default account it extends', () => {
    const file = writeFile(
      JSON.stringify({ accounts: [{ accountId: DEFAULTS.accountId, users: [{ name: 'a' }, { name: 'a' }] }] }),
      '.json',
    );
    expect(loadError(file).problems).toEqual([
      `accounts[0].users[1].name: duplicate user name "a" in account ${DEFAULTS.accountId} (also at accounts[0].users[0])`,
    ]);
  });

  it('allows the same user name in two accounts', () => {
    const store = buildIdentityStore(DEFAULTS, {
      accounts: [
        {
          accountId: '1111222233334444',
          users: [{ name: 'ci', accessKeys: [{ accessKeyId: 'A1', accessKeySecret: 's' }] }],
        },
        {
          accountId: '2222333344445555',
          users: [{ name: 'ci', accessKeys: [{ accessKeyId: 'A2', accessKeySecret: 's' }] }],
        },
      ],
    });
    expect(store.lookup('A1')?.principal.accountId).toBe('1111222233334444');
    expect(store.lookup('A2')?.principal.accountId).toBe('2222333344445555');
  });
});

describe('parseIdentitiesText', () => {
  it('does not fall back to YAML for a .json file', () => {
    expect(() => parseIdentitiesText('accounts: []', 'x.json')).toThrow(IdentitiesError);
    expect(parseIdentitiesText('accounts: []', 'x.txt')).toEqual({ accounts: [] });
  });
});
