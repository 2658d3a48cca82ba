// Every request's body, query and path parameters checked against its route's
// schemas before the handler runs: unknown fields and parameters are refused,
// and the first problem found becomes a 400 naming the field.
//
// The schemas, and zod with them, come from the route groups; a route that
// declares none (the health probes) is checked here without zod, so the probes
// in the bundle's entry keep zod out of a cold start.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type * as z from 'zod/mini';
import { ValidationError } from '../domain/errors.js';
import { parseJsonBody } from './body.js';
import type { RequestSchemas } from './route.js';

type Part = 'body' | 'query' | 'params';

/** `rules[0].path` for a path of ['rules', 0, 'path']. */
const fieldOf = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${String(key)}` : String(key)), '');

const unknownKeysError = (keys: readonly string[], at: string, part: Part): ValidationError => {
  const named = keys.map((key) => (at ? `${at}.${key}` : key));
  const what = part === 'query' ? 'query parameter' : part === 'params' ? 'path parameter' : 'field';
  return new ValidationError(`unknown ${what} ${named.map((name) => JSON.stringify(name)).join(', ')}`, named[0] ?? '');
};

/** One zod issue as the problem's detail and field, worded as the API always has. */
export const validationErrorOf = (issue: z.core.$ZodIssue, part: Part): ValidationError => {
  const at = fieldOf(issue.path);
  if (issue.code === 'unrecognized_keys') return unknownKeysError(issue.keys, at, part);
  const field = at || part;
  if (issue.code === 'invalid_type') {
    // Null counts as absent, as it always has: a required field sent as null is missing.
    const missing = issue.input === undefined || issue.input === null;
    return new ValidationError(missing ? `${field} is required` : `${field} must be of type ${issue.expected}`, field);
  }
  return new ValidationError(`${field}: ${issue.message}`, field);
};

/** What a route that declares no schema for `part` accepts: nothing. */
const nothing = (input: Record<string, string>, part: Part): Record<string, never> => {
  const keys = Object.keys(input);
  if (keys.length > 0) throw unknownKeysError(keys, '', part);
  return {};
};

const check = <T>(schema: z.ZodMiniType<T>, input: unknown, part: Part): T => {
  // The input in each issue tells a missing field from a mistyped one; issues never leave this module.
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw validationErrorOf(result.error.issues[0]!, part);
};

/** Query parameters as one object; a repeated parameter is an error, not a list. */
export const queryOf = (event: APIGatewayProxyEventV2): Record<string, string> => {
  const result: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(event.rawQueryString ?? '')) {
    if (Object.hasOwn(result, key)) throw new ValidationError(`query parameter ${key} is repeated`, key);
    result[key] = value;
  }
  return result;
};

export interface ValidatedRequest {
  readonly body: unknown;
  readonly query: unknown;
  readonly params: unknown;
}

/** Validates what the route declares; a route without a body schema never reads its body. */
export const validateRequest = (
  schemas: RequestSchemas<unknown, unknown, unknown> | undefined,
  event: APIGatewayProxyEventV2,
  params: Record<string, string>,
): ValidatedRequest => ({
  params: schemas?.params ? check(schemas.params, params, 'params') : nothing(params, 'params'),
  query: schemas?.query ? check(schemas.query, queryOf(event), 'query') : nothing(queryOf(event), 'query'),
  body: schemas?.body ? check(schemas.body, parseJsonBody(event, { optional: schemas.bodyOptional === true }), 'body') : undefined,
});
