import { createHash, createHmac, pbkdf2, pbkdf2Sync, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Client, ClientConfig } from 'pg';
import { ValidationError } from '../../domain/errors.js';
import { BASE62, PasswordRotator } from '../../domain/rotation/password-rotator.js';
import { RotationStepError } from '../../domain/rotation/rotator.js';
import { validateSecretPath } from '../../domain/secrets/secret-path.js';
import type { RotationContext, RotationOptions, Rotator } from '../../domain/ports/rotation.js';
import { EgressPolicy } from '../http/egress-guard.js';
import { describePgError, guardedAddress, loadPg, parsePostgresUrl, sslOptionsOf, type PostgresTarget } from './pg-connection.js';

/** URL-unreserved characters: a password from them needs no escaping in a connection URL, a conninfo string or a shell. */
export const DB_PASSWORD_ALPHABET = `${BASE62}-_.~`;
const ROLE = /^[a-z_][a-z0-9_]{0,62}$/;
const OPTIONS = ['connection_secret', 'role'];
export interface PostgresRotatorTimeouts {
  readonly connectMs: number;
  readonly statementMs: number;
}

export const DEFAULT_TIMEOUTS: PostgresRotatorTimeouts = { connectMs: 5_000, statementMs: 10_000 };

/** The part of pg's Client a rotation uses; tests and callers may inject their own. */
export type SqlClient = Pick<Client, 'connect' | 'query' | 'end' | 'on'>;
export type SqlClientFactory = (config: ClientConfig) => SqlClient | Promise<SqlClient>;

/** pg's Client, loaded on first use. */
const pgClient: SqlClientFactory = async (config) => new (await loadPg()).Client(config);

export interface PostgresRotatorOptions {
  /** Where the rotator may connect: private and metadata addresses only when allowlisted. Default: none allowlisted. */
  readonly egress?: EgressPolicy;
  readonly createClient?: SqlClientFactory;
  readonly timeouts?: PostgresRotatorTimeouts;
}

interface Settings {
  readonly connectionSecret: string;
  readonly role: string;
}

type AdminConnection = PostgresTarget;

const settingsOf = (options: RotationOptions): Settings => {
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key)) throw new ValidationError(`unknown postgresql rotation option "${key}"; expected one of ${OPTIONS.join(', ')}`, key);
  }
  const connectionSecret = options.connection_secret;
  if (typeof connectionSecret !== 'string' || connectionSecret === '') {
    throw new ValidationError('connection_secret must be the path of the secret holding the admin connection URL', 'connection_secret');
  }
  try {
    validateSecretPath(connectionSecret);
  } catch (error) {
    throw new ValidationError(`connection_secret: ${(error as Error).message}`, 'connection_secret');
  }
  const role = options.role;
  if (typeof role !== 'string' || !ROLE.test(role)) {
    throw new ValidationError('role must be a PostgreSQL role name: a lowercase letter or _, then up to 62 lowercase letters, digits or _', 'role');
  }
  return { connectionSecret, role };
};

/**
 * The SCRAM-SHA-256 secret PostgreSQL would store for this password (RFC 5802, PostgreSQL's
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`). Sending it instead of the
 * plaintext keeps the password out of server logs (log_statement=ddl) and pg_stat_statements.
 */
export const scramSha256Secret = (password: string, salt: Buffer = randomBytes(16), iterations = 4096): string =>
  scramFromSalted(pbkdf2Sync(password, salt, iterations, 32, 'sha256'), salt, iterations);

const pbkdf2Async = promisify(pbkdf2);

/** The same verifier with the key derivation on libuv's thread pool: a busy server keeps its event loop free. */
export const scramSha256SecretAsync = async (password: string, salt: Buffer = randomBytes(16), iterations = 4096): Promise<string> =>
  scramFromSalted(await pbkdf2Async(password, salt, iterations, 32, 'sha256'), salt, iterations);

