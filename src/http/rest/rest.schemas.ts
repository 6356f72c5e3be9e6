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
  .meta({
    id: 'ErrorEnvelope',
    description:
      'The Alibaba error envelope. 400: MissingParameter, InvalidParameter, Unsupported.Alias, ' +
      'UnsupportedOperation; 401: IncompleteSignature, SignatureDoesNotMatch, InvalidAccessKeyId.NotFound, ' +
      'InvalidTimeStamp.Expired, SignatureNonceUsed; 403: Forbidden.NoPermission; 404: Forbidden.KeyNotFound, ' +
      'Forbidden.AliasNotFound, InvalidApi.NotFound; 409: AliasAlreadyExists, Rejected.LimitExceeded, ' +
      'Rejected.Disabled, Rejected.PendingDeletion, Rejected.PendingImport, Rejected.StateModifiedFailed; ' +
      '429: Rejected.Throttling; 500: InternalFailure; 503: ServiceUnavailableTemporary.',
  });

export const errorResponses = {
  400: ErrorEnvelope,
  401: ErrorEnvelope,
  403: ErrorEnvelope,
  404: ErrorEnvelope,
  409: ErrorEnvelope,
  429: ErrorEnvelope,
  500: ErrorEnvelope,
  503: ErrorEnvelope,
};

export const KeyMetadataResponse = z.object({ RequestId, KeyMetadata });
const pageFields = { RequestId, PageNumber: z.number(), PageSize: z.number(), TotalCount: z.number() };
export const ListKeysResponse = z.object({ ...pageFields, Keys: z.array(KeySummary) });
export const AliasResponse = z.object({ RequestId, Alias });
export const ListAliasesResponse = z.object({ ...pageFields, Aliases: z.array(Alias) });

export const RegionQuery = z.object({
  RegionId: z.string().optional().describe('Region; also taken from the x-acs-region-id header'),
});
