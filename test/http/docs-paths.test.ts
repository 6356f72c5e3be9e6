import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/test-app.js';

// Paths under /docs/static that climb out of it (issue 14.5) answer 404 in the error
// envelope and are logged at info like any request, never as an error. They go over a raw
// socket so that no client tidies the path first.

const t = useTestApp();
let port = 0;

beforeAll(async () => {
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as net.AddressInfo).port;
});

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
    );
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      data += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n', 2);
      resolve({ status: Number(head.split(' ')[1]), body });
    });
  });
}

describe('docs static files', () => {
  it.each([
    '/docs/static/../../package.json',
    '/docs/static/%2e%2e/%2e%2e/package.json',
    '/docs/static/%2E%2E%2F%2E%2E%2Fpackage.json',
    '/docs/static/..%5c..%5cpackage.json',
    '/docs/static/....//....//package.json',
    '/docs/static/..\\..\\package.json',
  ])('%s → 404 in the envelope, no error logged', async (path) => {
    const before = t.logs.lines.length;
    const res = await get(path);
    expect(res.status).toBe(404);
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({ Code: 'InvalidApi.NotFound' });
    expect(Object.keys(body).sort()).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
    expect(res.body).not.toContain('"name"'); // not package.json
    const levels = t.logs.lines.slice(before).map((l) => JSON.parse(l).level as number);
    expect(levels.length).toBeGreaterThan(0);
    expect(levels.every((level) => level <= 30)).toBe(true);
  });

  it('still serves its own files', async () => {
    const res = await get('/docs/static/index.css');
    expect(res.status).toBe(200);
  });
});
