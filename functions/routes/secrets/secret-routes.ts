// `/v1/secrets`: write, read, list, version history, soft delete, restore, destroy.
import * as z from 'zod/mini';
import { ValidationError } from '../../domain/errors.js';
import type { RotationSettings } from '../../domain/ports/secrets.js';
import type { RotationRequests } from '../../domain/rotation/rotation-requests.js';
import type { SecretService } from '../../domain/secrets/secret-service.js';
import { headerOf } from '../../http/body.js';
import { json, noContent } from '../../http/responses.js';
import { routesOver, type RouteGroup, type RouteRequest } from '../../http/route.js';
import { booleanQuery, optional, positiveIntegerQuery, secretPathParams } from '../schemas.js';
import {
  secretListSchema,
  secretSummaryJson,
  secretSummarySchema,
  secretValueJson,
  secretValueSchema,
  secretVersionsJson,
  secretVersionsSchema,
  secretWrittenSchema,
} from './secret-json.js';

export interface SecretRouteServices {
  readonly secrets: SecretService;
  readonly rotationRequests: Pick<RotationRequests, 'validateSchedule'>;
}

type PathParams = z.infer<typeof secretPathParams>;

const rotationBody = z.strictObject({
  interval_days: z.int().check(z.gte(1), z.lte(3650)),
  rotator: optional(z.string().check(z.regex(/^[a-z][a-z0-9_-]{0,63}$/, 'must be a rotator name'))),
  options: optional(
    z.strictObject({
      length: optional(z.int().check(z.gte(8), z.lte(4096))),
      alphabet: optional(z.string().check(z.maxLength(512))),
      exclude: optional(z.string().check(z.maxLength(512))),
      require_each_class: optional(z.boolean()),
      prefix: optional(z.string().check(z.maxLength(512))),
      connection_secret: optional(z.string().check(z.maxLength(512))),
      role: optional(z.string().check(z.maxLength(512))),
    }),
  ),
});

const writeBody = z.strictObject({
  // Length is checked in the domain against the 64 KiB byte limit.
  value: z.string(),
  type: optional(z.string().check(z.maxLength(64))),
  metadata: optional(z.record(z.string(), z.string())),
  rotation: optional(rotationBody),
});

const listQuery = z.strictObject({
  prefix: z.optional(z.string()),
  cursor: z.optional(z.string()),
  limit: positiveIntegerQuery(1000),
  include_deleted: booleanQuery(),
});
const readQuery = z.strictObject({ version: positiveIntegerQuery() });
const deleteQuery = z.strictObject({ destroy: booleanQuery() });

const etag = (version: number): string => `"${version}"`;

/** `If-Match: "3"` → 3; `"0"` means the secret must not exist yet. `"03"` is not a version. */
const parseIfMatch = (raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined;
  const match = /^\s*"(0|[1-9]\d{0,14})"\s*$/.exec(raw);
  if (!match) throw new ValidationError('If-Match must be a quoted version number, e.g. "3"', 'If-Match');
  return Number(match[1]);
};

const rotationOf = (rotation: z.infer<typeof rotationBody> | null | undefined): RotationSettings | null => {
  if (!rotation) return null;
  const options = Object.entries(rotation.options ?? {}).filter((entry): entry is [string, string | number | boolean] => entry[1] != null);
  return { intervalDays: rotation.interval_days, rotator: rotation.rotator ?? 'password', options: Object.fromEntries(options) };
};

const writeSecret = async (
  { secrets, rotationRequests }: SecretRouteServices,
  { event, principal, params, body, audit }: RouteRequest<z.infer<typeof writeBody>, unknown, PathParams>,
) => {
  const expectedVersion = parseIfMatch(headerOf(event, 'if-match'));
  const rotation = rotationOf(body.rotation);
  if (rotation) await rotationRequests.validateSchedule(rotation.rotator, rotation.options);
  audit.sensitive('value', body.value);
  const summary = await secrets.write(principal, {
    path: params.path,
    value: body.value,
    type: body.type ?? 'generic',
    metadata: body.metadata ?? {},
    rotation,
    expectedVersion,
  });
  audit.detail('version', summary.currentVersion);
  const written = { path: summary.path, version: summary.currentVersion, created_at: summary.updatedAt };
  return json(summary.currentVersion === 1 ? 201 : 200, written, { etag: etag(summary.currentVersion) });
};

