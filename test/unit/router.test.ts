import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/domain/errors.js';
import { HttpError } from '../../functions/http/problem.js';
import { GroupRouter, Router } from '../../functions/http/router.js';
import { API_ROUTE_GROUPS, loadApiRoutes } from '../../functions/routes/route-table.js';

const route = (method: string, pattern: string, category = pattern) => ({
  method,
  pattern,
  category,
  rateLimit: null,
  handle: async (): Promise<APIGatewayProxyStructuredResultV2> => ({ statusCode: 204 }),
});

// Same order as the API: suffix routes before the plain greedy ones.
const router = new Router([
  route('GET', '/v1/health', 'health'),
  route('GET', '/v1/health/ready', 'ready'),
  route('PUT', '/v1/policies/{name}', 'policy'),
  route('GET', '/v1/secrets', 'list'),
  route('GET', '/v1/secrets/{path+}/versions', 'versions'),
  route('POST', '/v1/secrets/{path+}/restore', 'restore'),
  route('PUT', '/v1/secrets/{path+}', 'write'),
  route('GET', '/v1/secrets/{path+}', 'read'),
  route('DELETE', '/v1/secrets/{path+}', 'delete'),
]);

const httpError = (run: () => unknown): HttpError => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    return error as HttpError;
  }
  throw new Error('expected an HttpError');
};

describe('Router.match', () => {
  it('matches static routes exactly', () => {
    expect(router.match('GET', '/v1/health').route.category).toBe('health');
    expect(router.match('GET', '/v1/health/ready').route.category).toBe('ready');
    expect(router.match('GET', '/v1/health').params).toEqual({});
  });

  it('ignores trailing slashes', () => {
    expect(router.match('GET', '/v1/health/').route.category).toBe('health');
    expect(router.match('GET', '/v1/secrets/app/db/').params).toEqual({ path: 'app/db' });
  });

  it('captures a single-segment parameter and does not let it span segments', () => {
    expect(router.match('PUT', '/v1/policies/readers')).toMatchObject({ route: { category: 'policy' }, params: { name: 'readers' } });
    expect(httpError(() => router.match('PUT', '/v1/policies/a/b')).status).toBe(404);
  });

  it('captures a greedy parameter over several segments', () => {
    expect(router.match('GET', '/v1/secrets/app/db/password')).toMatchObject({ route: { category: 'read' }, params: { path: 'app/db/password' } });
  });

  it('routes suffixes to their own routes, with the greedy parameter stopping before the suffix', () => {
    expect(router.match('GET', '/v1/secrets/app/db/versions')).toMatchObject({ route: { category: 'versions' }, params: { path: 'app/db' } });
    expect(router.match('POST', '/v1/secrets/app/restore')).toMatchObject({ route: { category: 'restore' }, params: { path: 'app' } });
  });

  it('percent-decodes parameters', () => {
    expect(router.match('GET', '/v1/secrets/app/my%2Ddb').params).toEqual({ path: 'app/my-db' });
    expect(router.match('PUT', '/v1/policies/a%20b').params).toEqual({ name: 'a b' });
  });

  it('rejects invalid percent-encoding with ValidationError', () => {
    expect(() => router.match('GET', '/v1/secrets/app/%E0%A4%A')).toThrow(ValidationError);
    expect(() => router.match('GET', '/v1/secrets/%zz')).toThrow(ValidationError);
  });

  it('answers 404 for an unknown path', () => {
    const error = httpError(() => router.match('GET', '/v1/nothing'));
    expect(error.status).toBe(404);
    expect(error.headers).toEqual({});
    expect(httpError(() => router.match('GET', '/v1/healthz')).status).toBe(404);
  });

  it('answers 405 with every allowed method, once each, for a known path and a wrong method', () => {
    const error = httpError(() => router.match('PATCH', '/v1/secrets/app/db'));
    expect(error.status).toBe(405);
    expect(error.headers.allow!.split(', ').sort()).toEqual(['DELETE', 'GET', 'PUT']);

    const health = httpError(() => router.match('POST', '/v1/health'));
    expect(health.status).toBe(405);
    expect(health.headers.allow).toBe('GET');
  });

  it('does not treat regex metacharacters in the path as patterns', () => {
    const dotted = new Router([route('GET', '/v1/a.b')]);
    expect(dotted.match('GET', '/v1/a.b').route.pattern).toBe('/v1/a.b');
    expect(httpError(() => dotted.match('GET', '/v1/axb')).status).toBe(404);
  });

  it('exposes the routes it was built with', () => {
    expect(router.routes.map((r) => r.category)).toContain('versions');
    expect(router.routes).toHaveLength(9);
  });
});

