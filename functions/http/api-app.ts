import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { AuthService } from '../domain/auth/auth-service.js';
import type { Principal } from '../domain/auth/principal.js';
import { UnauthenticatedError } from '../domain/errors.js';
import type { RateLimitDecision, RateLimiter } from '../domain/rate-limit/rate-limiter.js';
import { headerOf } from './body.js';
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

/** Routes one API Gateway event: match, authenticate, rate limit, run the route. */
export class ApiApp {
  constructor(
    private readonly router: Router,
    private readonly auth: AuthService,
    private readonly rateLimiter: RateLimiter,
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

    if (route.rateLimit === null) return route.handle({ event, requestId: state.requestId, params, sourceIp });
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
    const result = await route.handle({ event, requestId: state.requestId, params, principal, sourceIp });
    return { ...result, headers: { ...(decision.degraded ? {} : rateLimitHeaders(decision)), ...result.headers } };
  }
}
