import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KmsError } from '../../../../src/errors.js';
import {
  canonicalRequestV3,
  computeSignatureV3,
  parseAuthorizationV3,
  type SignedRequest,
  signingKeyV4,
  verifySignature,
} from '../../../../src/http/auth/signature.js';

// The header-signed algorithms beside ACS3-HMAC-SHA256 (spec section 20.3), against the
// spec's vectors: ACS3-HMAC-SM3 reproduced with the SDK's own signer, ACS4-HMAC-SHA256
// computed from the gateway's source (no installable SDK sends it here). Also V3 on the REST
// face without x-acs-action and x-acs-version.

const SECRET = 'testsecret';
const lookup = (id: string) => (id === 'testid' ? SECRET : undefined);
const NOW = new Date('2026-01-01T00:05:00Z');
const SIGNED = 'host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version';
const SM3_EMPTY = '1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b';
const SHA256_EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function vectorRequest(
  authorization: string,
  contentHash: string,
  action = 'CreateAlias',
  query: Array<[string, string]> = [
    ['AliasName', 'alias/demo'],
    ['KeyId', 'k-1'],
  ],
): SignedRequest {
  return {
    method: 'POST',
    path: '/',
    query,
    form: [],
    headers: {
      host: 'kms.cn-hangzhou.aliyuncs.com',
      'x-acs-action': action,
      'x-acs-version': '2016-01-20',
      'x-acs-date': '2026-01-01T00:00:00Z',
      'x-acs-signature-nonce': '0123456789abcdef',
      'x-acs-content-sha256': contentHash,
      authorization,
    },
    body: Buffer.alloc(0),
  };
}

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof KmsError) return err.code;
    throw err;
  }
  return 'ok';
};

describe('ACS3-HMAC-SM3', () => {
  it('SM3 of the empty body is the vector', () => {
    expect(createHash('sm3').update('').digest('hex')).toBe(SM3_EMPTY);
  });

  it('verifies the spec vector, and the same request as ACS3-HMAC-SHA256', () => {
    const sm3 = vectorRequest(
      `ACS3-HMAC-SM3 Credential=testid,SignedHeaders=${SIGNED},Signature=19d3c22ffb108b0acae69c907193a9fea9fad79e92018303794a90798d4a33ef`,
      SM3_EMPTY,
    );
    expect(verifySignature(sm3, lookup, NOW)).toMatchObject({ accessKeyId: 'testid', version: 'V3' });
    const sha = vectorRequest(
      `ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=${SIGNED},Signature=08fe1bb02af96f9f32cdcbe0e728a4df4ff8bbd62e40ebd665b80325b45a3d71`,
      SHA256_EMPTY,
    );
    expect(verifySignature(sha, lookup, NOW).accessKeyId).toBe('testid');
  });

  it('a SHA-256 payload hash under SM3, or a wrong secret, does not match', () => {
    const wrongHash = vectorRequest(
      `ACS3-HMAC-SM3 Credential=testid,SignedHeaders=${SIGNED},Signature=19d3c22ffb108b0acae69c907193a9fea9fad79e92018303794a90798d4a33ef`,
      SHA256_EMPTY,
    );
    expect(code(() => verifySignature(wrongHash, lookup, NOW))).toBe('SignatureDoesNotMatch');
    const sm3 = vectorRequest(
      `ACS3-HMAC-SM3 Credential=testid,SignedHeaders=${SIGNED},Signature=19d3c22ffb108b0acae69c907193a9fea9fad79e92018303794a90798d4a33ef`,
      SM3_EMPTY,
    );
    expect(code(() => verifySignature(sm3, () => 'other', NOW))).toBe('SignatureDoesNotMatch');
  });
});

