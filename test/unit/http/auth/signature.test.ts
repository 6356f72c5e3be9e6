import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Kms, { CreateAliasRequest, EncryptRequest, ListAliasesRequest } from '@alicloud/kms20160120';
import OpenApi, { Config as OpenApiConfig, OpenApiRequest, Params } from '@alicloud/openapi-client';
import RPCClient from '@alicloud/pop-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ErrorCode, KmsError } from '../../../../src/errors.js';
import {
  canonicalizeV1,
  canonicalQueryV3,
  canonicalRequestV3,
  computeSignatureV1,
  computeSignatureV3,
  detectSignatureVersion,
  formatTimestamp,
  MAX_CLOCK_SKEW_MS,
  parseAuthorizationV3,
  parseBasicAuth,
  parseTimestamp,
  percentEncode,
  type SecretLookup,
  type SignedRequest,
  secretsEqual,
  sha256Hex,
  signV1,
  signV3,
  stringToSignV1,
  verifyBasicAuth,
  verifySignature,
} from '../../../../src/http/auth/signature.js';

const AK = 'LTAI_test_key';
const SECRET = 'the-real-secret/with+odd=chars';
const lookup: SecretLookup = (id) => (id === AK ? SECRET : undefined);
const wrongSecret: SecretLookup = (id) => (id === AK ? 'not-the-secret' : undefined);

const NOW = new Date('2024-05-06T07:08:09Z');
const MINUTE = 60_000;

/** Runs fn, expects a KmsError with the code, and checks the message leaks none of `secrets`. */
function expectKmsError(fn: () => unknown, code: ErrorCode, secrets: string[] = []): KmsError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(KmsError);
  const err = caught as KmsError;
  expect(err.code).toBe(code);
  for (const s of [SECRET, ...secrets]) expect(err.message).not.toContain(s);
  return err;
}

/** A request whose pairs a test may edit in place. */
type EditableRequest = SignedRequest & { query: Array<[string, string]> };

const clone = (req: SignedRequest): EditableRequest => ({
  ...req,
  query: req.query.map(([k, v]) => [k, v] as [string, string]),
  form: req.form.map(([k, v]) => [k, v] as [string, string]),
  headers: { ...req.headers },
});

const setPair = (pairs: Array<[string, string]>, name: string, value: string) => {
  const pair = pairs.find(([k]) => k === name);
  if (!pair) throw new Error(`no ${name}`);
  pair[1] = value;
};

const getPair = (pairs: ReadonlyArray<readonly [string, string]>, name: string): string => {
  const pair = pairs.find(([k]) => k === name);
  if (!pair) throw new Error(`no ${name}`);
  return pair[1];
};

const withoutPair = (pairs: Array<[string, string]>, name: string) => pairs.filter(([k]) => k !== name);

// Values that exercise every encoding rule: space (%20, never '+'), '+', '*' (%2A), '~'
// (kept), '/', reserved sub-delims, '%', '&', '=', multi-byte UTF-8 and an astral character.
const TRICKY = "a b+c*d~e/f!g'h(i)j%k&l=m ü 漢字 😀";

describe('percentEncode', () => {
  it('encodes per RFC 3986 like the Alibaba signers', () => {
    expect(percentEncode('A-Za-z0-9-_.~')).toBe('A-Za-z0-9-_.~');
    expect(percentEncode(' ')).toBe('%20');
    expect(percentEncode('+')).toBe('%2B');
    expect(percentEncode('*')).toBe('%2A');
    expect(percentEncode("!'()")).toBe('%21%27%28%29');
    expect(percentEncode('/:=&%')).toBe('%2F%3A%3D%26%25');
    expect(percentEncode('ü漢😀')).toBe('%C3%BC%E6%BC%A2%F0%9F%98%80');
  });

  it('encodes a lone surrogate as U+FFFD instead of throwing', () => {
    expect(percentEncode('a\uD800b')).toBe('a%EF%BF%BDb');
  });
});

describe('timestamps', () => {
  it('parses the SDK format, with or without a fraction', () => {
    expect(parseTimestamp('2016-03-28T03:13:08Z')?.toISOString()).toBe('2016-03-28T03:13:08.000Z');
    expect(parseTimestamp('2016-03-28T03:13:08.5Z')?.toISOString()).toBe('2016-03-28T03:13:08.500Z');
  });

  it('refuses other formats and impossible dates', () => {
    for (const bad of [
      '2016-03-28 03:13:08Z',
      '2016-03-28T03:13:08+08:00',
      '2016-02-30T00:00:00Z',
      '1459134788',
      '',
      'x',
    ]) {
      expect(parseTimestamp(bad)).toBeNull();
    }
  });

  it('formats without milliseconds', () => {
    expect(formatTimestamp(new Date('2016-03-28T03:13:08.987Z'))).toBe('2016-03-28T03:13:08Z');
  });
});