const scramFromSalted = (salted: Buffer, salt: Buffer, iterations: number): string => {
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest('base64');
  const serverKey = createHmac('sha256', salted).update('Server Key').digest('base64');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey}:${serverKey}`;
};

// PostgreSQL SASLprep-normalises passwords but passes pure ASCII through as is, so only then can we hash on its behalf.
const serverPasswordOf = (password: string): string => (/^[\x20-\x7e]+$/.test(password) ? scramSha256Secret(password) : password);

/**
 * Rotates a PostgreSQL role's password: `set` runs ALTER ROLE as the admin whose connection URL
 * another secret of the tenant holds, `test` logs in as the role with the pending password.
 */
export class PostgresRotator implements Rotator {
  readonly name = 'postgresql';
  private readonly passwords = new PasswordRotator('postgresql', {
    length: 32,
    alphabet: DB_PASSWORD_ALPHABET,
    requireEachClass: true,
    allowsPrefix: false,
  });

  private readonly egress: EgressPolicy;
  private readonly createClient: SqlClientFactory;
  private readonly timeouts: PostgresRotatorTimeouts;

  constructor(options: PostgresRotatorOptions = {}) {
    this.egress = options.egress ?? new EgressPolicy({ allowlist: [] });
    this.createClient = options.createClient ?? pgClient;
    this.timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  }

  validate(options: RotationOptions): void {
    settingsOf(options);
  }

  generate(options: RotationOptions, currentValue: string): string {
    settingsOf(options);
    return this.passwords.generate({}, currentValue);
  }

  async set(context: RotationContext): Promise<void> {
    const { role, connectionSecret } = settingsOf(context.options);
    if (context.pendingValue === '') throw new RotationStepError('set', `the pending password of role "${role}" is empty`);
    const admin = await this.adminConnection(context, connectionSecret, 'set');
    // ALTER ROLE takes no bind parameters; both parts are quoted by pg's escapers, and the role is validated besides.
    const { escapeIdentifier, escapeLiteral } = await loadPg();
    const statement = `ALTER ROLE ${escapeIdentifier(role)} WITH PASSWORD ${escapeLiteral(serverPasswordOf(context.pendingValue))}`;
    await this.withClient(
      'set',
      admin,
      `could not set the password of role "${role}" on ${admin.host}:${admin.port}`,
      [context.pendingValue, context.currentValue, admin.password],
      (client) => client.query(statement),
    );
  }

  async test(context: RotationContext): Promise<void> {
    const { role, connectionSecret } = settingsOf(context.options);
    const admin = await this.adminConnection(context, connectionSecret, 'test');
    await this.withClient(
      'test',
      { ...admin, user: role, password: context.pendingValue },
      `role "${role}" could not use the pending password on ${admin.host}:${admin.port}`,
      [context.pendingValue, context.currentValue, admin.password],
      (client) => client.query('SELECT 1'),
    );
  }

  private async adminConnection(context: RotationContext, path: string, step: 'set' | 'test'): Promise<AdminConnection> {
    let value: string;
    try {
      value = await context.readSecret(path);
    } catch (error) {
      throw new RotationStepError(step, `could not read connection secret "${path}": ${describePgError(error, [context.pendingValue, context.currentValue])}`, {
        cause: error,
      });
    }
    return parseConnectionUrl(value, path, step);
  }

  private async withClient(
    step: 'set' | 'test',
    connection: AdminConnection,
    failure: string,
    secrets: readonly string[],
    work: (client: SqlClient) => Promise<unknown>,
  ): Promise<void> {
    let client: SqlClient | undefined;
    try {
      // The egress guard first: the socket goes to the address it checked.
      const address = await guardedAddress(this.egress, connection.host);
      client = await this.clientFor(connection, address);
      await client.connect();
      await work(client);
    } catch (error) {
      // No cause: a caller may log it whole, and only the redacted message is known to hold no secret.
      throw new RotationStepError(step, `${failure}: ${describePgError(error, secrets)}`);
    } finally {
      await client?.end().catch(() => undefined);
    }
  }

  private async clientFor(connection: AdminConnection, address: string): Promise<SqlClient> {
    const client = await this.createClient({
      host: address,
      port: connection.port,
      database: connection.database,
      user: connection.user,
      password: connection.password,
      ssl: sslOptionsOf(connection.sslmode, connection.host),
      application_name: 'scaivault-rotator',
      connectionTimeoutMillis: this.timeouts.connectMs,
      statement_timeout: this.timeouts.statementMs,
      lock_timeout: this.timeouts.statementMs,
      query_timeout: this.timeouts.statementMs + 1_000,
    });
    // A connection dropped while idle is emitted, not thrown; unheard it would crash the process.
    client.on('error', () => undefined);
    return client;
  }
}

/** Reads `postgres://user:password@host:port/database?sslmode=…`; messages name the secret, never its value. */
export const parseConnectionUrl = (value: string, path: string, step: 'set' | 'test'): AdminConnection =>
  parsePostgresUrl(value, (why) => new RotationStepError(step, `connection secret "${path}" ${why}`));
