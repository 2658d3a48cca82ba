// Engines and roles of dynamic secrets: configured by a tenant's admins, each
// checked against the database before it is kept.
import type { AuthService } from '../auth/auth-service.js';
import type { Principal } from '../auth/principal.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import {
  ENGINE_NAME_PATTERN,
  MAX_ENGINE_CONNECTIONS,
  MAX_LEASES_LIMIT,
  ROLE_NAME_PATTERN,
  leasePrefixOf,
  validateConnectionSecret,
  validateName,
  validateTls,
  validateTtls,
  type DynamicEngine,
  type DynamicRole,
  type EngineTls,
} from './dynamic.js';
import { validateRoleStatements, type StatementKind } from './statement-template.js';
import type { DatabaseDriver, DynamicRepository, EngineConnection } from '../ports/dynamic.js';

export interface NewEngine {
  readonly name: string;
  readonly connectionSecret: string;
  readonly maxConnections?: number;
  readonly tls?: EngineTls;
}

export interface NewRole {
  readonly statements: Partial<Record<StatementKind, readonly string[]>>;
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly maxLeases?: number;
}

export const DEFAULT_MAX_LEASES = 100;

/** Reads the admin connection URL an engine's connection secret holds, in the engine's tenant. */
export type ConnectionSecretReader = (tenantId: string, path: string) => Promise<string>;

/** The admin path of an engine: configuring it and its roles takes `admin` there. */
export const engineAdminPath = (engine: string): string => `dynamic/${engine}/config`;

/** An engine with its admin connection; a missing connection secret is the caller's to fix (409). */
export const connectionOf = async (read: ConnectionSecretReader, engine: DynamicEngine): Promise<EngineConnection> => {
  try {
    return { engine, adminUrl: await read(engine.tenantId, engine.connectionSecret) };
  } catch (error) {
    if (error instanceof NotFoundError) throw new ConflictError(`engine ${engine.name}: connection secret ${engine.connectionSecret} does not exist`);
    throw error;
  }
};

export class DynamicConfigService {
  constructor(
    private readonly repository: DynamicRepository,
    private readonly driver: DatabaseDriver,
    private readonly auth: Pick<AuthService, 'require' | 'can'>,
    private readonly readConnectionSecret: ConnectionSecretReader,
    private readonly now: () => number = Date.now,
  ) {}

  /** Creates an engine once the database answers its admin: a typo in the secret or the TLS settings shows now, not at the first credential. */
  async createEngine(principal: Principal, input: NewEngine): Promise<DynamicEngine> {
    const name = validateName(input.name, ENGINE_NAME_PATTERN, 'name');
    await this.auth.require(principal, 'admin', engineAdminPath(name));
    const maxConnections = input.maxConnections ?? 2;
    if (!Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > MAX_ENGINE_CONNECTIONS) {
      throw new ValidationError(`max_connections must be 1 to ${MAX_ENGINE_CONNECTIONS}`, 'max_connections');
    }
    const engine: DynamicEngine = {
      tenantId: principal.tenantId,
      name,
      plugin: 'postgresql',
      connectionSecret: validateConnectionSecret(input.connectionSecret),
      maxConnections,
      tls: validateTls(input.tls ?? {}),
      createdAt: new Date(this.now()).toISOString(),
      createdBy: principal.identityId,
      health: null,
      irrevocableLeases: 0,
    };
    if (await this.repository.getEngine(engine.tenantId, name)) throw new ConflictError(`engine ${name} already exists`);
    await this.driver.probe(await connectionOf(this.readConnectionSecret, engine));
    const created = { ...engine, health: { healthy: true, probedAt: engine.createdAt, lastError: null } };
    await this.repository.createEngine(created);
    return created;
  }

  async listEngines(principal: Principal): Promise<DynamicEngine[]> {
    const engines = await this.repository.listEngines(principal.tenantId);
    const visible = await Promise.all(engines.map((engine) => this.auth.can(principal, 'admin', engineAdminPath(engine.name))));
    return engines.filter((_engine, index) => visible[index]);
  }