describe('signature V1', () => {
  // The worked example of Alibaba's signature page (spec section 6).
  const vector: Array<[string, string]> = [
    ['AccessKeyId', 'testid'],
    ['Action', 'CreateKey'],
    ['Format', 'json'],
    ['SignatureMethod', 'HMAC-SHA1'],
    ['SignatureVersion', '1.0'],
    ['Timestamp', '2016-03-28T03:13:08Z'],
    ['Version', '2016-01-20'],
  ];

  it('reproduces the documented test vector', () => {
    expect(stringToSignV1('GET', vector)).toBe(
      'GET&%2F&AccessKeyId%3Dtestid%26Action%3DCreateKey%26Format%3Djson%26SignatureMethod%3DHMAC-SHA1' +
        '%26SignatureVersion%3D1.0%26Timestamp%3D2016-03-28T03%253A13%253A08Z%26Version%3D2016-01-20',
    );
    expect(computeSignatureV1('GET', vector, 'testsecret')).toBe('41wk2SSX1GJh7fwnc5eqOfiJPFg=');
  });

  it('does not reproduce the misprinted value of the documentation page', () => {
    expect(computeSignatureV1('GET', vector, 'testsecret')).not.toBe('s/OdVWMTmNGagvWlljdAJ7Itsew=');
  });

  it('canonicalizes independently of the received order and leaves Signature out', () => {
    const shuffled: Array<[string, string]> = [['Signature', 'x'], ...[...vector].reverse()];
    expect(canonicalizeV1(shuffled)).toBe(canonicalizeV1(vector));
    expect(
      canonicalizeV1([
        ['b', TRICKY],
        ['a', '1'],
      ]),
    ).toBe(`a=1&b=${percentEncode(TRICKY)}`);
  });

  it('accepts a request signed in the query (GET)', () => {
    const req = signV1({
      accessKeyId: AK,
      secret: SECRET,
      params: { Action: 'CreateAlias', Version: '2016-01-20', AliasName: 'alias/app', Description: TRICKY },
      timestamp: NOW,
      nonce: 'nonce-1',
    });
    expect(req.url.startsWith('/?')).toBe(true);
    expect(detectSignatureVersion(req)).toBe('V1');
    expect(verifySignature(req, lookup, NOW)).toEqual({
      accessKeyId: AK,
      version: 'V1',
      nonce: 'nonce-1',
      timestamp: NOW,
    });
  });

  it('accepts a request signed in a form body (POST)', () => {
    const req = signV1({
      accessKeyId: AK,
      secret: SECRET,
      method: 'POST',
      placement: 'form',
      params: { Action: 'Encrypt', Version: '2016-01-20', Plaintext: 'aGVsbG8+/w==' },
      timestamp: NOW,
    });
    expect(req.query).toEqual([]);
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(new URLSearchParams(req.body.toString()).get('Plaintext')).toBe('aGVsbG8+/w==');
    expect(verifySignature(req, lookup, NOW).accessKeyId).toBe(AK);
  });

  it('merges query and form parameters', () => {
    const signed = signV1({
      accessKeyId: AK,
      secret: SECRET,
      method: 'POST',
      params: { Action: 'A', KeyId: 'k' },
      timestamp: NOW,
    });
    const req = clone(signed);
    // Move half of the parameters into the form: the signature covers the union.
    req.form = req.query.splice(0, 3);
    expect(verifySignature(req, lookup, NOW).accessKeyId).toBe(AK);
  });

  describe('refuses an incomplete signature', () => {
    const base = () =>
      signV1({
        accessKeyId: AK,
        secret: SECRET,
        params: { Action: 'ListKeys', Version: '2016-01-20' },
        timestamp: NOW,
      });

    for (const name of [
      'AccessKeyId',
      'Signature',
      'Timestamp',
      'SignatureNonce',
      'SignatureMethod',
      'SignatureVersion',
    ]) {
      it(`without ${name}`, () => {
        const req = clone(base());
        req.query = withoutPair(req.query, name);
        expectKmsError(() => verifySignature(req, lookup, NOW), 'IncompleteSignature');
      });

      it(`with an empty ${name}`, () => {
        const req = clone(base());
        setPair(req.query, name, '');
        expectKmsError(() => verifySignature(req, lookup, NOW), 'IncompleteSignature');
      });
    }

    it('with an unsupported SignatureMethod', () => {
      const req = signV1({
        accessKeyId: AK,
        secret: SECRET,
        params: { SignatureMethod: 'HMAC-SHA256' },
        timestamp: NOW,
      });
      const err = expectKmsError(() => verifySignature(req, lookup, NOW), 'IncompleteSignature');
      expect(err.message).toContain('SignatureMethod');
    });

    it('with an unsupported SignatureVersion', () => {
      const req = signV1({ accessKeyId: AK, secret: SECRET, params: { SignatureVersion: '2.0' }, timestamp: NOW });
      expectKmsError(() => verifySignature(req, lookup, NOW), 'IncompleteSignature');
    });

    it('with a signature parameter given twice (query and form)', () => {
      const req = clone(base());
      req.form = [['Signature', getPair(req.query, 'Signature')]];
      expectKmsError(() => verifySignature(req, lookup, NOW), 'IncompleteSignature');
    });

    it('with no signature at all', () => {
      const req: SignedRequest = {
        method: 'GET',
        path: '/',
        query: [['Action', 'ListKeys']],
        form: [],
        headers: {},
        body: Buffer.alloc(0),
      };
      expect(detectSignatureVersion(req)).toBeNull();
      expectKmsError(() => verifySignature(req, lookup, NOW), 'IncompleteSignature');
    });
  });

  it('refuses an unknown access key', () => {
    const req = signV1({ accessKeyId: 'nobody', secret: SECRET, params: { Action: 'ListKeys' }, timestamp: NOW });
    expectKmsError(() => verifySignature(req, lookup, NOW), 'InvalidAccessKeyId.NotFound');
  });

  describe('refuses a signature that does not match', () => {
    const base = () =>
      signV1({
        accessKeyId: AK,
        secret: SECRET,
        params: { Action: 'CreateAlias', Version: '2016-01-20', AliasName: 'alias/app', KeyId: 'key-1' },
        timestamp: NOW,
      });

    it('signed with another secret', () => {
      const req = base();
      expectKmsError(() => verifySignature(req, wrongSecret, NOW), 'SignatureDoesNotMatch', [
        getPair(req.query, 'Signature'),
      ]);
    });

    it('when a parameter was changed after signing', () => {
      const req = clone(base());
      setPair(req.query, 'KeyId', 'key-2');
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch', ['key-2', 'alias/app']);
    });

    it('when a parameter was added after signing', () => {
      const req = clone(base());
      req.form.push(['RegionId', 'cn-shanghai']);
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch', ['cn-shanghai']);
    });

    it('when a parameter was removed after signing', () => {
      const req = clone(base());
      req.query = withoutPair(req.query, 'KeyId');
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch');
    });

    it('when the method was changed', () => {
      const req = { ...base(), method: 'POST' };
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch');
    });

    it('when the signature has another length', () => {
      const req = clone(base());
      setPair(req.query, 'Signature', 'AAAA');
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch');
    });

    it('before looking at the timestamp', () => {
      const req = signV1({ accessKeyId: AK, secret: SECRET, params: { Action: 'ListKeys' }, timestamp: new Date(0) });
      expectKmsError(() => verifySignature(req, wrongSecret, NOW), 'SignatureDoesNotMatch');
    });
  });

  it('does not sign, and so ignores, x-acs-* headers', () => {
    const req = clone(base());
    req.headers['x-acs-action'] = 'DeleteAlias';
    req.headers['x-acs-region-id'] = 'cn-shanghai';
    expect(verifySignature(req, lookup, NOW).version).toBe('V1');

    function base() {
      return signV1({ accessKeyId: AK, secret: SECRET, params: { Action: 'ListKeys' }, timestamp: NOW });
    }
  });

  describe('checks the timestamp', () => {
    const at = (offsetMs: number) =>
      signV1({
        accessKeyId: AK,
        secret: SECRET,
        params: { Action: 'ListKeys' },
        timestamp: new Date(NOW.getTime() + offsetMs),
      });

    it('accepts up to 15 minutes either way', () => {
      expect(verifySignature(at(-MAX_CLOCK_SKEW_MS), lookup, NOW).accessKeyId).toBe(AK);
      expect(verifySignature(at(MAX_CLOCK_SKEW_MS), lookup, NOW).accessKeyId).toBe(AK);
      expect(verifySignature(at(14 * MINUTE), lookup, NOW).accessKeyId).toBe(AK);
    });

    it('refuses an old timestamp', () => {
      expectKmsError(() => verifySignature(at(-16 * MINUTE), lookup, NOW), 'InvalidTimeStamp.Expired');
    });

    it('refuses a timestamp in the future', () => {
      expectKmsError(() => verifySignature(at(16 * MINUTE), lookup, NOW), 'InvalidTimeStamp.Expired');
    });

    it('refuses an unparseable timestamp', () => {
      const req = signV1({ accessKeyId: AK, secret: SECRET, params: { Action: 'ListKeys', Timestamp: 'yesterday' } });
      expectKmsError(() => verifySignature(req, lookup, NOW), 'InvalidTimeStamp.Expired', ['yesterday']);
    });
  });
});

