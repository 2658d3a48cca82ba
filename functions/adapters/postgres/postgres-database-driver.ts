// The PostgreSQL driver of dynamic secrets: a small pool per engine and
// instance, every connection through the egress guard, statements rendered
// with pg's own escaping, a CLIENT span and a latency sample for every call.
// Spans carry the statement templates, never the rendered SQL; passwords go
// to the server as SCRAM verifiers, so not even its log sees them.
import { createHash, randomBytes } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { DependencyUnavailableError, ValidationError } from '../../domain/errors.js';
import type { RoleStatements } from '../../domain/dynamic/dynamic.js';
import { renderStatement, type Escapers, type StatementKind, type TemplateValues } from '../../domain/dynamic/statement-template.js';
import type { DatabaseDriver, EngineConnection, NewDatabaseUser, RevokeOutcome } from '../../domain/ports/dynamic.js';
import { defaultTracing, runInSpan, type Tracing } from '../../observability/tracing.js';
import { EgressRefusedError, type EgressPolicy } from '../http/egress-guard.js';
import { scramSha256SecretAsync } from './postgres-rotator.js';
import { describePgError, guardedAddress, loadPg, parsePostgresUrl, sslOptionsOf, type PostgresTarget } from './pg-connection.js';

export type DriverOperation = 'probe' | 'verify_statements' | 'create_credential' | 'renew_credential' | 'revoke_credential';

/** Observes each database call: `scaivault_external_request_duration_seconds{provider,operation,status}`. */
export type CallObserver = (operation: DriverOperation, status: 'success' | 'error', seconds: number) => void;

export interface PostgresDriverOptions {
  readonly egress: EgressPolicy;
  readonly observe?: CallObserver;
  readonly tracing?: Tracing;
  readonly connectTimeoutMs?: number;
  readonly statementTimeoutMs?: number;
  /** A pool is rebuilt after this long, so its host is resolved (and checked) again. */
  readonly poolMaxAgeMs?: number;
}

/** The database could not be reached or refused the work: 503 to a request, a failed attempt to the scheduler. */
export class EngineUnavailableError extends DependencyUnavailableError {
  override readonly name = 'EngineUnavailableError';
  constructor(
    engine: string,
    readonly reason: string,
  ) {
    super(`database engine ${engine}`);
    this.message = `engine ${engine}: ${reason}`;
  }
}

interface PoolEntry {
  readonly pool: Pool;
  readonly target: PostgresTarget;
  readonly createdAt: number;
}

const VERIFY_NAME = 'scaivault_verify_role';

export class PostgresDatabaseDriver implements DatabaseDriver {
  private readonly pools = new Map<string, Promise<PoolEntry>>();
  private readonly tracing: Tracing;

  constructor(private readonly options: PostgresDriverOptions) {
    this.tracing = options.tracing ?? defaultTracing;
  }

  async probe(connection: EngineConnection): Promise<void> {
    try {
      await this.call(connection, 'probe', [], (client) => client.query('SELECT 1'));
    } catch (error) {
      // A pool whose database went away is rebuilt (and its host checked again) on the next use.
      await this.dropPool(connection);
      throw error;
    }
  }

  async verify(connection: EngineConnection, statements: RoleStatements): Promise<void> {
    const sample: TemplateValues = {
      name: VERIFY_NAME,
      password: await scramSha256SecretAsync(randomBytes(16).toString('hex')),
      expiration: new Date(Date.now() + 3_600_000).toISOString(),
    };
    await this.call(connection, 'verify_statements', [...statements.creation, ...statements.revocation], async (client, quote) => {
      await client.query('BEGIN');
      try {
        await runKind(client, 'creation', statements.creation, sample, quote);
        await runKind(client, 'renewal', statements.renewal, sample, quote);
        await client.query('SAVEPOINT scaivault_verify');
        await runKind(client, 'revocation', statements.revocation, sample, quote);
        await client.query('ROLLBACK TO SAVEPOINT scaivault_verify');
        await runKind(client, 'rollback', statements.rollback, sample, quote);
      } finally {
        // A dry run: nothing it did is kept.
        await client.query('ROLLBACK').catch(() => undefined);
      }
    });
  }

