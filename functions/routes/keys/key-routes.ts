// `/v1/admin/keys`: data-key rotation per tenant (its admin, or the default tenant's for any), and the master key's.
import * as z from 'zod/mini';
import type { AuthService } from '../../domain/auth/auth-service.js';
import type { KeyRotationService } from '../../domain/crypto/key-rotation.js';
import { ConflictError } from '../../domain/errors.js';
import type { KeyWrapper } from '../../domain/ports/keys.js';
import { json } from '../../http/responses.js';
import { routesOver, type RouteGroup, type RouteRequest } from '../../http/route.js';
import { optional } from '../schemas.js';
import { keyRotationJson, keyRotationSchema, masterKeyRotatedSchema } from './key-json.js';

export interface KeyRouteServices {
  readonly auth: Pick<AuthService, 'requireAdminOf' | 'requireOperator'>;
  readonly keyRotation: Pick<KeyRotationService, 'start' | 'get'>;
  readonly keyWrapper: Pick<KeyWrapper, 'provider' | 'rotateMasterKey'>;
}

const rotateBody = z.strictObject({ tenant: optional(z.string().check(z.maxLength(64))) });
const rotationQuery = z.strictObject({ tenant: z.optional(z.string().check(z.maxLength(64))) });

const rotate = async ({ auth, keyRotation }: KeyRouteServices, { principal, body }: RouteRequest<z.infer<typeof rotateBody>>) => {
  const tenant = await auth.requireAdminOf(principal, body.tenant ?? undefined);
  const rotation = await keyRotation.start(tenant, 'manual', principal.identityId);
  // Accepted: the scheduler re-seals in the background; GET the rotation for its progress.
  return json(202, keyRotationJson(rotation), { location: `/v1/admin/keys/rotation?tenant=${tenant}` });
};

const readRotation = async ({ auth, keyRotation }: KeyRouteServices, { principal, query }: RouteRequest<undefined, z.infer<typeof rotationQuery>>) => {
  const tenant = await auth.requireAdminOf(principal, query.tenant);
  return json(200, keyRotationJson(await keyRotation.get(tenant)));
};

const rotateMaster = async ({ auth, keyWrapper }: KeyRouteServices, { principal }: RouteRequest) => {
  await auth.requireOperator(principal);
  if (!keyWrapper.rotateMasterKey) throw new ConflictError(`the ${keyWrapper.provider} key provider cannot rotate its master key on demand`);
  // Data keys wrapped before keep unwrapping under the older versions; new ones wrap under this one.
  return json(200, { provider: keyWrapper.provider, key_version: await keyWrapper.rotateMasterKey() });
};

const route = routesOver<KeyRouteServices>();
const admin = { category: 'admin', rateLimit: 'admin', capability: 'admin' } as const;

export const keyRoutes: RouteGroup<KeyRouteServices> = {
  name: 'keys',
  routes: [
    route.authenticated({
      ...admin,
      method: 'POST',
      pattern: '/v1/admin/keys/rotate',
      summary: "Rotate a tenant's data key: a new active key, and every value under older keys re-sealed in the background",
      request: { body: rotateBody },
      responses: { 202: { description: 'The rotation, started', schema: keyRotationSchema } },
      handle: rotate,
    }),
    route.authenticated({
      ...admin,
      method: 'GET',
      pattern: '/v1/admin/keys/rotation',
      summary: "A tenant's latest data-key rotation and its progress",
      request: { query: rotationQuery },
      responses: { 200: { description: 'The rotation', schema: keyRotationSchema } },
      handle: readRotation,
    }),
    route.authenticated({
      ...admin,
      method: 'POST',
      pattern: '/v1/admin/keys/master/rotate',
      summary: "Rotate the key provider's master key (local key file version, or KMS RotateKeyOnDemand)",
      responses: { 200: { description: 'The new master key version', schema: masterKeyRotatedSchema } },
      handle: rotateMaster,
    }),
  ],
};
