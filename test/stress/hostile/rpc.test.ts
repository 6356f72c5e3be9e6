import { describe, it } from 'vitest';
import { signedRpc } from '../support/wire.js';
import { BODY_LIMIT, type Case, rpcCase, useHostileApp } from './support.js';
import { MARKER } from './values.js';

// Hand-picked hostile requests on the RPC face: odd actions and versions, duplicated
// parameters, bad encodings, other methods, bodies of every content type.

const { fx, action, refuseAll, region: REGION } = useHostileApp('rpc');

describe('hostile input: hand-picked, RPC face', () => {
  it('odd actions, versions, duplicates, encodings, methods and bodies are refused with the envelope', async () => {
    // (GET / with nothing at all is a browser: it gets a pointer to the docs, test/http/input.test.ts.)
    const cases: Case[] = [
      {
        name: 'no parameters, a junk Authorization',
        req: { method: 'GET', path: '/', headers: { authorization: MARKER } },
      },
      {
        name: 'no parameters, an action header',
        req: { method: 'GET', path: '/', headers: { 'x-acs-action': 'CreateKey' } },
      },
      { name: 'no parameters, POST', req: { method: 'POST', path: '/' } },
    ];
    for (const a of [
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'valueOf',
      'createkey',
      'CreateKey ',
      ' CreateKey',
      'CreateKey\u0000',
      '../CreateKey',
      'ListAliases;DROP TABLE aliases',
      `${MARKER}Action`,
      // Actions of the KMS API that are not built: UnsupportedOperation, nothing runs.
      'GetSecretValue',
      'CreateSecret',
      'TagResource',
      'ListSecrets',
    ]) {
      cases.push(
        rpcCase(`Action ${JSON.stringify(a)}`, [
          ['Action', a],
          ['Version', '2016-01-20'],
        ]),
      );
    }
    for (const v of ['2016-01-20 ', '2016-1-20', '2017-01-20', '2016-01-20\u0000', `${MARKER}`]) {
      cases.push(
        rpcCase(`Version ${JSON.stringify(v)}`, [
          ['Action', 'ListKeys'],
          ['Version', v],
        ]),
      );
    }
    cases.push(
      rpcCase('no Version', [['Action', 'ListKeys']]),
      rpcCase('Action twice', [...action('ListKeys'), ['Action', 'CreateKey']]),
      rpcCase('KeyId twice', [...action('DescribeKey'), ['KeyId', fx.keyId], ['KeyId', fx.keyId]]),
      rpcCase('RegionId twice', [...action('ListKeys'), ['RegionId', REGION]]),
      rpcCase('same name in query and form', [...action('ListAliases'), ['PageSize', '3'], ['PageSize', '3']], {
        method: 'POST',
        inForm: (_n, i) => i === 8,
      }),
      rpcCase('CreateAlias, reserved name', [
        ...action('CreateAlias'),
        ['AliasName', 'alias/acs-x'],
        ['KeyId', fx.keyId],
      ]),
      rpcCase('CreateAlias, SQL in the name', [
        ...action('CreateAlias'),
        ['AliasName', "alias/x' OR '1'='1"],
        ['KeyId', fx.keyId],
      ]),
      rpcCase('CreateAlias, KeyId an SQL fragment', [
        ...action('CreateAlias'),
        ['AliasName', 'alias/sql'],
        ['KeyId', "' OR 1=1 --"],
      ]),
      rpcCase('DescribeKey, SQL in an alias', [...action('DescribeKey'), ['KeyId', "alias/x' OR '1'='1"]]),
      rpcCase('DescribeKey, LIKE wildcards', [...action('DescribeKey'), ['KeyId', 'alias/%']]),
      rpcCase('DescribeKey, ARN of another account', [
        ...action('DescribeKey'),
        ['KeyId', `acs:kms:${REGION}:1234567890123456:key/${fx.keyId}`],
      ]),
      rpcCase('DescribeKey, ARN wildcard', [...action('DescribeKey'), ['KeyId', 'acs:kms:*:*:key/*']]),
      rpcCase('DeleteAlias, path traversal', [...action('DeleteAlias'), ['AliasName', 'alias/../hostile-a']]),
      rpcCase('UpdateAlias to an alias', [...action('UpdateAlias'), ['AliasName', fx.alias], ['KeyId', fx.alias]]),
      rpcCase('ScheduleKeyDeletion 6 days', [
        ...action('ScheduleKeyDeletion'),
        ['KeyId', fx.keyId],
        ['PendingWindowInDays', '6'],
      ]),
      rpcCase('ScheduleKeyDeletion 1e1 days', [
        ...action('ScheduleKeyDeletion'),
        ['KeyId', fx.keyId],
        ['PendingWindowInDays', '1e1'],
      ]),
      rpcCase('ScheduleKeyDeletion fullwidth digits', [
        ...action('ScheduleKeyDeletion'),
        ['KeyId', fx.keyId],
        ['PendingWindowInDays', '３０'],
      ]),
      rpcCase('ListAliases PageSize 101', [...action('ListAliases'), ['PageSize', '101']]),
      rpcCase('ListAliases PageNumber 2^31', [...action('ListAliases'), ['PageNumber', '2147483648']]),
      rpcCase('ListKeys PageSize 0', [...action('ListKeys'), ['PageSize', '0']]),
      rpcCase('CreateKey with a reserved tag key', [
        ...action('CreateKey'),
        ['Tags', '[{"TagKey":"aliyun","TagValue":"b"}]'],
      ]),
      rpcCase('CreateKey ProtectionLevel hsm', [...action('CreateKey'), ['ProtectionLevel', 'hsm']]),
      rpcCase('CreateKey KeySpec RSA_4096', [...action('CreateKey'), ['KeySpec', 'RSA_4096']]),
      rpcCase('CreateKey EC_P256 for ENCRYPT/DECRYPT', [
        ...action('CreateKey'),
        ['KeySpec', 'EC_P256'],
        ['KeyUsage', 'ENCRYPT/DECRYPT'],
      ]),
      rpcCase('CreateKey RSA_2048 EXTERNAL', [...action('CreateKey'), ['KeySpec', 'RSA_2048'], ['Origin', 'EXTERNAL']]),
      rpcCase('CreateKey Description 8193', [...action('CreateKey'), ['Description', 'd'.repeat(8193)]]),
      rpcCase('Encrypt, plaintext not Base64', [
        ...action('Encrypt'),
        ['KeyId', fx.keyId],
        ['Plaintext', 'not base64!'],
      ]),
      rpcCase('Encrypt, both context forms', [
        ...action('Encrypt'),
        ['KeyId', fx.keyId],
        ['Plaintext', 'aGk='],
        ['EncryptionContext', '{"a":"b"}'],
        ['EncryptionContext.a', 'b'],
      ]),
      rpcCase('Encrypt, context with __proto__', [
        ...action('Encrypt'),
        ['KeyId', fx.keyId],
        ['Plaintext', 'aGk='],
        ['EncryptionContext', '{"__proto__":{"polluted":"yes"},"a":1}'],
      ]),
      rpcCase('Decrypt, blob of zeros', [
        ...action('Decrypt'),
        ['CiphertextBlob', Buffer.alloc(80).toString('base64')],
      ]),
      rpcCase('Decrypt, blob with another context', [
        ...action('Decrypt'),
        ['CiphertextBlob', fx.blob],
        ['EncryptionContext', '{"a":"b"}'],
      ]),
      rpcCase('GenerateDataKey 1025 bytes', [
        ...action('GenerateDataKey'),
        ['KeyId', fx.keyId],
        ['NumberOfBytes', '1025'],
      ]),
      rpcCase('RegionId with NUL', [
        ['Action', 'ListKeys'],
        ['Version', '2016-01-20'],
        ['RegionId', 'cn-hangzhou\u0000'],
      ]),
      rpcCase('RegionId path traversal', [
        ['Action', 'ListKeys'],
        ['Version', '2016-01-20'],
        ['RegionId', '../cn-x'],
      ]),
      rpcCase('expired timestamp', action('ListKeys'), { timestamp: new Date(Date.now() - 16 * 60_000) }),
      rpcCase('unknown access key', action('ListKeys'), { credentials: { accessKeyId: MARKER, secret: 'x' } }),
      rpcCase('wrong secret', action('ListKeys'), {
        credentials: { accessKeyId: 'LTAI5tKmsEmulatorDevKey', secret: `${MARKER}` },
      }),
    );
    const signedList = signedRpc(action('ListKeys'));
    cases.push(
      { name: 'Signature twice', req: { ...signedList, path: `${signedList.path}&Signature=AAAA` } },
      { name: 'query with a bad escape', req: { method: 'GET', path: '/?Action=%zz&Version=2016-01-20' } },
      { name: 'query of a lone %', req: { method: 'GET', path: '/?%' } },
      { name: 'query with truncated UTF-8', req: { method: 'GET', path: '/?a=%E0%A4%A&b=%FF' } },
      { name: 'query with NUL', req: { method: 'GET', path: '/?Action=ListKeys%00&Version=2016-01-20' } },
      { name: 'query with bracket names', req: { method: 'GET', path: '/?Action[]=ListKeys&__proto__[x]=1' } },
    );
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      cases.push({ name: `${method} /`, req: { ...signedRpc(action('ListKeys')), method } });
    }
    // Signed for HEAD: HEAD must not run the action (Fastify would route it to the GET handler).
    cases.push({ name: 'HEAD / signed CreateKey', req: signedRpc(action('CreateKey'), { method: 'HEAD' }) });
    for (const [type, body] of [
      ['text/plain', 'Action=CreateKey&Version=2016-01-20'],
      ['application/xml', '<Action>CreateKey</Action>'],
      [
        'multipart/form-data; boundary=x',
        '--x\r\nContent-Disposition: form-data; name="Action"\r\n\r\nCreateKey\r\n--x--',
      ],
      ['application/octet-stream', '\u0000\u0001'],
      ['application/x-www-form-urlencoded', '%zz=%&&&==&a=%E0%A4%A'],
      ['application/x-www-form-urlencoded', `a=${'x'.repeat(BODY_LIMIT + 1)}`],
      ['application/json', '{"Action":"CreateKey","Version":"2016-01-20"}'],
      ['application/json', '{'],
    ] as const) {
      cases.push({
        name: `POST / ${type} ${body.slice(0, 20)}`,
        req: { method: 'POST', path: '/', headers: { 'content-type': type }, body },
      });
    }
    await refuseAll(cases);
  }, 60_000);

  it('a JSON array body on the RPC face is refused as a contract error, not an internal failure', async () => {
    // The form parser's output is an array of pairs; a JSON array body looks the same to
    // the RPC route and to the V1 verifier, which then iterate its items as pairs.
    const cases: Case[] = [];
    for (const body of ['[1,2]', '[null]', '[[1]]', '["Action"]', '[["Action","CreateKey"]]']) {
      cases.push(
        {
          name: `unsigned JSON ${body}`,
          req: { method: 'POST', path: '/', headers: { 'content-type': 'application/json' }, body },
        },
        {
          name: `signed JSON ${body}`,
          req: {
            ...signedRpc(action('ListKeys'), { method: 'POST' }),
            headers: { 'content-type': 'application/json' },
            body,
          },
        },
      );
    }
    await refuseAll(cases);
  });
});
