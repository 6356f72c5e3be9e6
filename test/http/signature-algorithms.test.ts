import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalRequestV3,
  computeSignatureV3,
  formatTimestamp,
  type HeaderAlgorithm,
  payloadHash,
} from '../../src/http/auth/signature.js';
import { DEV_CREDENTIALS, expectError } from '../helpers/clients.js';
import { uniqueRegion, useTestApp } from '../helpers/test-app.js';

// ACS3-HMAC-SM3 and ACS4-HMAC-SHA256 through the service on both faces, and V3 on the REST
// face without x-acs-action and x-acs-version (spec section 20.3). The signer here is
// written from the spec's description; the unit tests hold the spec's vectors.

const t = useTestApp();

function signedHeaders(
  algorithm: HeaderAlgorithm,
  method: string,
  path: string,
  query: Array<[string, string]>,
  extra: Record<string, string>,
  secret = DEV_CREDENTIALS.secret,
): Record<string, string> {
  const date = formatTimestamp(new Date());
  const headers: Record<string, string> = {
    host: 'localhost',
    'x-acs-date': date,
    'x-acs-signature-nonce': randomUUID(),
    'x-acs-content-sha256': payloadHash(algorithm, ''),
    ...extra,
  };
  const names = Object.keys(headers).sort();
  const scope =
    algorithm === 'ACS4-HMAC-SHA256'
      ? { date: date.slice(0, 10).replaceAll('-', ''), region: 'center', product: 'Kms' }
      : undefined;
  const canonical = canonicalRequestV3({ method, path, query, headers }, names, headers['x-acs-content-sha256']!);
  const signature = computeSignatureV3(canonical, secret, algorithm, scope);
  const credential = scope
    ? `${DEV_CREDENTIALS.accessKeyId}/${scope.date}/${scope.region}/${scope.product}/aliyun_v4_request`
    : DEV_CREDENTIALS.accessKeyId;
  return {
    ...headers,
    authorization: `${algorithm} Credential=${credential},SignedHeaders=${names.join(';')},Signature=${signature}`,
  };
}

const ALGORITHMS: HeaderAlgorithm[] = ['ACS3-HMAC-SHA256', 'ACS3-HMAC-SM3', 'ACS4-HMAC-SHA256'];

describe.each(ALGORITHMS)('%s', (algorithm) => {
  it('on the RPC face: x-acs-action and x-acs-version name the operation', async () => {
    const region = uniqueRegion();
    const query: Array<[string, string]> = [['RegionId', region]];
    const headers = signedHeaders(algorithm, 'POST', '/', query, {
      'x-acs-action': 'CreateKey',
      'x-acs-version': '2016-01-20',
    });
    const res = await t.http.post(`/?RegionId=${region}`).set(headers);
    expect(res.status).toBe(200);
    expect(res.body.KeyMetadata.Arn).toContain(`:${region}:`);
    // The same request again: the nonce was spent.
    expectError(await t.http.post(`/?RegionId=${region}`).set(headers), 400, 'SignatureNonceUsed');
  });

  it('on the REST face without x-acs-action and x-acs-version; sent, they are ignored', async () => {
    const region = uniqueRegion();
    const query: Array<[string, string]> = [['RegionId', region]];
    const plain = signedHeaders(algorithm, 'GET', '/v1/keys', query, {});
    const listed = await t.http.get(`/v1/keys?RegionId=${region}`).set(plain);
    expect(listed.status).toBe(200);
    expect(listed.body.TotalCount).toBe(0);
    const misleading = signedHeaders(algorithm, 'GET', '/v1/keys', query, {
      'x-acs-action': 'DeleteAlias',
      'x-acs-version': '1999-01-01',
    });
    const again = await t.http.get(`/v1/keys?RegionId=${region}`).set(misleading);
    expect(again.status).toBe(200);
    expect(again.body.Keys).toEqual([]);
  });

  it('a wrong secret does not match', async () => {
    const region = uniqueRegion();
    const headers = signedHeaders(algorithm, 'GET', '/v1/keys', [['RegionId', region]], {}, 'not-the-secret');
    expectError(await t.http.get(`/v1/keys?RegionId=${region}`).set(headers), 401, 'SignatureDoesNotMatch');
  });
});
