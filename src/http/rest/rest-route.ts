import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { type OperationName, type OperationResult, operations, type Services } from '../../domain/operations.js';
import { parseParams } from '../../domain/params.js';
import { invalidParameter } from '../../errors.js';
import { buildContext } from '../caller.js';
import { errorResponses } from './rest.schemas.js';

// One REST route = one operation. The handler gathers the path, query and body fields
// into one object and parses it with the operation's own input schema (the one the RPC
// face uses), so both faces report the same error for the same mistake, in the same
// order. The route schemas below describe the route for openapi.yaml and shape the
// response; they do not validate a second time.

export interface RestDeps {
  services: Services;
  config: Config;
}

interface RestRouteSpec<N extends OperationName> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  operation: N;
  summary: string;
  description?: string;
  tags: string[];
  status: 200 | 201 | 204;
  params?: z.ZodType;
  querystring?: z.ZodType;
  body?: z.ZodType;
  response?: z.ZodType;
  hide?: boolean;
  present?: (result: OperationResult<N>, request: FastifyRequest) => Record<string, unknown>;
  /** Extra fields derived from the request (e.g. a query flag), merged before parsing. */
  extra?: (request: FastifyRequest) => Record<string, unknown>;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);

export function restRoute<N extends OperationName>(app: FastifyInstance, deps: RestDeps, spec: RestRouteSpec<N>) {
  const operation = operations[spec.operation];
  app.route({
    method: spec.method,
    url: spec.url,
    schema: {
      hide: spec.hide,
      summary: spec.summary,
      description: spec.description,
      tags: spec.tags,
      operationId: spec.operation,
      security: [{ basic: [] }, { acs3: [] }],
      ...(spec.params && { params: spec.params }),
      ...(spec.querystring && { querystring: spec.querystring }),
      ...(spec.body && { body: spec.body }),
      response: {
        [spec.status]: spec.response ?? z.null().describe('No content'),
        ...errorResponses,
      },
    },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      // Credentials first (spec section 10), in the route itself: whatever form the request
      // target takes, no REST route runs unauthenticated.
      const auth = await request.server.authenticate(request, 'rest');
      if (request.formPairs) throw invalidParameter('Content-Type');
      const body = request.body;
      if (body !== undefined && !isPlainObject(body)) throw invalidParameter('Body');
      const query = { ...(request.query as Record<string, unknown>) };
      const regionParam = query.RegionId;
      delete query.RegionId;
      if (regionParam !== undefined && typeof regionParam !== 'string') throw invalidParameter('RegionId');
      const raw = { ...body, ...query, ...(spec.extra?.(request) ?? {}), ...(request.params as object) };
      const input = parseParams(operation.input, raw);
      const headerTrusted = auth.scheme !== 'V3' || (auth.signedHeaders?.includes('x-acs-region-id') ?? false);
      const ctx = buildContext(request, auth, regionParam, headerTrusted, deps.config.defaultRegion);
      // biome-ignore lint/suspicious/noExplicitAny: the spec pairs the operation with its own input
      const result = (await operation.run(deps.services, ctx, input as any)) as OperationResult<N>;
      reply.code(spec.status);
      if (spec.status === 204) return reply.send();
      return reply.send({ RequestId: request.id, ...spec.present?.(result, request) });
    },
  });
}
