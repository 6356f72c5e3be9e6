import { z } from 'zod';
import { Alias } from '../../domain/aliases/aliases.schemas.js';
import { KeyMetadata, KeySummary } from '../../domain/keys/keys.schemas.js';

// REST response bodies. They are allow-lists: the serializer drops any field not named
// here, so a column such as wrapped key material can never leak.

const RequestId = z.string().describe('Uppercase UUID, also sent as the x-acs-request-id header');

export const ErrorEnvelope = z
  .object({
    RequestId,
    HostId: z.string(),
    Code: z.string().meta({ example: 'Forbidden.AliasNotFound' }),
    Message: z.string().meta({ example: 'The specified Alias is not found.' }),
    Recommend: z.string(),
    AccessDeniedDetail: z
      .object({
        AuthAction: z.string(),
        AuthPrincipalType: z.string(),
        AuthPrincipalDisplayName: z.string(),
        NoPermissionType: z.enum(['ImplicitDeny', 'ExplicitDeny']),
      })
      .optional(),
  })
  .describe('The Alibaba error envelope');

export const errorResponses = {
  400: ErrorEnvelope.describe('MissingParameter, InvalidParameter, Unsupported.Alias, UnsupportedOperation'),
  401: ErrorEnvelope.describe('IncompleteSignature, SignatureDoesNotMatch, InvalidAccessKeyId.NotFound, ...'),
  403: ErrorEnvelope.describe('Forbidden.NoPermission'),
  404: ErrorEnvelope.describe('Forbidden.KeyNotFound, Forbidden.AliasNotFound, InvalidApi.NotFound'),
  409: ErrorEnvelope.describe('AliasAlreadyExists, Rejected.LimitExceeded, key state'),
  429: ErrorEnvelope.describe('Rejected.Throttling'),
  500: ErrorEnvelope.describe('InternalFailure'),
  503: ErrorEnvelope.describe('ServiceUnavailableTemporary'),
};

export const KeyMetadataResponse = z.object({ RequestId, KeyMetadata });
const pageFields = { RequestId, PageNumber: z.number(), PageSize: z.number(), TotalCount: z.number() };
export const ListKeysResponse = z.object({ ...pageFields, Keys: z.array(KeySummary) });
export const AliasResponse = z.object({ RequestId, Alias });
export const ListAliasesResponse = z.object({ ...pageFields, Aliases: z.array(Alias) });

export const RegionQuery = z.object({
  RegionId: z.string().optional().describe('Region; also taken from the x-acs-region-id header'),
});