  async getEngine(principal: Principal, name: string): Promise<DynamicEngine> {
    await this.auth.require(principal, 'admin', engineAdminPath(validateName(name, ENGINE_NAME_PATTERN, 'engine')));
    return this.findEngine(principal.tenantId, name);
  }

  /** Refused while the engine has leases: they could no longer be revoked. */
  async deleteEngine(principal: Principal, name: string): Promise<void> {
    await this.getEngine(principal, name);
    const leases = await this.repository.listLeases(principal.tenantId, leasePrefixOf(name), 1, undefined);
    if (leases.items.length > 0) throw new ConflictError(`engine ${name} still has leases; revoke them first (POST /v1/leases/revoke-prefix)`);
    for (const role of await this.repository.listRoles(principal.tenantId, name)) await this.repository.deleteRole(principal.tenantId, name, role.name);
    await this.repository.deleteEngine(principal.tenantId, name);
  }

  /** Creates or replaces a role after a dry run of its statements in a transaction that is rolled back. */
  async putRole(principal: Principal, engineName: string, roleName: string, input: NewRole): Promise<DynamicRole> {
    const engine = await this.getEngine(principal, engineName);
    const name = validateName(roleName, ROLE_NAME_PATTERN, 'role');
    validateTtls(input.defaultTtlSeconds, input.maxTtlSeconds);
    const maxLeases = input.maxLeases ?? DEFAULT_MAX_LEASES;
    if (!Number.isInteger(maxLeases) || maxLeases < 1 || maxLeases > MAX_LEASES_LIMIT) {
      throw new ValidationError(`max_leases must be 1 to ${MAX_LEASES_LIMIT}`, 'max_leases');
    }
    const statements = validateRoleStatements(input.statements);
    await this.driver.verify(await connectionOf(this.readConnectionSecret, engine), statements);
    const role = {
      tenantId: engine.tenantId,
      engine: engine.name,
      name,
      statements,
      defaultTtlSeconds: input.defaultTtlSeconds,
      maxTtlSeconds: input.maxTtlSeconds,
      maxLeases,
      createdAt: new Date(this.now()).toISOString(),
    };
    await this.repository.putRole(role);
    return (await this.repository.getRole(engine.tenantId, engine.name, name)) ?? { ...role, activeLeases: 0 };
  }

  async getRole(principal: Principal, engineName: string, roleName: string): Promise<DynamicRole> {
    const engine = await this.getEngine(principal, engineName);
    return findRole(this.repository, engine.tenantId, engine.name, roleName);
  }

  async listRoles(principal: Principal, engineName: string): Promise<DynamicRole[]> {
    const engine = await this.getEngine(principal, engineName);
    return this.repository.listRoles(engine.tenantId, engine.name);
  }

  /** Leases already issued keep the revocation statements they were issued with. */
  async deleteRole(principal: Principal, engineName: string, roleName: string): Promise<void> {
    const engine = await this.getEngine(principal, engineName);
    if (!(await this.repository.deleteRole(engine.tenantId, engine.name, validateName(roleName, ROLE_NAME_PATTERN, 'role')))) {
      throw new NotFoundError(`role ${roleName} of engine ${engineName} does not exist`);
    }
  }

  private async findEngine(tenantId: string, name: string): Promise<DynamicEngine> {
    const engine = await this.repository.getEngine(tenantId, name);
    if (!engine) throw new NotFoundError(`engine ${name} does not exist`);
    return engine;
  }
}

export const findRole = async (repository: Pick<DynamicRepository, 'getRole'>, tenantId: string, engine: string, name: string): Promise<DynamicRole> => {
  const role = ROLE_NAME_PATTERN.test(name) ? await repository.getRole(tenantId, engine, name) : undefined;
  if (!role) throw new NotFoundError(`role ${name} of engine ${engine} does not exist`);
  return role;
};
