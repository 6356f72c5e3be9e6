import { type ErrorCode, KmsError } from '../../errors.js';

// The one key-state guard (spec section 3). Every operation that acts on a key asks
// stateRefusal with its own name (statements that decide in SQL take refusedStates); the
// table below is the whole policy.

export const KEY_STATES = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'] as const;
export type KeyState = (typeof KEY_STATES)[number];

type Refusals = Partial<Record<KeyState, ErrorCode>>;

const CRYPTO: Refusals = {
  Disabled: 'Rejected.Disabled',
  PendingDeletion: 'Rejected.PendingDeletion',
  PendingImport: 'Rejected.PendingImport',
};

const RULES = {
  Encrypt: CRYPTO,
  Decrypt: CRYPTO,
  GenerateDataKey: CRYPTO,
  GenerateDataKeyWithoutPlaintext: CRYPTO,
  // Spec 14.6 and 16.5: the asymmetric operations, ReEncrypt and the exports follow the crypto row.
  GetPublicKey: CRYPTO,
  AsymmetricSign: CRYPTO,
  AsymmetricVerify: CRYPTO,
  AsymmetricEncrypt: CRYPTO,
  AsymmetricDecrypt: CRYPTO,
  ReEncrypt: CRYPTO,
  GenerateAndExportDataKey: CRYPTO,
  ExportDataKey: CRYPTO,
  DescribeKey: {},
  ListAliasesByKeyId: {},
  DeleteAlias: {},
  UpdateKeyDescription: {},
  EnableKey: { PendingDeletion: 'Rejected.StateModifiedFailed', PendingImport: 'Rejected.StateModifiedFailed' },
  DisableKey: { PendingDeletion: 'Rejected.StateModifiedFailed', PendingImport: 'Rejected.StateModifiedFailed' },
  ScheduleKeyDeletion: { PendingDeletion: 'Rejected.StateModifiedFailed' },
  SetDeletionProtection: { PendingDeletion: 'Rejected.PendingDeletion' },
  TagResource: {},
  UntagResource: {},
  ListResourceTags: {},
  CancelKeyDeletion: {
    Enabled: 'Rejected.StateModifiedFailed',
    Disabled: 'Rejected.StateModifiedFailed',
    PendingImport: 'Rejected.StateModifiedFailed',
  },
  GetParametersForImport: {},
  ImportKeyMaterial: { PendingDeletion: 'Rejected.StateModifiedFailed' },
  DeleteKeyMaterial: {},
  CreateAlias: { PendingDeletion: 'Rejected.StateModifiedFailed' },
  UpdateAlias: { PendingDeletion: 'Rejected.PendingDeletion' },
  CreateKeyVersion: CRYPTO,
  ListKeyVersions: {},
  DescribeKeyVersion: {},
  UpdateRotationPolicy: CRYPTO,
} as const satisfies Record<string, Refusals>;

export type KeyOperation = keyof typeof RULES;

/** The error `operation` answers for a key in `state`; undefined when the state allows it. */
export function stateRefusal(operation: KeyOperation, state: KeyState): KmsError | undefined {
  const code = (RULES[operation] as Refusals)[state];
  return code ? new KmsError(code) : undefined;
}

/** The states in which `operation` is refused, for a statement that must not act in them. */
export function refusedStates(operation: KeyOperation): KeyState[] {
  return Object.keys(RULES[operation]) as KeyState[];
}
