// A route as data: what the router matches, what the edge validates, what
// the OpenAPI document says, and the one handler that answers. Route groups
// under functions/routes/ declare these; the api's dispatcher hands each
// handler the services its group was composed with.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type * as z from 'zod/mini';
import type { RateLimitCategory } from '../config.js';
import type { AuditDetailValue } from '../domain/audit/audit-event.js';
import type { Principal } from '../domain/auth/principal.js';

export type Reply = APIGatewayProxyStructuredResultV2;

/** Methods that change something: the ones an Idempotency-Key applies to. */
export const CHANGE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** What a route adds to its request's audit record. */
export interface AuditNotes {
  /** A non-sensitive fact (a version, a count, an id). */
  detail(name: string, value: AuditDetailValue): void;
  /** A sensitive value (a token, a secret value): recorded only as its HMAC. */
  sensitive(name: string, value: string): void;
  /**
   * On a read: starts its success record now, naming `details` (the version it
   * expects to return), so the record is written beside the read. It stands
   * only if the request answers 200 with these very details; otherwise the real
   * outcome is recorded too, voiding it. See functions/http/request-audit.ts.
   */
  recordAhead(details: Readonly<Record<string, AuditDetailValue>>): void;
}

/** The request as a handler sees it: validated body, query and path parameters. */
export interface PublicRequest<B = unknown, Q = unknown, P = unknown> {
  readonly event: APIGatewayProxyEventV2;
  readonly requestId: string;
  readonly sourceIp: string;
  readonly body: B;
  readonly query: Q;
  readonly params: P;
}

export interface RouteRequest<B = unknown, Q = unknown, P = unknown> extends PublicRequest<B, Q, P> {
  readonly principal: Principal;
  readonly audit: AuditNotes;
}

/** Request schemas; a route without one takes no body, no query parameters, no path parameters. */
export interface RequestSchemas<B, Q, P> {
  readonly body?: z.ZodMiniType<B>;
  /** A body that may be left out (it then validates as `{}`). */
  readonly bodyOptional?: true;
  readonly query?: z.ZodMiniType<Q, Record<string, string>>;
  readonly params?: z.ZodMiniType<P, Record<string, string>>;
}

/**
 * A response body's schema, or a loader of it. Response schemas document the
 * answers (the OpenAPI document, the contract tests) and never run on a
 * request, so the health group in the bundle's entry gives loaders and keeps
 * zod out of a cold start.
 */
export type ResponseSchema = z.ZodMiniType | (() => Promise<z.ZodMiniType>);

/** One declared answer: JSON with a schema, another media type, or no body. */
export interface ResponseSpec<Schema extends ResponseSchema = ResponseSchema> {
  readonly description: string;
  readonly schema?: Schema;
  /** Defaults to application/json when a schema is given. */
  readonly contentType?: string;
}

export type Responses<Schema extends ResponseSchema = ResponseSchema> = Readonly<Record<number, ResponseSpec<Schema>>>;

interface RouteMeta {
  readonly method: string;
  /** API Gateway style pattern: `{name}` is one segment, `{name+}` is greedy. */
  readonly pattern: string;
  /** The `path_category` metric label and log field: never a raw path. */
  readonly category: string;
  readonly summary: string;
  /** The capability a policy must grant, checked by the domain; documented here. */
  readonly capability?: string;
  /** Answers besides problem+json errors, which every route may give. */
  readonly responses: Responses;
}

/** Unauthenticated probes: no token, no rate limit (load balancers cannot negotiate either). */
export interface PublicRouteDefinition<S, B = unknown, Q = unknown, P = unknown> extends RouteMeta {
  readonly rateLimit: null;
  readonly request?: RequestSchemas<B, Q, P>;
  readonly handle: (services: S, request: PublicRequest<B, Q, P>) => Promise<Reply>;
}

export interface AuthenticatedRouteDefinition<S, B = unknown, Q = unknown, P = unknown> extends RouteMeta {
  /** The token bucket each call spends. */
  readonly rateLimit: RateLimitCategory;
  /** The audit event type, e.g. `secret.read`; default `<category>.<verb of the method>`. */
  readonly audit?: string;
  /**
   * Operational reads an operator needs most during an outage (detailed health,
   * status): answered even when their audit record cannot be written. Never for
   * a route that reveals a secret or changes anything.
   */
  readonly auditBestEffort?: true;
  readonly request?: RequestSchemas<B, Q, P>;
  readonly handle: (services: S, request: RouteRequest<B, Q, P>) => Promise<Reply>;
}

export type RouteDefinition<S> = PublicRouteDefinition<S> | AuthenticatedRouteDefinition<S>;

/** A named group of routes over the narrow services it needs. */
export interface RouteGroup<S> {
  readonly name: string;
  readonly routes: readonly RouteDefinition<S>[];
}

/** A route as its documentation reads it: every response schema loaded. */
export type DescribedRoute<R extends { readonly responses: Responses }> = R extends unknown
  ? Omit<R, 'responses'> & { readonly responses: Responses<z.ZodMiniType> }
  : never;

const loadedSchemas = async (responses: Responses): Promise<Responses<z.ZodMiniType>> =>
  Object.fromEntries(
    await Promise.all(
      Object.entries(responses).map(async ([status, { schema, ...spec }]) => [
        status,
        schema === undefined ? spec : { ...spec, schema: typeof schema === 'function' ? await schema() : schema },
      ]),
    ),
  );

/** `routes` with every response schema loaded, for the OpenAPI document and the contract tests. */
export const describeRoutes = async <R extends { readonly responses: Responses }>(routes: readonly R[]): Promise<DescribedRoute<R>[]> =>
  Promise.all(routes.map(async (route) => ({ ...route, responses: await loadedSchemas(route.responses) }) as unknown as DescribedRoute<R>));

/** What the request audit reads of a route. */
export type AuditedRoute = Pick<AuthenticatedRouteDefinition<unknown>, 'method' | 'category' | 'audit' | 'auditBestEffort'>;

/**
 * Typed route declarations for a group over services `S`: the handler's body,
 * query and params are inferred from the schemas, then erased for the table.
 */
export const routesOver = <S>() => ({
  authenticated: <B = undefined, Q = undefined, P = undefined>(definition: AuthenticatedRouteDefinition<S, B, Q, P>): RouteDefinition<S> =>
    definition as unknown as RouteDefinition<S>,
  public: <B = undefined, Q = undefined, P = undefined>(definition: PublicRouteDefinition<S, B, Q, P>): RouteDefinition<S> =>
    definition as unknown as RouteDefinition<S>,
});
