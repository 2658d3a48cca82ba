// Rotation on request: queue a rotation of one secret (202) and follow its job.
import type * as z from 'zod/mini';
import type { RotationRequests } from '../../domain/rotation/rotation-requests.js';
import { json } from '../../http/responses.js';
import { routesOver, type RouteGroup, type RouteRequest } from '../../http/route.js';
import { idParams, secretPathParams } from '../schemas.js';
import { jobJson, jobSchema } from './rotation-json.js';

export interface RotationRouteServices {
  readonly rotationRequests: Pick<RotationRequests, 'request' | 'job'>;
}

const requestRotation = async (
  { rotationRequests }: RotationRouteServices,
  { principal, params }: RouteRequest<undefined, unknown, z.infer<typeof secretPathParams>>,
) => {
  const job = await rotationRequests.request(principal, params.path);
  return json(202, jobJson(job), { location: `/v1/jobs/${job.jobId}` });
};

const readJob = async ({ rotationRequests }: RotationRouteServices, { principal, params }: RouteRequest<undefined, unknown, z.infer<typeof idParams>>) =>
  json(200, jobJson(await rotationRequests.job(principal, params.id)));

const route = routesOver<RotationRouteServices>();

export const rotationRoutes: RouteGroup<RotationRouteServices> = {
  name: 'rotation',
  routes: [
    route.authenticated({
      method: 'POST',
      pattern: '/v1/secrets/{path+}/rotate',
      category: 'secrets',
      rateLimit: 'write',
      audit: 'secret.rotate',
      capability: 'rotate',
      summary: 'Queue a rotation of a secret',
      request: { params: secretPathParams },
      responses: { 202: { description: 'The rotation job, queued', schema: jobSchema } },
      handle: requestRotation,
    }),
    route.authenticated({
      method: 'GET',
      pattern: '/v1/jobs/{id}',
      category: 'jobs',
      rateLimit: 'read',
      capability: 'list',
      summary: 'Follow a rotation job',
      request: { params: idParams },
      responses: { 200: { description: 'The job', schema: jobSchema } },
      handle: readJob,
    }),
  ],
};
