import type { VaultConfig } from '../../config.js';
import { ConflictError, ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../errors.js';
import type { KeyManager } from '../crypto/key-manager.js';
import { TtlCache } from '../ttl-cache.js';
import { globMatches } from './path-glob.js';
import { ADMIN_POLICY, DEFAULT_TENANT, ROOT_IDENTITY, type Principal } from './principal.js';
import { accessorOf, hashToken, isWellFormedToken, newToken } from './tokens.js';
import type { AuthRepository, Capability, Identity, Policy, PolicyRule, TokenRecord } from '../ports/auth.js';

export const TENANT_ID_PATTERN = /^[a-z][a-z0-9-]{1,38}$/;
export const IDENTITY_ID_PATTERN = /^(sa:[a-z0-9][a-z0-9._-]{0,62}|user:[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24})$/;
export const POLICY_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

const ADMIN_RULES: readonly PolicyRule[] = [{ path: '**', capabilities: ['read', 'write', 'delete', 'list', 'rotate', 'admin'] }];

export interface IssuedToken {
  readonly token: string;
  readonly record: TokenRecord;
}

export interface NewIdentity {
  readonly tenantId: string;
  readonly identityId: string;
  readonly policies: readonly string[];
  readonly ttlSeconds: number;
  readonly renewable: boolean;
  readonly maxTtlSeconds: number;
}

/**
 * Authentication (bearer token to principal), authorization (policy globs) and
 * the administration of tenants, identities, tokens and policies.
 */
export class AuthService {
  private readonly tokenCache: TtlCache<TokenRecord>;
  private readonly policyCache: TtlCache<Policy | null>;

  constructor(
    private readonly repository: AuthRepository,
    private readonly keys: KeyManager,
    private readonly config: Pick<VaultConfig, 'authCacheTtlSeconds' | 'maxTokenTtlSeconds'>,
    private readonly now: () => number = Date.now,
  ) {
    this.tokenCache = new TtlCache(config.authCacheTtlSeconds * 1000, 10_000, now);
    this.policyCache = new TtlCache(config.authCacheTtlSeconds * 1000, 10_000, now);
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) throw new UnauthenticatedError('missing bearer token');
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1] || !isWellFormedToken(match[1])) throw new UnauthenticatedError('malformed bearer token');
    const tokenHash = hashToken(match[1]);
    let record = this.tokenCache.get(tokenHash);
    if (!record) {
      record = await this.repository.getToken(tokenHash);
      if (!record) throw new UnauthenticatedError('invalid token');
      this.tokenCache.set(tokenHash, record);
    }
    // Expiry is always decided here: storage TTL only tidies up.
    if (record.expiresAt !== null && record.expiresAt <= this.now()) throw new UnauthenticatedError('token expired');
    return { tenantId: record.tenantId, identityId: record.identityId, policies: record.policies, token: record };
  }

  async can(principal: Principal, capability: Capability, path: string): Promise<boolean> {
    for (const name of principal.policies) {
      const rules = name === ADMIN_POLICY ? ADMIN_RULES : ((await this.policy(principal.tenantId, name))?.rules ?? []);
      for (const rule of rules) {
        if ((rule.capabilities.includes(capability) || rule.capabilities.includes('admin')) && globMatches(rule.path, path)) {
          return true;
        }
      }
    }
    return false;
  }

  async require(principal: Principal, capability: Capability, path: string): Promise<void> {
    if (!(await this.can(principal, capability, path))) {
      throw new ForbiddenError(`permission denied: ${capability} on ${path}`);
    }
  }

  /** The tenant an admin acts on: its own, or any for an admin of the default tenant. */
  async requireAdminOf(principal: Principal, tenantId: string | undefined): Promise<string> {
    const target = tenantId ?? principal.tenantId;
    if (target !== principal.tenantId && principal.tenantId !== DEFAULT_TENANT) {
      throw new ForbiddenError('only administrators of the default tenant may act on other tenants');
    }
    await this.require(principal, 'admin', 'sys');
    if (target !== principal.tenantId && !(await this.repository.getTenant(target))) {
      throw new NotFoundError(`tenant ${target} does not exist`);
    }
    return target;
  }

  /** Fleet-wide operations (health details, status, caches) belong to administrators of the default tenant. */
  async requireOperator(principal: Principal): Promise<void> {
    if (principal.tenantId !== DEFAULT_TENANT) throw new ForbiddenError('only administrators of the default tenant may operate the vault');
    await this.require(principal, 'admin', 'sys');
  }

  async createTenant(principal: Principal, tenantId: string, displayName: string): Promise<void> {
    if (principal.tenantId !== DEFAULT_TENANT) throw new ForbiddenError('only administrators of the default tenant may create tenants');
    await this.require(principal, 'admin', 'sys');
    if (!TENANT_ID_PATTERN.test(tenantId)) throw new ValidationError('tenant id must match ^[a-z][a-z0-9-]{1,38}$', 'tenant_id');
    if (await this.repository.getTenant(tenantId)) throw new ConflictError(`tenant ${tenantId} already exists`);
    await this.ensureTenant(tenantId, displayName);
  }

  /** Creates the tenant and its data key unless it exists; returns the tenant. */
  async ensureTenant(tenantId: string, displayName: string): Promise<void> {
    if (await this.repository.getTenant(tenantId)) return;
    const activeKeyId = await this.keys.createDataKey(tenantId);
    try {
      await this.repository.createTenant({ tenantId, displayName, activeKeyId, createdAt: new Date(this.now()).toISOString() });
    } catch (error) {
      // Another instance created it first: theirs stands, our unused key is harmless.
      if (!(error instanceof ConflictError)) throw error;
    }
  }

  async activeKeyId(tenantId: string): Promise<string> {
    const tenant = await this.repository.getTenant(tenantId);
    if (!tenant) throw new NotFoundError(`tenant ${tenantId} does not exist`);
    return tenant.activeKeyId;
  }

  async createIdentity(request: NewIdentity): Promise<IssuedToken> {
    if (!IDENTITY_ID_PATTERN.test(request.identityId)) {
      throw new ValidationError('identity must be sa:<name> or user:<email>', 'identity');
    }
    for (const name of request.policies) {
      if (!POLICY_NAME_PATTERN.test(name)) throw new ValidationError(`policy name ${name} is invalid`, 'policies');
      if (name !== ADMIN_POLICY && !(await this.repository.getPolicy(request.tenantId, name))) {
        throw new ValidationError(`policy ${name} does not exist in tenant ${request.tenantId}`, 'policies');
      }
    }
    this.checkTtl(request.ttlSeconds, 'ttl_seconds');
    this.checkTtl(request.maxTtlSeconds, 'max_ttl_seconds');
    if (request.maxTtlSeconds < request.ttlSeconds) throw new ValidationError('max_ttl_seconds must be at least ttl_seconds', 'max_ttl_seconds');
    const identity: Identity = {
      tenantId: request.tenantId,
      identityId: request.identityId,
      policies: [...request.policies],
      createdAt: new Date(this.now()).toISOString(),
    };
    await this.repository.putIdentity(identity);
    return this.issueToken(identity, request.ttlSeconds, request.renewable, request.maxTtlSeconds);
  }

  /** Stores the root token of the default tenant (idempotent). */
  async bootstrapRoot(rootToken: string): Promise<void> {
    if (!isWellFormedToken(rootToken)) throw new ValidationError('root token must be svt_ followed by 43 base64url characters');
    await this.ensureTenant(DEFAULT_TENANT, 'Default tenant');
    const tokenHash = hashToken(rootToken);
    if (await this.repository.getToken(tokenHash)) return;
    const issuedAt = this.now();
    await this.repository.putToken({
      tokenHash,
      accessor: accessorOf(tokenHash),
      tenantId: DEFAULT_TENANT,
      identityId: ROOT_IDENTITY,
      policies: [ADMIN_POLICY],
      issuedAt,
      expiresAt: null,
      ttlSeconds: 0,
      renewable: false,
      maxExpiresAt: null,
    });
  }

  async putPolicy(tenantId: string, name: string, rules: readonly PolicyRule[]): Promise<Policy> {
    if (!POLICY_NAME_PATTERN.test(name)) throw new ValidationError('policy name must match ^[a-z0-9][a-z0-9_-]{0,63}$', 'name');
    if (name === ADMIN_POLICY) throw new ValidationError('the admin policy is built in and cannot be changed', 'name');
    if (rules.length === 0) throw new ValidationError('a policy must hold at least one rule', 'rules');
    const policy: Policy = { tenantId, name, rules, updatedAt: new Date(this.now()).toISOString() };
    await this.repository.putPolicy(policy);
    this.policyCache.delete(`${tenantId}/${name}`);
    return policy;
  }

  async renew(principal: Principal, incrementSeconds: number | undefined): Promise<TokenRecord> {
    const token = principal.token;
    if (!token.renewable || token.expiresAt === null) throw new ForbiddenError('token is not renewable');
    const increment = incrementSeconds ?? token.ttlSeconds;
    this.checkTtl(increment, 'increment_seconds');
    const expiresAt = Math.min(this.now() + increment * 1000, token.maxExpiresAt ?? Number.MAX_SAFE_INTEGER);
    const next = Math.max(expiresAt, token.expiresAt);
    await this.repository.extendToken(token.tokenHash, next);
    const renewed = { ...token, expiresAt: next };
    this.tokenCache.set(token.tokenHash, renewed);
    return renewed;
  }

  private async issueToken(identity: Identity, ttlSeconds: number, renewable: boolean, maxTtlSeconds: number): Promise<IssuedToken> {
    const token = newToken();
    const tokenHash = hashToken(token);
    const issuedAt = this.now();
    const record: TokenRecord = {
      tokenHash,
      accessor: accessorOf(tokenHash),
      tenantId: identity.tenantId,
      identityId: identity.identityId,
      policies: identity.policies,
      issuedAt,
      expiresAt: issuedAt + ttlSeconds * 1000,
      ttlSeconds,
      renewable,
      maxExpiresAt: issuedAt + maxTtlSeconds * 1000,
    };
    await this.repository.putToken(record);
    return { token, record };
  }

  private async policy(tenantId: string, name: string): Promise<Policy | undefined> {
    const key = `${tenantId}/${name}`;
    const cached = this.policyCache.get(key);
    if (cached !== undefined) return cached ?? undefined;
    const policy = await this.repository.getPolicy(tenantId, name);
    this.policyCache.set(key, policy ?? null);
    return policy;
  }

  private checkTtl(seconds: number, field: string): void {
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > this.config.maxTokenTtlSeconds) {
      throw new ValidationError(`${field} must be an integer between 1 and ${this.config.maxTokenTtlSeconds}`, field);
    }
  }
}
