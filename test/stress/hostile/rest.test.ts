import { describe, it } from 'vitest';
import { basicAuthorization, encodeSegment } from '../support/wire.js';
import { BODY_LIMIT, type Case, useHostileApp } from './support.js';
import { MARKER } from './values.js';

// Hand-picked hostile requests on the REST face: odd paths, bodies, JSON types, content
// types and credentials; framework errors (bad percent-encoding, overlong parameters).

const { fx, rest, jsonPost, refuseAll, region: REGION } = useHostileApp('rest');

describe('hostile input: hand-picked, REST face', () => {
  it('odd paths, bodies, types, content types and credentials are refused with the envelope', async () => {
    const create = JSON.stringify({ AliasName: 'alias/traversal', KeyId: fx.keyId });
    const cases: Case[] = [
      // A valid CreateAlias body behind a path that must not be normalized into /v1/aliases.
      jsonPost('POST /v1/keys/../aliases', '/v1/keys/../aliases', create),
      jsonPost('POST /v1/keys/..%2F..%2Fv1%2Faliases', '/v1/keys/..%2F..%2Fv1%2Faliases', create),
      jsonPost('POST /v1/./aliases', '/v1/./aliases', create),
      jsonPost('POST /v1//aliases', '/v1//aliases', create),
      jsonPost('POST /V1/ALIASES', '/V1/ALIASES', create),
      jsonPost('POST /v1/aliases/', '/v1/aliases/', create),
      jsonPost('POST /v1/aliases%00', '/v1/aliases%00', create),
      { name: 'GET /v1', req: rest('GET', '/v1') },
      { name: 'GET /v2/keys', req: rest('GET', '/v2/keys') },
      { name: 'GET /v1/keys/x/y/z', req: rest('GET', '/v1/keys/x/y/z') },
      { name: 'PATCH /v1/aliases', req: rest('PATCH', '/v1/aliases', {}) },
      { name: 'DELETE /v1/keys', req: rest('DELETE', '/v1/keys') },
      { name: 'DELETE /v1/aliases/', req: rest('DELETE', '/v1/aliases/') },
      { name: 'GET /v1/keys/%00', req: rest('GET', '/v1/keys/%00') },
      { name: 'GET key id + NUL', req: rest('GET', `/v1/keys/${fx.keyId}%00`) },
      { name: 'POST enable key id + NUL', req: rest('POST', `/v1/keys/${fx.keyId}%00/enable`) },
      { name: 'GET alias with NUL (read one alias)', req: rest('GET', '/v1/aliases/alias%2Fa%00b') },
      { name: 'DELETE alias with SQL', req: rest('DELETE', `/v1/aliases/${encodeSegment("alias/a' OR '1'='1")}`) },
      { name: 'GET key by alias with SQL', req: rest('GET', `/v1/keys/${encodeSegment("alias/x' OR '1'='1")}`) },
      { name: 'GET key by SQL', req: rest('GET', `/v1/keys/${encodeSegment("' OR 1=1 --")}`) },
      {
        name: 'GET key by ARN of another account',
        req: rest('GET', `/v1/keys/${encodeSegment(`acs:kms:${REGION}:1234567890123456:key/${fx.keyId}`)}`),
      },
      { name: 'GET aliases, RegionId twice', req: rest('GET', `/v1/aliases?RegionId=${REGION}`) },
      {
        name: 'GET aliases, RegionId with quote',
        req: { ...rest('GET', '/v1/aliases'), path: "/v1/aliases?RegionId=cn-hangzhou'--" },
      },
      {
        name: 'GET aliases, RegionId NUL',
        req: { ...rest('GET', '/v1/aliases'), path: '/v1/aliases?RegionId=cn-hangzhou%00' },
      },
      { name: 'GET aliases, RegionId ../', req: { ...rest('GET', '/v1/aliases'), path: '/v1/aliases?RegionId=..%2F' } },
      { name: 'GET aliases, PageSize twice', req: rest('GET', '/v1/aliases?PageSize=1&PageSize=2') },
      {
        name: 'GET aliases, PageSize SQL',
        req: rest('GET', `/v1/aliases?PageSize=${encodeSegment('1; DROP TABLE aliases')}`),
      },
      { name: 'GET aliases, PageSize -1', req: rest('GET', '/v1/aliases?PageSize=-1') },
      {
        name: 'GET keys, a Filters key not built',
        req: rest('GET', `/v1/keys?Filters=${encodeURIComponent('[{"Key":"TagKey","Values":["a"]}]')}`),
      },
      { name: 'no credentials', req: { method: 'GET', path: `/v1/keys?RegionId=${REGION}` } },
      { name: 'Basic without value', req: { ...rest('GET', '/v1/keys'), headers: { authorization: 'Basic' } } },
      {
        name: 'Basic with three parts',
        req: {
          ...rest('GET', '/v1/keys'),
          headers: { authorization: `Basic ${Buffer.from('a:b:c').toString('base64')}` },
        },
      },
      { name: 'Basic not Base64', req: { ...rest('GET', '/v1/keys'), headers: { authorization: 'Basic %%%%' } } },
      { name: 'Bearer token', req: { ...rest('GET', '/v1/keys'), headers: { authorization: `Bearer ${MARKER}` } } },
      {
        name: 'ACS3 garbage',
        req: { ...rest('GET', '/v1/keys'), headers: { authorization: 'ACS3-HMAC-SHA256 garbage' } },
      },
    ];
    const aliases = '/v1/aliases';
    for (const [name, body] of [
      ['empty body', ''],
      ['invalid JSON', '{'],
      ['trailing garbage', '{"a":1}garbage'],
      ['single quotes', "{'AliasName':'alias/x'}"],
      ['NaN', 'NaN'],
      ['array', '[]'],
      ['string', '"alias/x"'],
      ['number', '1'],
      ['true', 'true'],
      ['__proto__', `{"__proto__":{"polluted":"yes"},"AliasName":"alias/p","KeyId":"${fx.keyId}"}`],
      [
        'constructor.prototype',
        `{"constructor":{"prototype":{"polluted":"yes"}},"AliasName":"alias/p","KeyId":"${fx.keyId}"}`,
      ],
      ['deep array', `${'['.repeat(500)}${']'.repeat(500)}`],
      ['deep object', `{"AliasName":"alias/d","KeyId":${'{"a":'.repeat(150)}1${'}'.repeat(150)}}`],
      ['AliasName a number', JSON.stringify({ AliasName: 123, KeyId: fx.keyId })],
      ['AliasName an array', JSON.stringify({ AliasName: ['alias/arr'], KeyId: fx.keyId })],
      ['AliasName an object', JSON.stringify({ AliasName: { name: 'alias/obj' }, KeyId: fx.keyId })],
      ['AliasName true', JSON.stringify({ AliasName: true, KeyId: fx.keyId })],
      ['AliasName with NUL', JSON.stringify({ AliasName: 'alias/a\u0000b', KeyId: fx.keyId })],
      ['AliasName with newline', JSON.stringify({ AliasName: 'alias/a\nb', KeyId: fx.keyId })],
      ['AliasName unicode', JSON.stringify({ AliasName: 'alias/caf\u00e9', KeyId: fx.keyId })],
      ['AliasName right-to-left', JSON.stringify({ AliasName: 'alias/\u202eevil', KeyId: fx.keyId })],
      ['KeyId a number', JSON.stringify({ AliasName: 'alias/n', KeyId: 123 })],
      ['KeyId an array of the real id', JSON.stringify({ AliasName: 'alias/n', KeyId: [fx.keyId] })],
      ['KeyId nested', JSON.stringify({ AliasName: 'alias/n', KeyId: { KeyId: fx.keyId } })],
      ['KeyId with NUL', JSON.stringify({ AliasName: 'alias/n', KeyId: `${fx.keyId}\u0000` })],
      ['KeyId upper case', JSON.stringify({ AliasName: 'alias/n', KeyId: fx.keyId.toUpperCase() })],
      ['oversized', JSON.stringify({ AliasName: 'alias/big', KeyId: fx.keyId, Pad: 'p'.repeat(BODY_LIMIT) })],
    ] as const) {
      cases.push(jsonPost(`POST /v1/aliases: ${name}`, aliases, body));
    }
    for (const type of [
      'text/plain',
      'application/xml',
      'application/x-www-form-urlencoded',
      'application/jsonx',
      'multipart/form-data; boundary=x',
    ]) {
      cases.push(
        jsonPost(
          `POST /v1/aliases as ${type}`,
          aliases,
          JSON.stringify({ AliasName: 'alias/ct', KeyId: fx.keyId }),
          type,
        ),
      );
    }
    cases.push({
      name: 'POST /v1/aliases without a content type',
      req: { ...rest('POST', aliases), body: JSON.stringify({ AliasName: 'alias/ct', KeyId: fx.keyId }) },
    });
    const schedule = `/v1/keys/${fx.keyId}/schedule-deletion`;
    for (const days of ['"1e1"', '7.5', '-7', 'true', '[]', '{}', '"\uff17"', '1e308', '"7 "', '"+7"', '6', '367']) {
      cases.push(
        jsonPost(`schedule-deletion PendingWindowInDays ${days}`, schedule, `{"PendingWindowInDays":${days}}`),
      );
    }
    for (const body of [
      '{"Description":5}',
      '{"Description":["a"]}',
      '{"Description":{"a":"b"}}',
      '{}',
      '{"Description":null}',
    ]) {
      cases.push({
        name: `PATCH description ${body}`,
        req: {
          ...rest('PATCH', `/v1/keys/${fx.keyId}`),
          headers: { authorization: basicAuthorization(), 'content-type': 'application/json' },
          body,
        },
      });
    }
    cases.push(
      jsonPost(
        'encrypt, context an array',
        `/v1/keys/${fx.keyId}/encrypt`,
        '{"Plaintext":"aGk=","EncryptionContext":["a"]}',
      ),
      jsonPost(
        'encrypt, context nested',
        `/v1/keys/${fx.keyId}/encrypt`,
        '{"Plaintext":"aGk=","EncryptionContext":{"a":{"b":"c"}}}',
      ),
      jsonPost('encrypt, plaintext a number', `/v1/keys/${fx.keyId}/encrypt`, '{"Plaintext":12}'),
      jsonPost('generate-data-key, plaintext=maybe', `/v1/keys/${fx.keyId}/generate-data-key?plaintext=maybe`, '{}'),
      jsonPost(
        'generate-data-key, NumberOfBytes "16.0"',
        `/v1/keys/${fx.keyId}/generate-data-key`,
        '{"NumberOfBytes":"16.0"}',
      ),
      jsonPost('decrypt, blob an object', '/v1/decrypt', '{"CiphertextBlob":{"a":1}}'),
      // Fields the operation does not take: each would have succeeded, ignored, before.
      jsonPost('create key, misspelt field', '/v1/keys', '{"Descripton":"typo"}'),
      jsonPost('create key, field in the wrong case', '/v1/keys', '{"keyspec":"RSA_2048"}'),
      jsonPost('create key, RegionId in the body', '/v1/keys', '{"RegionId":"cn-beijing"}'),
      jsonPost('create key, unknown field in the query', '/v1/keys?Colour=blue', '{}'),
      jsonPost(
        'create alias, extra field',
        aliases,
        JSON.stringify({ AliasName: 'alias/x1', KeyId: fx.keyId, Force: true }),
      ),
      jsonPost(
        'encrypt, flattened context on REST',
        `/v1/keys/${fx.keyId}/encrypt`,
        '{"Plaintext":"aGk=","EncryptionContext.a":"b"}',
      ),
      jsonPost(
        'encrypt, Plaintext in the body and the query',
        `/v1/keys/${fx.keyId}/encrypt?Plaintext=aGk%3D`,
        '{"Plaintext":"aGk="}',
      ),
      jsonPost('schedule deletion, misspelt window', schedule, '{"PendingWindowInDays":7,"Force":true}'),
      jsonPost(
        'decrypt, blob of another context',
        '/v1/decrypt',
        JSON.stringify({ CiphertextBlob: fx.blob, EncryptionContext: { a: 'b' } }),
      ),
    );
    await refuseAll(cases);
  }, 60_000);

  it('framework errors (bad percent-encoding, an overlong path parameter) answer with the envelope', async () => {
    await refuseAll([
      { name: 'alias path with %FF', req: rest('GET', '/v1/aliases/%FF') },
      { name: 'alias path with %zz', req: rest('DELETE', '/v1/aliases/%zz') },
      { name: 'key path with truncated UTF-8', req: rest('POST', '/v1/keys/%E0%A4%A/enable') },
      { name: 'key path with an encoded lone surrogate', req: rest('GET', '/v1/keys/alias%2F%ED%A0%80') },
      { name: 'key path parameter of 2049 characters', req: rest('GET', `/v1/keys/${'k'.repeat(2049)}`) },
      {
        name: 'alias path parameter of 5000 characters',
        req: rest('DELETE', `/v1/aliases/alias%2F${'a'.repeat(5000)}`),
      },
    ]);
  });
});
