import { describe, expect, it } from 'vitest';
import { expectError, restClient, rpc } from '../helpers/clients.js';
import { makeApp, uniqueRegion, useTestApp } from '../helpers/test-app.js';

// Metrics and throttling: what operators look at, and what protects a shared instance.

const t = useTestApp();

describe('/metrics', () => {
  it('counts requests by face, operation and code, with pool gauges, and needs no credentials', async () => {
    const region = uniqueRegion();
    await rpc(t.http, { Action: 'ListAliases', RegionId: region });
    await rpc(t.http, { Action: 'DescribeKey', KeyId: 'alias/secret-alias-name', RegionId: region });
    await restClient(t.http, region).get('/v1/aliases');
    await t.http.get('/v1/aliases'); // no credentials
    const res = await t.http.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = res.text;
    expect(text).toMatch(/kms_requests_total\{face="rpc",operation="ListAliases",code="OK"\} [1-9]/);
    expect(text).toMatch(
      /kms_requests_total\{face="rpc",operation="DescribeKey",code="Forbidden.AliasNotFound"\} [1-9]/,
    );
    expect(text).toMatch(/kms_requests_total\{face="rest",operation="ListAliases",code="OK"\} [1-9]/);
    expect(text).toMatch(/kms_requests_total\{face="rest",operation="ListAliases",code="IncompleteSignature"\} [1-9]/);
    expect(text).toMatch(
      /kms_request_duration_seconds_bucket\{le="0.1",face="rpc",operation="ListAliases",code="OK"\}/,
    );
    expect(text).toMatch(/kms_db_pool_connections\{state="total"\} \d+/);
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
    // Nothing a caller sent shows up as a label.
    expect(text).not.toContain('secret-alias-name');
    expect(text).not.toContain(region);
  });

  it('an unknown action or route does not grow the label set', async () => {
    await rpc(t.http, { Action: 'Nope1' });
    await rpc(t.http, { Action: 'Nope2' });
    const text = (await t.http.get('/metrics')).text;
    expect(text).not.toContain('Nope1');
    expect(text).toMatch(/operation="unknown",code="InvalidAction.NotFound"/);
  });
});

describe('/docs', () => {
  it('serves Swagger UI and the OpenAPI document without credentials', async () => {
    const ui = await t.http.get('/docs/').redirects(2);
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger-ui');
    const doc = await t.http.get('/docs/json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toContain('/v1/aliases/{AliasName}');
  });
});

describe('rate limit', () => {
  it('answers Rejected.Throttling past KMS_RATE_LIMIT_RPS per access key, on both faces', async () => {
    const limited = await makeApp(t.db, { KMS_RATE_LIMIT_RPS: '3' });
    t.extra.push(limited);
    const region = uniqueRegion();
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await rpc(limited.http, { Action: 'ListAliases', RegionId: region }));
    const throttled = results.filter((r) => r.status === 429);
    expect(throttled.length).toBeGreaterThanOrEqual(4);
    const body = expectError(throttled[0]!, 429, 'Rejected.Throttling');
    expect(body.Message).toBe('QPS Limit Exceeded');
    const rest = await restClient(limited.http, region).get('/v1/aliases');
    expectError(rest, 429, 'Rejected.Throttling');
    // Health is never throttled.
    expect((await limited.http.get('/health/live')).status).toBe(200);
  });
});
