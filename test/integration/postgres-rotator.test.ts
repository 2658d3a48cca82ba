import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DB_PASSWORD_ALPHABET, PostgresRotator, scramSha256Secret } from '../../functions/adapters/postgres/postgres-rotator.js';
import { EgressPolicy } from '../../functions/adapters/http/egress-guard.js';
import { NotFoundError, ValidationError } from '../../functions/domain/errors.js';
import { RotationStepError } from '../../functions/domain/rotation/rotator.js';
import { freePort } from './support/processes.js';
import { PostgresServer } from '../support/postgres-server.js';
import type { RotationContext, RotationOptions } from '../../functions/domain/ports/rotation.js';

const ADMIN_SECRET = 'db/admin';
const rotator = new PostgresRotator({ egress: new EgressPolicy({ allowlist: ['127.0.0.1'] }) });
let server: PostgresServer;

const contextFor = (options: RotationOptions, pendingValue: string, currentValue: string, adminUrl = server.adminUrl): RotationContext => ({
  tenantId: 'tenant-a',
  path: `db/${String(options.role)}`,
  options,
  currentValue,
  pendingValue,
  readSecret: async (path) => {
    if (path !== ADMIN_SECRET) throw new NotFoundError(`secret ${path} not found`);
    return adminUrl;
  },
});

const stepErrorOf = async (promise: Promise<unknown>): Promise<RotationStepError> => {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RotationStepError);
    return error as RotationStepError;
  }
  throw new Error('the step succeeded');
};

/** Every form in which a secret of this test could leak into a message. */
const secretsOf = (...passwords: string[]): string[] => [...passwords, server.superuserPassword, server.adminUrl];
const expectFreeOf = (error: RotationStepError, secrets: readonly string[]): void => {
  for (const secret of secrets) expect(error.message).not.toContain(secret);
  expect(error.cause).toBeUndefined();
};

