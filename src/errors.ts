// One error type and one catalog. Every failure the service answers is a KmsError; the
// error handler (src/http/plugins/error-handler.ts) is the only place that turns it
// into the Alibaba envelope. Messages never echo input values.

export interface CatalogEntry {
  rpcStatus: number;
  restStatus: number;
  message: string;
  /** When the code is answered, for the /errors page. */
  when: string;
}

export const catalog = {
  MissingParameter: {
    rpcStatus: 400,
    restStatus: 400,
    message: 'A required parameter is needed but not provided.',
    when:
      'A required parameter is absent or empty: "The parameter "<Name>" is needed but not provided." On REST, a field ' +
      'of the request that misspells it is named.',
  },
  InvalidParameter: {
    rpcStatus: 400,
    restStatus: 400,
    message: 'A parameter is not valid.',
    when:
      'A parameter is malformed: "The specified parameter "<Name>" is not valid: <reason>", the reason saying what a ' +
      'valid value looks like (never the value sent). Also: a Version other than 2016-01-20, a name given twice, a ' +
      'malformed body, content type or path, a ciphertext that does not decrypt, and on REST a field the operation ' +
      'does not take (with the field it probably meant), checked after every missing and malformed parameter.',
  },
  'Unsupported.Alias': {
    rpcStatus: 400,
    restStatus: 400,
    message: 'Alias is not valid for this api.',
    when: 'An alias name or alias ARN where the operation takes only a key id or key ARN; found before any lookup.',
  },
  AliasAlreadyExists: {
    rpcStatus: 400,
    restStatus: 409,
    message: 'AliasName Already Exists.',
    when: 'CreateAlias of a name that exists in the account and region.',
  },
  'Rejected.LimitExceeded': {
    rpcStatus: 400,
    restStatus: 409,
    message: 'The request was rejected because user create resource limit was exceeded.',
    when:
      'CreateKey or CreateAlias past the quota of the account and region; the message names the setting that raises ' +
      'it (KMS_KEY_QUOTA, KMS_ALIAS_QUOTA). CreateKeyVersion sooner than KMS_KEY_VERSION_MIN_INTERVAL_S after the ' +
      "key's last rotation, or past KMS_KEY_VERSION_LIMIT versions.",
  },
  'Forbidden.KeyNotFound': {
    rpcStatus: 404,
    restStatus: 404,
    message: 'The specified Key is not found.',
    when: 'No such key for this caller (another account or region, or past its deletion date).',
  },
  'Forbidden.AliasNotFound': {
    rpcStatus: 404,
    restStatus: 404,
    message: 'The specified Alias is not found.',
    when: 'No such alias for this caller.',
  },
  'Rejected.Disabled': {
    rpcStatus: 409,
    restStatus: 409,
    message: 'The request was rejected because the key state is Disabled.',
    when: 'The key is Disabled and the operation needs it Enabled.',
  },
  'Rejected.PendingDeletion': {
    rpcStatus: 409,
    restStatus: 409,
    message: 'The request was rejected because the key state is PendingDeletion.',
    when: 'The key waits for its deletion.',
  },
  'Rejected.PendingImport': {
    rpcStatus: 409,
    restStatus: 409,
    message: 'The request was rejected because the key state is PendingImport.',
    when: 'The key (Origin EXTERNAL) waits for imported material.',
  },
  'Rejected.StateModifiedFailed': {
    rpcStatus: 409,
    restStatus: 409,
    message: 'Keystate modified failed.',
    when: 'The key state does not allow the change (e.g. CancelKeyDeletion of a key not pending deletion).',
  },
  'Rejected.UnsupportedOperation': {
    rpcStatus: 400,
    restStatus: 400,
    message: 'Unsupported operation.',
    when:
      "The key's spec, usage or origin does not allow the operation: a symmetric key, or an asymmetric key of the " +
      'other usage, given to AsymmetricSign, AsymmetricVerify, AsymmetricEncrypt or AsymmetricDecrypt; ' +
      'CreateKeyVersion or UpdateRotationPolicy on a key of Origin EXTERNAL; UpdateRotationPolicy on an asymmetric key.',
  },
  'Forbidden.KeyVersionNotFound': {
    rpcStatus: 404,
    restStatus: 404,
    message: 'The specified Key version is not found.',
    when:
      'A KeyVersionId (or SourceKeyVersionId) that is not a version of the key (DescribeKeyVersion, the asymmetric ' +
      'operations, ReEncrypt), malformed or differently cased ids included.',
  },
  UnsupportedOperation: {
    rpcStatus: 400,
    restStatus: 400,
    message: 'This operation is not supported.',
    when:
      'A parameter or value the emulator knows but has not built (a key spec, a key policy, a KMS instance...), ' +
      'or an action of the KMS API 2016-01-20 that is not built here (GetSecretValue...); the message names it. ' +
      'Also a symmetric-only operation (Encrypt, GenerateDataKey, GenerateAndExportDataKey, ReEncrypt to it) on an ' +
      'asymmetric key: "This action is not supported."',
  },
  'Unsupported.Origin': {
    rpcStatus: 400,
    restStatus: 400,
    message: 'This key origin is not valid for this api',
    when: 'GetParametersForImport, ImportKeyMaterial or DeleteKeyMaterial on a key whose Origin is not EXTERNAL.',
  },
  InvalidKeyMaterial: {
    rpcStatus: 400,
    restStatus: 400,
    message: 'key material is invalid',
    when:
      "ImportKeyMaterial: the material does not decrypt with the import token's key and algorithm, has the wrong " +
      'length for the key spec, or differs from the material imported before.',
  },
  InvalidImportToken: {
    rpcStatus: 400,
    restStatus: 400,
    message: 'import token is invalid',
    when: 'ImportKeyMaterial with an import token that is unknown, garbled, dropped or issued for another key.',
  },
  ExpiredImportToken: {
    rpcStatus: 400,
    restStatus: 400,
    message: 'import token is expired',
    when: 'ImportKeyMaterial with an import token past its TokenExpireTime (kept 7 days after it).',
  },
  'InvalidAction.NotFound': {
    rpcStatus: 404,
    restStatus: 404,
    message: 'Specified api is not found, please check your url and method.',
    when: 'An Action that is no action of the KMS API, with the action it probably meant when one is close.',
  },
  UnsupportedHTTPMethod: {
    rpcStatus: 403,
    restStatus: 405,
    message: 'This http method is not supported.',
    when: 'A method other than GET or POST on / (HEAD included): nothing runs.',
  },
  DryRunOperationError: {
    rpcStatus: 400,
    restStatus: 400,
    message: 'The request would have succeeded if the DryRun parameter was not specified.',
    when: 'DryRun=true on an operation that takes it (spec 20.1) and every check passed: nothing was done.',
  },
  'InvalidApi.NotFound': {
    rpcStatus: 404,
    restStatus: 404,
    message: 'Specified api is not found, please check your url and method.',
    when: 'An unknown REST path, or a method the path does not take.',
  },
  'InvalidAccessKeyId.NotFound': {
    rpcStatus: 404,
    restStatus: 401,
    message: 'Specified access key is not found.',
    when: 'An access key id that no identity has.',
  },
  IncompleteSignature: {
    rpcStatus: 400,
    restStatus: 401,
    message: 'The request signature does not conform to Aliyun standards.',
    when: 'Signature parameters or headers missing or malformed; on REST, no credentials at all.',
  },
  SignatureDoesNotMatch: {
    rpcStatus: 400,
    restStatus: 401,
    message: 'Specified signature is not matched with our calculation.',
    when: 'A wrong signature or Basic secret.',
  },
  'InvalidTimeStamp.Expired': {
    rpcStatus: 400,
    restStatus: 401,
    message: 'Specified time stamp or date value is expired.',
    when: 'A request time more than 15 minutes off.',
  },
  SignatureNonceUsed: {
    rpcStatus: 400,
    restStatus: 401,
    message: 'Specified signature nonce was used already.',
    when: 'A nonce replayed within 15 minutes.',
  },
  'Forbidden.NoPermission': {
    rpcStatus: 403,
    restStatus: 403,
    message: 'This operation is forbidden by permission system.',
    when: 'A RAM policy does not allow the action on the resource; AccessDeniedDetail says which.',
  },
  'Rejected.Throttling': {
    rpcStatus: 429,
    restStatus: 429,
    message: 'QPS Limit Exceeded',
    when: 'More requests per second than KMS_RATE_LIMIT_RPS for one access key.',
  },
  ServiceUnavailableTemporary: {
    rpcStatus: 503,
    restStatus: 503,
    message: 'The service is temporarily unavailable. Please try again later.',
    when: 'The database does not answer, or the request runs past KMS_REQUEST_TIMEOUT_MS.',
  },
  InternalFailure: {
    rpcStatus: 500,
    restStatus: 500,
    message: 'An internal error occurred. Please try again later.',
    when: 'Anything unexpected; the cause is logged, never answered.',
  },
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

/** A symmetric-only operation on an asymmetric key (spec 14.1): Alibaba's wording. */
export const actionNotSupported = () => new KmsError('UnsupportedOperation', 'This action is not supported.');
