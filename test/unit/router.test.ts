import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../functions/domain/errors.js';
import { HttpError } from '../../functions/http/problem.js';
import { Router } from '../../functions/http/router.js';

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
