import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import type { ServiceDeps } from '../../domain/deps.js';
import { parseParams } from '../../domain/params.js';
import { invalidParameter, KmsError, missingParameter } from '../../errors.js';
import { RPC_ACTIONS } from '../../operations/registry.js';
import { buildContext, type Pairs, requestQueryPairs } from '../caller.js';

// The Alibaba-compatible RPC endpoint: GET or POST on "/", parameters from the query
// string and a form body, merged. Order of checks (spec section 10): transport,
// credentials, action and version, then the operation's own parameters.

export const API_VERSION = '2016-01-20';

function toRecord(pairs: Pairs): Record<string, string> {
  const params: Record<string, string> = Object.create(null);
  for (const [name, value] of pairs) {
    if (Object.hasOwn(params, name)) throw invalidParameter(name);
    params[name] = value;
  }
  return params;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return typeof v === 'string' ? v : undefined;
}

export function registerRpcRoutes(app: FastifyInstance, deps: { services: ServiceDeps; config: Config }) {
  async function handle(request: FastifyRequest, reply: FastifyReply) {
    // Transport first: the RPC face takes a query string and, on POST, a form body only.
    if (request.body !== undefined) throw invalidParameter('Content-Type');
    const auth = await request.server.authenticate(request, 'rpc');
    const form = request.formPairs ?? [];
    const params = toRecord([...requestQueryPairs(request), ...form]);

    // What is not signed is not trusted: a V1 request names its action and version only
    // in its (signed) parameters, a V3 request only in its signed headers.
    const v3 = auth.scheme === 'V3';
    const actionName = v3 ? header(request, 'x-acs-action') : params.Action;
    const version = v3 ? header(request, 'x-acs-version') : params.Version;
    if (!actionName) throw missingParameter('Action');
    const operation = RPC_ACTIONS.get(actionName);
    if (!operation?.rpc) throw new KmsError('InvalidAction.NotFound');
    request.kmsOperation = operation.name;
    if (version !== API_VERSION)
      throw new KmsError('InvalidParameter', 'The specified parameter "Action or Version" is not valid.');

    const input = parseParams(operation.input, params);
    const headerTrusted = v3 && (auth.signedHeaders?.includes('x-acs-region-id') ?? false);
    const ctx = buildContext(request, auth, params.RegionId, headerTrusted, deps.config.defaultRegion);
    const result = await operation.run(await request.server.servicesNow(auth), ctx, input);
    return reply
      .type('application/json;charset=utf-8')
      .send(JSON.stringify({ RequestId: request.id, ...operation.rpc(result) }));
  }

  app.route({ method: ['GET', 'POST'], url: '/', schema: { hide: true }, handler: handle });
  app.route({
    method: ['PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url: '/',
    schema: { hide: true },
    handler: async () => {
      throw new KmsError('UnsupportedHTTPMethod');
    },
  });
}
