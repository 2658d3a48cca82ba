import { tokenExpiryHeaders } from '../domain/auth/token-expiry.js';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { AuditLog } from '../domain/audit/audit-log.js';
import type { AuthService } from '../domain/auth/auth-service.js';
import type { Principal } from '../domain/auth/principal.js';
import { DependencyUnavailableError, OutcomeUnknownError, UnauthenticatedError } from '../domain/errors.js';
import { parseIdempotencyKey, requestFingerprint, type IdempotentRequests, type StoredAnswer } from '../domain/idempotency/idempotent-requests.js';
import type { RateLimitDecision, RateLimiter } from '../domain/rate-limit/rate-limiter.js';
import { bodyText, headerOf } from './body.js';
import { validateRequest, type ValidatedRequest } from './edge-validation.js';
import { toProblem } from './problem.js';
import { RequestAudit } from './request-audit.js';
import { CHANGE_METHODS, type AuthenticatedRouteDefinition, type Reply, type RouteDefinition } from './route.js';
import type { GroupRouter } from './router.js';

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
  /** A change route began its work: from here on, a request without an answer has an unknown outcome. */
  changeStarted: boolean;
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
    changeStarted: false,
  };
};

const rateLimitHeaders = (decision: RateLimitDecision): Record<string, string> => ({
  'ratelimit-limit': String(decision.limit),
  'ratelimit-remaining': String(decision.remaining),
  'ratelimit-reset': String(decision.resetSeconds),
  ratelimit: `limit=${decision.limit}, remaining=${decision.remaining}, reset=${decision.resetSeconds}`,
  'ratelimit-policy': `${decision.limit};w=${decision.windowSeconds}`,
});

export interface ApiAppParts<S> {
  readonly router: GroupRouter<RouteDefinition<S>>;
  readonly services: S;
  readonly auth: AuthService;
  readonly rateLimiter: RateLimiter;
  readonly audit: AuditLog;
  /** Idempotency-Key on changes: a retry gets the first answer, never a second effect. */
  readonly idempotency: IdempotentRequests;
  /** An outcome record lost after a change happened: logged and counted, the answer stands. */
  readonly onAuditLost: (error: unknown, state: RequestState) => void;
  readonly onRouted?: (state: RequestState) => void;
}

const storedAnswer = (reply: Reply): StoredAnswer => ({
  status: reply.statusCode ?? 200,
  headers: Object.fromEntries(Object.entries(reply.headers ?? {}).map(([name, value]) => [name, String(value)])),
  body: reply.body,
});

/**
 * Before its change started, a request changed nothing the caller can see, whatever bookkeeping
 * write (rate limit, metrics flush, idempotency claim) went unanswered: that is a 503, not a 504.
 */
const beforeAnyChange = (thrown: unknown, state: RequestState): unknown =>
  thrown instanceof OutcomeUnknownError && !state.changeStarted ? new DependencyUnavailableError('dynamodb', { cause: thrown }) : thrown;

/** Routes one API Gateway event: match, validate, authenticate, rate limit, run the route with its group's services. */
export class ApiApp<S> {
  private readonly router: GroupRouter<RouteDefinition<S>>;
  private readonly services: S;
  private readonly auth: AuthService;
  private readonly rateLimiter: RateLimiter;
  private readonly audit: AuditLog;
  private readonly idempotency: IdempotentRequests;
  private readonly onAuditLost: (error: unknown, state: RequestState) => void;
  private readonly onRouted: (state: RequestState) => void;

  constructor(parts: ApiAppParts<S>) {
    ({ router: this.router, services: this.services, auth: this.auth, rateLimiter: this.rateLimiter, audit: this.audit } = parts);
    ({ idempotency: this.idempotency, onAuditLost: this.onAuditLost } = parts);
    this.onRouted = parts.onRouted ?? (() => undefined);
  }

  async dispatch(event: APIGatewayProxyEventV2, state: RequestState): Promise<APIGatewayProxyStructuredResultV2> {
    const method = event.requestContext.http.method;
    const { route, params } = await this.router.match(method, event.rawPath);
    state.route = route.pattern;
    state.category = route.category;
    state.path = params.path ?? route.pattern;
    this.onRouted(state);
    const sourceIp = event.requestContext.http.sourceIp ?? 'unknown';

    if (route.rateLimit === null) {
      return route
        .handle(this.services, { event, requestId: state.requestId, sourceIp, ...validateRequest(route.request, event, params) })
        .catch((thrown: unknown) => {
          throw beforeAnyChange(thrown, state);
        });
    }
    const audit = new RequestAudit(this.audit, route, event, {
      // Read when each record is made: the identity is known only after authentication.
      who: () => ({ requestId: state.requestId, sourceIp, tenantId: state.tenantId, identityId: state.identityId, path: state.path }),
      onLost: (error) => this.onAuditLost(error, state),
    });
    let result: APIGatewayProxyStructuredResultV2;
    try {
      result = await this.authenticatedDispatch(route, event, state, params, sourceIp, audit);
    } catch (thrown) {
      const error = beforeAnyChange(thrown, state);
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
    const run = () => route.handle(this.services, { event, requestId: state.requestId, sourceIp, principal, audit, ...input });
    const result = CHANGE_METHODS.has(state.method) ? await this.change(event, state, principal, audit, run) : await run();
    const expiry = tokenExpiryHeaders(principal.token, Date.now());
    return { ...result, headers: { ...(decision.degraded ? {} : rateLimitHeaders(decision)), ...expiry, ...result.headers } };
  }

  /** Runs a change, once per Idempotency-Key when the caller sends one. */
  private async change(
    event: APIGatewayProxyEventV2,
    state: RequestState,
    principal: Principal,
    audit: RequestAudit,
    run: () => Promise<Reply>,
  ): Promise<Reply> {
    const started = () => {
      state.changeStarted = true;
      return run();
    };
    const rawKey = headerOf(event, 'idempotency-key');
    if (rawKey === undefined) return started();
    // Keyed like the audit trail's sensitive values: the body may hold a secret, and a bare digest of it could be guessed offline.
    const fingerprint = await this.audit.hash(requestFingerprint(state.method, event.rawPath, event.rawQueryString ?? '', bodyText(event)));
    const answer = await this.idempotency
      .run(principal, parseIdempotencyKey(rawKey), fingerprint, async () => storedAnswer(await started()))
      .catch((error: unknown) => {
        // Out of a replay too, an unknown outcome is the first request's change, which did start.
        if (error instanceof OutcomeUnknownError) state.changeStarted = true;
        throw error;
      });
    if (!answer.replayed) return { statusCode: answer.status, headers: { ...answer.headers }, body: answer.body };
    audit.detail('idempotent_replay', true);
    return { statusCode: answer.status, headers: { ...answer.headers, 'idempotent-replayed': 'true' }, body: answer.body };
  }
}
