// `GET /v1/openapi.json`: the API described, generated from the route table. No token, no secrets in it.
import { json } from '../../http/responses.js';
import { routesOver, type RouteGroup } from '../../http/route.js';

export interface OpenApiRouteServices {
  /** The document, built once from the route table the api was composed with. */
  readonly openApiDocument: () => Promise<Record<string, unknown>>;
}

const describeApi = async ({ openApiDocument }: OpenApiRouteServices) => json(200, await openApiDocument(), { 'cache-control': 'public, max-age=300' });

const route = routesOver<OpenApiRouteServices>();

export const openApiRoutes: RouteGroup<OpenApiRouteServices> = {
  name: 'openapi',
  routes: [
    route.public({
      method: 'GET',
      pattern: '/v1/openapi.json',
      category: 'openapi',
      rateLimit: null,
      summary: 'This document',
      responses: { 200: { description: 'The OpenAPI 3.1 document', contentType: 'application/json' } },
      handle: describeApi,
    }),
  ],
};
