import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { nearMiss } from '../../closest-name.js';
import type { Config } from '../../config.js';
import type { ServiceDeps } from '../../domain/deps.js';
import { parseParams } from '../../domain/params.js';
import { errorWithReason, invalidParameter, KmsError, missingParameter, unsupportedOperation } from '../../errors.js';
import { RPC_ACTIONS } from '../../operations/registry.js';
import { buildContext, type Pairs, requestQueryPairs } from '../caller.js';
import { hostOf } from '../envelope.js';
import { KMS_API_ACTIONS } from './kms-actions.js';

// The Alibaba-compatible RPC endpoint: GET or POST on "/", parameters from the query
// string and a form body, merged. Order of checks (spec section 10): transport,
// credentials, action and version, then the operation's own parameters.

export const API_VERSION = '2016-01-20';

function toRecord(pairs: Pairs): Record<string, string> {
  const params: Record<string, string> = Object.create(null);
  for (const [name, value] of pairs) {
    if (Object.hasOwn(params, name)) throw invalidParameter(name, 'it is given more than once');
    params[name] = value;
  }
  return params;
}

/**
 * An action the emulator does not answer: an action of the KMS API that is not built here is
 * UnsupportedOperation naming it; any other name is InvalidAction.NotFound, with the action
 * it probably meant (only a name from the table is ever put in the message).
 */
export function unknownAction(name: string): KmsError {
  if (KMS_API_ACTIONS.has(name)) return unsupportedOperation(`the action "${name}" is not built in this emulator`);
  const meant = nearMiss(name, KMS_API_ACTIONS);
  return meant
    ? errorWithReason('InvalidAction.NotFound', `did you mean "${meant}"?`)
    : new KmsError('InvalidAction.NotFound');
}

/**
 * `GET /` with nothing at all (no parameters, no credentials, no action header): a browser.
 * It gets a pointer to the documentation rather than a signature error.
 */
function isBrowserVisit(request: FastifyRequest): boolean {
  return (
    request.method === 'GET' &&
    request.headers.authorization === undefined &&
    request.headers['x-acs-action'] === undefined &&
    requestQueryPairs(request).length === 0
  );
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return typeof v === 'string' ? v : undefined;
}

export function registerRpcRoutes(app: FastifyInstance, deps: { services: ServiceDeps; config: Config }) {
  async function handle(request: FastifyRequest, reply: FastifyReply) {
    if (isBrowserVisit(request)) {
      const base = `${request.protocol}://${hostOf(request)}`;
      return reply.type('application/json;charset=utf-8').send(
        JSON.stringify({
          RequestId: request.id,
          Message:
            'KMS emulator. This endpoint takes requests signed by the Alibaba Cloud SDKs (KMS API 2016-01-20). ' +
            'The REST face is described at /docs; setup and configuration are in the README.',
          Docs: `${base}/docs`,
          Errors: `${base}/errors`,
          Readme: 'README.md',
        }),
      );
    }
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
    if (!operation?.rpc) throw unknownAction(actionName);
    request.kmsOperation = operation.name;
    if (version !== API_VERSION) throw invalidParameter('Action or Version', `Version must be ${API_VERSION}`);

    // Region before the operation's parameters (spec 20.7, step 3b).
    const headerTrusted = v3 && (auth.signedHeaders?.includes('x-acs-region-id') ?? false);
    const ctx = buildContext(request, auth, params.RegionId, headerTrusted, deps.config);
    const input = parseParams(operation.input, params);
    const result = await operation.run(await request.server.servicesNow(auth), ctx, input);
    return reply
      .type('application/json;charset=utf-8')
      .send(JSON.stringify({ RequestId: request.id, ...operation.rpc(result) }));
  }

  // Fastify would answer HEAD with the GET handler (exposeHeadRoutes): on `/` that runs the
  // action, so HEAD is refused like every method other than GET and POST.
  app.route({ method: ['GET', 'POST'], url: '/', exposeHeadRoute: false, schema: { hide: true }, handler: handle });
  app.route({
    method: ['HEAD', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url: '/',
    schema: { hide: true },
    handler: async () => {
      throw new KmsError('UnsupportedHTTPMethod');
    },
  });
}
