import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { PageQuery } from '../../domain/aliases/aliases.schemas.js';
import type { KeyMetadata } from '../../domain/keys/keys.schemas.js';
import * as K from '../../domain/keys/keys.schemas.js';
import { KeyMetadataResponse, ListAliasesResponse, ListKeysResponse, RegionQuery } from './rest.schemas.js';
import { type RestDeps, restRoute } from './rest-route.js';

const tags = ['Keys'];
const KeyPath = z.object({ KeyId: z.string().describe('Key id or key ARN (URL-encoded)') });
const AnyKeyPath = z.object({
  KeyId: z.string().describe('Key id, key ARN, alias name or alias ARN (URL-encoded: alias%2Fapp)'),
});
const keyMetadata = (m: KeyMetadata) => ({ KeyMetadata: m });

export function registerKeyRoutes(app: FastifyInstance, deps: RestDeps) {
  restRoute(app, deps, {
    method: 'POST',
    url: '/v1/keys',
    operation: 'CreateKey',
    summary: 'Create a key (CreateKey)',
    tags,
    status: 201,
    querystring: RegionQuery,
    body: K.CreateKeyInput.partial().optional(),
    response: KeyMetadataResponse,
    present: keyMetadata,
  });
  restRoute(app, deps, {
    method: 'GET',
    url: '/v1/keys',
    operation: 'ListKeys',
    summary: 'List keys (ListKeys)',
    tags,
    status: 200,
    querystring: RegionQuery.extend(K.ListKeysInput.omit({ Filters: true }).shape),
    response: ListKeysResponse,
    present: (p) => ({ PageNumber: p.PageNumber, PageSize: p.PageSize, TotalCount: p.TotalCount, Keys: p.items }),
  });
  restRoute(app, deps, {
    method: 'GET',
    url: '/v1/keys/:KeyId',
    operation: 'DescribeKey',
    summary: 'Describe a key by any identifier (DescribeKey)',
    tags,
    status: 200,
    params: AnyKeyPath,
    querystring: RegionQuery,
    response: KeyMetadataResponse,
    present: keyMetadata,
  });
  restRoute(app, deps, {
    method: 'PATCH',
    url: '/v1/keys/:KeyId',
    operation: 'UpdateKeyDescription',
    summary: "Change a key's description (UpdateKeyDescription)",
    tags,
    status: 200,
    params: KeyPath,
    querystring: RegionQuery,
    body: K.UpdateKeyDescriptionBody,
    response: KeyMetadataResponse,
    present: keyMetadata,
  });
  const lifecycle = [
    ['enable', 'EnableKey', 'Enable a key (EnableKey)'],
    ['disable', 'DisableKey', 'Disable a key (DisableKey)'],
    ['cancel-deletion', 'CancelKeyDeletion', 'Cancel a scheduled deletion (CancelKeyDeletion)'],
  ] as const;
  for (const [verb, operation, summary] of lifecycle) {
    restRoute(app, deps, {
      method: 'POST',
      url: `/v1/keys/:KeyId/${verb}`,
      operation,
      summary,
      tags,
      status: 200,
      params: KeyPath,
      querystring: RegionQuery,
      response: KeyMetadataResponse,
      present: keyMetadata,
    });
  }
  restRoute(app, deps, {
    method: 'POST',
    url: '/v1/keys/:KeyId/schedule-deletion',
    operation: 'ScheduleKeyDeletion',
    summary: 'Schedule the deletion of a key (ScheduleKeyDeletion)',
    tags,
    status: 200,
    params: KeyPath,
    querystring: RegionQuery,
    body: K.ScheduleKeyDeletionBody,
    response: KeyMetadataResponse,
    present: keyMetadata,
  });
  restRoute(app, deps, {
    method: 'GET',
    url: '/v1/keys/:KeyId/aliases',
    operation: 'ListAliasesByKeyId',
    summary: "List a key's aliases (ListAliasesByKeyId)",
    tags: ['Aliases'],
    status: 200,
    params: KeyPath,
    querystring: RegionQuery.extend(PageQuery.shape),
    response: ListAliasesResponse,
    present: (p) => ({ PageNumber: p.PageNumber, PageSize: p.PageSize, TotalCount: p.TotalCount, Aliases: p.items }),
  });
}
