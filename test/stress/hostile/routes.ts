import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { z } from 'zod';
import { OPERATIONS, RPC_ACTIONS } from '../../../src/operations/registry.js';
import type { Fixtures } from './support.js';
import { chars, hostileJson, hostileString, MARKER } from './values.js';

// The route table of the generated hostile requests, in two parts:
// 1. which routes exist: each RPC action with the parameters it takes, and each REST
//    route (method and path) with where each parameter travels (path, query or body);
// 2. how to make hostile values of each parameter, keyed by its name (with the few rules
//    that differ by operation stated beside the name).
// hostileRoutes() joins the two into the list the generated test walks.

export type Face = 'rpc' | 'rest';
/** Where a REST parameter travels. */
export type Where = 'path' | 'query' | 'body';

// ---------------------------------------------------------------------------------------
// 1. Which routes exist

/** One REST route: the operation it runs, its method and path, and where each parameter travels. */
export interface RestRouteEntry {
  operation: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** With `:Name` for a path parameter, as Fastify declares it. */
  path: string;
  /** In the order the values are generated. */
  params: Record<string, Where>;
}

/** The parameters an operation's input schema names, in its declared order. */
function inputFields(schema: z.ZodType): string[] {
  let s: unknown = schema;
  while (s instanceof z.ZodPipe) s = s.in;
  return s instanceof z.ZodObject ? Object.keys(s.shape) : [];
}

/**
 * The REST face's routes, from the operation registry: a field in the path travels there,
 * one the route's query schema names or one of a GET or DELETE travels in the query, the
 * rest in the JSON body.
 */
export function restRouteList(): RestRouteEntry[] {
  return OPERATIONS.flatMap((operation) =>
    operation.rest.map((route): RestRouteEntry => {
      const inPath = new Set([...route.url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]));
      const queryNames = route.querystring instanceof z.ZodObject ? Object.keys(route.querystring.shape) : [];
      const params: Record<string, Where> = {};
      for (const name of inputFields(route.input ?? operation.input)) {
        params[name] = inPath.has(name)
          ? 'path'
          : queryNames.includes(name) || route.method === 'GET' || route.method === 'DELETE'
            ? 'query'
            : 'body';
      }
      return { operation: operation.name, method: route.method, path: route.url, params };
    }),
  );
}

/** Every action the RPC face knows, with the parameters its input schema names. */
function rpcRouteList(): Array<{ action: string; params: string[] }> {
  return [...RPC_ACTIONS.values()].map((o) => ({ action: o.name, params: inputFields(o.input) }));
}

// ---------------------------------------------------------------------------------------
// 2. Hostile values of each parameter

/** A parameter of one route, with its valid values and values that make any request fail. */
export interface Param {
  name: string;
  required: boolean;
  /** REST only: where the parameter travels. */
  where?: Where;
  valid: fc.Arbitrary<unknown>;
  /** Values that make the request fail whatever the other parameters are. */
  invalid: (where: Where | 'rpc') => fc.Arbitrary<unknown>;
}

type Rules = Omit<Param, 'name' | 'where'>;

/** RPC values are strings; a REST body takes any JSON; the REST query and path take strings. */
export const anyFor = (where: Where | 'rpc') => (where === 'body' ? hostileJson : hostileString);
const failing = (
  where: Where | 'rpc',
  isValid: (v: unknown) => boolean,
  extra: unknown[] = [],
  more: fc.Arbitrary<unknown>[] = [],
) =>
  fc.oneof(
    anyFor(where).filter((v) => v !== '' && v !== null && v !== undefined && !isValid(v)),
    ...(extra.length ? [fc.constantFrom(...extra)] : []),
    ...more.map((arb) => arb.filter((v) => !isValid(v))),
  );

