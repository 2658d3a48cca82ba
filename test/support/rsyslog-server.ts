import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../integration/support/processes.js';

const ENSURE = 'rsyslogd (with the gtls driver) was not found: run `bash scripts/ensure-test-deps.sh`';
const PROBE_MSGID = 'rsyslog-probe';

export const findRsyslogd = (): string | undefined => {
  for (const candidate of ['/usr/sbin/rsyslogd', '/sbin/rsyslogd']) if (existsSync(candidate)) return candidate;
  const found = spawnSync('sh', ['-c', 'command -v rsyslogd'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * A private rsyslogd in a temporary directory: plain TCP, TLS (gtls, anonymous
 * client auth, self-signed certificate) and UDP inputs on 127.0.0.1, each
 * message's raw text written as one line of `messages.log`. No /dev/log, no
 * system config, no fork; `kill()`/`start()` simulate a relay outage on the
 * same ports.
 */
export class RsyslogServer {
  private child: ChildProcess | undefined;
  private readonly onExit = (): void => {
    this.child?.kill('SIGKILL');
  };

  private constructor(
    private readonly bin: string,
    readonly dir: string,
    readonly tcpPort: number,
    readonly tlsPort: number,
    readonly udpPort: number,
  ) {}

  static async start(): Promise<RsyslogServer> {
    const bin = findRsyslogd();
    if (!bin) throw new Error(ENSURE);
    const dir = mkdtempSync(join(tmpdir(), 'scaivault-rsyslog-'));
    const openssl = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { encoding: 'utf8' },
    );
    if (openssl.status !== 0) throw new Error(`openssl req failed: ${openssl.stderr}`);
    const [tcpPort, tlsPort] = [await freePort(), await freePort()];
    const udpPort = await freeUdpPort();
    const server = new RsyslogServer(bin, dir, tcpPort, tlsPort, udpPort);
    server.writeConfig();
    process.once('exit', server.onExit);
    await server.start();
    return server;
  }

  /** The self-signed certificate the TLS input presents; pass it as the forwarder's caFile. */
  get caFile(): string {
    return join(this.dir, 'cert.pem');
  }

  url(transport: 'tcp' | 'tls' | 'udp'): string {
    const port = { tcp: this.tcpPort, tls: this.tlsPort, udp: this.udpPort }[transport];
    return `${transport}://127.0.0.1:${port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Starts rsyslogd (again) and resolves once all three inputs take messages. */
  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(this.bin, ['-n', '-f', join(this.dir, 'rsyslog.conf'), '-i', join(this.dir, 'rsyslogd.pid')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (!((await accepts(this.tcpPort)) && (await accepts(this.tlsPort)) && (await this.udpAccepts()))) {
      if (!this.child) throw new Error(`rsyslogd exited during startup: ${stderr}${this.internalLog()}`);
      if (Date.now() > deadline) throw new Error(`rsyslogd did not open its ports within 10 s: ${stderr}${this.internalLog()}`);
      await sleep(50);
    }
  }

  /** SIGKILL, like a relay crash: no goodbye on open connections beyond the kernel's. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
    rmSync(join(this.dir, 'rsyslogd.pid'), { force: true });
  }

  async stop(): Promise<void> {
    await this.kill();
    process.removeListener('exit', this.onExit);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Received messages, raw, in arrival order (probes excluded). */
  messages(): string[] {
    const file = join(this.dir, 'messages.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
  }

  /** Polls until at least `count` messages arrived; returns them (all of them). */
  async waitForMessages(count: number, timeoutMs = 10_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const received = this.messages();
      if (received.length >= count || Date.now() > deadline) return received;
      await sleep(50);
    }
  }

  /** UDP has no handshake: send a probe datagram and see whether rsyslog wrote it out. */
  private async udpAccepts(): Promise<boolean> {
    const marker = `probe-${Date.now()}-${Math.random()}`;
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.send(`<14>1 - - - - ${PROBE_MSGID} - ${marker}`, this.udpPort, '127.0.0.1', () => resolve()));
    socket.close();
    const probes = join(this.dir, 'probe.log');
    for (let i = 0; i < 10; i++) {
      if (existsSync(probes) && readFileSync(probes, 'utf8').includes(marker)) return true;
      await sleep(20);
    }
    return false;
  }

  private internalLog(): string {
    const file = join(this.dir, 'internal.log');
    return existsSync(file) ? `\n${readFileSync(file, 'utf8')}` : '';
  }

  private writeConfig(): void {
    const dir = this.dir;
    // One instance serves both: the global gtls settings supply the certificate, each input picks its driver.
    const config = `
global(
  processInternalMessages="on"
  workDirectory="${dir}"
  maxMessageSize="64k"
  defaultNetstreamDriverCAFile="${dir}/cert.pem"
  defaultNetstreamDriverCertFile="${dir}/cert.pem"
  defaultNetstreamDriverKeyFile="${dir}/key.pem"
)
module(load="imtcp" maxSessions="100")
module(load="imudp")
template(name="raw" type="string" string="%rawmsg%\\n")
ruleset(name="received") {
  if $msgid == "${PROBE_MSGID}" then {
    action(type="omfile" file="${dir}/probe.log" template="raw")
    stop
  }
  action(type="omfile" file="${dir}/messages.log" template="raw")
}
input(type="imtcp" address="127.0.0.1" port="${this.tcpPort}" ruleset="received" streamDriver.name="ptcp")
input(type="imtcp" address="127.0.0.1" port="${this.tlsPort}" ruleset="received"
  streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imudp" address="127.0.0.1" port="${this.udpPort}" ruleset="received")
action(type="omfile" file="${dir}/internal.log")
`;
    writeFileSync(join(dir, 'rsyslog.conf'), config);
  }
}

const freeUdpPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });

export interface ParsedSyslogMessage {
  readonly facility: number;
  readonly severity: number;
  readonly version: number;
  readonly timestamp: string;
  readonly hostname: string;
  readonly appName: string;
  readonly procId: string;
  readonly msgId: string;
  /** SD-ID → SD-NAME → unescaped PARAM-VALUE. */
  readonly structuredData: Record<string, Record<string, string>>;
  readonly msg: string;
}

/**
 * A strict RFC 5424 §6 parser, written from the ABNF independently of the
 * formatter so the two can check each other. Throws on anything the grammar
 * does not allow (including an unescaped `]` in a PARAM-VALUE).
 */
export const parseRfc5424 = (line: string): ParsedSyslogMessage => {
  let at = 0;
  const fail = (why: string): never => {
    throw new Error(`not RFC 5424 at ${at} (${why}): ${line}`);
  };
  const expect = (char: string): void => {
    if (line[at] !== char) fail(`expected ${JSON.stringify(char)}`);
    at++;
  };
  const token = (max: number, name: string): string => {
    const start = at;
    while (at < line.length && line.charCodeAt(at) >= 33 && line.charCodeAt(at) <= 126) at++;
    const value = line.slice(start, at);
    if (value.length < 1 || value.length > max) fail(`${name} must be 1..${max} PRINTUSASCII`);
    return value;
  };

  expect('<');
  const priStart = at;
  while (/[0-9]/.test(line[at] ?? '')) at++;
  const priText = line.slice(priStart, at);
  if (priText.length < 1 || priText.length > 3 || (priText.length > 1 && priText.startsWith('0'))) fail('PRI');
  const pri = Number(priText);
  if (pri > 191) fail('PRI > 191');
  expect('>');
  const version = token(3, 'VERSION');
  if (!/^[1-9][0-9]{0,2}$/.test(version)) fail('VERSION');
  expect(' ');
  const timestamp = token(64, 'TIMESTAMP');
  if (
    timestamp !== '-' &&
    !/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/.test(timestamp)
  ) {
    fail('TIMESTAMP');
  }
  expect(' ');
  const hostname = token(255, 'HOSTNAME');
  expect(' ');
  const appName = token(48, 'APP-NAME');
  expect(' ');
  const procId = token(128, 'PROCID');
  expect(' ');
  const msgId = token(32, 'MSGID');
  expect(' ');

  const structuredData: Record<string, Record<string, string>> = {};
  const sdName = (what: string): string => {
    const start = at;
    while (at < line.length && /[\x21-\x7e]/.test(line[at] as string) && !'= ]"'.includes(line[at] as string)) at++;
    const name = line.slice(start, at);
    if (name.length < 1 || name.length > 32) fail(`${what} must be 1..32 characters`);
    return name;
  };
  if (line[at] === '-') {
    at++;
  } else {
    if (line[at] !== '[') fail('STRUCTURED-DATA');
    while (line[at] === '[') {
      at++;
      const id = sdName('SD-ID');
      if (structuredData[id]) fail(`duplicate SD-ID ${id}`);
      const params: Record<string, string> = {};
      while (line[at] === ' ') {
        at++;
        const name = sdName('PARAM-NAME');
        expect('=');
        expect('"');
        let value = '';
        for (;;) {
          const char = line[at];
          if (char === undefined) fail('unterminated PARAM-VALUE');
          if (char === '"') break;
          if (char === ']') fail('unescaped ] in PARAM-VALUE');
          if (char === '\\' && ['"', '\\', ']'].includes(line[at + 1] ?? '')) {
            value += line[at + 1];
            at += 2;
          } else {
            // §6.3.3: a backslash before anything else is a literal backslash.
            value += char;
            at++;
          }
        }
        expect('"');
        params[name] = value;
      }
      expect(']');
      structuredData[id] = params;
    }
  }
  let msg = '';
  if (at < line.length) {
    expect(' ');
    msg = line.slice(at);
  }
  return {
    facility: Math.floor(pri / 8),
    severity: pri % 8,
    version: Number(version),
    timestamp,
    hostname,
    appName,
    procId,
    msgId,
    structuredData,
    msg,
  };
};
