import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Alias } from '../../domain/aliases/aliases.schemas.js';
import * as A from '../../domain/aliases/aliases.schemas.js';
import { AliasResponse, ListAliasesResponse, RegionQuery } from './rest.schemas.js';
import { type RestDeps, restRoute } from './rest-route.js';

const tags = ['Aliases'];
const AliasPath = z.object({
  AliasName: z.string().describe('Alias name, URL-encoded (alias%2Fapp); raw slashes are accepted too'),
});
const alias = (a: Alias) => ({ Alias: a });
// Raw slashes (/v1/aliases/alias/team/app) reach a wildcard route, kept out of the
// OpenAPI document; it behaves exactly like the documented {AliasName} route.
const wildcardName = (request: FastifyRequest) => ({ AliasName: (request.params as { '*': string })['*'] });

export function registerAliasRoutes(app: FastifyInstance, deps: RestDeps) {
  restRoute(app, deps, {
    method: 'POST',
    url: '/v1/aliases',
    operation: 'CreateAlias',
    summary: 'Create an alias (CreateAlias)',
    tags,
    status: 201,
    querystring: RegionQuery,
    body: A.CreateAliasInput,
    response: AliasResponse,
    present: alias,
  });
  restRoute(app, deps, {
    method: 'GET',
    url: '/v1/aliases',
    operation: 'ListAliases',
    summary: 'List aliases in byte order of their names (ListAliases)',
    tags,
    status: 200,
    querystring: RegionQuery.extend(A.PageQuery.shape),
    response: ListAliasesResponse,
    present: (p) => ({ PageNumber: p.PageNumber, PageSize: p.PageSize, TotalCount: p.TotalCount, Aliases: p.items }),
  });
  for (const [url, hide] of [
    ['/v1/aliases/:AliasName', false],
    ['/v1/aliases/*', true],
  ] as const) {
    const params = hide ? undefined : AliasPath;
    const extra = hide ? wildcardName : undefined;
    restRoute(app, deps, {
      method: 'GET',
      url,
      hide,
      operation: 'GetAlias',
      summary: 'Read one alias',
      tags,
      status: 200,
      params,
      extra,
      querystring: RegionQuery,
      response: AliasResponse,
      present: alias,
    });
    restRoute(app, deps, {
      method: 'PUT',
      url,
      hide,
      operation: 'UpdateAlias',
      summary: 'Point an alias at another key (UpdateAlias)',
      tags,
      status: 200,
      params,
      extra,
      querystring: RegionQuery,
      body: A.UpdateAliasBody,
      response: AliasResponse,
      present: alias,
    });
    restRoute(app, deps, {
      method: 'DELETE',
      url,
      hide,
      operation: 'DeleteAlias',
      summary: 'Delete an alias; its key is untouched (DeleteAlias)',
      tags,
      status: 204,
      params,
      extra,
      querystring: RegionQuery,
    });
  }
}