const ALIAS_SYNTAX = /^alias\/[A-Za-z0-9_/-]{1,255}$/;
const DIGITS = /^[0-9]{1,10}$/;
const STRICT_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const intIn = (min: number, max: number) => (v: unknown) =>
  typeof v === 'number'
    ? Number.isInteger(v) && v >= min && v <= max
    : typeof v === 'string' && DIGITS.test(v) && Number(v) >= min && Number(v) <= max;
const isContextObject = (v: unknown): boolean => {
  if (typeof v === 'string') {
    try {
      return isContextObject(JSON.parse(v));
    } catch {
      return false;
    }
  }
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.entries(v).every(([k, x]) => k !== '' && typeof x === 'string')
  );
};

const page = (min: number, max: number): Rules => ({
  required: false,
  valid: fc.integer({ min: Math.max(min, 1), max: Math.min(max, 5) }).map(String),
  invalid: (w) => failing(w, intIn(min, max), ['-1', '1e1', String(max + 1), '0x1', '01.0']),
});

const oneOf = (allowed: string[]): Rules => ({
  required: false,
  valid: fc.constantFrom(...allowed),
  invalid: (w) => failing(w, (v) => allowed.includes(v as string)),
});

/** A parameter the service does not implement: only absent (or `false`) passes. */
const unsupported = (off?: string): Rules => ({
  required: false,
  valid: off ? fc.constant(off) : fc.constant(undefined),
  invalid: (w) => failing(w, (v) => v === off || v === false, ['true', '1', 'on']),
});

// Tags (spec section 18.1), judged here without the service's parser.
const TAG_TEXT = /^[A-Za-z0-9/\\_\-.+=:@]*$/;
const jsonOf = (v: unknown): unknown => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
};
const areTags = (min: number) => (v: unknown) => {
  const list = jsonOf(v);
  if (!Array.isArray(list) || list.length < min || list.length > 20) return false;
  const keys = new Set<string>();
  for (const e of list) {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return false;
    const { TagKey: k, TagValue: val } = e as Record<string, unknown>;
    if (typeof k !== 'string' || k.length < 1 || k.length > 128 || !TAG_TEXT.test(k)) return false;
    if (k.startsWith('aliyun') || k.startsWith('acs:') || keys.has(k)) return false;
    if (typeof val !== 'string' || val.length > 128 || !TAG_TEXT.test(val)) return false;
    keys.add(k);
  }
  return true;
};
const tags = (min: number): Rules => ({
  required: min > 0,
  valid: fc.constantFrom('[{"TagKey":"team","TagValue":"a"}]', '[{"TagKey":"x/y:z","TagValue":""}]'),
  invalid: (w) =>
    failing(w, areTags(min), [
      '[{"TagKey":"aliyun","TagValue":"a"}]',
      '{}',
      '[1]',
      `[${'{"TagKey":"d","TagValue":""},'.repeat(2)}1]`,
    ]),
});
const FILTER_VALUES: Record<string, string[]> = {
  KeyState: ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'],
  KeyUsage: ['ENCRYPT/DECRYPT', 'SIGN/VERIFY'],
  ProtectionLevel: ['SOFTWARE', 'HSM'],
  CreatorType: ['User', 'Service'],
};
const areFilters = (v: unknown) => {
  const list = jsonOf(v);
  return (
    Array.isArray(list) &&
    list.length <= 10 &&
    list.every((e) => {
      if (typeof e !== 'object' || e === null) return false;
      const { Key, Values } = e as Record<string, unknown>;
      const allowed = typeof Key === 'string' ? FILTER_VALUES[Key] : undefined;
      return (
        allowed !== undefined &&
        Array.isArray(Values) &&
        Values.length <= 10 &&
        Values.every((x) => allowed.includes(x))
      );
    })
  );
};

const description = (required: boolean): Rules => ({
  required,
  valid: fc.constantFrom('a description', 'ümlaut ✓'),
  invalid: (w) =>
    w === 'body'
      ? fc.oneof(fc.integer(), fc.boolean(), fc.array(fc.string(), { maxLength: 2 }), fc.constant({ a: 'b' }))
      : fc.constantFrom('d'.repeat(8193), `${MARKER}${'d'.repeat(8200)}`),
});

