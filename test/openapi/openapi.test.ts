import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { validate } from '@readme/openapi-parser';
import openapiTS, { astToString } from 'openapi-typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { generateOpenApi, OPENAPI_PATH } from '../../scripts/openapi.js';
import { basicAuth, DEV_CREDENTIALS } from '../helpers/clients.js';
import { type TestApp, uniqueRegion, useTestApp } from '../helpers/test-app.js';

// openapi.yaml is generated from the route schemas: it must match the routes, be a valid
// OpenAPI 3.1 document, and drive a generated client through a full round trip.

const here = path.dirname(fileURLToPath(import.meta.url));
const t: TestApp = useTestApp();
let committed: string;

beforeAll(() => {
  committed = fs.readFileSync(OPENAPI_PATH, 'utf8');
});

describe('openapi.yaml', () => {
  it('matches what the routes produce (run `npm run openapi` after changing a route)', async () => {
    expect(await generateOpenApi()).toBe(committed);
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await validate(OPENAPI_PATH);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(YAML.parse(committed).openapi).toBe('3.1.0');
  });

  it('describes every REST route with its errors and security, and nothing else', () => {
    const doc = YAML.parse(committed);
    const operations = Object.entries(
      doc.paths as Record<
        string,
        Record<string, { operationId: string; responses: Record<string, unknown>; security: unknown[] }>
      >,
    ).flatMap(([p, methods]) => Object.entries(methods).map(([m, op]) => ({ route: `${m.toUpperCase()} ${p}`, op })));
    const routes = operations.map((o) => o.route);
    for (const r of [
      'POST /v1/keys',
      'GET /v1/keys',
      'GET /v1/keys/{KeyId}',
      'PATCH /v1/keys/{KeyId}',
      'POST /v1/keys/{KeyId}/enable',
      'POST /v1/keys/{KeyId}/disable',
      'POST /v1/keys/{KeyId}/schedule-deletion',
      'POST /v1/keys/{KeyId}/cancel-deletion',
      'GET /v1/keys/{KeyId}/aliases',
      'POST /v1/aliases',
      'GET /v1/aliases',
      'GET /v1/aliases/{AliasName}',
      'PUT /v1/aliases/{AliasName}',
      'DELETE /v1/aliases/{AliasName}',
    ]) {
      expect(routes).toContain(r);
    }
    // Besides the REST face, only the admin API (spec 21.2), under its own tag.
    expect(routes.filter((r) => !r.includes(' /v1/'))).toEqual([
      'GET /_emulator/clock',
      'POST /_emulator/clock',
      'POST /_emulator/reset',
      'POST /_emulator/accounts',
    ]);
    for (const { route, op } of operations) {
      const tags = (op as unknown as { tags: string[] }).tags;
      expect(tags.includes('Emulator'), route).toBe(route.includes(' /_emulator/'));
    }
    expect(routes.some((r) => r.includes('*'))).toBe(false);
    for (const { op } of operations) {
      for (const status of ['400', '401', '403', '404', '409', '500', '503'])
        expect(op.responses[status]).toBeDefined();
      expect(op.security).toEqual([{ basic: [] }, { acs3: [] }]);
    }
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['basic', 'acs3']);
    // Response schemas are allow-lists; no answer describes key material (only the
    // import's request body carries it, wrapped by the caller: spec 17.3).
    const answers = JSON.stringify(operations.map(({ op }) => (op as unknown as { responses: unknown }).responses));
    expect(answers).not.toMatch(/wrapped|key_?material|"material"/i);
    expect(JSON.stringify(doc.components.schemas ?? {})).not.toMatch(/wrapped|key_?material|"material"/i);
  });
});

describe('a client generated from openapi.yaml', () => {
  beforeAll(async () => {
    const ast = await openapiTS(new URL(`file://${OPENAPI_PATH}`));
    fs.mkdirSync(path.join(here, 'generated'), { recursive: true });
    fs.writeFileSync(path.join(here, 'generated', 'kms-api.d.ts'), astToString(ast));
    await t.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(() => fs.rmSync(path.join(here, 'generated'), { recursive: true, force: true }));

  it('type-checks against the generated types', async () => {
    const tsc = path.resolve(here, '../../node_modules/typescript/bin/tsc');
    const run = promisify(execFile)(process.execPath, [tsc, '-p', path.join(here, 'tsconfig.json')]);
    await expect(run).resolves.toBeDefined();
  }, 120_000);

  it('runs a full key and alias round trip, including an error', async () => {
    // Imported by a computed path so the main type-check (which runs before the types are
    // generated) does not follow it; the test above type-checks it against them.
    const modulePath = './client-roundtrip.js';
    const { roundTrip } = (await import(modulePath)) as {
      roundTrip: (baseUrl: string, authorization: string, region: string) => Promise<string[]>;
    };
    const { port } = t.app.server.address() as { port: number };
    const steps = await roundTrip(`http://127.0.0.1:${port}`, basicAuth(DEV_CREDENTIALS), uniqueRegion());
    expect(steps).toHaveLength(12);
  });
});
