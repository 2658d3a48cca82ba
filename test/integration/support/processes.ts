import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');

export const tempDir = (label: string): string => mkdtempSync(join(tmpdir(), `scaivault-${label}-`));

export const freePort = (): Promise<number> =>
  new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });

export const waitFor = async (check: () => Promise<boolean>, timeoutMs = 20_000, label = 'condition'): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

export const exited = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));

/** A dynalite server in its own process, so a test can stop DynamoDB under a running vault. */
export class DynaliteProcess {
  private child: ChildProcess | undefined;
  private constructor(
    readonly dataDir: string,
    readonly port: number,
  ) {}

  static async start(dataDir = tempDir('dynalite')): Promise<DynaliteProcess> {
    const instance = new DynaliteProcess(dataDir, await freePort());
    await instance.restart();
    return instance;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    this.child = spawn(
      process.execPath,
      [join(ROOT, 'node_modules/dynalite/cli.js'), '--port', String(this.port), '--host', '127.0.0.1', '--path', this.dataDir, '--createTableMs', '0'],
      {
        stdio: 'ignore',
      },
    );
    await waitFor(
      async () => {
        const response = await fetch(this.endpoint, {
          method: 'POST',
          headers: { 'x-amz-target': 'DynamoDB_20120810.ListTables', 'content-type': 'application/x-amz-json-1.0' },
          body: '{}',
        });
        return response.status < 500 || response.status === 400;
      },
      15_000,
      'dynalite',
    );
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    const child = this.child;
    this.child = undefined;
    // A frozen process must run again to exit on SIGTERM.
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    await exited(child);
  }

  /** SIGSTOP freezes it (connections still open, nothing answers), SIGCONT resumes it. */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** `kill -9`, then a new process on the same port and data: what survives is what reached the disk. */
  async crash(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    child.kill('SIGKILL');
    await exited(child);
    await this.restart();
  }
}

/** fauxqs (the SQS and S3 APIs) in its own process, so a test can freeze it under a running vault. */
export class FauxqsProcess {
  private child: ChildProcess | undefined;
  private constructor(readonly port: number) {}

  /** On `port` when given: a fauxqs started again where a vault expects it (empty: it keeps everything in memory). */
  static async start(port?: number): Promise<FauxqsProcess> {
    const instance = new FauxqsProcess(port ?? (await freePort()));
    instance.child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/integration/support/fauxqs-server.ts'), String(instance.port)], {
      cwd: ROOT,
      stdio: 'ignore',
    });
    await waitFor(async () => (await fetch(`${instance.endpoint}/`)).status > 0, 15_000, 'fauxqs');
    return instance;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /** `kill -9`: every queue, message and object it held is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    child.kill('SIGKILL');
    await exited(child);
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    const child = this.child;
    this.child = undefined;
    child.kill('SIGCONT');
    child.kill('SIGTERM');
    await exited(child);
  }
}