/** Operations whose KeyId may name a key through an alias; the others take a key only. */
const TAKES_ALIAS = new Set([
  'DescribeKey',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateDataKeyRest',
  'TagResource',
  'CreateKeyVersion',
  'ListKeyVersions',
  'DescribeKeyVersion',
  'GetPublicKey',
  'AsymmetricSign',
  'AsymmetricVerify',
  'AsymmetricEncrypt',
  'AsymmetricDecrypt',
  'GenerateAndExportDataKey',
]);

// RotationInterval (spec 15.3): 1 to 10 digits and a unit, from 7 to 730 days.
const INTERVAL_UNITS: Record<string, number> = { d: 86_400, h: 3_600, m: 60, s: 1 };
const isRotationInterval = (v: unknown) => {
  if (typeof v !== 'string' || !/^[0-9]{1,10}[dhms]$/.test(v)) return false;
  const seconds = Number(v.slice(0, -1)) * INTERVAL_UNITS[v.slice(-1)]!;
  return seconds >= 604_800 && seconds <= 63_072_000;
};

const spkiOf = (type: 'rsa' | 'ec') =>
  (type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'SM2' })
  ).publicKey
    .export({ type: 'spki', format: 'der' })
    .toString('base64');
/** Wrapping public keys (spec 16.4), made once. */
let wrappingKeys: string[] | undefined;
const wrappingKeyBlobs = () => {
  wrappingKeys ??= [spkiOf('rsa'), spkiOf('ec')];
  return wrappingKeys;
};
const SIGN_ALGORITHMS = ['RSA_PSS_SHA_256', 'RSA_PKCS1_SHA_256', 'ECDSA_SHA_256', 'SM2DSA'];
const ENCRYPT_ALGORITHMS = ['RSAES_OAEP_SHA_256', 'RSAES_OAEP_SHA_1', 'SM2PKE'];
const isB64 = (max: number) => (v: unknown) => typeof v === 'string' && STRICT_B64.test(v) && v.length <= max;
/** A parameter that is not a valid one whatever it holds, except a string of at most 2048 characters. */
const ignoredText: Rules = {
  required: false,
  valid: fc.constant('0b5b3d5e-6c1e-4a8e-9f3a-2b7c1d9e8f10'),
  invalid: (w) =>
    w === 'body' ? fc.oneof(fc.integer(), fc.boolean(), fc.constant('v'.repeat(2049))) : fc.constant('v'.repeat(2049)),
};

/** The account, region and fixtures the values are made for. */
export interface HostileScope {
  account: string;
  region: string;
  fx: Fixtures;
}

