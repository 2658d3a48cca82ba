import { EgressPolicy } from '../adapters/http/egress-guard.js';
import type { VaultConfig } from '../config.js';

/** The egress policy every outbound call on a tenant's behalf obeys: webhooks, rotators, ACME, dynamic-secret engines. */
export const egressPolicyOf = (config: Pick<VaultConfig, 'egressAllowlist'>): EgressPolicy => new EgressPolicy({ allowlist: config.egressAllowlist });
