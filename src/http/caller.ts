import type { FastifyRequest } from 'fastify';
import type { CallContext } from '../domain/context.js';
import { REGION_PATTERN } from '../domain/identifiers.js';
import { REGION_ID_REASON } from '../domain/params.js';
import { inCatalog, type RegionCatalog } from '../domain/regions.js';
import { invalidParameter } from '../errors.js';

// Who is calling (from the authenticator) and in which region (spec section 1), turned
// into the CallContext every service call receives.

export interface Caller {
  accountId: string;
  /** The access key that signed the request (rate limits are per key). */
  accessKeyId: string;
  principalName: string;
  /** An account's root access key (not a RAM user's). */
  root: boolean;
  /** Region of the caller's access key, used when a request names none. */
  keyRegion?: string;
  permission: CallContext['permission'];
}

export interface Authentication {
  caller: Caller;
  /** Headers covered by a V3 signature; undefined for V1, Basic or no auth. */
  signedHeaders?: readonly string[];
  scheme: 'V1' | 'V3' | 'Basic' | 'None';
  /** The service clock's offset, when authentication read it (with the nonce) anyway. */
  clockOffsetSeconds?: number;
}

/** Parameters of a request, decoded, in the order received. */
export type Pairs = ReadonlyArray<readonly [string, string]>;

const HOST_REGION = /^kms(?:-vpc)?\.([^.]+)\./;

/** What region resolution needs from the configuration. */
export interface RegionSettings {
  defaultRegion: string;
  regions: RegionCatalog;
}

/**
 * The request's region (spec sections 1 and 21.1). A region the request names (RegionId,
 * a trusted x-acs-region-id) outside the catalog, malformed or over 64 characters is
 * InvalidParameter naming where it came from; one the Host suggests is only taken when it
 * is in the catalog (kms.default.svc.cluster.local and the like are no regions).
 */
/** A requested region outside the catalog, naming where it came from and why (never the value). */
function regionRefusal(name: string, region: string) {
  if (!REGION_PATTERN.test(region)) return invalidParameter(name, REGION_ID_REASON);
  if (region.length > 64) return invalidParameter(name, 'it must be at most 64 characters');
  return invalidParameter(name, 'it is no region of this service (KMS_REGIONS lists them)');
}

export function resolveRegion(args: {
  param: string | undefined;
  header: string | undefined;
  host: string | undefined;
  keyRegion: string | undefined;
  settings: RegionSettings;
}): string {
  const { regions, defaultRegion } = args.settings;
  if (args.param !== undefined && args.param !== '') {
    if (!inCatalog(regions, args.param)) throw regionRefusal('RegionId', args.param);
    return args.param;
  }
  if (args.header !== undefined && args.header !== '') {
    if (!inCatalog(regions, args.header)) throw regionRefusal('x-acs-region-id', args.header);
    return args.header;
  }
  const fromHost = args.host ? HOST_REGION.exec(args.host)?.[1] : undefined;
  if (fromHost && inCatalog(regions, fromHost)) return fromHost;
  return args.keyRegion ?? defaultRegion;
}

export function buildContext(
  request: FastifyRequest,
  auth: Authentication,
  regionParam: string | undefined,
  headerTrusted: boolean,
  settings: RegionSettings,
): CallContext {
  const header = request.headers['x-acs-region-id'];
  const region = resolveRegion({
    param: regionParam,
    header: headerTrusted && typeof header === 'string' ? header : undefined,
    host: request.headers.host,
    keyRegion: auth.caller.keyRegion,
    settings,
  });
  return {
    accountId: auth.caller.accountId,
    region,
    principalName: auth.caller.principalName,
    permission: auth.caller.permission,
    // permissionFor (domain/iam/authorizer.ts) allows a root key everything.
    unrestricted: auth.caller.root,
  };
}

/** Decoded query pairs from the raw URL, in order (Fastify's parsed query merges repeats). */
export function queryPairs(url: string): Array<[string, string]> {
  const i = url.indexOf('?');
  if (i === -1) return [];
  return [...new URLSearchParams(url.slice(i + 1))];
}

const parsedQueries = new WeakMap<object, Pairs>();

/** The request's query pairs, parsed once however many parts of the request ask. */
export function requestQueryPairs(request: { url: string }): Pairs {
  let pairs = parsedQueries.get(request);
  if (pairs === undefined) {
    pairs = queryPairs(request.url);
    parsedQueries.set(request, pairs);
  }
  return pairs;
}
