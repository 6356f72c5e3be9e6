import net from 'node:net';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../helpers/test-app.js';

// A client that trickles its body a byte at a time (issue 14.4) gets the 503 envelope at
// KMS_REQUEST_TIMEOUT_MS and then the server closes the connection, instead of keeping it
// for as long as the client keeps sending. Bounded: two connections, a few seconds.

const TIMEOUT_MS = 500;
const t = useTestApp({ KMS_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS) });
let port = 0;

beforeAll(async () => {
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  port = (t.app.server.address() as net.AddressInfo).port;
});

interface Outcome {
  response: string;
  closedByServerAfterMs: number | null;
}

/** Sends a chunked POST and one byte every 200 ms until the server closes, for at most 5 s. */
function slowPost(path: string, contentType: string): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let response = '';
    let done = false;
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(
        `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ${contentType}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      );
    });
    const drip = setInterval(() => {
      if (!socket.destroyed && socket.writable) socket.write('1\r\na\r\n');
    }, 200);
    const finish = (closedByServerAfterMs: number | null) => {
      if (done) return;
      done = true;
      clearInterval(drip);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ response, closedByServerAfterMs });
    };
    const giveUp = setTimeout(() => finish(null), 5_000);
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      response += chunk;
    });
    socket.on('end', () => finish(Date.now() - started));
    socket.on('close', () => finish(Date.now() - started));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // A reset after the answer is the server closing too.
      if (response && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) finish(Date.now() - started);
      else if (!done) reject(err);
    });
  });
}

describe('a slow unauthenticated body', () => {
  it('gets 503 ServiceUnavailableTemporary and its connection closed by the server (RPC and REST)', async () => {
    const outcomes = await Promise.all([
      slowPost('/', 'application/x-www-form-urlencoded'),
      slowPost('/v1/keys', 'application/json'),
    ]);
    for (const { response, closedByServerAfterMs } of outcomes) {
      expect(response).toMatch(/^HTTP\/1\.1 503 /);
      const body = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
      expect(body.Code).toBe('ServiceUnavailableTemporary');
      expect(Object.keys(body).sort()).toEqual(['Code', 'HostId', 'Message', 'Recommend', 'RequestId']);
      expect(closedByServerAfterMs).not.toBeNull();
      expect(closedByServerAfterMs!).toBeLessThan(4_000);
    }
  });

  it('an app.inject request that times out gets its 503 too (its mock socket has nothing to close)', async () => {
    const body = new PassThrough();
    body.write('a');
    const res = await t.app.inject({
      method: 'POST',
      url: '/',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: body,
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().Code).toBe('ServiceUnavailableTemporary');
    await new Promise((r) => setTimeout(r, 1_500)); // past the close grace: nothing throws
    body.destroy();
  });
});
