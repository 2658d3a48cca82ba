// Policies on the wire.
import * as z from 'zod/mini';
import type { Policy } from '../../domain/ports/auth.js';
import { timestamp } from '../schemas.js';

export const policySchema = z.strictObject({
  name: z.string(),
  tenant_id: z.string(),
  rules: z.array(z.strictObject({ path: z.string(), capabilities: z.array(z.string()) })),
  updated_at: timestamp,
});

export const policyJson = (policy: Policy): z.infer<typeof policySchema> => ({
  name: policy.name,
  tenant_id: policy.tenantId,
  rules: policy.rules.map((rule) => ({ path: rule.path, capabilities: [...rule.capabilities] })),
  updated_at: policy.updatedAt,
});
