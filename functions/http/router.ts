import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { RateLimitCategory } from '../config.js';
import type { AuditDetailValue } from '../domain/audit/audit-event.js';
import type { Principal } from '../domain/auth/principal.js';
import { ValidationError } from '../domain/errors.js';
import { HttpError } from './problem.js';

export interface PublicContext {
  readonly event: APIGatewayProxyEventV2;
  readonly requestId: string;
  readonly params: Readonly<Record<string, string>>;
  readonly sourceIp: string;
}

/** What a route adds to its request's audit record. */
export interface AuditNotes {
  /** A non-sensitive fact (a version, a count, an id). */
  detail(name: string, value: AuditDetailValue): void;
  /** A sensitive value (a token, a secret value): recorded only as its HMAC. */
  sensitive(name: string, value: string): void;
}

export interface RouteContext extends PublicContext {
  readonly principal: Principal;
  readonly audit: AuditNotes;
}

interface RouteBase {
  readonly method: string;
  /** API Gateway style pattern: `{name}` is one segment, `{name+}` is greedy. */
  readonly pattern: string;
  /** The `path_category` metric label and log field: never a raw path. */
  readonly category: string;
}

/** Unauthenticated probes: no token, no rate limit (load balancers cannot negotiate either). */
export interface PublicRoute extends RouteBase {
  readonly rateLimit: null;
  readonly handle: (context: PublicContext) => Promise<APIGatewayProxyStructuredResultV2>;
}

export interface AuthenticatedRoute extends RouteBase {
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
  readonly handle: (context: RouteContext) => Promise<APIGatewayProxyStructuredResultV2>;
}

export type Route = PublicRoute | AuthenticatedRoute;

export interface MatchedRoute {
  readonly route: Route;
  readonly params: Record<string, string>;
}

interface CompiledRoute {
  readonly route: Route;
  readonly regex: RegExp;
  readonly names: readonly string[];
}

const compile = (route: Route): CompiledRoute => {
  const names: string[] = [];
  const source = route.pattern.replace(/[.]/g, '\\.').replace(/\{(\w+)(\+?)\}/g, (_, name: string, greedy: string) => {
    names.push(name);
    return greedy ? '(.+)' : '([^/]+)';
  });
  return { route, regex: new RegExp(`^${source}$`), names };
};

export class Router {
  private readonly compiled: readonly CompiledRoute[];

  constructor(routes: readonly Route[]) {
    this.compiled = routes.map(compile);
  }

  /** Finds the route; 404 for an unknown path, 405 (with Allow) for a known path and wrong method. */
  match(method: string, rawPath: string): MatchedRoute {
    const path = rawPath.length > 1 ? rawPath.replace(/\/+$/, '') : rawPath;
    const allowed: string[] = [];
    for (const candidate of this.compiled) {
      const found = candidate.regex.exec(path);
      if (!found) continue;
      if (candidate.route.method !== method) {
        allowed.push(candidate.route.method);
        continue;
      }
      const params: Record<string, string> = {};
      candidate.names.forEach((name, index) => {
        params[name] = decode(found[index + 1] ?? '');
      });
      return { route: candidate.route, params };
    }
    if (allowed.length > 0) throw new HttpError(405, `method ${method} is not allowed here`, { allow: [...new Set(allowed)].join(', ') });
    throw new HttpError(404, 'no such endpoint');
  }

  get routes(): readonly Route[] {
    return this.compiled.map((c) => c.route);
  }
}

const decode = (raw: string): string => {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ValidationError('path is not valid percent-encoding', 'path');
  }
};
