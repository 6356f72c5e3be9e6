import type { FastifyInstance } from 'fastify';
import sjson from 'secure-json-parse';
import { invalidParameter } from '../../errors.js';

// Both faces need the body's exact bytes (a V3 signature covers its SHA-256), so every
// parser keeps them in request.rawBody before parsing.

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
    /** The decoded pairs of an x-www-form-urlencoded body, in order; undefined for any other body. */
    formPairs?: Array<[string, string]>;
  }
}

export function registerBodyParsers(app: FastifyInstance) {
  app.decorateRequest('rawBody', undefined);
  app.decorateRequest('formPairs', undefined);

  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body as Buffer;
    if ((body as Buffer).length === 0) return done(null, undefined);
    try {
      done(
        null,
        sjson.parse((body as Buffer).toString('utf8'), undefined, { protoAction: 'error', constructorAction: 'error' }),
      );
    } catch {
      done(invalidParameter('Body'), undefined);
    }
  });

  // The RPC face: form parameters, decoded, in order, so repeats can be refused.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body as Buffer;
    request.formPairs = [...new URLSearchParams((body as Buffer).toString('utf8'))];
    // The pairs live in formPairs; as a body the form is opaque, so a JSON array can
    // never pass for form parameters.
    done(null, undefined);
  });
}
