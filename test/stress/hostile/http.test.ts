import { describe, it } from 'vitest';
import { basicHeader, useHostileApp } from './support.js';

// Requests the HTTP parser or the router refuse (malformed HTTP, odd methods and request
// targets, absolute-form targets, no Host header) still get the error envelope.

const { refuseAll, region: REGION } = useHostileApp('http');

describe('hostile input: malformed HTTP', () => {
  it('requests the HTTP parser or the router refuse still get the envelope', async () => {
    const host = `Host: 127.0.0.1\r\n`;
    await refuseAll([
      { name: 'header overflow (70 KiB URL)', raw: `GET /?a=${'x'.repeat(70_000)} HTTP/1.1\r\n${host}\r\n` },
      { name: 'NUL in a header value', raw: `GET / HTTP/1.1\r\n${host}X-A: a\u0000b\r\n\r\n` },
      { name: 'Content-Length not a number', raw: `POST / HTTP/1.1\r\n${host}Content-Length: abc\r\n\r\n` },
      {
        name: 'Content-Length and chunked',
        raw: `POST /v1/keys HTTP/1.1\r\n${host}${basicHeader()}Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
      },
      {
        name: 'chunked body over the limit',
        raw: `POST /v1/keys HTTP/1.1\r\n${host}${basicHeader()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n${'{'.padEnd(2048, ' ')}\r\n0\r\n\r\n`,
      },
      { name: 'not HTTP at all', raw: 'GARBAGE\r\n\r\n' },
      { name: 'TRACE /', raw: `TRACE / HTTP/1.1\r\n${host}\r\n` },
      { name: 'PROPFIND /v1/keys', raw: `PROPFIND /v1/keys HTTP/1.1\r\n${host}${basicHeader()}\r\n` },
      { name: 'OPTIONS *', raw: `OPTIONS * HTTP/1.1\r\n${host}\r\n` },
      { name: 'relative request target', raw: `GET v1/keys HTTP/1.1\r\n${host}${basicHeader()}\r\n` },
    ]);
  });

  it('an absolute-form request target (GET http://host/v1/keys) is authenticated and answered like its path', async () => {
    // The router matches the path of an absolute-form target; the REST authentication
    // hook must not be skipped for it (today the handler then fails on a missing caller).
    await refuseAll([
      {
        name: 'absolute-form REST target, no credentials',
        raw: `GET http://evil.example/v1/keys?RegionId=${REGION} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
      },
      {
        name: 'absolute-form REST target, wrong secret',
        raw: `GET http://evil.example/v1/keys HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic ${Buffer.from('LTAI5tKmsEmulatorDevKey:wrong').toString('base64')}\r\n\r\n`,
      },
      {
        name: 'absolute-form REST create, no credentials',
        raw: `POST http://evil.example/v1/aliases?RegionId=${REGION} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
      },
    ]);
  });

  it('the HTTP/1.1 request without a Host header gets the envelope', async () => {
    await refuseAll([{ name: 'no Host header', raw: `GET /v1/keys HTTP/1.1\r\n${basicHeader()}\r\n` }]);
  });
});
