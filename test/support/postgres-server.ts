import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Client, DatabaseError, escapeIdentifier, escapeLiteral } from 'pg';
import { freePort } from '../integration/support/processes.js';

const run = promisify(execFile);
const ENSURE = 'PostgreSQL server binaries (initdb, pg_ctl) were not found: run `bash scripts/ensure-test-deps.sh` (or set PG_BIN to their directory)';

/** The directory holding initdb and pg_ctl: PG_BIN, else the newest /usr/lib/postgresql/<v>/bin, else PATH's. */
export const findPostgresBin = (): string | undefined => {
  const hasTools = (bin: string): boolean => existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'));
  if (process.env.PG_BIN) return hasTools(process.env.PG_BIN) ? process.env.PG_BIN : undefined;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((version) => hasTools(join(root, version, 'bin'))) : [];
  const newest = versions.sort((a, b) => Number(a) - Number(b)).at(-1);
  if (newest) return join(root, newest, 'bin');
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const onPath = found.status === 0 ? dirname(found.stdout.trim()) : undefined;
  return onPath && hasTools(onPath) ? onPath : undefined;
};

/** `ok`, or why a login failed: a SQLSTATE (28P01: bad password) or a Node error code. */
export type LoginResult = 'ok' | string;

/**
 * A throwaway PostgreSQL server in a temporary directory, listening on 127.0.0.1 only,
 * with SCRAM-SHA-256 password authentication and DDL statement logging.
 */
export class PostgresServer {
  private stopped = false;
  private readonly onExit = (): void => this.stopNow();

  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    /** Prefix that runs a command as the `postgres` user when we are root (postgres refuses to run as root). */
    private readonly runAs: readonly string[],
    readonly port: number,
    readonly superuserPassword: string,
  ) {
    process.once('exit', this.onExit);
  }

  static async start(): Promise<PostgresServer> {
    const bin = findPostgresBin();
    if (!bin) throw new Error(ENSURE);
    const root = process.getuid?.() === 0;
    if (root && spawnSync('id', ['-u', 'postgres']).status !== 0) {
      throw new Error(`running as root needs the 'postgres' system user to run the server; ${ENSURE}`);
    }
    const runAs = root ? ['runuser', '-u', 'postgres', '--'] : [];
    const dir = mkdtempSync(join(tmpdir(), 'scaivault-pg-'));
    const password = randomBytes(18).toString('base64url');
    try {
      mkdirSync(join(dir, 'socket'));
      writeFileSync(join(dir, 'pwfile'), `${password}\n`, { mode: 0o600 });
      if (root) {
        const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
        const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
        for (const path of [dir, join(dir, 'socket'), join(dir, 'pwfile')]) chownSync(path, uid, gid);
      }
      await exec(
        runAs,
        join(bin, 'initdb'),
        ['-D', join(dir, 'data'), '-U', 'postgres', `--pwfile=${join(dir, 'pwfile')}`, '--auth=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'],
        dir,
      );
      rmSync(join(dir, 'pwfile'));
      // A free port can be taken between asking and binding; try a few.
      for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        const options = [
          `-k ${join(dir, 'socket')}`,
          '-c listen_addresses=127.0.0.1',
          `-p ${port}`,
          '-c fsync=off',
          '-c synchronous_commit=off',
          '-c full_page_writes=off',
          '-c max_connections=20',
          '-c log_statement=ddl',
        ].join(' ');
        try {
          await exec(runAs, join(bin, 'pg_ctl'), ['start', '-D', join(dir, 'data'), '-l', join(dir, 'server.log'), '-w', '-t', '30', '-o', options], dir);
          const server = new PostgresServer(bin, dir, runAs, port, password);
          await server.query('SELECT 1');
          return server;
        } catch (error) {
          if (attempt >= 3) {
            const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8').trim().split('\n').slice(-10).join('\n') : '';
            throw new Error(`${(error as Error).message}\n${log}`, { cause: error });
          }
        }
      }
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  get host(): string {
    return '127.0.0.1';
  }

  /** The superuser's connection URL. */
  get adminUrl(): string {
    return `postgres://postgres:${encodeURIComponent(this.superuserPassword)}@${this.host}:${this.port}/postgres`;
  }

  /** Runs one statement as the superuser. */
  async query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<Row[]> {
    const client = new Client({
      host: this.host,
      port: this.port,
      user: 'postgres',
      password: this.superuserPassword,
      database: 'postgres',
      connectionTimeoutMillis: 5_000,
    });
    await client.connect();
    try {
      return (await client.query<Row>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  async createLoginRole(name: string, password: string): Promise<void> {
    await this.query(`CREATE ROLE ${escapeIdentifier(name)} LOGIN PASSWORD ${escapeLiteral(password)}`);
  }

  /** Logs in over TCP as `user` and runs SELECT 1. */
  async loginAs(user: string, password: string): Promise<LoginResult> {
    const client = new Client({ host: this.host, port: this.port, user, password, database: 'postgres', connectionTimeoutMillis: 5_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return 'ok';
    } catch (error) {
      if (error instanceof DatabaseError) return error.code ?? 'unknown';
      return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** The server's log so far (statements of DDL included). */
  log(): string {
    const path = join(this.dir, 'server.log');
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    process.off('exit', this.onExit);
    try {
      await exec(this.runAs, join(this.bin, 'pg_ctl'), ['stop', '-D', join(this.dir, 'data'), '-m', 'fast', '-w', '-t', '30'], this.dir);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  // Last resort when the test process exits without stop(): a server left behind would hold its port and dir.
  private stopNow(): void {
    if (this.stopped) return;
    this.stopped = true;
    const [command, ...prefix] = [...this.runAs, join(this.bin, 'pg_ctl')];
    spawnSync(command as string, [...prefix, 'stop', '-D', join(this.dir, 'data'), '-m', 'immediate', '-w'], { cwd: this.dir, stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const exec = async (runAs: readonly string[], command: string, args: readonly string[], cwd: string): Promise<void> => {
  const [file, ...prefix] = [...runAs, command];
  try {
    await run(file as string, [...prefix, ...args], { cwd, timeout: 60_000 });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command.split('/').at(-1)} ${args[0] ?? ''} failed: ${(stderr || stdout || (error as Error).message).trim()}`, { cause: error });
  }
};
