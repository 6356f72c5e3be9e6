import { z } from 'zod';
import { RequestId } from '../../operations/presenters.js';

// The REST face's error responses: the Alibaba envelope, under every error status.

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
