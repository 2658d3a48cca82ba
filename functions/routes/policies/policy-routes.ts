// `PUT /v1/policies/{name}`: a tenant's named policy, rules of capabilities on path globs.
import * as z from 'zod/mini';
import type { AuthService } from '../../domain/auth/auth-service.js';
import { isValidGlob } from '../../domain/auth/path-glob.js';
import { CAPABILITIES, type Capability } from '../../domain/ports/auth.js';
import { json } from '../../http/responses.js';
import { routesOver, type RouteGroup, type RouteRequest } from '../../http/route.js';
import { optional } from '../schemas.js';
import { policyJson, policySchema } from './policy-json.js';

export interface PolicyRouteServices {
  readonly auth: Pick<AuthService, 'requireAdminOf' | 'putPolicy'>;
}

const rule = z.strictObject({
  path: z.string().check(z.maxLength(512), z.refine(isValidGlob, 'is not a valid path glob')),
  capabilities: z
    .array(z.enum(CAPABILITIES as readonly [Capability, ...Capability[]]), { error: `must be a non-empty list of ${CAPABILITIES.join(', ')}` })
    .check(z.minLength(1, `must be a non-empty list of ${CAPABILITIES.join(', ')}`), z.maxLength(CAPABILITIES.length)),
});

const policyBody = z.strictObject({
  tenant_id: optional(z.string().check(z.maxLength(64))),
  rules: z.array(rule).check(z.minLength(1, 'must hold at least one rule'), z.maxLength(256)),
});
const policyParams = z.strictObject({ name: z.string() });

const putPolicy = async (
  { auth }: PolicyRouteServices,
  { principal, params, body }: RouteRequest<z.infer<typeof policyBody>, unknown, z.infer<typeof policyParams>>,
) => {
  const tenantId = await auth.requireAdminOf(principal, body.tenant_id ?? undefined);
  const rules = body.rules.map((entry) => ({ path: entry.path, capabilities: [...new Set(entry.capabilities)] }));
  return json(200, policyJson(await auth.putPolicy(tenantId, params.name, rules)));
};

const route = routesOver<PolicyRouteServices>();

export const policyRoutes: RouteGroup<PolicyRouteServices> = {
  name: 'policies',
  routes: [
    route.authenticated({
      method: 'PUT',
      pattern: '/v1/policies/{name}',
      category: 'policies',
      rateLimit: 'admin',
      capability: 'admin',
      summary: 'Create or replace a policy',
      request: { params: policyParams, body: policyBody },
      responses: { 200: { description: 'The policy as stored', schema: policySchema } },
      handle: putPolicy,
    }),
  ],
};
