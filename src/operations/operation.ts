import type { z } from 'zod';
import type { CallContext, Permission } from '../domain/context.js';
import type { ServiceDeps } from '../domain/deps.js';
import { denial } from '../domain/iam/authorizer.js';
import { type KeyOperation, type KeyState, stateRefusal } from '../domain/keys/key-state.js';
import type { Found } from '../domain/keys/resolver.js';
import { KmsError } from '../errors.js';

// The shape of an operation module: its input schema (shared by both faces), what it
// runs, how each face presents the result, and the REST routes that reach it. The
// registry lists the modules; the RPC action table, the REST routes and openapi.yaml are
// derived from it.

export interface RestRoute<R> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Fastify's form: /v1/keys/:KeyId. */
  url: string;
  summary: string;
  description?: string;
  tags: string[];
  status: 200 | 201 | 204;
  /**
   * The route's own input schema, when its fields differ from the operation's (its output
   * is the operation's input); otherwise the operation's input schema parses the route.
   */
  input?: z.ZodType;
  /** Route schemas: they describe the route in openapi.yaml and never validate (the input schema does). */
  params?: z.ZodType;
  querystring?: z.ZodType;
  body?: z.ZodType;
  response?: z.ZodType;
  /**
   * A path parameter that may hold raw slashes (alias/team/app): a wildcard route beside
   * the documented one, kept out of openapi.yaml, takes the rest of the path as its value.
   */
  slashParam?: string;
  /** The body fields after RequestId; absent for 204. */
  present?: (result: R) => Record<string, unknown>;
}

export interface Operation<S extends z.ZodType = z.ZodType, R = unknown> {
  /** The Alibaba action name (the RPC Action, the REST operationId). */
  name: string;
  input: S;
  run(deps: ServiceDeps, ctx: CallContext, input: z.output<S>): Promise<R>;
  /** The RPC answer's fields after RequestId; absent for an operation the RPC face does not have. */
  rpc?: (result: R) => Record<string, unknown>;
  rest: ReadonlyArray<RestRoute<R>>;
}

export const defineOperation = <S extends z.ZodType, R>(operation: Operation<S, R>): Operation<S, R> => operation;

/** A decision: the outcome, or the error of the first check that failed. */
export type Decision<T> = T | KmsError;

/** The outcome of a decision, or its error thrown. */
export function decided<T>(decision: Decision<T>): T {
  if (decision instanceof KmsError) throw decision;
  return decision;
}

/** Forbidden.NoPermission when the permission is refused. */
export const refusal = (permission: Permission): KmsError | undefined =>
  permission.allowed ? undefined : denial(permission);

/**
 * The first three checks of every operation on one key (spec section 10): the reference
 * names a live key (404), the caller may act on it (403), its state allows the operation (409).
 * `permission` is undefined exactly when no key was found.
 */
export function keyAccessRefusal(
  operation: KeyOperation,
  found: Found<{ state: KeyState }>,
  permission: Permission | undefined,
): KmsError | undefined {
  if (!found.key) return new KmsError(found.notFound);
  return (permission && refusal(permission)) ?? stateRefusal(operation, found.key.state);
}

/** The last step of the order of checks (spec section 20.1): with DryRun, every check passed and nothing is done. */
export const unlessDryRun = <T>(dryRun: boolean | undefined, outcome: T): Decision<T> =>
  dryRun === true ? new KmsError('DryRunOperationError') : outcome;