describe('signature V3', () => {
  const sign = (overrides: Partial<Parameters<typeof signV3>[0]> = {}) =>
    signV3({
      accessKeyId: AK,
      secret: SECRET,
      action: 'CreateAlias',
      version: '2016-01-20',
      host: 'kms.cn-hangzhou.aliyuncs.com',
      query: { AliasName: 'alias/app', KeyId: 'key-1' },
      timestamp: NOW,
      nonce: 'nonce-3',
      ...overrides,
    });

  it('builds the canonical request as documented', () => {
    const req = {
      method: 'POST',
      path: '/',
      query: [
        ['b', 'x y'],
        ['a', '*~'],
      ] as Array<[string, string]>,
      headers: { host: 'h', 'x-acs-action': '  A  ', 'content-type': 'text/plain' },
    };
    expect(canonicalRequestV3(req, ['host', 'x-acs-action'], 'abc')).toBe(
      'POST\n/\na=%2A~&b=x%20y\nhost:h\nx-acs-action:A\n\nhost;x-acs-action\nabc',
    );
  });

  it('sorts and encodes the canonical query', () => {
    expect(
      canonicalQueryV3([
        ['Z', TRICKY],
        ['A', ''],
        ['M', '1'],
      ]),
    ).toBe(`A=&M=1&Z=${percentEncode(TRICKY)}`);
  });

  it('accepts a request it signed, with a query', () => {
    const req = sign();
    expect(detectSignatureVersion(req)).toBe('V3');
    expect(verifySignature(req, lookup, NOW)).toEqual({
      accessKeyId: AK,
      version: 'V3',
      nonce: 'nonce-3',
      timestamp: NOW,
      signedHeaders: [
        'host',
        'x-acs-action',
        'x-acs-content-sha256',
        'x-acs-date',
        'x-acs-signature-nonce',
        'x-acs-version',
      ],
    });
  });

  it('accepts a request with a form body, signing content-type too', () => {
    const req = sign({ query: { KeyId: 'key-1' }, form: { Plaintext: TRICKY } });
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(verifySignature(req, lookup, NOW).signedHeaders).toContain('content-type');
  });

  it('accepts a REST-style request with an encoded path and a JSON body', () => {
    const req = sign({
      method: 'PUT',
      path: '/v1/aliases/alias%2Fteam%2Fapp',
      query: { RegionId: 'cn-shanghai' },
      body: JSON.stringify({ KeyId: 'key-2' }),
      contentType: 'application/json',
      headers: { 'x-acs-region-id': 'cn-shanghai' },
    });
    expect(req.url).toBe('/v1/aliases/alias%2Fteam%2Fapp?RegionId=cn-shanghai');
    expect(verifySignature(req, lookup, NOW).signedHeaders).toContain('x-acs-region-id');
  });

  it('accepts upper-case hex and spaces after the commas of Authorization', () => {
    const req = clone(sign());
    const auth = parseAuthorizationV3(req.headers.authorization);
    req.headers.authorization = `ACS3-HMAC-SHA256 Credential=${AK}, SignedHeaders=${auth.signedHeaders.join(';')}, Signature=${auth.signature.toUpperCase()}`;
    expect(verifySignature(req, lookup, NOW).accessKeyId).toBe(AK);
  });

  it('parses the Authorization header', () => {
    expect(
      parseAuthorizationV3(`ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=X-Acs-Date;host,Signature=${'ab'.repeat(32)}`),
    ).toEqual({
      algorithm: 'ACS3-HMAC-SHA256',
      accessKeyId: 'ak',
      signedHeaders: ['host', 'x-acs-date'],
      signature: 'ab'.repeat(32),
    });
  });

  describe('refuses a malformed Authorization header', () => {
    const sig = 'ab'.repeat(32);
    const cases: Record<string, string> = {
      // ACS3-HMAC-SM3 and ACS4-HMAC-SHA256 are built (signature-algorithms.test.ts); this one is not.
      'another algorithm': `ACS4-HMAC-SM3 Credential=ak,SignedHeaders=host,Signature=${sig}`,
      'no space after the algorithm': `ACS3-HMAC-SHA256Credential=ak,SignedHeaders=host,Signature=${sig}`,
      'no Credential': `ACS3-HMAC-SHA256 SignedHeaders=host,Signature=${sig}`,
      'an empty Credential': `ACS3-HMAC-SHA256 Credential=,SignedHeaders=host,Signature=${sig}`,
      'no SignedHeaders': `ACS3-HMAC-SHA256 Credential=ak,Signature=${sig}`,
      'no Signature': 'ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host',
      'a non-hex Signature': `ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host,Signature=${'zz'.repeat(32)}`,
      'a short Signature': 'ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host,Signature=abcd',
      'a field given twice': `ACS3-HMAC-SHA256 Credential=ak,Credential=ak,SignedHeaders=host,Signature=${sig}`,
      'an unknown field': `ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host,Signature=${sig},Extra=1`,
      'an empty signed header': `ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host;;x-acs-date,Signature=${sig}`,
      'a signed header listed twice': `ACS3-HMAC-SHA256 Credential=ak,SignedHeaders=host;HOST,Signature=${sig}`,
    };
    for (const [name, header] of Object.entries(cases)) {
      it(`with ${name}`, () => {
        expectKmsError(() => parseAuthorizationV3(header), 'IncompleteSignature', [sig]);
      });
    }

    it('through verifySignature', () => {
      const req = clone(sign());
      req.headers.authorization = 'ACS3-HMAC-SHA256 Credential=ak';
      expectKmsError(() => verifySignature(req, lookup, NOW), 'IncompleteSignature');
    });
  });

  describe('requires the mandatory headers to be signed', () => {
    for (const name of [
      'host',
      'x-acs-action',
      'x-acs-version',
      'x-acs-date',
      'x-acs-signature-nonce',
      'x-acs-content-sha256',
    ]) {
      it(`refuses a request that does not sign ${name}`, () => {
        const req = clone(sign());
        const auth = parseAuthorizationV3(req.headers.authorization);
        const signed = auth.signedHeaders.filter((h) => h !== name);
        // Re-sign properly over the shorter list, so that only the missing header is wrong.
        const signature = computeSignatureV3(canonicalRequestV3(req, signed, sha256Hex(req.body)), SECRET);
        req.headers.authorization = `ACS3-HMAC-SHA256 Credential=${AK},SignedHeaders=${signed.join(';')},Signature=${signature}`;
        const err = expectKmsError(() => verifySignature(req, lookup, NOW), 'IncompleteSignature');
        expect(err.message).toContain(name);
      });
    }

    it('refuses a signed header that is absent from the request', () => {
      const req = clone(sign({ headers: { 'x-acs-region-id': 'cn-shanghai' } }));
      delete req.headers['x-acs-region-id'];
      expectKmsError(() => verifySignature(req, lookup, NOW), 'IncompleteSignature', ['cn-shanghai']);
    });

    it('refuses an empty nonce', () => {
      const req = sign({ nonce: '' });
      expectKmsError(() => verifySignature(req, lookup, NOW), 'IncompleteSignature');
    });
  });

  it('refuses an unknown access key', () => {
    const req = sign({ accessKeyId: 'nobody' });
    expectKmsError(() => verifySignature(req, lookup, NOW), 'InvalidAccessKeyId.NotFound');
  });

  describe('refuses a signature that does not match', () => {
    it('signed with another secret', () => {
      const req = sign();
      const { signature } = parseAuthorizationV3(req.headers.authorization);
      expectKmsError(() => verifySignature(req, wrongSecret, NOW), 'SignatureDoesNotMatch', [signature]);
    });

    it('when a query parameter was changed', () => {
      const req = clone(sign());
      setPair(req.query, 'KeyId', 'key-2');
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch', ['key-2']);
    });

    it('when a query parameter was added', () => {
      const req = clone(sign());
      req.query.push(['RegionId', 'cn-shanghai']);
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch');
    });

    it('when a signed header was changed', () => {
      const req = clone(sign());
      req.headers['x-acs-action'] = 'DeleteAlias';
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch', ['DeleteAlias']);
    });

    it('when the host was changed', () => {
      const req = clone(sign());
      req.headers.host = 'kms.cn-shanghai.aliyuncs.com';
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch');
    });

    it('when the body was changed (its hash no longer matches)', () => {
      const req = { ...sign({ form: { Plaintext: 'aGVsbG8=' } }) };
      req.body = Buffer.from('Plaintext=Ynll');
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch', ['Ynll']);
    });

    it('when the body and its hash header were both changed', () => {
      const req = clone(sign({ form: { Plaintext: 'aGVsbG8=' } }));
      req.body = Buffer.from('Plaintext=Ynll');
      req.headers['x-acs-content-sha256'] = sha256Hex(req.body);
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch');
    });

    it('when x-acs-content-sha256 is not the lower-case hex of the body', () => {
      const req = clone(sign());
      req.headers['x-acs-content-sha256'] = sha256Hex(req.body).toUpperCase();
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch');
      req.headers['x-acs-content-sha256'] = 'UNSIGNED-PAYLOAD';
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch');
    });

    it('when the path was changed', () => {
      const req = { ...sign({ path: '/v1/aliases/alias%2Fa' }), path: '/v1/aliases/alias%2Fb' };
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch');
    });

    it('when the method was changed', () => {
      const req = { ...sign(), method: 'GET' };
      expectKmsError(() => verifySignature(req, lookup, NOW), 'SignatureDoesNotMatch');
    });
  });

  it('ignores unsigned headers', () => {
    const req = clone(sign());
    req.headers['user-agent'] = 'something else';
    req.headers.accept = 'text/xml';
    expect(verifySignature(req, lookup, NOW).accessKeyId).toBe(AK);
  });

  it('prefers V3 when both an Authorization header and a Signature parameter are present', () => {
    const req = clone(sign());
    req.query.push(['Signature', 'x']);
    expect(detectSignatureVersion(req)).toBe('V3');
  });

  describe('checks x-acs-date', () => {
    it('refuses an old date', () => {
      const req = sign({ timestamp: new Date(NOW.getTime() - 16 * MINUTE) });
      expectKmsError(() => verifySignature(req, lookup, NOW), 'InvalidTimeStamp.Expired');
    });

    it('refuses a date in the future', () => {
      const req = sign({ timestamp: new Date(NOW.getTime() + 16 * MINUTE) });
      expectKmsError(() => verifySignature(req, lookup, NOW), 'InvalidTimeStamp.Expired');
    });

    it('refuses an unparseable date, even when signed', () => {
      const req = sign({ headers: { 'x-acs-date': 'Mon, 06 May 2024 07:08:09 GMT' } });
      expectKmsError(() => verifySignature(req, lookup, NOW), 'InvalidTimeStamp.Expired');
    });
  });
});

