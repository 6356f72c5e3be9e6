// One error type and one catalog. Every failure the service answers is a KmsError; the
// error handler (src/http/plugins/error-handler.ts) is the only place that turns it
// into the Alibaba envelope. Messages never echo input values.

export interface CatalogEntry {
  rpcStatus: number;
  restStatus: number;
  message: string;
}

export const catalog = {
  MissingParameter: { rpcStatus: 400, restStatus: 400, message: 'A required parameter is needed but not provided.' },
  InvalidParameter: { rpcStatus: 400, restStatus: 400, message: 'A parameter is not valid.' },
  'Unsupported.Alias': { rpcStatus: 400, restStatus: 400, message: 'Alias is not valid for this api.' },
  AliasAlreadyExists: { rpcStatus: 400, restStatus: 409, message: 'AliasName Already Exists.' },
  'Rejected.LimitExceeded': {
    rpcStatus: 400,
    restStatus: 409,
    message: 'The request was rejected because user create resource limit was exceeded.',
  },
  'Forbidden.KeyNotFound': { rpcStatus: 404, restStatus: 404, message: 'The specified Key is not found.' },
  'Forbidden.AliasNotFound': { rpcStatus: 404, restStatus: 404, message: 'The specified Alias is not found.' },
  'Rejected.Disabled': {
    rpcStatus: 409,
    restStatus: 409,
    message: 'The request was rejected because the key state is Disabled.',
  },
  'Rejected.PendingDeletion': {
    rpcStatus: 409,
    restStatus: 409,
    message: 'The request was rejected because the key state is PendingDeletion.',
  },
  'Rejected.PendingImport': {
    rpcStatus: 409,
    restStatus: 409,
    message: 'The request was rejected because the key state is PendingImport.',
  },
  'Rejected.StateModifiedFailed': { rpcStatus: 409, restStatus: 409, message: 'Keystate modified failed.' },
  UnsupportedOperation: { rpcStatus: 400, restStatus: 400, message: 'This operation is not supported.' },
  'InvalidAction.NotFound': {
    rpcStatus: 404,
    restStatus: 404,
    message: 'Specified api is not found, please check your url and method.',
  },
  DryRunOperationError: {
    rpcStatus: 400,
    restStatus: 400,
    message: 'The request would have succeeded if the DryRun parameter was not specified.',
  },
  UnsupportedHTTPMethod: { rpcStatus: 403, restStatus: 405, message: 'This http method is not supported.' },
  'InvalidApi.NotFound': {
    rpcStatus: 404,
    restStatus: 404,
    message: 'Specified api is not found, please check your url and method.',
  },
  'InvalidAccessKeyId.NotFound': { rpcStatus: 404, restStatus: 401, message: 'Specified access key is not found.' },
  IncompleteSignature: {
    rpcStatus: 400,
    restStatus: 401,
    message: 'The request signature does not conform to Aliyun standards.',
  },
  SignatureDoesNotMatch: {
    rpcStatus: 400,
    restStatus: 401,
    message: 'Specified signature is not matched with our calculation.',
  },
  'InvalidTimeStamp.Expired': {
    rpcStatus: 400,
    restStatus: 401,
    message: 'Specified time stamp or date value is expired.',
  },
  SignatureNonceUsed: { rpcStatus: 400, restStatus: 401, message: 'Specified signature nonce was used already.' },
  'Forbidden.NoPermission': {
    rpcStatus: 403,
    restStatus: 403,
    message: 'This operation is forbidden by permission system.',
  },
  'Rejected.Throttling': { rpcStatus: 429, restStatus: 429, message: 'QPS Limit Exceeded' },
  ServiceUnavailableTemporary: {
    rpcStatus: 503,
    restStatus: 503,
    message: 'The service is temporarily unavailable. Please try again later.',
  },
  InternalFailure: { rpcStatus: 500, restStatus: 500, message: 'An internal error occurred. Please try again later.' },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof catalog;

export class KmsError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message ?? catalog[code].message, options);
    this.name = 'KmsError';
    this.code = code;
    this.details = details;
  }

  get rpcStatus(): number {
    return catalog[this.code].rpcStatus;
  }

  get restStatus(): number {
    return catalog[this.code].restStatus;
  }
}

// Constructors for the errors whose message names a parameter. Only the parameter's
// name is ever put in a message, never its value.
export const missingParameter = (name: string) =>
  new KmsError('MissingParameter', `The parameter "${name}" is needed but not provided.`);

export const invalidParameter = (name: string) =>
  new KmsError('InvalidParameter', `The specified parameter "${name}" is not valid.`);

export const unsupportedOperation = (what: string) =>
  new KmsError('UnsupportedOperation', `This operation is not supported: ${what}.`);