describe('PostgresRotator against a real PostgreSQL', () => {
  beforeAll(async () => {
    // No skip: a machine without PostgreSQL fails here, telling to run scripts/ensure-test-deps.sh.
    server = await PostgresServer.start();
    await server.createLoginRole('app_user', 'old-password-1');
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('rotates app_user: the new password logs in, the old one no longer does', async () => {
    const options = { connection_secret: ADMIN_SECRET, role: 'app_user' };
    rotator.validate(options);
    const pending = rotator.generate(options, 'old-password-1');
    expect(pending).toHaveLength(32);
    expect([...pending].every((char) => DB_PASSWORD_ALPHABET.includes(char))).toBe(true);
    const context = contextFor(options, pending, 'old-password-1');

    // Before set, the pending password is not the role's: test must say so.
    const early = await stepErrorOf(rotator.test(context));
    expect(early.step).toBe('test');
    expect(early.message).toContain('password authentication failed for user "app_user"');
    expectFreeOf(early, secretsOf(pending, 'old-password-1'));

    await rotator.set(context);
    await rotator.test(context);

    expect(await server.loginAs('app_user', pending)).toBe('ok');
    expect(await server.loginAs('app_user', 'old-password-1')).toBe('28P01');
  });

  it('sends a SCRAM secret, so the plaintext password never reaches the server log', async () => {
    await server.createLoginRole('logged_user', 'old-password-2');
    const options = { connection_secret: ADMIN_SECRET, role: 'logged_user' };
    const pending = rotator.generate(options, 'old-password-2');
    await rotator.set(contextFor(options, pending, 'old-password-2'));

    const [row] = await server.query<{ rolpassword: string }>("SELECT rolpassword FROM pg_authid WHERE rolname = 'logged_user'");
    expect(row?.rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(server.log()).toContain('ALTER ROLE "logged_user" WITH PASSWORD');
    expect(server.log()).not.toContain(pending);
    expect(await server.loginAs('logged_user', pending)).toBe('ok');
  });

  it('set is idempotent: running it again after a crash leaves the pending password working', async () => {
    await server.createLoginRole('retry_user', 'old-password-3');
    const options = { connection_secret: ADMIN_SECRET, role: 'retry_user' };
    const context = contextFor(options, rotator.generate(options, 'old-password-3'), 'old-password-3');
    await rotator.set(context);
    await rotator.set(context);
    await rotator.test(context);
    expect(await server.loginAs('retry_user', context.pendingValue)).toBe('ok');
  });

  it('sets a non-ASCII password as given, leaving its normalisation to the server', async () => {
    await server.createLoginRole('unicode_user', 'old-password-4');
    // A no-break space and a ligature: SASLprep turns them into " " and "fi" on both ends, raw hashing would not.
    const context = contextFor({ connection_secret: ADMIN_SECRET, role: 'unicode_user' }, 'pässwört\u00a0ünïcödé-\ufb01ve-4', 'old-password-4');
    await rotator.set(context);
    await rotator.test(context);
    expect(await server.loginAs('unicode_user', 'old-password-4')).toBe('28P01');
  });

  it('test against a port with no server fails naming host and role, without any password', async () => {
    const port = await freePort();
    const wrongPortUrl = server.adminUrl.replace(`:${server.port}/`, `:${port}/`);
    const pending = rotator.generate({ connection_secret: ADMIN_SECRET, role: 'app_user' }, '');
    const error = await stepErrorOf(rotator.test(contextFor({ connection_secret: ADMIN_SECRET, role: 'app_user' }, pending, 'old-password-1', wrongPortUrl)));
    expect(error.step).toBe('test');
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(error.message).toContain('"app_user"');
    expect(error.message).toContain('ECONNREFUSED');
    expectFreeOf(error, [...secretsOf(pending, 'old-password-1'), wrongPortUrl]);
  });

  it('refuses a loopback database that is not allowlisted, and the metadata address', async () => {
    const strict = new PostgresRotator();
    const options = { connection_secret: ADMIN_SECRET, role: 'app_user' };
    const refused = await stepErrorOf(strict.test(contextFor(options, 'pending-pw-1', 'old-password-1')));
    expect(refused.message).toContain('egress to 127.0.0.1 refused: non-public IPv4 address');
    const metadata = await stepErrorOf(rotator.set(contextFor(options, 'pending-pw-1', 'old-password-1', 'postgres://u:p@169.254.169.254/db')));
    expect(metadata.message).toContain('egress to 169.254.169.254 refused');
  });

  it('set for a role that does not exist fails naming the role, without any password', async () => {
    const options = { connection_secret: ADMIN_SECRET, role: 'no_such_role' };
    const pending = rotator.generate(options, '');
    const error = await stepErrorOf(rotator.set(contextFor(options, pending, 'old-password-1')));
    expect(error.step).toBe('set');
    expect(error.message).toBe(
      `could not set the password of role "no_such_role" on 127.0.0.1:${server.port}: role "no_such_role" does not exist (SQLSTATE 42704)`,
    );
    expectFreeOf(error, secretsOf(pending));
  });

  it('set with a wrong admin password fails without repeating it', async () => {
    const wrongAdmin = 'wrong-admin-password-9';
    const badUrl = `postgres://postgres:${wrongAdmin}@127.0.0.1:${server.port}/postgres`;
    const options = { connection_secret: ADMIN_SECRET, role: 'app_user' };
    const pending = rotator.generate(options, '');
    const error = await stepErrorOf(rotator.set(contextFor(options, pending, 'old-password-1', badUrl)));
    expect(error.step).toBe('set');
    expect(error.message).toContain('password authentication failed for user "postgres"');
    expectFreeOf(error, [...secretsOf(pending), wrongAdmin, badUrl]);
  });

  it('reports an unreadable or malformed connection secret by path, never by value', async () => {
    const unreadable = await stepErrorOf(rotator.set(contextFor({ connection_secret: 'db/missing', role: 'app_user' }, 'pending-pw-1', 'old-password-1')));
    expect(unreadable.message).toBe('could not read connection secret "db/missing": secret db/missing not found');
    expect(unreadable.cause).toBeInstanceOf(NotFoundError);

    for (const [value, why] of [
      ['host=127.0.0.1 password=hunter2-secret', 'is not a postgres:// URL'],
      ['mysql://root:hunter2-secret@127.0.0.1/db', 'is not a postgres:// URL'],
      ['postgres://root:hunter2-secret@127.0.0.1/db?sslrootcert=/etc/passwd', 'has unsupported parameter "sslrootcert"'],
      ['postgres://root:hunter2-secret@127.0.0.1/db?sslmode=prefer', 'has unsupported sslmode "prefer"'],
      ['postgres://root:hunter2%ZZ@127.0.0.1/db', 'has malformed percent-encoding'],
    ] as const) {
      const error = await stepErrorOf(rotator.test(contextFor({ connection_secret: ADMIN_SECRET, role: 'app_user' }, 'pending-pw-1', 'old-password-1', value)));
      expect(error.message).toContain(`connection secret "${ADMIN_SECRET}" ${why}`);
      expect(error.message).not.toContain('hunter2');
    }
  });
});

describe('PostgresRotator options', () => {
  it.each([
    [{ role: 'app_user' }, 'connection_secret', /connection_secret must be the path/],
    [{ connection_secret: '../admin', role: 'app_user' }, 'connection_secret', /connection_secret: secret path must not contain \. or \.\. segments/],
    [{ connection_secret: ADMIN_SECRET }, 'role', /role must be a PostgreSQL role name/],
    [{ connection_secret: ADMIN_SECRET, role: 'App_User' }, 'role', /role must be/],
    [{ connection_secret: ADMIN_SECRET, role: '1user' }, 'role', /role must be/],
    [{ connection_secret: ADMIN_SECRET, role: 'app-user' }, 'role', /role must be/],
    [{ connection_secret: ADMIN_SECRET, role: 'x"; DROP ROLE postgres; --' }, 'role', /role must be/],
    [{ connection_secret: ADMIN_SECRET, role: 'a'.repeat(64) }, 'role', /role must be/],
    [{ connection_secret: ADMIN_SECRET, role: 'app_user', length: 16 }, 'length', /unknown postgresql rotation option "length"/],
  ] as const)('rejects %j', (options, field, message) => {
    try {
      rotator.validate(options);
      expect.unreachable('validate accepted the options');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(field);
      expect((error as ValidationError).message).toMatch(message);
    }
  });

  it('accepts the longest role name PostgreSQL keeps', () => {
    expect(() => rotator.validate({ connection_secret: ADMIN_SECRET, role: `_${'a'.repeat(62)}` })).not.toThrow();
  });

  it("builds a SCRAM secret that reproduces RFC 7677's exchange", () => {
    // RFC 7677 §3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
    const secret = scramSha256Secret('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'));
    const match = /^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(secret);
    expect(match).not.toBeNull();
    const storedKey = Buffer.from(match?.[1] ?? '', 'base64');
    const serverKey = Buffer.from(match?.[2] ?? '', 'base64');
    const nonce = 'rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
    const authMessage = `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=${nonce}`;
    // ServerKey signs as the RFC's server did; StoredKey accepts the RFC's client proof.
    expect(createHmac('sha256', serverKey).update(authMessage).digest('base64')).toBe('6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    const signature = createHmac('sha256', storedKey).update(authMessage).digest();
    const proof = Buffer.from('dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=', 'base64');
    const clientKey = Buffer.from(proof.map((byte, index) => byte ^ (signature[index] ?? 0)));
    expect(createHash('sha256').update(clientKey).digest().equals(storedKey)).toBe(true);
  });
});