describe('ACS4-HMAC-SHA256', () => {
  const scope = { date: '20260101', region: 'cn-hangzhou', product: 'Kms' };
  const credential = 'Credential=testid/20260101/cn-hangzhou/Kms/aliyun_v4_request';

  it('derives the vector signing key and canonical request hash, and verifies the vector', () => {
    expect(signingKeyV4(SECRET, scope).toString('hex')).toBe(
      '3c130e5a2ad8804a9d8936309ed194c9d8e36bc2b8a2834e9a4c2dc0326d51a9',
    );
    const req = vectorRequest(
      `ACS4-HMAC-SHA256 ${credential},SignedHeaders=${SIGNED},Signature=99821e1d9ab535f4a058f9449f51b37b7a84db0c0c57e0fc9abd57f1a7050e30`,
      SHA256_EMPTY,
    );
    const canonical = canonicalRequestV3(req, SIGNED.split(';'), SHA256_EMPTY);
    expect(createHash('sha256').update(canonical).digest('hex')).toBe(
      '67f7d225c649d43e044ede19759fd8e06e620d5f9ab443a25c274e73e3fd83b3',
    );
    expect(verifySignature(req, lookup, NOW)).toMatchObject({ accessKeyId: 'testid', version: 'V3' });
  });

  it('an empty query value: Name= (current signers) and the name alone (older ones) both verify', () => {
    const query: Array<[string, string]> = [
      ['Description', ''],
      ['KeyId', 'k-1'],
    ];
    for (const signature of [
      '63f7a2cf19feeff13c9bae2bcf3a37cac8a0934862fcfadeacfd7cdf4c7a81a4',
      '8317a70342c81ffbc7cfc8f39b9520896d1f72e68a15c4f60c810745a84243af',
    ]) {
      const req = vectorRequest(
        `ACS4-HMAC-SHA256 ${credential},SignedHeaders=${SIGNED},Signature=${signature}`,
        SHA256_EMPTY,
        'UpdateKeyDescription',
        query,
      );
      expect(verifySignature(req, lookup, NOW).accessKeyId).toBe('testid');
    }
  });

  it('a malformed credential, or one dated another day, is IncompleteSignature', () => {
    for (const bad of [
      'Credential=testid/20260101/cn-hangzhou/Kms/aliyun_v3_request',
      'Credential=testid/20260101/cn-hangzhou/aliyun_v4_request',
      'Credential=testid/2026-01-01/cn-hangzhou/Kms/aliyun_v4_request',
      'Credential=testid/20260102/cn-hangzhou/Kms/aliyun_v4_request',
    ]) {
      const req = vectorRequest(
        `ACS4-HMAC-SHA256 ${bad},SignedHeaders=${SIGNED},Signature=${'0'.repeat(64)}`,
        SHA256_EMPTY,
      );
      expect(
        code(() => verifySignature(req, lookup, NOW)),
        bad,
      ).toBe('IncompleteSignature');
    }
    expect(
      parseAuthorizationV3(`ACS4-HMAC-SHA256 ${credential},SignedHeaders=host,Signature=${'a'.repeat(64)}`),
    ).toMatchObject({
      accessKeyId: 'testid',
      scope,
    });
  });

  it('ACS4-HMAC-SM3 and unknown algorithms are not built: IncompleteSignature', () => {
    for (const alg of ['ACS4-HMAC-SM3', 'ACS5-HMAC-SHA256']) {
      const req = vectorRequest(
        `${alg} Credential=testid,SignedHeaders=${SIGNED},Signature=${'0'.repeat(64)}`,
        SHA256_EMPTY,
      );
      expect(code(() => verifySignature(req, lookup, NOW))).toBe('IncompleteSignature');
    }
  });
});

describe('V3 on the REST face', () => {
  function restRequest(withActionHeaders: boolean): SignedRequest {
    const headers: Record<string, string> = {
      host: '127.0.0.1',
      'x-acs-date': '2026-01-01T00:00:00Z',
      'x-acs-signature-nonce': 'rest-nonce-1',
      'x-acs-content-sha256': SHA256_EMPTY,
      ...(withActionHeaders && { 'x-acs-action': 'Whatever', 'x-acs-version': '1999-01-01' }),
    };
    const signed = Object.keys(headers).sort();
    const req = { method: 'GET', path: '/v1/keys', query: [], form: [], headers, body: Buffer.alloc(0) };
    const signature = computeSignatureV3(canonicalRequestV3(req, signed, SHA256_EMPTY), SECRET);
    return {
      ...req,
      headers: {
        ...headers,
        authorization: `ACS3-HMAC-SHA256 Credential=testid,SignedHeaders=${signed.join(';')},Signature=${signature}`,
      },
    };
  }

  it('needs no x-acs-action or x-acs-version there, and still needs them on RPC', () => {
    expect(verifySignature(restRequest(false), lookup, NOW, 'rest').accessKeyId).toBe('testid');
    expect(verifySignature(restRequest(true), lookup, NOW, 'rest').accessKeyId).toBe('testid');
    expect(code(() => verifySignature(restRequest(false), lookup, NOW, 'rpc'))).toBe('IncompleteSignature');
  });
});
