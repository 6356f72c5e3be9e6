import type { FastifyRequest } from 'fastify';

// SDK 1.x puts every parameter in the URL, Plaintext and Signature included: request
// logs show the path and the parameter names only, never a query string or a body.

export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  '*.AccessKeySecret',
  '*.accessKeySecret',
  '*.Plaintext',
  '*.Signature',
  '*.masterKey',
];

function paramNames(url: string): string[] {
  const i = url.indexOf('?');
  if (i === -1) return [];
  return [...new Set([...new URLSearchParams(url.slice(i + 1)).keys()])].slice(0, 50);
}

export const logSerializers = {
  req(req: FastifyRequest | { method?: string; url?: string }) {
    const url = req.url ?? '';
    return { method: req.method, path: url.split('?', 1)[0], paramNames: paramNames(url) };
  },
  res(res: { statusCode?: number }) {
    return { statusCode: res.statusCode };
  },
};
