// Forwards audit events to a syslog relay as RFC 5424 over UDP (RFC 5426), TCP
// with octet-counting framing (RFC 6587 §3.4.1) or TLS (RFC 5425). Syslog is a
// secondary export path: `send` never blocks or throws, a bounded buffer rides
// out relay outages, and when it fills the oldest records go first.
import type { Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { AuditEvent } from '../../domain/audit/audit-event.js';
import { DEFAULT_FACILITY, formatRfc5424, validateFacility, type Rfc5424Options } from './rfc5424.js';

export class SyslogError extends Error {
  override readonly name: string = 'SyslogError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The relay URL or an option is malformed; raised at construction, never by `send`. */
export class SyslogConfigError extends SyslogError {
  override readonly name = 'SyslogConfigError';
}

export type SyslogTransport = 'udp' | 'tcp' | 'tls';

export interface SyslogTarget {
  readonly transport: SyslogTransport;
  readonly host: string;
  readonly port: number;
}

/** IANA ports: syslog (514/udp), syslog-conn (601/tcp, RFC 3195/6587), syslog-tls (6514). */
const DEFAULT_PORTS: Readonly<Record<SyslogTransport, number>> = { udp: 514, tcp: 601, tls: 6514 };

/** `udp://host:port`, `tcp://host:port` or `tls://host:port` (SCAIVAULT_SYSLOG_URL); port defaults per transport. */
export const parseSyslogUrl = (raw: string): SyslogTarget => {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch (cause) {
    throw new SyslogConfigError(`syslog URL is not a URL: ${JSON.stringify(raw)}`, { cause });
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (scheme !== 'udp' && scheme !== 'tcp' && scheme !== 'tls') {
    throw new SyslogConfigError(`syslog URL scheme must be udp, tcp or tls, got ${JSON.stringify(scheme)}`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new SyslogConfigError(`syslog URL has no host: ${JSON.stringify(raw)}`);
  if (url.username || url.password || (url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) {
    throw new SyslogConfigError(`syslog URL takes only a host and port: ${JSON.stringify(raw)}`);
  }
  // URL drops an explicit port equal to the scheme default, and has none for these schemes, so "" means absent.
  const port = url.port === '' ? DEFAULT_PORTS[scheme] : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new SyslogConfigError(`syslog URL port must be 1..65535: ${JSON.stringify(raw)}`);
  }
  return { transport: scheme, host, port };
};

export interface SyslogForwarderOptions {
  /** Relay URL, see parseSyslogUrl. */
  readonly url: string;
  /** Messages held while the relay is unreachable; default 10 000. */
  readonly capacity?: number;
  readonly format?: Rfc5424Options;
  /** PEM trust anchor(s) for tls:// relays with a private CA; default: Node's trust store. */
  readonly caFile?: string;
  /** The same, as PEM text (SCAIVAULT_SYSLOG_CA_PEM: bundled into a Lambda's environment); wins over caFile. */
  readonly caPem?: string;
  /** TLS SNI and certificate name to check; default the URL host when it is a name. */
  readonly servername?: string;
  /** Called once per overflow episode and on other lost messages; must not throw (it is guarded anyway). */
  readonly onWarning?: (message: string) => void;
  /** First reconnect delay, doubling per failure; default 100 ms. */
  readonly initialBackoffMs?: number;
  /** Reconnect delay ceiling; default 5 s. */
  readonly maxBackoffMs?: number;
  /** Give up a TCP/TLS connect attempt after this long; default 5 s. */
  readonly connectTimeoutMs?: number;
}

export interface SyslogForwarderStats {
  /** Messages handed to the OS (TCP/TLS: written to the socket; UDP: datagram sent). */
  readonly sent: number;
  /** Messages lost: buffer overflow (oldest first), UDP send errors, sends after close. */
  readonly dropped: number;
  /** Messages waiting, including a batch being written. */
  readonly buffered: number;
  readonly connected: boolean;
}

/** Most octets put in one socket write, so a long backlog drains in bounded chunks. */
const BATCH_BYTES = 64 * 1024;

/** FIFO with O(1) push and shift; arrays' shift is O(n) and the buffer may hold 10 000. */
class MessageQueue {
  private items: Array<Buffer | undefined> = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: Buffer): void {
    this.items.push(item);
  }

  peek(): Buffer | undefined {
    return this.items[this.head];
  }

  shift(): Buffer | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  unshiftAll(batch: readonly Buffer[]): void {
    this.items = [...batch, ...this.items.slice(this.head)];
    this.head = 0;
  }
}

export class SyslogForwarder {
  readonly target: SyslogTarget;
  private readonly capacity: number;
  private readonly format: Rfc5424Options;
  private readonly ca: Buffer | undefined;
  private readonly servername: string | undefined;
  private readonly onWarning: (message: string) => void;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly connectTimeoutMs: number;

  private readonly queue = new MessageQueue();
  /** Written to the socket, not yet acknowledged by its write callback; requeued in front if the write fails. */
  private inflight: Buffer[] = [];
  private sent = 0;
  private dropped = 0;
  private overflowing = false;
  private outageReported = false;
  private closed = false;

  private stream: Socket | undefined;
  private udp: UdpSocket | undefined;
  private connected = false;
  private connecting = false;
  private writing = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private drainWaiters: Array<() => void> = [];

  constructor(options: SyslogForwarderOptions) {
    this.target = parseSyslogUrl(options.url);
    this.capacity = options.capacity ?? 10_000;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) {
      throw new SyslogConfigError(`syslog buffer capacity must be a positive integer, got ${options.capacity}`);
    }
    this.format = options.format ?? {};
    try {
      validateFacility(this.format.facility ?? DEFAULT_FACILITY);
    } catch (cause) {
      throw new SyslogConfigError((cause as Error).message, { cause });
    }
    if (options.caPem !== undefined) {
      if (this.target.transport !== 'tls') throw new SyslogConfigError('a CA applies to tls:// relays only');
      if (!options.caPem.includes('-----BEGIN CERTIFICATE-----')) throw new SyslogConfigError('the syslog CA is not a PEM certificate');
      this.ca = Buffer.from(options.caPem, 'utf8');
    } else if (options.caFile !== undefined) {
      if (this.target.transport !== 'tls') throw new SyslogConfigError('caFile applies to tls:// relays only');
      try {
        this.ca = readFileSync(options.caFile);
      } catch (cause) {
        throw new SyslogConfigError(`cannot read syslog CA file ${options.caFile}`, { cause });
      }
    }
    this.servername = options.servername ?? (isIP(this.target.host) ? undefined : this.target.host);
    this.onWarning = options.onWarning ?? (() => undefined);
    this.initialBackoffMs = options.initialBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
    this.backoffMs = this.initialBackoffMs;
  }

  stats(): SyslogForwarderStats {
    return {
      sent: this.sent,
      dropped: this.dropped,
      buffered: this.queue.length + this.inflight.length,
      connected: this.connected,
    };
  }

  /**
   * The settings' test: sends a dummy event (type `syslog.test`) and waits up to
   * `timeoutMs` for it (and anything queued before it) to be written. Syslog has
   * no application-level acknowledgment: `delivered` means the relay's TCP/TLS
   * connection took the bytes (UDP: the datagram left this host).
   */
  async test(eventId: string, timeoutMs = 5_000): Promise<{ delivered: boolean; target: string; transport: SyslogTransport; buffered: number }> {
    const time = new Date().toISOString();
    this.send({ eventId, time, type: 'syslog.test', outcome: 'success', identityId: 'system:syslog-test', details: { note: 'test message' } } as AuditEvent);
    const delivered = await this.flush(timeoutMs);
    return { delivered, target: this.describeTarget(), transport: this.target.transport, buffered: this.stats().buffered };
  }

  /** Queues one event; returns at once and never throws. */
  send(event: AuditEvent): void {
    try {
      if (this.closed) {
        this.dropped++;
        this.warn(`syslog forwarder is closed; audit event ${event.eventId} dropped`);
        return;
      }
      this.enqueue(Buffer.from(formatRfc5424(event, this.format), 'utf8'));
      this.pump();
    } catch (error) {
      this.dropped++;
      this.warn(`syslog forwarder could not queue audit event: ${(error as Error).message}`);
    }
  }

  /** Resolves true once everything queued so far is written, false if `timeoutMs` passes first. */
  flush(timeoutMs = 5_000): Promise<boolean> {
    if (this.isDrained()) return Promise.resolve(true);
    this.pump();
    return new Promise((resolve) => {
      const waiter = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.drainWaiters = this.drainWaiters.filter((other) => other !== waiter);
        resolve(false);
      }, timeoutMs);
      this.drainWaiters.push(waiter);
    });
  }

  /** Flushes for up to `timeoutMs`, then closes the connection; later sends are dropped. */
  async close(timeoutMs = 2_000): Promise<void> {
    if (this.closed) return;
    await this.flush(timeoutMs);
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const stream = this.stream;
    this.stream = undefined;
    this.connected = false;
    if (stream) {
      // end() sends FIN after pending writes; a relay that never completes the close cannot hold us.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        stream.end(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      stream.destroy();
    }
    this.udp?.close();
    this.udp = undefined;
    this.resolveWaiters();
  }

  private enqueue(message: Buffer): void {
    // A batch being written is not dropped here: it is either written or requeued and trimmed
    // then, so the buffer may briefly hold one message more than its capacity.
    if (this.queue.length + this.inflight.length >= this.capacity && this.queue.length > 0) {
      this.queue.shift();
      this.noteDropped(1);
    }
    this.queue.push(message);
  }

  private noteDropped(count: number): void {
    this.dropped += count;
    if (!this.overflowing) {
      this.overflowing = true;
      this.warn(`syslog buffer full (${this.capacity} messages) while ${this.describeTarget()} is unreachable or slow; dropping oldest audit messages`);
    }
  }

  private describeTarget(): string {
    return `${this.target.transport}://${this.target.host}:${this.target.port}`;
  }

  private warn(message: string): void {
    try {
      this.onWarning(message);
    } catch {
      // A failing warning hook must not turn send() into a throwing call.
    }
  }

  private isDrained(): boolean {
    return this.queue.length === 0 && this.inflight.length === 0;
  }

  private resolveWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter();
  }

  private pump(): void {
    if (this.closed && !this.stream && !this.udp) return;
    if (this.target.transport === 'udp') {
      this.pumpUdp();
      return;
    }
    if (!this.connected) {
      this.ensureConnecting();
      return;
    }
    this.writeBatch();
  }

  private afterWrite(): void {
    if (this.isDrained()) {
      this.overflowing = false;
      this.resolveWaiters();
    } else {
      this.pump();
    }
  }

  private pumpUdp(): void {
    if (this.writing || this.queue.length === 0) return;
    if (!this.udp) {
      // Loaded here, not imported: only a udp:// relay needs node:dgram, and every api cold start would load it.
      const socket = process.getBuiltinModule('node:dgram').createSocket(isIP(this.target.host) === 6 ? 'udp6' : 'udp4');
      socket.on('error', (error) => this.warn(`syslog UDP socket error: ${error.message}`));
      socket.unref();
      this.udp = socket;
      this.connected = true;
    }
    const message = this.queue.shift() as Buffer;
    this.inflight = [message];
    this.writing = true;
    this.udp.send(message, this.target.port, this.target.host, (error) => {
      this.writing = false;
      this.inflight = [];
      if (error) {
        // Datagrams are fire-and-forget (RFC 5426); a failed one is not retried.
        this.dropped++;
        this.warn(`syslog UDP send failed: ${error.message}`);
      } else {
        this.sent++;
      }
      this.afterWrite();
    });
  }

  private ensureConnecting(): void {
    if (this.connecting || this.reconnectTimer || this.closed) return;
    this.connecting = true;
    const { host, port } = this.target;
    const socket =
      this.target.transport === 'tls'
        ? tlsConnect({ host, port, ca: this.ca, servername: this.servername, rejectUnauthorized: true })
        : netConnect({ host, port });
    this.stream = socket;
    socket.setTimeout(this.connectTimeoutMs, () => socket.destroy(new SyslogError(`connect to ${host}:${port} timed out`)));
    socket.once(this.target.transport === 'tls' ? 'secureConnect' : 'connect', () => {
      socket.setTimeout(0);
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      this.connecting = false;
      this.connected = true;
      this.backoffMs = this.initialBackoffMs;
      this.outageReported = false;
      this.pump();
    });
    // The relay never answers on a syslog stream; read and discard so a chatty one cannot stall us.
    socket.on('data', () => undefined);
    // 'close' follows and reconnects; say why once per outage (a wrong CA otherwise just looks like silence).
    socket.on('error', (error) => {
      if (this.outageReported) return;
      this.outageReported = true;
      this.warn(`syslog relay ${this.describeTarget()} unreachable, buffering audit messages: ${error.message}`);
    });
    socket.on('close', () => this.onStreamClosed(socket));
  }

  private onStreamClosed(socket: Socket): void {
    if (this.stream !== socket) return;
    this.stream = undefined;
    this.connected = false;
    this.connecting = false;
    this.writing = false;
    if (this.inflight.length > 0) {
      // Unacknowledged writes go back in front, in order; anything beyond capacity is the oldest and goes.
      this.queue.unshiftAll(this.inflight);
      this.inflight = [];
      let excess = this.queue.length - this.capacity;
      if (excess > 0) this.noteDropped(excess);
      while (excess-- > 0) this.queue.shift();
    }
    if (this.closed) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoffMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.pump();
    }, delay);
    this.reconnectTimer.unref();
  }

  private writeBatch(): void {
    const socket = this.stream;
    if (this.writing || !socket || this.queue.length === 0) return;
    const frames: Buffer[] = [];
    let bytes = 0;
    while (this.queue.length > 0 && (frames.length === 0 || bytes + (this.queue.peek() as Buffer).length < BATCH_BYTES)) {
      const message = this.queue.shift() as Buffer;
      this.inflight.push(message);
      const frame = Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]);
      frames.push(frame);
      bytes += frame.length;
    }
    this.writing = true;
    socket.write(Buffer.concat(frames), (error) => {
      if (this.stream !== socket) return; // closed meanwhile; onStreamClosed requeued the batch
      this.writing = false;
      if (error) {
        socket.destroy();
        return;
      }
      this.sent += this.inflight.length;
      this.inflight = [];
      this.afterWrite();
    });
  }
}
