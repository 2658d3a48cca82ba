// Tenants and tokens on the wire. A token's secret appears only in the answer that issues it.
import * as z from 'zod/mini';
import type { TokenRecord } from '../../domain/ports/auth.js';
import { nullableTimestamp, timestamp } from '../schemas.js';

const tokenFields = {
  accessor: z.string(),
  tenant_id: z.string(),
  identity_id: z.string(),
  policies: z.array(z.string()),
  issued_at: timestamp,
  expires_at: nullableTimestamp,
  ttl_seconds: z.nullable(z.int()),
  renewable: z.boolean(),
  max_expires_at: nullableTimestamp,
};

export const tokenSchema = z.strictObject(tokenFields).check(z.meta({ id: 'Token' }));
export const issuedTokenSchema = z.strictObject({ token: z.string(), ...tokenFields });
export const tenantSchema = z.strictObject({ tenant_id: z.string(), display_name: z.string() });

const isoOrNull = (epochMs: number | null): string | null => (epochMs === null ? null : new Date(epochMs).toISOString());

export const tokenJson = (token: TokenRecord, now: number): z.infer<typeof tokenSchema> => ({
  accessor: token.accessor,
  tenant_id: token.tenantId,
  identity_id: token.identityId,
  policies: [...token.policies],
  issued_at: new Date(token.issuedAt).toISOString(),
  expires_at: isoOrNull(token.expiresAt),
  ttl_seconds: token.expiresAt === null ? null : Math.max(0, Math.floor((token.expiresAt - now) / 1000)),
  renewable: token.renewable,
  max_expires_at: isoOrNull(token.maxExpiresAt),
});