  async create(connection: EngineConnection, statements: RoleStatements, user: NewDatabaseUser): Promise<void> {
    const values = { name: user.username, password: await scramSha256SecretAsync(user.password), expiration: user.expiresAt };
    await this.call(
      connection,
      'create_credential',
      statements.creation,
      async (client, quote) => {
        // One round trip: a multi-statement simple query runs as one implicit transaction, all or nothing.
        const script = statements.creation.map((statement) => renderStatement(statement, values, quote)).join(';\n');
        try {
          await client.query(script);
        } catch (error) {
          // What a statement did outside the transaction (another database, a grant elsewhere) is undone by the rollback statements.
          for (const statement of statements.rollback) await client.query(renderStatement(statement, values, quote)).catch(() => undefined);
          await client.query(`DROP ROLE IF EXISTS ${quote.identifier(user.username)}`).catch(() => undefined);
          throw error;
        }
      },
      [user.password, values.password],
    );
  }

  async renew(connection: EngineConnection, statements: RoleStatements, username: string, expiresAt: string): Promise<void> {
    await this.call(connection, 'renew_credential', statements.renewal, async (client, quote) => {
      await inTransaction(client, () => runKind(client, 'renewal', statements.renewal, { name: username, expiration: expiresAt }, quote));
    });
  }

