// What every PostgreSQL connection of the vault shares: the driver loaded on
// first use (never at the api's cold start), the admin URL's parsing, TLS as
// libpq's sslmode means it, and the egress guard: the host is resolved, every
// address it resolves to checked, and the socket opened to the checked address
// itself, so a name cannot resolve somewhere else between check and connect.
import { isIP } from 'node:net';
import type { ClientConfig } from 'pg';
import type { SslMode } from '../../domain/dynamic/dynamic.js';
import { lazyModule } from '../../domain/lazy-module.js';
import type { EgressPolicy } from '../http/egress-guard.js';

type PgModule = typeof import('pg');

/** pg, imported once on first use. */
export const loadPg = lazyModule(async (): Promise<PgModule> => {
  const module = await import('pg');
  return ((module as unknown as { default?: PgModule }).default ?? module) as PgModule;
});

export const DEFAULT_PORT = 5432;
export const URL_SSL_MODES: readonly SslMode[] = ['disable', 'require', 'verify-ca', 'verify-full'];

export interface PostgresTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  readonly sslmode: SslMode;
}

/** Reads `postgres://user:password@host:port/database?sslmode=…`; `invalid(why)` makes the error, which must never quote the value. */
export const parsePostgresUrl = (value: string, invalid: (why: string) => Error): PostgresTarget => {
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
  let sslmode: SslMode = 'disable';
  for (const [key, mode] of url.searchParams) {
    if (key !== 'sslmode') throw invalid(`has unsupported parameter "${key}"; only sslmode is supported`);
    if (!(URL_SSL_MODES as readonly string[]).includes(mode)) throw invalid(`has unsupported sslmode "${mode}"; use one of ${URL_SSL_MODES.join(', ')}`);
    sslmode = mode as SslMode;
  }
  // libpq's default database is the user's name.
  return { host, port: url.port === '' ? DEFAULT_PORT : Number(url.port), database: database || user, user, password, sslmode };
};

/**
 * pg's `ssl` for an sslmode. The socket goes to an IP address, so the name the
 * certificate must carry (verify-full) is given as `servername`.
 */
export const sslOptionsOf = (sslmode: SslMode, host: string, caPem?: string): ClientConfig['ssl'] => {
  const ca = caPem ? { ca: caPem } : {};
  switch (sslmode) {
    case 'disable':
      return false;
    // libpq's meaning: encrypt, but do not verify the server's certificate.
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, ...ca, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true, ...ca, ...(isIP(host) ? {} : { servername: host }) };
  }
};

/** The address to connect to: resolved and checked by the egress policy (private and metadata addresses refused unless allowlisted). */
export const guardedAddress = async (policy: EgressPolicy, host: string): Promise<string> => {
  const [first] = await policy.resolve(host);
  if (!first) throw new Error(`no address for ${host}`);
  return first.address;
};

const redactAll = (text: string, secrets: readonly string[]): string =>
  secrets.filter((secret) => secret.length >= 4).reduce((result, secret) => result.split(secret).join('[redacted]'), text);

/** A driver error as one line an operator may read: the message and SQLSTATE, with every given secret cut out. */
export const describePgError = (error: unknown, secrets: readonly string[]): string => {
  const named = error as { message?: string; code?: string; severity?: string };
  const sqlstate = named.severity && named.code ? ` (SQLSTATE ${named.code})` : named.code ? ` (${named.code})` : '';
  return redactAll(`${named.message ?? 'unknown error'}${sqlstate}`, secrets);
};
