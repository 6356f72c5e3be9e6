import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/http/plugins/logging.js';
import { prettyLine } from '../../../src/http/plugins/pretty-log.js';
import { basicAuth, DEV_CREDENTIALS } from '../../helpers/clients.js';
import { LogCapture, testEnv, useTestApp } from '../../helpers/test-app.js';

// Logs for people: readable lines on a terminal or with LOG_FORMAT=pretty (the service's
// own formatter, no pino-pretty), JSON otherwise; REST request lines name the operation.

const json = (o: Record<string, unknown>) =>
  JSON.stringify({ level: 30, time: Date.UTC(2026, 0, 2, 3, 4, 5, 6), pid: 1, hostname: 'h', ...o });

describe('prettyLine', () => {
  it('reads a request line like an access log, with the operation and the error code', () => {
    const line = prettyLine(
      json({
        reqId: 'req-1',
        req: { method: 'POST', path: '/v1/aliases', paramNames: ['RegionId'] },
        statusCode: 409,
        code: 'Conflict.AliasName',
        operation: 'CreateAlias',
        responseTimeMs: 3.25,
        msg: 'request answered',
      }),
      false,
    );
    expect(line).toBe(
      '03:04:05.006 INFO  POST /v1/aliases 409 CreateAlias Conflict.AliasName 3.25ms reqId=req-1 params=RegionId\n',
    );
  });

  it('puts the fields of a message with many on their own lines, quoting values with spaces', () => {
    const line = prettyLine(
      json({
        msg: 'KMS emulator ready at http://127.0.0.1:8080',
        url: 'http://127.0.0.1:8080',
        database: 'in-memory PGlite',
        dataDir: 'none',
        accessKeyId: 'AK',
        docs: 'http://127.0.0.1:8080/docs',
      }),
      false,
    );
    expect(line).toBe(
      '03:04:05.006 INFO  KMS emulator ready at http://127.0.0.1:8080\n' +
        '    url=http://127.0.0.1:8080\n    database="in-memory PGlite"\n    dataDir=none\n    accessKeyId=AK\n' +
        '    docs=http://127.0.0.1:8080/docs\n',
    );
  });

  it('shows an error message and its stack, colours only when asked, and passes non-JSON through', () => {
    const line = prettyLine(
      json({ level: 50, msg: 'boom', err: { message: 'bad', stack: 'Error: bad\n    at x' } }),
      false,
    );
    expect(line).toBe('03:04:05.006 ERROR boom err=bad\nError: bad\n    at x\n');
    expect(prettyLine(json({ msg: 'hi' }), true)).toContain('\x1b[32mINFO ');
    expect(prettyLine(json({ msg: 'hi' }), false)).not.toContain('\x1b');
    expect(prettyLine('not json', false)).toBe('not json\n');
  });
});

describe('createLogger', () => {
  it('writes JSON to a stream by default and readable lines with LOG_FORMAT=pretty, secrets redacted in both', () => {
    for (const [format, isJson] of [
      [undefined, true],
      ['json', true],
      ['pretty', false],
    ] as const) {
      const out = new LogCapture();
      const logger = createLogger(loadConfig(testEnv(format ? { LOG_FORMAT: format } : {})), out);
      logger.info({ payload: { Plaintext: 'marker-plaintext' } }, 'hello');
      expect(out.text.startsWith('{'), `format ${format}`).toBe(isJson);
      expect(out.text).toContain('hello');
      expect(out.text).not.toContain('marker-plaintext');
    }
  });

  it('refuses an unknown LOG_FORMAT', () => {
    expect(() => loadConfig(testEnv({ LOG_FORMAT: 'xml' }))).toThrow(/LOG_FORMAT/);
  });
});

describe('request lines', () => {
  const t = useTestApp();
  const auth = basicAuth(DEV_CREDENTIALS);
  const answered = () =>
    t.logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request answered');

  it('name the operation on REST as on RPC, for a success and for a request refused by validation', async () => {
    const created = await t.http.post('/v1/keys').set('authorization', auth).send({ Description: 'log test' });
    expect(created.status).toBe(201);
    const keyId = created.body.KeyMetadata.KeyId as string;
    await t.http.get(`/v1/keys/${keyId}`).set('authorization', auth).expect(200);
    const refused = await t.http.post('/v1/aliases').set('authorization', auth).send({ AliasName: 42 });
    expect(refused.status).toBe(400);

    const lines = answered();
    expect(lines.find((l) => (l.req as { path: string }).path === '/v1/keys')).toMatchObject({
      statusCode: 201,
      operation: 'CreateKey',
    });
    expect(lines.find((l) => (l.req as { path: string }).path === `/v1/keys/${keyId}`)).toMatchObject({
      statusCode: 200,
      operation: 'DescribeKey',
    });
    expect(lines.find((l) => (l.req as { path: string }).path === '/v1/aliases')).toMatchObject({
      statusCode: 400,
      operation: 'CreateAlias',
    });
  });
});
