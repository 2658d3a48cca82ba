import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertContract } from './contract.js';
import { ROOT, exited, freePort, tempDir, waitFor } from './processes.js';

export interface VaultOptions {
  readonly dataDir?: string;
  readonly env?: Record<string, string>;
  readonly port?: number;
  /**
   * Send the process's output to a file in its data dir instead of this
   * process's memory: benchmarks, where reading a log line per request would
   * load the very event loop that times the requests.
   */
  readonly logToFile?: boolean;
  /** The Node.js binary to run it with; this process's own by default. */
  readonly node?: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
  readonly text: string;
}

/**
 * `npm start`'s entry point in a child process: the embedded stack behind real
 * HTTP. Everything the process prints is kept for log assertions.
 */
export class VaultProcess {
  private captured = '';
  private child: ChildProcess | undefined;
  rootToken = '';

  private constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly logFile: string | undefined,
    private readonly node: string,
  ) {}

  static async start(options: VaultOptions = {}): Promise<VaultProcess> {
    const dataDir = options.dataDir ?? tempDir('vault');
    const vault = new VaultProcess(
      dataDir,
      options.port ?? (await freePort()),
      options.env ?? {},
      options.logToFile ? join(dataDir, 'vault.log') : undefined,
      options.node ?? process.execPath,
    );
    await vault.restart();
    return vault;
  }

  /** Everything the process printed. */
  get output(): string {
    return this.logFile ? readFileSync(this.logFile, 'utf8') : this.captured;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    const logFd = this.logFile ? openSync(this.logFile, 'a') : undefined;
    const child = spawn(this.node, ['--import', 'tsx', join(ROOT, 'bin/embedded.ts')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        PORT: String(this.port),
        SCAIVAULT_DATA_DIR: this.dataDir,
        LOG_LEVEL: 'debug',
        ...this.env,
      },
      stdio: logFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', logFd, logFd],
    });
    // The child holds its own copy of the descriptor.
    if (logFd !== undefined) closeSync(logFd);
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.captured += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.captured += chunk.toString('utf8')));
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`vault exited early:\n${this.output}`);
          return (await fetch(`${this.url}/v1/health`)).ok;
        },
        30_000,
        'vault to start',
      );
    } catch (error) {
      // Never leave a half-started vault behind.
      child.kill('SIGKILL');
      this.child = undefined;
      throw error;
    }
    this.rootToken = this.env.SCAIVAULT_ROOT_TOKEN ?? readFileSync(join(this.dataDir, 'root-token'), 'utf8').trim();
  }

  /** Sends a signal and waits for exit; returns the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (!this.child) return null;
    const child = this.child;
    this.child = undefined;
    child.kill(signal);
    return exited(child);
  }

  /** JSON lines the process logged. */
  logLines(): Record<string, unknown>[] {
    return this.output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** One API call; every answer is checked against the route's declared response (see contract.ts). */
  async request(
    method: string,
    path: string,
    options: { token?: string | null; body?: unknown; headers?: Record<string, string>; raw?: string } = {},
  ): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? this.rootToken : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined = options.raw;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    } else if (options.raw !== undefined) {
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${this.url}${path}`, { method, headers, body });
    const text = await response.text();
    assertContract(method, path, { status: response.status, contentType: response.headers.get('content-type'), text });
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  }
}

/** Creates a tenant, a policy and an identity in it; returns the identity's token. */
export const createIdentity = async (
  vault: VaultProcess,
  options: {
    tenant: string;
    identity: string;
    rules?: { path: string; capabilities: string[] }[];
    policies?: string[];
    ttl?: number;
    renewable?: boolean;
    maxTtl?: number;
  },
): Promise<string> => {
  const tenant = await vault.request('POST', '/v1/tenants', { body: { tenant_id: options.tenant } });
  if (tenant.status !== 201 && tenant.status !== 409) throw new Error(`tenant: ${tenant.status} ${tenant.text}`);
  const policies = options.policies ?? [];
  if (options.rules) {
    const name = `${options.identity.replace(/[^a-z0-9]/g, '-')}-policy`.slice(0, 60);
    const policy = await vault.request('PUT', `/v1/policies/${name}`, { body: { tenant_id: options.tenant, rules: options.rules } });
    if (policy.status !== 200) throw new Error(`policy: ${policy.status} ${policy.text}`);
    policies.push(name);
  }
  const identity = await vault.request('POST', '/v1/identities', {
    body: {
      tenant_id: options.tenant,
      identity: options.identity,
      policies,
      ...(options.ttl ? { ttl_seconds: options.ttl } : {}),
      ...(options.renewable !== undefined ? { renewable: options.renewable } : {}),
      ...(options.maxTtl ? { max_ttl_seconds: options.maxTtl } : {}),
    },
  });
  if (identity.status !== 201) throw new Error(`identity: ${identity.status} ${identity.text}`);
  return identity.body.token as string;
};