  async revoke(connection: EngineConnection, statements: Pick<RoleStatements, 'revocation'>, username: string): Promise<RevokeOutcome> {
    return this.call(connection, 'revoke_credential', statements.revocation, async (client, quote) => {
      const found = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [username]);
      if (found.rowCount === 0) return 'absent';
      // No new session, and none left open: DROP ROLE alone would let a connected client carry on.
      await client.query(`ALTER ROLE ${quote.identifier(username)} NOLOGIN`);
      await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [username]);
      await inTransaction(client, () => runKind(client, 'revocation', statements.revocation, { name: username }, quote));
      // Statements that left the role behind do not leave a login behind.
      await client.query(`DROP ROLE IF EXISTS ${quote.identifier(username)}`);
      return 'revoked';
    });
  }

  /** Closes every pool (shutdown, tests). */
  async close(): Promise<void> {
    const entries = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(entries.map(async (entry) => (await entry.catch(() => undefined))?.pool.end().catch(() => undefined)));
  }

  private async call<T>(
    connection: EngineConnection,
    operation: DriverOperation,
    templates: readonly string[],
    work: (client: PoolClient, quote: Escapers) => Promise<T>,
    secrets: readonly string[] = [],
  ): Promise<T> {
    const started = performance.now();
    const target = parsePostgresUrl(connection.adminUrl, (why) => new ValidationError(`engine ${connection.engine.name}: its connection secret ${why}`));
    const attributes = {
      'db.system': 'postgresql',
      'db.system.name': 'postgresql',
      'db.operation.name': operation,
      'db.namespace': target.database,
      'server.address': target.host,
      'server.port': target.port,
      'scaivault.engine': connection.engine.name,
      ...(templates.length > 0 ? { 'db.query.text': templates.join(';\n').slice(0, 2000) } : {}),
    };
    const run = () => this.withClient(connection, target, (client, quote) => work(client, quote));
    let status: 'success' | 'error' = 'error';
    try {
      const result = this.tracing.enabled ? await runInSpan(this.tracing.startClientSpan(`postgresql ${operation}`, attributes), run) : await run();
      status = 'success';
      return result;
    } catch (error) {
      throw this.failure(connection, operation, error, [...secrets, target.password]);
    } finally {
      this.options.observe?.(operation, status, (performance.now() - started) / 1000);
    }
  }

  private failure(connection: EngineConnection, operation: DriverOperation, error: unknown, secrets: readonly string[]): Error {
    if (error instanceof ValidationError) return error;
    // Final, and the caller's to fix: no retry reaches a host the egress policy refuses.
    if (error instanceof EgressRefusedError) {
      return new ValidationError(
        `engine ${connection.engine.name}: ${error.message} (allowlist it in SCAIVAULT_EGRESS_ALLOWLIST if intended)`,
        'connection_secret',
      );
    }
    const reason = describePgError(error, secrets);
    const statement = (error as { statementKind?: StatementKind; statementIndex?: number }).statementKind;
    if (operation === 'verify_statements' && statement && (error as { severity?: string }).severity) {
      const field = `${statement}_statements`;
      return new ValidationError(`${field}[${(error as { statementIndex?: number }).statementIndex ?? 0}] failed on the database: ${reason}`, field);
    }
    return new EngineUnavailableError(connection.engine.name, reason);
  }

  private async withClient<T>(connection: EngineConnection, target: PostgresTarget, work: (client: PoolClient, quote: Escapers) => Promise<T>): Promise<T> {
    const pg = await loadPg();
    const { pool } = await this.poolFor(connection, target);
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      return await work(client, { identifier: pg.escapeIdentifier, literal: pg.escapeLiteral });
    } catch (error) {
      // A client whose work failed mid-transaction is not handed to the next caller.
      broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private poolKey(connection: EngineConnection): string {
    const { engine } = connection;
    const settings = JSON.stringify([connection.adminUrl, engine.tls, engine.maxConnections]);
    return `${engine.tenantId}/${engine.name}/${createHash('sha256').update(settings).digest('hex').slice(0, 16)}`;
  }

  private async poolFor(connection: EngineConnection, target: PostgresTarget): Promise<PoolEntry> {
    const key = this.poolKey(connection);
    const existing = this.pools.get(key);
    const entry = await existing?.catch(() => undefined);
    if (entry && Date.now() - entry.createdAt < (this.options.poolMaxAgeMs ?? 300_000)) return entry;
    if (entry) void entry.pool.end().catch(() => undefined);
    const creating = this.createPool(connection, target);
    this.pools.set(key, creating);
    creating.catch(() => this.pools.delete(key));
    return creating;
  }

  private async createPool(connection: EngineConnection, target: PostgresTarget): Promise<PoolEntry> {
    const pg = await loadPg();
    const { engine } = connection;
    // The egress guard: the pool's sockets go to the one address it checked, until the pool is rebuilt.
    const address = await guardedAddress(this.options.egress, target.host);
    const statementMs = this.options.statementTimeoutMs ?? 10_000;
    const pool = new pg.Pool({
      host: address,
      port: target.port,
      database: target.database,
      user: target.user,
      password: target.password,
      ssl: sslOptionsOf(engine.tls.sslmode ?? target.sslmode, target.host, engine.tls.caPem),
      max: engine.maxConnections,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5_000,
      statement_timeout: statementMs,
      lock_timeout: statementMs,
      query_timeout: statementMs + 1_000,
      application_name: 'scaivault-dynamic',
      // Idle connections never keep a stopping process alive.
      allowExitOnIdle: true,
    });
    // An idle client's dropped connection is emitted, not thrown; unheard it would crash the process.
    pool.on('error', () => undefined);
    return { pool, target, createdAt: Date.now() };
  }

  private async dropPool(connection: EngineConnection): Promise<void> {
    const key = this.poolKey(connection);
    const entry = await this.pools.get(key)?.catch(() => undefined);
    this.pools.delete(key);
    await entry?.pool.end().catch(() => undefined);
  }
}

/** Runs one kind of statements in order; a failure names which one (for a dry run's answer). */
const runKind = async (client: PoolClient, kind: StatementKind, statements: readonly string[], values: TemplateValues, quote: Escapers): Promise<void> => {
  for (const [index, statement] of statements.entries()) {
    try {
      await client.query(renderStatement(statement, values, quote));
    } catch (error) {
      throw Object.assign(error as Error, { statementKind: kind, statementIndex: index });
    }
  }
};

const inTransaction = async (client: PoolClient, work: () => Promise<void>): Promise<void> => {
  await client.query('BEGIN');
  try {
    await work();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
};
