import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../domain/audit/audit-log.js';
import type { AuthService } from '../domain/auth/auth-service.js';
import type { Principal } from '../domain/auth/principal.js';
import { UnauthenticatedError } from '../domain/errors.js';
import type { RateLimitDecision, RateLimiter } from '../domain/rate-limit/rate-limiter.js';
import { headerOf } from './body.js';
import { validateRequest, type ValidatedRequest } from './edge-validation.js';
import { toProblem } from './problem.js';
import { RequestAudit } from './request-audit.js';
import type { AuthenticatedRouteDefinition, Reply, RouteDefinition } from './route.js';
import type { Router } from './router.js';

/** What one request learned about itself, for its log line and response headers. */
export interface RequestState {
  readonly requestId: string;
  readonly startedAt: number;
  method: string;
  route: string | undefined;
  category: string;
  tenantId: string | undefined;
  identityId: string | undefined;
  /** The secret path for secret routes, else the route pattern. Never query strings. */
  path: string | undefined;
  status: number | undefined;
  /** Whether the request was counted in the active-requests gauge (it was routed). */
  counted: boolean;
}

export interface VaultContext extends Context {
  vault?: RequestState;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,200}$/;

export const newRequestState = (event: APIGatewayProxyEventV2): RequestState => {
  const supplied = headerOf(event, 'x-request-id');
  return {
    requestId: supplied && REQUEST_ID.test(supplied) ? supplied : `req_${randomUUID().replaceAll('-', '')}`,
    startedAt: performance.now(),
    method: event.requestContext?.http?.method ?? 'GET',
    route: undefined,
    category: 'unmatched',
    tenantId: undefined,
    identityId: undefined,
    path: undefined,
    status: undefined,
    counted: false,
  };
};

const rateLimitHeaders = (decision: RateLimitDecision): Record<string, string> => ({
  'ratelimit-limit': String(decision.limit),
  'ratelimit-remaining': String(decision.remaining),
  'ratelimit-reset': String(decision.resetSeconds),
  ratelimit: `limit=${decision.limit}, remaining=${decision.remaining}, reset=${decision.resetSeconds}`,
  'ratelimit-policy': `${decision.limit};w=${decision.windowSeconds}`,
});

/** Routes one API Gateway event: match, validate, authenticate, rate limit, run the route with its group's services. */
export class ApiApp<S> {
  constructor(
    private readonly router: Router<RouteDefinition<S>>,
    private readonly services: S,
    private readonly auth: AuthService,
    private readonly rateLimiter: RateLimiter,
    private readonly audit: AuditLog,
    /** An outcome record lost after a change happened: logged and counted, the answer stands. */
    private readonly onAuditLost: (error: unknown, state: RequestState) => void,
    private readonly onRouted: (state: RequestState) => void = () => undefined,
  ) {}

  async dispatch(event: APIGatewayProxyEventV2, state: RequestState): Promise<APIGatewayProxyStructuredResultV2> {
    const method = event.requestContext.http.method;
    const { route, params } = this.router.match(method, event.rawPath);
    state.route = route.pattern;
    state.category = route.category;
    state.path = params.path ?? route.pattern;
    this.onRouted(state);
    const sourceIp = event.requestContext.http.sourceIp ?? 'unknown';

    if (route.rateLimit === null) {
      return route.handle(this.services, { event, requestId: state.requestId, sourceIp, ...validateRequest(route.request, event, params) });
    }
    const audit = new RequestAudit(this.audit, route, event, {
      // Read when each record is made: the identity is known only after authentication.
      who: () => ({ requestId: state.requestId, sourceIp, tenantId: state.tenantId, identityId: state.identityId, path: state.path }),
      onLost: (error) => this.onAuditLost(error, state),
    });
    let result: APIGatewayProxyStructuredResultV2;
    try {
      result = await this.authenticatedDispatch(route, event, state, params, sourceIp, audit);
    } catch (error) {
      await audit.outcome(toProblem(error, state.requestId).status);
      throw error;
    }
    await audit.outcome(result.statusCode ?? 200);
    return result;
  }

  private async authenticatedDispatch(
    route: AuthenticatedRouteDefinition<S>,
    event: APIGatewayProxyEventV2,
    state: RequestState,
    params: Record<string, string>,
    sourceIp: string,
    audit: RequestAudit,
  ): Promise<APIGatewayProxyStructuredResultV2> {
    let principal: Principal;
    try {
      principal = await this.auth.authenticate(headerOf(event, 'authorization'));
    } catch (error) {
      // Failed logins spend the caller address's auth bucket: guessing tokens gets throttled.
      if (error instanceof UnauthenticatedError) await this.rateLimiter.consume('auth', `ip:${sourceIp}`);
      throw error;
    }
    state.tenantId = principal.tenantId;
    state.identityId = principal.identityId;
    const decision = await this.rateLimiter.consume(route.rateLimit, `${principal.tenantId}/${principal.identityId}`);
    await audit.beforeChange();
    // Validated once the attempt is on record, as a handler reading its own input would.
    const input: ValidatedRequest = validateRequest(route.request, event, params);
    const result: Reply = await route.handle(this.services, { event, requestId: state.requestId, sourceIp, principal, audit, ...input });
    return { ...result, headers: { ...(decision.degraded ? {} : rateLimitHeaders(decision)), ...result.headers } };
  }
}
