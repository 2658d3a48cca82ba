import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Client, ClientConfig } from 'pg';
import { ValidationError } from '../../domain/errors.js';
import { BASE62, PasswordRotator } from '../../domain/rotation/password-rotator.js';
import { RotationStepError } from '../../domain/rotation/rotator.js';
import { validateSecretPath } from '../../domain/secrets/secret-path.js';
import type { RotationContext, RotationOptions, Rotator } from '../../domain/ports/rotation.js';

/** URL-unreserved characters: a password from them needs no escaping in a connection URL, a conninfo string or a shell. */
export const DB_PASSWORD_ALPHABET = `${BASE62}-_.~`;
const ROLE = /^[a-z_][a-z0-9_]{0,62}$/;
const OPTIONS = ['connection_secret', 'role'];
const DEFAULT_PORT = 5432;
const SSL_MODES: Readonly<Record<string, ClientConfig['ssl']>> = {
  disable: false,
  // libpq's meaning: encrypt, but do not verify the server's certificate.
  require: { rejectUnauthorized: false },
  'verify-ca': true,
  'verify-full': true,
};

export interface PostgresRotatorTimeouts {
  readonly connectMs: number;
  readonly statementMs: number;
}

export const DEFAULT_TIMEOUTS: PostgresRotatorTimeouts = { connectMs: 5_000, statementMs: 10_000 };

/** The part of pg's Client a rotation uses; tests and callers may inject their own. */
export type SqlClient = Pick<Client, 'connect' | 'query' | 'end' | 'on'>;
export type SqlClientFactory = (config: ClientConfig) => SqlClient | Promise<SqlClient>;

type Pg = typeof import('pg');
let pg: Pg | undefined;
/** pg (about 80 KiB) loads on the first rotation that needs it, not with every api cold start. */
const loadPg = async (): Promise<Pg> => {
  pg ??= await import('pg');
  return pg;
};

interface Settings {
  readonly connectionSecret: string;
  readonly role: string;
}

interface Server {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly ssl: ClientConfig['ssl'];
}

interface AdminConnection extends Server {
  readonly user: string;
  readonly password: string;
}

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
export const scramSha256Secret = (password: string, salt: Buffer = randomBytes(16), iterations = 4096): string => {
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest('base64');
  const serverKey = createHmac('sha256', salted).update('Server Key').digest('base64');
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey}:${serverKey}`;
};

// PostgreSQL SASLprep-normalises passwords but passes pure ASCII through as is, so only then can we hash on its behalf.
const serverPasswordOf = (password: string): string => (/^[\x20-\x7e]+$/.test(password) ? scramSha256Secret(password) : password);

const redact = (text: string, secrets: readonly string[]): string =>
  secrets.filter((secret) => secret !== '').reduce((result, secret) => result.split(secret).join('[redacted]'), text);

// pg's own messages name users, databases and addresses, never passwords; redaction is a second line.
const reasonOf = (error: unknown): string => {
  if (pg && error instanceof pg.DatabaseError) return `${error.message} (SQLSTATE ${error.code ?? 'unknown'})`;
  if (error instanceof Error) return error.message;
  return 'unknown error';
};

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

  constructor(
    private readonly createClient: SqlClientFactory = async (config) => new (await loadPg()).Client(config),
    private readonly timeouts: PostgresRotatorTimeouts = DEFAULT_TIMEOUTS,
  ) {}

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
      throw new RotationStepError(
        step,
        `could not read connection secret "${path}": ${redact(reasonOf(error), [context.pendingValue, context.currentValue])}`,
        {
          cause: error,
        },
      );
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
    const client = await this.createClient({
      host: connection.host,
      port: connection.port,
      database: connection.database,
      user: connection.user,
      password: connection.password,
      ssl: connection.ssl,
      application_name: 'scaivault-rotator',
      connectionTimeoutMillis: this.timeouts.connectMs,
      statement_timeout: this.timeouts.statementMs,
      lock_timeout: this.timeouts.statementMs,
      query_timeout: this.timeouts.statementMs + 1_000,
    });
    // A connection dropped while idle is emitted, not thrown; unheard it would crash the process.
    client.on('error', () => undefined);
    try {
      await client.connect();
      await work(client);
    } catch (error) {
      // No cause: a caller may log it whole, and only the redacted message is known to hold no secret.
      throw new RotationStepError(step, `${failure}: ${redact(reasonOf(error), secrets)}`);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Reads `postgres://user:password@host:port/database?sslmode=…`; messages name the secret, never its value. */
export const parseConnectionUrl = (value: string, path: string, step: 'set' | 'test'): AdminConnection => {
  const invalid = (why: string): RotationStepError => new RotationStepError(step, `connection secret "${path}" ${why}`);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw invalid('is not a postgres:// URL');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw invalid('is not a postgres:// URL');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw invalid('names no host');
  let user: string;
  let password: string;
  let database: string;
  try {
    user = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
    database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  } catch {
    throw invalid('has malformed percent-encoding');
  }
  if (user === '') throw invalid('names no user');
  let ssl: ClientConfig['ssl'] = false;
  for (const [key, mode] of url.searchParams) {
    if (key !== 'sslmode') throw invalid(`has unsupported parameter "${key}"; only sslmode is supported`);
    if (!Object.hasOwn(SSL_MODES, mode)) throw invalid(`has unsupported sslmode "${mode}"; use one of ${Object.keys(SSL_MODES).join(', ')}`);
    ssl = SSL_MODES[mode];
  }
  // libpq's default database is the user's name.
  return { host, port: url.port === '' ? DEFAULT_PORT : Number(url.port), database: database || user, user, password, ssl };
};
