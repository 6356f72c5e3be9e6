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

describe('start-up', () => {
  it('warns once for each unknown KMS_* setting, naming the closest known one and never the value', async () => {
    const typos = await makeApp(t.db, {
      KMS_AUTHH: 'off',
      KMS_KEY_QOUTA: 'value-marker-7f3a',
      kms_alias_quota: 'value-marker-9c1b',
    });
    t.extra.push(typos);
    const lines = typos.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const warned = lines.filter((l) => l.setting !== undefined);
    expect(warned.map((l) => [l.level, l.setting, l.closest, l.msg])).toEqual([
      [40, 'KMS_AUTHH', 'KMS_AUTH', 'unknown setting KMS_AUTHH is ignored; did you mean KMS_AUTH?'],
      [40, 'KMS_KEY_QOUTA', 'KMS_KEY_QUOTA', 'unknown setting KMS_KEY_QOUTA is ignored; did you mean KMS_KEY_QUOTA?'],
      [
        40,
        'kms_alias_quota',
        'KMS_ALIAS_QUOTA',
        'unknown setting kms_alias_quota is ignored; did you mean KMS_ALIAS_QUOTA?',
      ],
    ]);
    expect(typos.logs.text).not.toContain('value-marker');
    // The known settings of the test environment (KMS_MASTER_KEY, KMS_SWEEP_INTERVAL_MS) are not warned about,
    // and the typo changed nothing: authentication is still on.
    expectError(await rpc(typos.http, { Action: 'ListKeys' }, { credentials: null }), 400, 'IncompleteSignature');
    expect(t.logs.text).not.toContain('unknown setting');
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
    // Sent together, so that a loaded machine cannot spread them over several seconds.
    const [rest, ...results] = await Promise.all([
      restClient(limited.http, region).get('/v1/aliases'),
      ...Array.from({ length: 8 }, () => rpc(limited.http, { Action: 'ListAliases', RegionId: region })),
    ]);
    const throttled = results.filter((r) => r.status === 429);
    expect(throttled.length).toBeGreaterThanOrEqual(4);
    const body = expectError(throttled[0]!, 429, 'Rejected.Throttling');
    expect(body.Message).toBe('QPS Limit Exceeded');
    // The REST face shares the access key's budget: throttled too, or among the few let through.
    if (rest!.status !== 200) expectError(rest!, 429, 'Rejected.Throttling');
    // Health is never throttled.
    expect((await limited.http.get('/health/live')).status).toBe(200);
  });
});
