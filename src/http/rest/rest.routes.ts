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
//
// REST requests are our own design, so a field the operation does not declare is refused
// (parseParams with unknownFields: 'refuse'), as is a field given in two places; RegionId
// is the one query parameter every route takes besides its operation's fields.

export interface RestDeps {
  services: ServiceDeps;
  config: Config;
}

/** A body schema as openapi.yaml shows it: no fields besides its own (additionalProperties: false). */
function closed(body: z.ZodType): z.ZodType {
  if (body instanceof z.ZodObject) return body.strict();
  if (body instanceof z.ZodOptional && body.unwrap() instanceof z.ZodObject) {
    return (body.unwrap() as z.ZodObject).strict().optional();
  }
  return body;
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

/** The route's schema for openapi.yaml and the serializer (never for validation). */
function routeSchema(operation: Operation, route: RestRoute<unknown>, hide: boolean) {
  return {
    hide,
    summary: route.summary,
    description: route.description,
    tags: route.tags,
    operationId: operation.name,
    security: [{ basic: [] }, { acs3: [] }] as Array<Record<string, string[]>>,
    ...(route.params && !hide && { params: route.params }),
    ...(route.querystring && { querystring: route.querystring }),
    ...(route.body && { body: closed(route.body) }),
    response: {
      [route.status]: route.response ?? z.null().describe('No content'),
      ...errorResponses,
    },
  };
}

/**
 * The request's fields from the body, the query and the path, each given once, and its
 * RegionId (the one query parameter every route takes), refused in a body.
 */
function requestFields(request: FastifyRequest, wildcardParam: string | undefined) {
  if (request.formPairs) throw invalidParameter('Content-Type');
  const body = request.body;
  if (body !== undefined && !isPlainObject(body)) throw invalidParameter('Body');
  const query = { ...(request.query as Record<string, unknown>) };
  const regionParam = query.RegionId;
  delete query.RegionId;
  if (regionParam !== undefined && typeof regionParam !== 'string') {
    throw invalidParameter('RegionId', 'it is given more than once');
  }
  if (body !== undefined && Object.hasOwn(body, 'RegionId')) {
    throw invalidParameter('RegionId', 'on REST the region goes in the query string or the x-acs-region-id header');
  }
  const path = request.params as Record<string, string>;
  const pathFields = wildcardParam ? { [wildcardParam]: path['*'] } : path;
  const places = [body ?? {}, query, pathFields];
  for (const [i, place] of places.entries()) {
    const twice = Object.keys(place).find((name) => places.some((other, j) => j > i && Object.hasOwn(other, name)));
    if (twice !== undefined) throw invalidParameter(twice, 'it is given more than once');
  }
  return { regionParam, fields: { ...body, ...query, ...pathFields } };
}

function registerRoute(
  app: FastifyInstance,
  { config }: RestDeps,
  operation: Operation,
  route: RestRoute<unknown>,
  url: string,
  wildcardParam: string | undefined,
) {
  app.route({
    method: route.method,
    url,
    schema: routeSchema(operation, route, wildcardParam !== undefined),
    // Named before validation, so request logs and metrics carry it even for a 400.
    onRequest: async (request: FastifyRequest) => {
      request.kmsOperation = operation.name;
    },
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      // Credentials first (spec section 10), in the route itself: whatever form the request
      // target takes, no REST route runs unauthenticated.
      const auth = await request.server.authenticate(request, 'rest');
      const { regionParam, fields } = requestFields(request, wildcardParam);
      // Region before the operation's parameters (spec 20.7, step 3b).
      const headerTrusted = auth.scheme !== 'V3' || (auth.signedHeaders?.includes('x-acs-region-id') ?? false);
      const ctx = buildContext(request, auth, regionParam, headerTrusted, config);
      const input = parseParams(route.input ?? operation.input, fields, { unknownFields: 'refuse' });
      const result = await operation.run(await request.server.servicesNow(auth), ctx, input);
      reply.code(route.status);
      if (route.status === 204) return reply.send();
      return reply.send({ RequestId: request.id, ...route.present?.(result) });
    },
  });
}
