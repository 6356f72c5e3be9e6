import type { FastifyRequest } from 'fastify';
import type { CallContext } from '../domain/context.js';
import { REGION_PATTERN } from '../domain/identifiers.js';
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

export function resolveRegion(args: {
  param: string | undefined;
  header: string | undefined;
  host: string | undefined;
  keyRegion: string | undefined;
  defaultRegion: string;
}): string {
  if (args.param !== undefined && args.param !== '') {
    if (!REGION_PATTERN.test(args.param)) throw invalidParameter('RegionId');
    return args.param;
  }
  if (args.header !== undefined && args.header !== '') {
    if (!REGION_PATTERN.test(args.header)) throw invalidParameter('RegionId');
    return args.header;
  }
  const fromHost = args.host ? HOST_REGION.exec(args.host)?.[1] : undefined;
  // kms.default.svc.cluster.local and the like are not regions: ignored, not refused.
  if (fromHost && REGION_PATTERN.test(fromHost)) return fromHost;
  return args.keyRegion ?? args.defaultRegion;
}

export function buildContext(
  request: FastifyRequest,
  auth: Authentication,
  regionParam: string | undefined,
  headerTrusted: boolean,
  defaultRegion: string,
): CallContext {
  const header = request.headers['x-acs-region-id'];
  const region = resolveRegion({
    param: regionParam,
    header: headerTrusted && typeof header === 'string' ? header : undefined,
    host: request.headers.host,
    keyRegion: auth.caller.keyRegion,
    defaultRegion,
  });
  return {
    accountId: auth.caller.accountId,
    region,
    principalName: auth.caller.principalName,
    permission: auth.caller.permission,
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
