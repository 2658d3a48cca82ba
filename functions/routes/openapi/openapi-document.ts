// The OpenAPI 3.1 description of the API, generated from the route table:
// the same zod schemas that validate requests at the edge and describe
// responses (JSON Schema 2020-12 is OpenAPI 3.1's schema dialect).
import * as z from 'zod/mini';
import { auditTypeOf } from '../../http/request-audit.js';
import { CHANGE_METHODS, type DescribedRoute, type ResponseSpec, type RouteDefinition } from '../../http/route.js';
import { problemSchema } from '../schemas.js';

/** The v1 API's document version; the deployment's version is in /v1/health. */
export const API_DOCUMENT_VERSION = '1.0.0';

type JsonSchema = Record<string, unknown>;
type Io = 'input' | 'output';

/** Turns zod schemas into component-referencing JSON Schemas, collecting named ones as components. */
class SchemaCollector {
  readonly components: Record<string, JsonSchema> = {};

  convert(schema: z.ZodMiniType, io: Io): JsonSchema {
    const { $schema: _, $defs, ...converted } = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as JsonSchema;
    for (const [id, definition] of Object.entries(($defs ?? {}) as Record<string, JsonSchema>)) this.components[id] = this.relink(definition);
    return this.relink(converted);
  }

  private relink(schema: JsonSchema): JsonSchema {
    return JSON.parse(JSON.stringify(schema).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema;
  }
}

const PROBLEM_REF = { $ref: '#/components/schemas/Problem' };

/** `/v1/secrets/{path+}/versions` → `/v1/secrets/{path}/versions`: OpenAPI has no greedy parameters. */
export const openApiPath = (pattern: string): string => pattern.replace(/\{(\w+)\+\}/g, '{$1}');

const operationIdOf = (route: RouteDefinition<never>): string =>
  route.method.toLowerCase() +
  route.pattern
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join('');

/** draft-ietf-httpapi-idempotency-key-header, on every authenticated change. */
const IDEMPOTENCY_KEY: JsonSchema = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'A retry with the same key and request gets the first answer (Idempotent-Replayed: true) and never a second effect; the same key for another request is 422; while the first runs, 409. Kept 24 hours.',
  schema: { type: 'string', minLength: 1, maxLength: 257 },
};

const parametersOf = (route: RouteDefinition<never>, schemas: SchemaCollector): JsonSchema[] => {
  const parameters: JsonSchema[] = [];
  for (const [where, schema] of [
    ['path', route.request?.params],
    ['query', route.request?.query],
  ] as const) {
    if (!schema) continue;
    const converted = schemas.convert(schema, 'input');
    const required = new Set((converted.required ?? []) as string[]);
    for (const [name, property] of Object.entries((converted.properties ?? {}) as Record<string, JsonSchema>)) {
      const greedy = where === 'path' && route.pattern.includes(`{${name}+}`);
      parameters.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        ...(greedy ? { description: 'may contain slashes' } : {}),
        schema: property,
      });
    }
  }
  return parameters;
};

const responseOf = (spec: ResponseSpec<z.ZodMiniType>, schemas: SchemaCollector): JsonSchema => {
  if (!spec.schema && !spec.contentType) return { description: spec.description };
  const schema = spec.schema ? schemas.convert(spec.schema, 'output') : { type: 'string' };
  return { description: spec.description, content: { [spec.contentType ?? 'application/json']: { schema } } };
};

const operationOf = (route: DescribedRoute<RouteDefinition<never>>, schemas: SchemaCollector): JsonSchema => {
  const responses: JsonSchema = Object.fromEntries(Object.entries(route.responses).map(([status, spec]) => [status, responseOf(spec, schemas)]));
  responses.default = { description: 'An error, as application/problem+json', content: { 'application/problem+json': { schema: PROBLEM_REF } } };
  const body = route.request?.body;
  return {
    operationId: operationIdOf(route),
    summary: route.summary,
    tags: [route.category],
    security: route.rateLimit === null ? [] : [{ bearer: [] }],
    parameters: [...parametersOf(route, schemas), ...(route.rateLimit !== null && CHANGE_METHODS.has(route.method) ? [IDEMPOTENCY_KEY] : [])],
    ...(body ? { requestBody: { required: !route.request?.bodyOptional, content: { 'application/json': { schema: schemas.convert(body, 'input') } } } } : {}),
    responses,
    ...(route.capability ? { 'x-capability': route.capability } : {}),
    ...(route.rateLimit === null ? {} : { 'x-rate-limit-category': route.rateLimit, 'x-audit-type': auditTypeOf(route) }),
  };
};

/** The whole document, deterministic for a given route table (its routes described: see describeRoutes). */
export const buildOpenApiDocument = (routes: readonly DescribedRoute<RouteDefinition<never>>[]): JsonSchema => {
  const schemas = new SchemaCollector();
  schemas.convert(problemSchema, 'output');
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const operations = (paths[openApiPath(route.pattern)] ??= {});
    operations[route.method.toLowerCase()] = operationOf(route, schemas);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'ScaiVault API',
      version: API_DOCUMENT_VERSION,
      description: 'A multi-tenant secrets vault. Errors are application/problem+json with a request_id.',
    },
    servers: [{ url: '/' }],
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(schemas.components).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An svt_ token' } },
    },
  };
};
