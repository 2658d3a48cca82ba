import { ConflictError } from '../../../functions/domain/errors.js';
import type { AuthRepository, Identity, Policy, Tenant, TokenRecord } from '../../../functions/domain/ports/auth.js';
import type { DataKeyRecord } from '../../../functions/domain/ports/keys.js';

/** The AuthRepository port in memory, with the same create-once semantics as the DynamoDB adapter. */
export class InMemoryAuthRepository implements AuthRepository {
  readonly tenants = new Map<string, Tenant>();
  readonly identities = new Map<string, Identity>();
  readonly tokens = new Map<string, TokenRecord>();
  readonly policies = new Map<string, Policy>();
  readonly dataKeys = new Map<string, DataKeyRecord>();

  async createTenant(tenant: Tenant): Promise<void> {
    if (this.tenants.has(tenant.tenantId)) throw new ConflictError(`tenant ${tenant.tenantId} exists`);
    this.tenants.set(tenant.tenantId, tenant);
  }

  async listTenantIds(): Promise<string[]> {
    return [...this.tenants.keys()].sort();
  }

  async getTenant(tenantId: string): Promise<Tenant | undefined> {
    return this.tenants.get(tenantId);
  }

  async putIdentity(identity: Identity): Promise<void> {
    this.identities.set(`${identity.tenantId}/${identity.identityId}`, identity);
  }

  async getIdentity(tenantId: string, identityId: string): Promise<Identity | undefined> {
    return this.identities.get(`${tenantId}/${identityId}`);
  }

  async putToken(token: TokenRecord): Promise<void> {
    this.tokens.set(token.tokenHash, token);
  }

  async getToken(tokenHash: string): Promise<TokenRecord | undefined> {
    return this.tokens.get(tokenHash);
  }

  async extendToken(tokenHash: string, expiresAt: number): Promise<void> {
    const token = this.tokens.get(tokenHash);
    if (!token) throw new ConflictError('token does not exist');
    this.tokens.set(tokenHash, { ...token, expiresAt });
  }

  async putPolicy(policy: Policy): Promise<void> {
    this.policies.set(`${policy.tenantId}/${policy.name}`, policy);
  }

  async getPolicy(tenantId: string, name: string): Promise<Policy | undefined> {
    return this.policies.get(`${tenantId}/${name}`);
  }

  async putDataKey(record: DataKeyRecord): Promise<void> {
    this.dataKeys.set(`${record.tenantId}/${record.keyId}`, record);
  }

  async getDataKey(tenantId: string, keyId: string): Promise<DataKeyRecord | undefined> {
    return this.dataKeys.get(`${tenantId}/${keyId}`);
  }
}
