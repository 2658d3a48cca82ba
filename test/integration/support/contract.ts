// The API contract, checked on every response the integration suite receives:
// the route the request matched must declare the answer's status, and the
// body must fit the schema declared for it (problem+json for errors).
import type { DescribedRoute, RouteDefinition } from '../../../functions/http/route.js';
import { Router } from '../../../functions/http/router.js';
import { loadApiRoutes } from '../../../functions/routes/route-table.js';
import { problemSchema } from '../../../functions/routes/schemas.js';

export interface ObservedResponse {
  readonly status: number;
  readonly contentType: string | null;
  readonly text: string;
}

const router = new Router<DescribedRoute<RouteDefinition<never>>>(await loadApiRoutes());

const mediaType = (contentType: string | null): string => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

const parsed = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

const matchRoute = (method: string, path: string): DescribedRoute<RouteDefinition<never>> | undefined => {
  try {
    return router.match(method, new URL(path, 'http://vault').pathname).route;
  } catch {
    // Unknown paths, wrong methods and undecodable paths: answered by the router with a problem.
    return undefined;
  }
};

const problemViolation = (response: ObservedResponse): string | undefined => {
  const result = problemSchema.safeParse(parsed(response.text));
  if (!result.success) return `problem body does not match: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`;
  return result.data.status === response.status ? undefined : `problem says status ${result.data.status}, the response ${response.status}`;
};

/** Why `response` breaks the contract of the route `method path` matches, or undefined when it keeps it. */
export const contractViolation = (method: string, path: string, response: ObservedResponse): string | undefined => {
  const route = matchRoute(method, path);
  const media = mediaType(response.contentType);
  if (response.status >= 400 && media === 'application/problem+json') return problemViolation(response);
  if (!route) return `status ${response.status} without a problem body for a path no route serves`;
  const declared = route.responses[response.status];
  if (!declared) return `status ${response.status} is not declared by ${route.method} ${route.pattern}`;
  if (!declared.schema && !declared.contentType) return response.text === '' ? undefined : `status ${response.status} declares no body but got one`;
  const expectedMedia = mediaType(declared.contentType ?? 'application/json');
  if (media !== expectedMedia) return `content type ${media} where ${expectedMedia} is declared`;
  if (!declared.schema) return undefined;
  const result = declared.schema.safeParse(parsed(response.text));
  return result.success
    ? undefined
    : `body does not match the ${response.status} schema: ${result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
};

export class ContractViolationError extends Error {
  override readonly name = 'ContractViolationError';
}

/** Throws when the response breaks the contract: the integration test that made the request fails. */
export const assertContract = (method: string, path: string, response: ObservedResponse): void => {
  const violation = contractViolation(method, path, response);
  if (violation) throw new ContractViolationError(`${method} ${path} → ${response.status}: ${violation}`);
};