/** Each parameter's rules by name; the argument is the operation, for the rules that depend on it. */
function parameterRules({ account, region, fx }: HostileScope): Record<string, (operation: string) => Rules> {
  const keyOnly: Rules = {
    required: true,
    valid: fc.constantFrom(fx.keyId, fx.keyArn),
    // Never the fixture's key; an alias here is Unsupported.Alias.
    invalid: (w) =>
      failing(w, (v) => v === fx.keyId || v === fx.keyArn, [fx.alias, fx.aliasArn, fx.keyId.toUpperCase()]),
  };
  const anyKey: Rules = {
    required: true,
    valid: fc.constantFrom(fx.keyId, fx.keyArn, fx.alias, fx.aliasArn),
    invalid: (w) =>
      failing(
        w,
        (v) => [fx.keyId, fx.keyArn, fx.alias, fx.aliasArn].includes(v as string),
        ['alias/none', 'alias/acs'],
        [
          // Alias names and alias ARNs made of hostile characters (NUL, quotes, slashes...).
          fc.string({ unit: chars, minLength: 1, maxLength: 20 }).map((s) => `alias/${s}`),
          fc.string({ unit: chars, minLength: 1, maxLength: 20 }).map((s) => `acs:kms:${region}:${account}:alias/${s}`),
        ],
      ),
  };
  const newAlias: Rules = {
    required: true,
    valid: fc.constantFrom('alias/hostile-new', fx.alias),
    invalid: (w) =>
      failing(w, (v) => typeof v === 'string' && ALIAS_SYNTAX.test(v) && !v.startsWith('alias/acs'), [
        'alias/acs-x',
        `alias/${'n'.repeat(256)}`,
      ]),
  };
  const contextRules: Rules = {
    required: false,
    valid: fc.constantFrom('{}', '{"purpose":"test"}'),
    invalid: (w) => failing(w, isContextObject, ['[]', 'null', '{"a":1}', '{"":"x"}', '{']),
  };
  const existingAlias: Rules = {
    required: true,
    valid: fc.constant(fx.alias),
    invalid: (w) => failing(w, (v) => v === fx.alias, ['alias/zz-none', 'alias/acs-x']),
  };
  return {
    // SetDeletionProtection names its key by KeyId or ProtectedResourceArn.
    // SetDeletionProtection and the tag writes may name their key otherwise (or not at all).
    KeyId: (op) => {
      const rules = TAKES_ALIAS.has(op) ? anyKey : keyOnly;
      return ['SetDeletionProtection', 'TagResource', 'UntagResource'].includes(op)
        ? { ...rules, required: false }
        : rules;
    },
    Tags: (op) => (op === 'TagResource' ? tags(1) : tags(0)),
    TagKeys: () => ({
      required: true,
      valid: fc.constantFrom('["team"]', '["a","b/c"]'),
      invalid: (w) =>
        failing(
          w,
          (v) => {
            const list = jsonOf(v);
            return (
              Array.isArray(list) &&
              list.length >= 1 &&
              list.length <= 20 &&
              list.every((k) => typeof k === 'string' && k.length >= 1 && k.length <= 128)
            );
          },
          ['a,b', '[]', '[""]'],
        ),
    }),
    TagKey: () => ({
      required: true,
      valid: fc.constantFrom('team', 'a:b'),
      invalid: (w) => failing(w, (v) => typeof v === 'string' && v.length >= 1 && v.length <= 128, ['t'.repeat(129)]),
    }),
    SecretName: () => unsupported(),
    CertificateId: () => unsupported(),
    ProtectedResourceArn: () => ({
      required: false,
      valid: fc.constant(fx.keyArn),
      invalid: (w) => failing(w, (v) => v === fx.keyArn, [fx.aliasArn, fx.keyId, `acs:kms:${region}:${account}:key/x`]),
    }),
    EnableDeletionProtection: () => ({
      required: true,
      valid: fc.constantFrom('true', 'false', true, false),
      invalid: (w) =>
        failing(w, (v) => v === 'true' || v === 'false' || typeof v === 'boolean', ['yes', '1', 'TRUE', 'False']),
    }),
    DeletionProtectionDescription: () => description(false),
    AliasName: (op) => (op === 'CreateAlias' ? newAlias : existingAlias),
    KeySpec: (op) => oneOf(op === 'CreateKey' ? ['Aliyun_AES_256', 'Aliyun_SM4'] : ['AES_256', 'AES_128']),
    KeyUsage: () => oneOf(['ENCRYPT/DECRYPT']),
    Origin: () => oneOf(['Aliyun_KMS', 'EXTERNAL']),
    ProtectionLevel: () => oneOf(['SOFTWARE', 'HSM']),
    // The asymmetric operations (spec 14) and ReEncrypt and the exports (16).
    Algorithm: (op) => ({
      ...oneOf(op === 'AsymmetricSign' || op === 'AsymmetricVerify' ? SIGN_ALGORITHMS : ENCRYPT_ALGORITHMS),
      required: true,
    }),
    Digest: () => ({
      required: true,
      valid: fc.constant(Buffer.alloc(32, 1).toString('base64')),
      invalid: (w) => failing(w, (v) => v === Buffer.alloc(32, 1).toString('base64'), ['AAAA', 'QR==', 'a b=']),
    }),
    Value: () => ({
      required: true,
      valid: fc.constantFrom('AAAA', Buffer.alloc(64, 2).toString('base64')),
      invalid: (w) => failing(w, isB64(8192), ['QR==', 'aGVsbG8']),
    }),
    PublicKeyBlob: () => ({
      required: true,
      valid: fc.constantFrom(...wrappingKeyBlobs()),
      invalid: (w) =>
        failing(w, (v) => wrappingKeyBlobs().includes(v as string), [
          'AAAA',
          Buffer.from('-----BEGIN PUBLIC KEY-----').toString('base64'),
        ]),
    }),
    DestinationKeyId: () => anyKey,
    SourceKeyId: () => ({ ...anyKey, required: false }),
    SourceKeyVersionId: () => ignoredText,
    SourceEncryptionAlgorithm: () => oneOf(ENCRYPT_ALGORITHMS),
    Description: (op) => description(op === 'UpdateKeyDescription'),
    EnableAutomaticRotation: (op) => ({
      required: op === 'UpdateRotationPolicy',
      valid: fc.constantFrom('true', 'false', true, false),
      invalid: (w) =>
        failing(w, (v) => v === 'true' || v === 'false' || typeof v === 'boolean', ['yes', '1', 'TRUE', 'False']),
    }),
    // Checked even when EnableAutomaticRotation is false.
    RotationInterval: () => ({
      required: false,
      valid: fc.constantFrom('7d', '365d', '604800s', '8760h'),
      invalid: (w) => failing(w, isRotationInterval, ['6d', '731d', '7D', '1.5d', '63072001s', '12345678901s']),
    }),
    // No value names a version of the fixture's key (it has one, never sent): every request fails.
    KeyVersionId: () => ({
      required: true,
      valid: fc.constant('2ab1a983-7072-4bbc-a582-584b5bd8e1f0'),
      invalid: (w) => failing(w, () => false, ['', 'X'.repeat(2049), '2AB1A983-7072-4BBC-A582-584B5BD8E1F0']),
    }),
    Policy: () => unsupported(),
    DKMSInstanceId: () => unsupported(),
    // The crypto operations take DryRun (spec section 20.1); CreateKey does not.
    DryRun: (op) =>
      op === 'CreateKey'
        ? unsupported('false')
        : {
            required: false,
            valid: fc.constantFrom('true', 'false'),
            invalid: (w) =>
              failing(w, (v) => v === 'true' || v === 'false' || typeof v === 'boolean', ['yes', '1', 'TRUE']),
          },
    Filters: () => ({
      required: false,
      valid: fc.constantFrom('[]', '[{"Key":"KeyState","Values":["Enabled"]}]'),
      invalid: (w) => failing(w, areFilters, ['x', '{}', '[{"Key":"TagKey","Values":["a"]}]']),
    }),
    PageNumber: () => page(1, 2_147_483_647),
    PageSize: (op) => (op === 'ListKeys' ? page(1, 100) : page(0, 100)),
    PendingWindowInDays: () => ({
      required: true,
      valid: fc.constantFrom('7', '30', 366),
      invalid: (w) => failing(w, intIn(7, 366), ['6', '367', '0', '-7', '7.0', '1e1']),
    }),
    Plaintext: () => ({
      required: true,
      valid: fc.constantFrom('aGVsbG8=', 'AA=='),
      invalid: (w) =>
        failing(w, (v) => typeof v === 'string' && STRICT_B64.test(v) && v.length <= 8192, ['QR==', 'aGVsbG8', '====']),
    }),
    CiphertextBlob: () => ({
      required: true,
      valid: fc.constant(fx.blob),
      invalid: (w) => failing(w, (v) => v === fx.blob, ['AAAA', Buffer.alloc(64).toString('base64')]),
    }),
    DestinationEncryptionContext: () => contextRules,
    SourceEncryptionContext: () => contextRules,
    EncryptionContext: () => ({
      required: false,
      valid: fc.constantFrom('{}', '{"purpose":"test"}'),
      invalid: (w) => failing(w, isContextObject, ['[]', 'null', '{"a":1}', '{"":"x"}', '{"a":{"b":"c"}}', '{']),
    }),
    NumberOfBytes: () => ({
      required: false,
      valid: fc.constantFrom('16', 32),
      invalid: (w) => failing(w, intIn(1, 1024), ['0', '1025', '-1', '16.5']),
    }),
    // Key material import (spec 17): valid values are a pair that fits (RSA_2048 with its
    // algorithms), so that only the poison fails a request.
    WrappingAlgorithm: (op) =>
      op !== 'GetParametersForImport'
        ? { ...oneOf(ENCRYPT_ALGORITHMS), required: true }
        : {
            required: true,
            valid: fc.constantFrom('RSAES_OAEP_SHA_256', 'RSAES_OAEP_SHA_1', 'RSAES_PKCS1_V1_5'),
            invalid: (w) =>
              failing(
                w,
                (v) => ['RSAES_OAEP_SHA_256', 'RSAES_OAEP_SHA_1', 'RSAES_PKCS1_V1_5', 'SM2PKE'].includes(v as string),
                ['RSAES_OAEP_SHA_512', 'rsaes_oaep_sha_256'],
              ),
          },
    // GetParametersForImport and the exports (16.4) share the name; RSA_2048 fits both.
    WrappingKeySpec: () => ({
      required: true,
      valid: fc.constant('RSA_2048'),
      invalid: (w) => failing(w, (v) => v === 'RSA_2048' || v === 'EC_SM2', ['RSA_3072', 'rsa_2048']),
    }),
    EncryptedKeyMaterial: () => ({
      required: true,
      valid: fc.constantFrom('aGVsbG8=', Buffer.alloc(256, 1).toString('base64')),
      invalid: (w) =>
        failing(w, (v) => typeof v === 'string' && STRICT_B64.test(v) && v.length <= 5464, [
          'QR==',
          'aGVsbG8',
          Buffer.alloc(4097).toString('base64'),
        ]),
    }),
    ImportToken: () => ({
      required: true,
      valid: fc.constantFrom('token', 'a'.repeat(64)),
      invalid: (w) => failing(w, (v) => typeof v === 'string' && v.length <= 4096, ['t'.repeat(4097)]),
    }),
    KeyMaterialExpireUnix: () => ({
      required: false,
      // 0 (never) or a time far ahead of any clock the tests run at.
      valid: fc.constantFrom('0', '9999999999', 0),
      invalid: (w) => failing(w, intIn(0, 9_999_999_999), ['-1', '1e1', '0x1', '99999999999', '1.5']),
    }),
    // REST generate-data-key only: false answers without the plaintext.
    plaintext: () => oneOf(['true', 'false']),
  };
}

// ---------------------------------------------------------------------------------------

/** One route of the generated test. */
export interface Route {
  face: Face;
  /** RPC: the Action; REST: "METHOD /path/:Param". */
  name: string;
  params: Param[];
}

/** Every route of both faces (RPC first), each parameter with its hostile values. */
export function hostileRoutes(scope: HostileScope): Route[] {
  const rules = parameterRules(scope);
  const param = (operation: string, name: string, where?: Where): Param => {
    const rule = rules[name];
    if (!rule) throw new Error(`no hostile values for the parameter ${name} of ${operation}: add its rules`);
    return { name, where, ...rule(operation) };
  };
  return [
    ...rpcRouteList().map(
      ({ action, params }): Route => ({ face: 'rpc', name: action, params: params.map((n) => param(action, n)) }),
    ),
    ...restRouteList().map(
      ({ operation, method, path, params }): Route => ({
        face: 'rest',
        name: `${method} ${path}`,
        params: Object.entries(params).map(([n, where]) => param(operation, n, where)),
      }),
    ),
  ];
}
