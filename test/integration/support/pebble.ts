// Debian's pebble (an ACME test CA) and pebble-challtestsrv (its DNS), on loopback.
// Pebble serves its directory over HTTPS with a certificate from a CA made here with
// openssl: the vault trusts that CA through SCAIVAULT_ACME_CA_FILE, in the test only.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent } from 'undici';
import { exited, freePort, tempDir, waitFor } from './processes.js';

const openssl = (dir: string, ...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });

/** A CA and a server certificate for 127.0.0.1/localhost, signed by it. */
const makeTlsFiles = (dir: string): { caFile: string; certFile: string; keyFile: string } => {
  const newP256Key = (key: string) => ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key];
  openssl(dir, 'req', '-x509', ...newP256Key('ca.key'), '-out', 'ca.pem', '-days', '2', '-subj', '/CN=pebble test CA');
  openssl(dir, 'req', ...newP256Key('server.key'), '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  const signed = ['-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-extfile', 'san.ext'];
  openssl(dir, 'x509', '-req', '-in', 'server.csr', ...signed, '-out', 'server.pem', '-days', '2');
  return { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key') };
};

/** An External Account Binding pebble knows (accounts may also register without one). */
export const EAB = { kid: 'scaivault-test-kid', hmacKey: randomBytes(32).toString('base64url') };

export class Pebble {
  private constructor(
    private readonly children: ChildProcess[],
    readonly dir: string,
    readonly caFile: string,
    readonly port: number,
    readonly managementPort: number,
    readonly challtestsrvPort: number,
    private readonly dispatcher: Agent,
    private readonly output: () => string,
  ) {}

  /** Pebble validating HTTP-01 on `httpPort` (the vault's), resolving names through challtestsrv to 127.0.0.1. */
  static async start(httpPort: number): Promise<Pebble> {
    const dir = tempDir('pebble');
    const tls = makeTlsFiles(dir);
    const [port, managementPort, dnsPort, challtestsrvPort, tlsPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    writeFileSync(
      join(dir, 'pebble.json'),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${port}`,
          managementListenAddress: `127.0.0.1:${managementPort}`,
          certificate: tls.certFile,
          privateKey: tls.keyFile,
          httpPort,
          tlsPort,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
          externalAccountMACKeys: { [EAB.kid]: EAB.hmacKey },
        },
      }),
    );
    let output = '';
    const keep = (child: ChildProcess) => {
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      return child;
    };
    const challtestsrv = keep(
      spawn('pebble-challtestsrv', [
        '-management',
        `127.0.0.1:${challtestsrvPort}`,
        '-dns01',
        `127.0.0.1:${dnsPort}`,
        '-http01',
        '',
        '-https01',
        '',
        '-tlsalpn01',
        '',
        '-defaultIPv4',
        '127.0.0.1',
        '-defaultIPv6',
        '',
      ]),
    );
    const pebble = keep(
      spawn('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
        env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
      }),
    );
    const dispatcher = new Agent({ connect: { ca: readFileSync(tls.caFile, 'utf8') } });
    const started = new Pebble([pebble, challtestsrv], dir, tls.caFile, port, managementPort, challtestsrvPort, dispatcher, () => output);
    try {
      await waitFor(async () => (await started.get(`${started.directoryUrl}`).catch(() => undefined))?.ok === true, 15_000, 'pebble to start');
    } catch (error) {
      await started.stop();
      throw new Error(`${(error as Error).message}\n${output}`);
    }
    return started;
  }

  get directoryUrl(): string {
    return `https://127.0.0.1:${this.port}/dir`;
  }

  get log(): string {
    return this.output();
  }

  /** Pebble's issuing root (it makes a new one at every start), PEM. */
  async rootPem(): Promise<string> {
    const response = await this.get(`https://127.0.0.1:${this.managementPort}/roots/0`);
    if (!response.ok) throw new Error(`pebble roots: ${response.status}`);
    return response.text();
  }

  /** Points `host` at other addresses in challtestsrv's DNS. */
  async addA(host: string, addresses: string[]): Promise<void> {
    const response = await fetch(`http://127.0.0.1:${this.challtestsrvPort}/add-a`, { method: 'POST', body: JSON.stringify({ host, addresses }) });
    if (!response.ok) throw new Error(`challtestsrv add-a: ${response.status}`);
  }

  async stop(): Promise<void> {
    for (const child of this.children) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited(child);
      }
    }
    await this.dispatcher.close();
  }

  private get(url: string): Promise<Response> {
    return fetch(url, { ...({ dispatcher: this.dispatcher } as object) });
  }
}
