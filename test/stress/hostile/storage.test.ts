import { describe, expect, it } from 'vitest';
import {
  basicAuthorization,
  encodeSegment,
  envelopeProblem,
  send,
  signedRpc,
  type WireRequest,
} from '../support/wire.js';
import { refusalProblem, useHostileApp } from './support.js';

// Values the database cannot store (PostgreSQL text cannot hold NUL; a lone surrogate is
// not valid UTF-8): refused with the envelope or kept exactly, never an internal failure.

const { fx, base, rest, action, refuseAll, count, region: REGION, account: ACCOUNT } = useHostileApp('storage');

describe('hostile input: values the database cannot store', () => {
  // PostgreSQL text cannot hold NUL. A value that reaches SQL with one must be refused
  // (or stored faithfully), never an InternalFailure.
  const cases = (): Array<{ name: string; req: WireRequest }> => [
    { name: 'REST DescribeKey by an alias with NUL', req: rest('GET', '/v1/keys/alias%2Fa%00b') },
    {
      name: 'REST DescribeKey by an alias ARN with NUL',
      req: rest('GET', `/v1/keys/${encodeSegment(`acs:kms:${REGION}:${ACCOUNT}:alias/a\u0000`)}`),
    },
    {
      name: 'RPC DescribeKey by an alias with NUL',
      req: signedRpc([...action('DescribeKey'), ['KeyId', 'alias/a\u0000b']]),
    },
    {
      name: 'RPC Encrypt by an alias with NUL',
      req: signedRpc([...action('Encrypt'), ['KeyId', 'alias/\u0000'], ['Plaintext', 'aGk=']]),
    },
    {
      name: 'RPC GenerateDataKey by an alias with NUL',
      req: signedRpc([...action('GenerateDataKey'), ['KeyId', 'alias/\u0000']]),
    },
    {
      name: 'REST encrypt by an alias with NUL',
      req: {
        ...rest('POST', '/v1/keys/alias%2F%00/encrypt'),
        headers: { authorization: basicAuthorization(), 'content-type': 'application/json' },
        body: '{"Plaintext":"aGk="}',
      },
    },
  ];

  it('an alias with a NUL byte is not found (404), not an internal failure', async () => {
    await refuseAll(cases());
  });

  it('a Description with a NUL byte is refused or kept exactly, never an internal failure', async () => {
    const problems: string[] = [];
    const attempts: Array<[string, WireRequest, string]> = [
      [
        'RPC UpdateKeyDescription',
        signedRpc([...action('UpdateKeyDescription'), ['KeyId', fx.keyId], ['Description', 'a\u0000b']]),
        fx.keyId,
      ],
      [
        'REST PATCH',
        {
          ...rest('PATCH', `/v1/keys/${fx.keyId}`),
          headers: { authorization: basicAuthorization(), 'content-type': 'application/json' },
          body: '{"Description":"a\\u0000b"}',
        },
        fx.keyId,
      ],
      ['RPC CreateKey', signedRpc([...action('CreateKey'), ['Description', 'nul\u0000']]), ''],
      [
        'REST POST /v1/keys',
        {
          ...rest('POST', '/v1/keys'),
          headers: { authorization: basicAuthorization(), 'content-type': 'application/json' },
          body: '{"Description":"nul\\u0000"}',
        },
        '',
      ],
    ];
    for (const [name, req, keyId] of attempts) {
      count();
      const res = await send(base, req);
      if (res.status >= 200 && res.status < 300) {
        const id = keyId || res.json.KeyMetadata.KeyId;
        const back = await send(base, rest('GET', `/v1/keys/${id}`));
        const expected = keyId ? 'a\u0000b' : 'nul\u0000';
        if (back.json?.KeyMetadata?.Description !== expected) problems.push(`${name}: accepted but not kept exactly`);
        if (keyId) await send(base, { ...rest('PATCH', `/v1/keys/${id}`, { Description: '' }) });
      } else {
        const why = refusalProblem(req, res);
        if (why) problems.push(`${name}: ${why}: ${res.status} ${res.text.slice(0, 200)}`);
      }
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('a lone surrogate in a REST Description never fails the request', async () => {
    count();
    const res = await send(base, {
      ...rest('PATCH', `/v1/keys/${fx.keyId}`),
      headers: { authorization: basicAuthorization(), 'content-type': 'application/json' },
      body: '{"Description":"x\\ud800y"}',
    });
    expect([200, 400]).toContain(res.status);
    if (res.status === 400) expect(envelopeProblem(res)).toBeUndefined();
    await send(base, rest('PATCH', `/v1/keys/${fx.keyId}`, { Description: '' }));
  });
});