describe('HTTP Basic', () => {
  const basic = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;

  it('parses id and secret, splitting at the first colon', () => {
    expect(parseBasicAuth(basic(`${AK}:${SECRET}:more`))).toEqual({ accessKeyId: AK, secret: `${SECRET}:more` });
    expect(parseBasicAuth(`basic  ${Buffer.from('a:b').toString('base64')}`)).toEqual({
      accessKeyId: 'a',
      secret: 'b',
    });
  });

  it('returns null for anything else', () => {
    for (const header of [
      undefined,
      '',
      'Basic',
      'Basic !!!',
      'Bearer abc',
      basic('nocolon'),
      basic(':secret'),
      basic('id:'),
    ]) {
      expect(parseBasicAuth(header)).toBeNull();
    }
  });

  it('verifies the secret', () => {
    expect(verifyBasicAuth({ accessKeyId: AK, secret: SECRET }, lookup)).toBe(AK);
    expectKmsError(() => verifyBasicAuth({ accessKeyId: AK, secret: 'wrong' }, lookup), 'SignatureDoesNotMatch', [
      'wrong',
    ]);
    expectKmsError(
      () => verifyBasicAuth({ accessKeyId: 'nobody', secret: SECRET }, lookup),
      'InvalidAccessKeyId.NotFound',
    );
  });

  it('compares secrets of any length', () => {
    expect(secretsEqual('a', 'a')).toBe(true);
    expect(secretsEqual('a', 'ab')).toBe(false);
    expect(secretsEqual('', '')).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------
// What the official SDKs really send. A plain HTTP server records each request; the
// recording is turned into a SignedRequest the way the service's RPC endpoint will do it.

interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function toSignedRequest(rec: Recorded): SignedRequest {
  const q = rec.url.indexOf('?');
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(rec.headers))
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  const isForm = headers['content-type']?.startsWith('application/x-www-form-urlencoded') ?? false;
  return {
    method: rec.method,
    path: q < 0 ? rec.url : rec.url.slice(0, q),
    query: [...new URLSearchParams(q < 0 ? '' : rec.url.slice(q + 1))],
    form: isForm ? [...new URLSearchParams(rec.body.toString('utf8'))] : [],
    headers,
    body: rec.body,
  };
}

describe('requests from the official SDKs', () => {
  let server: Server;
  let port: number;
  let recorded: Recorded[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        recorded.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
        });
        res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' });
        res.end('{"RequestId":"x"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    recorded = [];
  });

  const only = (): Recorded => {
    expect(recorded).toHaveLength(1);
    return recorded[0] as Recorded;
  };

  /** The SDK's request verifies with the right secret and fails with a wrong one. */
  function expectVerifies(req: SignedRequest, version: 'V1' | 'V3') {
    const now = new Date();
    const verified = verifySignature(req, lookup, now);
    expect(verified.accessKeyId).toBe(AK);
    expect(verified.version).toBe(version);
    expect(Math.abs(verified.timestamp.getTime() - now.getTime())).toBeLessThan(MINUTE);
    expect(verified.nonce.length).toBeGreaterThan(0);
    expectKmsError(() => verifySignature(req, wrongSecret, now), 'SignatureDoesNotMatch');
    return verified;
  }

  describe('@alicloud/kms20160120 1.2.0 (V1, POST, everything in the query)', () => {
    // Under Node's ESM loader the default export of this CommonJS package is module.exports;
    // some loaders unwrap it. Accept both.
    const KmsClient = ((Kms as unknown as { default?: unknown }).default ?? Kms) as typeof Kms.default;
    // The constructor is typed with @alicloud/rpc-client's Config model, but reads plain fields.
    const client = () =>
      new KmsClient({
        accessKeyId: AK,
        accessKeySecret: SECRET,
        endpoint: `127.0.0.1:${port}`,
        protocol: 'http',
        regionId: 'cn-hangzhou',
      } as ConstructorParameters<typeof KmsClient>[0]);

    it('CreateAlias', async () => {
      await client().createAlias(new CreateAliasRequest({ aliasName: 'alias/team/app-1', keyId: 'key-1' }));
      const req = toSignedRequest(only());
      expect(req.method).toBe('POST');
      expect(req.path).toBe('/');
      expect(req.body.length).toBe(0);
      expect(req.form).toEqual([]);
      expect(req.query.map(([k]) => k).sort()).toEqual(
        [
          'AccessKeyId',
          'Action',
          'AliasName',
          'Format',
          'KeyId',
          'Signature',
          'SignatureMethod',
          'SignatureNonce',
          'SignatureVersion',
          'Timestamp',
          'Version',
        ].sort(),
      );
      expect(getPair(req.query, 'AliasName')).toBe('alias/team/app-1');
      // It also sends x-acs-action and x-acs-version headers, which V1 does not sign.
      expect(req.headers['x-acs-action']).toBe('CreateAlias');
      expectVerifies(req, 'V1');
    });

    it('Encrypt with values that need every encoding rule', async () => {
      await client().encrypt(
        new EncryptRequest({
          keyId: 'alias/app',
          plaintext: 'aGk+/w==',
          encryptionContext: JSON.stringify({ 'k y': TRICKY }),
        }),
      );
      const req = toSignedRequest(only());
      expect(getPair(req.query, 'Plaintext')).toBe('aGk+/w==');
      expect(JSON.parse(getPair(req.query, 'EncryptionContext'))).toEqual({ 'k y': TRICKY });
      expectVerifies(req, 'V1');
    });

    it('ListAliases with numbers', async () => {
      await client().listAliases(new ListAliasesRequest({ pageNumber: 2, pageSize: 100 }));
      const req = toSignedRequest(only());
      expect(getPair(req.query, 'PageSize')).toBe('100');
      expectVerifies(req, 'V1');
    });
  });

  describe('@alicloud/pop-core 1.8.0 (V1)', () => {
    const client = () =>
      new RPCClient({
        accessKeyId: AK,
        accessKeySecret: SECRET,
        endpoint: `http://127.0.0.1:${port}`,
        apiVersion: '2016-01-20',
      });
    const params = {
      AliasName: 'alias/x',
      KeyId: 'key-1',
      Description: TRICKY,
      Tilde: '~~',
      Star: '**',
      Plus: '++',
      Space: '  ',
    };

    it('GET (the default): every parameter in the query', async () => {
      await client().request('CreateAlias', params, {});
      const req = toSignedRequest(only());
      expect(req.method).toBe('GET');
      expect(req.body.length).toBe(0);
      expect(getPair(req.query, 'Description')).toBe(TRICKY);
      expect(getPair(req.query, 'Star')).toBe('**');
      expect(getPair(req.query, 'Plus')).toBe('++');
      expect(getPair(req.query, 'Space')).toBe('  ');
      expect(getPair(req.query, 'Format')).toBe('JSON');
      expectVerifies(req, 'V1');
    });

    it('POST: every parameter, Signature included, in a form body and none in the query', async () => {
      await client().request('CreateAlias', params, { method: 'POST' });
      const req = toSignedRequest(only());
      expect(req.method).toBe('POST');
      expect(req.query).toEqual([]);
      expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(getPair(req.form, 'Description')).toBe(TRICKY);
      expect(getPair(req.form, 'Signature').length).toBeGreaterThan(0);
      expectVerifies(req, 'V1');
    });

    it('is refused when a parameter is changed in transit', async () => {
      await client().request('CreateAlias', params, {});
      const req = clone(toSignedRequest(only()));
      setPair(req.query, 'KeyId', 'key-2');
      expectKmsError(() => verifySignature(req, lookup, new Date()), 'SignatureDoesNotMatch');
    });
  });

  describe('@alicloud/openapi-client 0.4.15 callApi, style RPC (V3)', () => {
    const OpenApiClient = ((OpenApi as unknown as { default?: unknown }).default ?? OpenApi) as typeof OpenApi.default;
    const client = () =>
      new OpenApiClient(
        new OpenApiConfig({
          accessKeyId: AK,
          accessKeySecret: SECRET,
          endpoint: `127.0.0.1:${port}`,
          protocol: 'http',
          regionId: 'cn-hangzhou',
        }),
      );
    const params = (action: string) =>
      new Params({
        action,
        version: '2016-01-20',
        protocol: 'HTTP',
        pathname: '/',
        method: 'POST',
        authType: 'AK',
        style: 'RPC',
        reqBodyType: 'formData',
        bodyType: 'json',
      });
    // callApi reads a few optional fields of the runtime options; an empty object is enough.
    const runtime = {} as Parameters<ReturnType<typeof client>['callApi']>[2];

    it('operation parameters in the query, no body', async () => {
      await client().callApi(
        params('CreateAlias'),
        new OpenApiRequest({ query: { AliasName: 'alias/app', KeyId: 'key-1', Description: TRICKY } }),
        runtime,
      );
      const req = toSignedRequest(only());
      expect(req.method).toBe('POST');
      expect(req.body.length).toBe(0);
      // Only the operation's parameters: no Action, Version, Timestamp or signature in the query.
      expect(req.query.map(([k]) => k).sort()).toEqual(['AliasName', 'Description', 'KeyId']);
      expect(req.headers['x-acs-content-sha256']).toBe(sha256Hex(''));
      expect(req.headers.authorization?.startsWith('ACS3-HMAC-SHA256 Credential=')).toBe(true);
      const verified = expectVerifies(req, 'V3');
      expect(verified.signedHeaders).toEqual([
        'host',
        'x-acs-action',
        'x-acs-content-sha256',
        'x-acs-credentials-provider',
        'x-acs-date',
        'x-acs-signature-nonce',
        'x-acs-version',
      ]);
    });

    it('with a form body: content-type and the body hash are signed', async () => {
      await client().callApi(
        params('Encrypt'),
        new OpenApiRequest({
          query: { KeyId: 'alias/app' },
          body: { Plaintext: 'aGk+/w==', EncryptionContext: TRICKY },
        }),
        runtime,
      );
      const req = toSignedRequest(only());
      expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(getPair(req.form, 'Plaintext')).toBe('aGk+/w==');
      expect(getPair(req.form, 'EncryptionContext')).toBe(TRICKY);
      expect(req.headers['x-acs-content-sha256']).toBe(sha256Hex(req.body));
      const verified = expectVerifies(req, 'V3');
      expect(verified.signedHeaders).toContain('content-type');
    });

    it('is refused when the body or a signed header is changed in transit', async () => {
      await client().callApi(
        params('Encrypt'),
        new OpenApiRequest({ query: { KeyId: 'alias/app' }, body: { Plaintext: 'aGk=' } }),
        runtime,
      );
      const original = toSignedRequest(only());
      const body = { ...original, body: Buffer.from('Plaintext=Ynll') };
      expectKmsError(() => verifySignature(body, lookup, new Date()), 'SignatureDoesNotMatch');
      const header = clone(original);
      header.headers['x-acs-action'] = 'Decrypt';
      expectKmsError(() => verifySignature(header, lookup, new Date()), 'SignatureDoesNotMatch');
    });
  });
});
