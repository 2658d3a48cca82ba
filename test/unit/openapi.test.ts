import { readFileSync } from 'node:fs';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { openApiPath } from '../../functions/routes/openapi/openapi-document.js';
import { loadApiRoutes } from '../../functions/routes/route-table.js';
import { OPENAPI_FILE, renderOpenApi } from '../../scripts/openapi.js';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

const API_ROUTES = await loadApiRoutes();
const rendered = await renderOpenApi();

describe('the OpenAPI document', () => {
  const document = JSON.parse(rendered);

  it('is committed as generated: run `npm run openapi` after changing a route or a schema', () => {
    expect(readFileSync(OPENAPI_FILE, 'utf8')).toBe(rendered);
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(document))).resolves.toBeDefined();
    expect(document.openapi).toBe('3.1.0');
  });

  it('describes every route once, and nothing else', () => {
    const operations = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((key) => METHODS.includes(key))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(API_ROUTES.map((route) => `${route.method} ${openApiPath(route.pattern)}`).sort());
    const ids = API_ROUTES.map((route) => document.paths[openApiPath(route.pattern)][route.method.toLowerCase()].operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('asks for a bearer token exactly where the route authenticates', () => {
    for (const route of API_ROUTES) {
      const operation = document.paths[openApiPath(route.pattern)][route.method.toLowerCase()];
      expect(operation.security, `${route.method} ${route.pattern}`).toEqual(route.rateLimit === null ? [] : [{ bearer: [] }]);
    }
    expect(document.paths['/v1/openapi.json'].get.security).toEqual([]);
  });

  it('describes errors as problem+json and successes with their schemas', () => {
    const read = document.paths['/v1/secrets/{path}'].get;
    expect(read.responses.default.content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/Problem' });
    expect(read.responses['200'].content['application/json'].schema.properties.value).toEqual({ type: 'string' });
    expect(read.parameters).toContainEqual(expect.objectContaining({ name: 'version', in: 'query', required: false }));
    const write = document.paths['/v1/secrets/{path}'].put;
    expect(write.requestBody.content['application/json'].schema).toMatchObject({ required: ['value'], additionalProperties: false });
    expect(document.components.schemas.Problem.required).toEqual(expect.arrayContaining(['type', 'title', 'status', 'request_id']));
  });

  it('carries no secret: no token, key or example value', () => {
    expect(JSON.stringify(document)).not.toMatch(/svt_[A-Za-z0-9]{10}|hmac-sha256:[0-9a-f]{64}|BEGIN [A-Z ]*PRIVATE KEY/);
  });
});