const readSecret = async (
  { secrets }: SecretRouteServices,
  { principal, params, query, audit }: RouteRequest<undefined, z.infer<typeof readQuery>, PathParams>,
) => {
  // Released only once a durable record names this reader, path and the version returned.
  const value = await secrets.read(principal, params.path, query.version, (expected) => {
    if (expected !== undefined) audit.recordAhead({ version: expected });
  });
  audit.detail('version', value.version);
  return json(200, secretValueJson(value), { etag: etag(value.version) });
};

const listSecrets = async ({ secrets }: SecretRouteServices, { principal, query }: RouteRequest<undefined, z.infer<typeof listQuery>>) => {
  const page = await secrets.list(principal, query.prefix ?? '', query.limit ?? 100, query.cursor, query.include_deleted === true);
  return json(200, { secrets: page.items.map(secretSummaryJson), next_cursor: page.nextCursor ?? null });
};

const listVersions = async ({ secrets }: SecretRouteServices, { principal, params }: RouteRequest<undefined, unknown, PathParams>) =>
  json(200, secretVersionsJson(params.path, await secrets.versions(principal, params.path)));

const restoreSecret = async ({ secrets }: SecretRouteServices, { principal, params }: RouteRequest<undefined, unknown, PathParams>) =>
  json(200, secretSummaryJson(await secrets.restore(principal, params.path)));

const deleteSecret = async (
  { secrets }: SecretRouteServices,
  { event, principal, params, query, audit }: RouteRequest<undefined, z.infer<typeof deleteQuery>, PathParams>,
) => {
  const expectedVersion = parseIfMatch(headerOf(event, 'if-match'));
  audit.detail('destroy', query.destroy === true);
  if (!query.destroy) return json(200, secretSummaryJson(await secrets.softDelete(principal, params.path, expectedVersion)));
  await secrets.destroy(principal, params.path, expectedVersion);
  return noContent();
};

const route = routesOver<SecretRouteServices>();
const SECRET = '/v1/secrets/{path+}';

// Suffix routes come before the plain greedy ones: `{path+}` would swallow the suffix.
export const secretRoutes: RouteGroup<SecretRouteServices> = {
  name: 'secrets',
  routes: [
    route.authenticated({
      method: 'GET',
      pattern: '/v1/secrets',
      category: 'secrets',
      rateLimit: 'list',
      capability: 'list',
      summary: 'List secret metadata under a prefix (never values)',
      request: { query: listQuery },
      responses: { 200: { description: 'A page of secrets', schema: secretListSchema } },
      handle: listSecrets,
    }),
    route.authenticated({
      method: 'GET',
      pattern: `${SECRET}/versions`,
      category: 'secrets',
      rateLimit: 'list',
      audit: 'secret.versions',
      capability: 'list',
      summary: 'List the versions of a secret',
      request: { params: secretPathParams },
      responses: { 200: { description: 'Versions, newest first', schema: secretVersionsSchema } },
      handle: listVersions,
    }),
    route.authenticated({
      method: 'POST',
      pattern: `${SECRET}/restore`,
      category: 'secrets',
      rateLimit: 'write',
      audit: 'secret.restore',
      capability: 'write',
      summary: 'Restore a soft-deleted secret',
      request: { params: secretPathParams },
      responses: { 200: { description: 'The restored secret', schema: secretSummarySchema } },
      handle: restoreSecret,
    }),
    route.authenticated({
      method: 'PUT',
      pattern: SECRET,
      category: 'secrets',
      rateLimit: 'write',
      audit: 'secret.write',
      capability: 'write',
      summary: 'Write a new version; If-Match: "<version>" for check-and-set',
      request: { params: secretPathParams, body: writeBody },
      responses: {
        200: { description: 'A new version of an existing secret', schema: secretWrittenSchema },
        201: { description: 'The first version', schema: secretWrittenSchema },
      },
      handle: writeSecret,
    }),
    route.authenticated({
      method: 'GET',
      pattern: SECRET,
      category: 'secrets',
      rateLimit: 'read',
      audit: 'secret.read',
      capability: 'read',
      summary: 'Read a version of a secret (the current one by default)',
      request: { params: secretPathParams, query: readQuery },
      responses: { 200: { description: 'The value', schema: secretValueSchema } },
      handle: readSecret,
    }),
    route.authenticated({
      method: 'DELETE',
      pattern: SECRET,
      category: 'secrets',
      rateLimit: 'write',
      audit: 'secret.delete',
      capability: 'delete',
      summary: 'Soft delete a secret, or destroy it with destroy=true; If-Match: "<version>" deletes only that version',
      request: { params: secretPathParams, query: deleteQuery },
      responses: { 200: { description: 'Soft deleted', schema: secretSummarySchema }, 204: { description: 'Destroyed' } },
      handle: deleteSecret,
    }),
  ],
};
