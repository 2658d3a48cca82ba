import { ValidationError } from '../domain/errors.js';
import { lazyModule } from '../domain/lazy-module.js';
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

/** `/v1/health/` is `/v1/health`; `/` stays `/`. */
const withoutTrailingSlash = (rawPath: string): string => (rawPath.length > 1 ? rawPath.replace(/\/+$/, '') : rawPath);

export class Router<R extends RoutePattern> {
  private readonly compiled: readonly CompiledRoute<R>[];

  constructor(routes: readonly R[]) {
    this.compiled = routes.map(compile);
  }

  /** Finds the route; 404 for an unknown path, 405 (with Allow) for a known path and wrong method. */
  match(method: string, rawPath: string): MatchedRoute<R> {
    const path = withoutTrailingSlash(rawPath);
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

/** A route group the router loads on the first request under one of its path prefixes. */
export interface LazyGroup<R extends RoutePattern> {
  readonly name: string;
  /** Every route of the group lies under one of these (the prefix itself, or below it past a `/`). */
  readonly prefixes: readonly string[];
  readonly load: () => Promise<{ readonly name: string; readonly routes: readonly R[] }>;
}

const under = (path: string, prefix: string): boolean => path === prefix || path.startsWith(`${prefix}/`);

/** The literal start of a pattern, up to its first parameter: every path it matches begins with it. */
const literalLead = (pattern: string): string => {
  const brace = pattern.indexOf('{');
  return brace < 0 ? pattern : pattern.slice(0, pattern.lastIndexOf('/', brace));
};

/** A group's routes as its module declares them, refused if it names another group or a route strays outside its prefixes. */
const checkedRoutes = async <R extends RoutePattern>(group: LazyGroup<R>): Promise<readonly R[]> => {
  const { name, routes } = await group.load();
  if (name !== group.name) throw new Error(`the table's group ${group.name} loaded a module that names itself ${name}`);
  const stray = routes.find((route) => !group.prefixes.some((prefix) => under(literalLead(route.pattern), prefix)));
  if (stray) throw new Error(`route ${stray.method} ${stray.pattern} lies outside group ${group.name}'s prefixes ${group.prefixes.join(', ')}`);
  return routes;
};

/**
 * Routes over groups loaded on first use: a request loads only the groups whose prefixes hold
 * its path, and is matched against their routes in the table's order. A group whose route
 * strays outside its prefixes is refused at load, so matching never misses a route.
 */
export class GroupRouter<R extends RoutePattern> {
  /**
   * Each group's routes, loaded once and checked. A chunk that could not be read is tried again by the
   * next request (one that threw while evaluating stays failed: the module loader keeps that answer).
   */
  private readonly loaders: ReadonlyMap<string, () => Promise<readonly R[]>>;
  private readonly routers = new Map<string, Router<R>>();

  constructor(private readonly groups: readonly LazyGroup<R>[]) {
    this.loaders = new Map(groups.map((group) => [group.name, lazyModule(() => checkedRoutes(group))]));
  }

  async match(method: string, rawPath: string): Promise<MatchedRoute<R>> {
    const path = withoutTrailingSlash(rawPath);
    const candidates = this.groups.filter((group) => group.prefixes.some((prefix) => under(path, prefix)));
    if (candidates.length === 0) throw new HttpError(404, 'no such endpoint');
    const key = candidates.map((group) => group.name).join(' ');
    let router = this.routers.get(key);
    if (!router) {
      router = new Router((await Promise.all(candidates.map((group) => this.routesOf(group)))).flat());
      this.routers.set(key, router);
    }
    return router.match(method, path);
  }

  /** Every group, loaded: for the OpenAPI document and the features the status reports. */
  all(): Promise<{ readonly name: string; readonly routes: readonly R[] }[]> {
    return Promise.all(this.groups.map(async (group) => ({ name: group.name, routes: await this.routesOf(group) })));
  }

  private routesOf(group: LazyGroup<R>): Promise<readonly R[]> {
    return this.loaders.get(group.name)!();
  }
}
