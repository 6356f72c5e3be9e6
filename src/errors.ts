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

/**
 * A documented message with the reason appended, in the one form spec section 5 allows: the
 * documented text without its final period, then `: `, then the reason. A reason says what
 * a valid request looks like; it never holds a value the request sent.
 */
export function withReason(message: string, reason: string | undefined): string {
  return reason ? `${message.replace(/\.$/, '')}: ${reason}` : message;
}

/** A code's documented message with a reason. */
export const errorWithReason = (code: ErrorCode, reason: string) =>
  new KmsError(code, withReason(catalog[code].message, reason));

// Constructors for the errors whose message names a parameter. Only the parameter's name
// is ever put in a message, never its value; a name from the request is cut at 64 characters.
const shown = (name: string) => (name.length > 64 ? `${name.slice(0, 64)}…` : name);

export const missingParameter = (name: string, reason?: string) =>
  new KmsError('MissingParameter', withReason(`The parameter "${shown(name)}" is needed but not provided.`, reason));

export const invalidParameter = (name: string, reason?: string) =>
  new KmsError('InvalidParameter', withReason(`The specified parameter "${shown(name)}" is not valid.`, reason));

export const unsupportedOperation = (reason: string) => errorWithReason('UnsupportedOperation', reason);
