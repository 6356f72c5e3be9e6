import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../config.js';
import type { ServiceDeps } from '../../domain/deps.js';
import { parseParams } from '../../domain/params.js';
import { invalidParameter } from '../../errors.js';
import type { Operation, RestRoute } from '../../operations/operation.js';
import { OPERATIONS } from '../../operations/registry.js';
import { buildContext } from '../caller.js';
import { errorResponses } from './rest.schemas.js';

// The REST face: every route of every operation in the registry. The handler gathers the
// path, query and body fields into one object and parses it with the operation's own
// input schema (the one the RPC face uses), so both faces report the same error for the
// same mistake, in the same order. The route schemas describe the route for openapi.yaml
// and shape the response; they do not validate a second time.

export interface RestDeps {
  services: ServiceDeps;
  config: Config;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);

export function registerRestRoutes(app: FastifyInstance, rest: RestDeps) {
  for (const operation of OPERATIONS) {
    for (const route of operation.rest) {
      registerRoute(app, rest, operation, route, route.url, undefined);
      // Raw slashes (/v1/aliases/alias/team/app) reach a wildcard route beside the
      // documented one, kept out of openapi.yaml; it behaves exactly like it.
      if (route.slashParam) {
        const wildcard = route.url.replace(`:${route.slashParam}`, '*');
        registerRoute(app, rest, operation, route, wildcard, route.slashParam);
      }
    }
  }
}

function registerRoute(
  app: FastifyInstance,
  { config }: RestDeps,
  operation: Operation,
  route: RestRoute<unknown>,
  url: string,
  wildcardParam: string | undefined,
) {
  const hide = wildcardParam !== undefined;
  app.route({
    method: route.method,
    url,
    schema: {
      hide,
      summary: route.summary,
      description: route.description,
      tags: route.tags,
      operationId: operation.name,
      security: [{ basic: [] }, { acs3: [] }],
      ...(route.params && !hide && { params: route.params }),
      ...(route.querystring && { querystring: route.querystring }),
      ...(route.body && { body: route.body }),
      response: {
        [route.status]: route.response ?? z.null().describe('No content'),
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
      const path = request.params as Record<string, string>;
      const pathFields = wildcardParam ? { [wildcardParam]: path['*'] } : path;
      const input = parseParams(operation.input, { ...body, ...query, ...pathFields });
      const headerTrusted = auth.scheme !== 'V3' || (auth.signedHeaders?.includes('x-acs-region-id') ?? false);
      const ctx = buildContext(request, auth, regionParam, headerTrusted, config.defaultRegion);
      const result = await operation.run(await request.server.servicesNow(auth), ctx, input);
      reply.code(route.status);
      if (route.status === 204) return reply.send();
      return reply.send({ RequestId: request.id, ...route.present?.(result) });
    },
  });
}