describe('GroupRouter', () => {
  const groupsOf = (loads: string[]) => {
    const lazy = (name: string, prefixes: string[], routes: ReturnType<typeof route>[]) => ({
      name,
      prefixes,
      load: async () => {
        loads.push(name);
        return { name, routes };
      },
    });
    return [
      lazy('health', ['/v1/health'], [route('GET', '/v1/health', 'health')]),
      lazy('rotation', ['/v1/secrets'], [route('POST', '/v1/secrets/{path+}/rotate', 'rotate')]),
      lazy('secrets', ['/v1/secrets'], [route('GET', '/v1/secrets/{path+}', 'read'), route('POST', '/v1/secrets/{path+}', 'write')]),
      lazy('pki', ['/v1/pki'], [route('GET', '/v1/pki/{ca}/crl', 'crl')]),
    ];
  };

  it('loads only the groups whose prefixes hold the path, once, and matches in the table order', async () => {
    const loads: string[] = [];
    const router = new GroupRouter(groupsOf(loads));
    expect((await router.match('GET', '/v1/health')).route.category).toBe('health');
    expect(loads).toEqual(['health']);
    // Both groups under /v1/secrets load; the rotation route comes first, as in the table.
    expect(await router.match('POST', '/v1/secrets/app/db/rotate')).toMatchObject({ route: { category: 'rotate' }, params: { path: 'app/db' } });
    expect((await router.match('GET', '/v1/secrets/app/db/')).route.category).toBe('read');
    expect(loads.sort()).toEqual(['health', 'rotation', 'secrets']);
  });

  it('answers 404 for a path under no prefix without loading anything, and 405 across the loaded groups', async () => {
    const loads: string[] = [];
    const router = new GroupRouter(groupsOf(loads));
    await expect(router.match('GET', '/v1/secretsx')).rejects.toMatchObject({ status: 404 });
    await expect(router.match('GET', '/v1/nothing')).rejects.toMatchObject({ status: 404 });
    expect(loads).toEqual([]);
    const error = await router.match('DELETE', '/v1/secrets/app').catch((thrown: HttpError) => thrown);
    expect(error).toMatchObject({ status: 405 });
    expect((error as HttpError).headers.allow!.split(', ').sort()).toEqual(['GET', 'POST']);
  });

  it('refuses a group whose route lies outside its prefixes, and tries a failed load again', async () => {
    let attempts = 0;
    const router = new GroupRouter([
      { name: 'stray', prefixes: ['/v1/a'], load: async () => ({ name: 'stray', routes: [route('GET', '/v1/ab/{x}')] }) },
      {
        name: 'flaky',
        prefixes: ['/v1/b'],
        load: async () => {
          attempts += 1;
          if (attempts === 1) throw new Error('chunk unreadable');
          return { name: 'flaky', routes: [route('GET', '/v1/b', 'b')] };
        },
      },
    ]);
    await expect(router.match('GET', '/v1/a')).rejects.toThrow(/outside group stray/);
    await expect(router.match('GET', '/v1/b')).rejects.toThrow('chunk unreadable');
    expect((await router.match('GET', '/v1/b')).route.category).toBe('b');
  });

  it("holds the api's table: every route lies under its group's prefixes and matches itself", async () => {
    const routes = await loadApiRoutes();
    expect(routes.length).toBeGreaterThan(70);
    const router = new GroupRouter(API_ROUTE_GROUPS);
    for (const apiRoute of routes) {
      const path = apiRoute.pattern.replace(/\{\w+\+?\}/g, 'x');
      const matched = await router.match(apiRoute.method, path);
      expect(matched.route.pattern, `${apiRoute.method} ${apiRoute.pattern}`).toBe(new Router(routes).match(apiRoute.method, path).route.pattern);
    }
  });
});
