import { ValidationError } from '../domain/errors.js';
import { HttpError } from './problem.js';

/** What the router needs of a route. */
export interface RoutePattern {
  readonly method: string;
  /** API Gateway style pattern: `{name}` is one segment, `{name+}` is greedy. */
  readonly pattern: string;
}

export interface MatchedRoute<R extends RoutePattern> {
  readonly route: R;
  readonly params: Record<string, string>;
}

interface CompiledRoute<R extends RoutePattern> {
  readonly route: R;
  readonly regex: RegExp;
  readonly names: readonly string[];
}

const compile = <R extends RoutePattern>(route: R): CompiledRoute<R> => {
  const names: string[] = [];
  const source = route.pattern.replace(/[.]/g, '\\.').replace(/\{(\w+)(\+?)\}/g, (_, name: string, greedy: string) => {
    names.push(name);
    return greedy ? '(.+)' : '([^/]+)';
  });
  return { route, regex: new RegExp(`^${source}$`), names };
};

export class Router<R extends RoutePattern> {
  private readonly compiled: readonly CompiledRoute<R>[];

  constructor(routes: readonly R[]) {
    this.compiled = routes.map(compile);
  }

  /** Finds the route; 404 for an unknown path, 405 (with Allow) for a known path and wrong method. */
  match(method: string, rawPath: string): MatchedRoute<R> {
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

  get routes(): readonly R[] {
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
