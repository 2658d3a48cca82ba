// The forwarder against a real rsyslogd (scripts/ensure-test-deps.sh installs it):
// what arrives is what a SIEM behind the relay would see.
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../functions/domain/audit/audit-event.js';
import { SD_ID } from '../../functions/adapters/syslog/rfc5424.js';
import { parseSyslogUrl, SyslogConfigError, SyslogForwarder, type SyslogForwarderOptions } from '../../functions/adapters/syslog/syslog-forwarder.js';
import { parseRfc5424, RsyslogServer } from '../support/rsyslog-server.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const until = async (check: () => boolean, timeoutMs = 5_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
};

let run = 0;
/** Events of one test share a prefix, so each test reads only its own from the shared relay log. */
const eventsFor = (label: string, count: number, from = 1): AuditEvent[] => {
  const prefix = `${label}-${++run}`;
  return Array.from({ length: count }, (_, i) => ({
    eventId: `${prefix}-${String(from + i).padStart(3, '0')}`,
    time: new Date(Date.UTC(2026, 3, 21, 14, 23, 45, from + i)).toISOString(),
    type: 'secret.read',
    outcome: i % 4 === 3 ? 'denied' : 'success',
    tenantId: 'acme',
    identityId: `user:alice-${from + i}`,
    path: `prod/db/"pw"]\\${from + i}`,
    requestId: `req-${from + i}`,
    sourceAddress: '203.0.113.7',
    userAgent: 'cli/1.0 (t\u00fcrkiye; \u65e5\u672c)',
  }));
};

const prefixOf = (events: readonly AuditEvent[]): string => (events[0] as AuditEvent).eventId.replace(/-\d+$/, '-');

describe('syslog URL', () => {
  it('reads transport, host and port, defaulting the port per transport', () => {
    expect(parseSyslogUrl('tcp://relay.internal:10601')).toEqual({ transport: 'tcp', host: 'relay.internal', port: 10601 });
    expect(parseSyslogUrl('tls://relay.internal')).toEqual({ transport: 'tls', host: 'relay.internal', port: 6514 });
    expect(parseSyslogUrl('udp://[::1]:514')).toEqual({ transport: 'udp', host: '::1', port: 514 });
  });

  it.each(['http://relay:514', 'relay:514', 'tcp://:514', 'tcp://relay:0', 'tcp://relay:70000', 'tcp://relay:601/path', 'tcp://u:p@relay:601', 'not a url'])(
    'rejects %s',
    (url) => {
      expect(() => parseSyslogUrl(url)).toThrow(SyslogConfigError);
    },
  );

  it('rejects a caFile on a transport without TLS and a capacity below one', () => {
    expect(() => new SyslogForwarder({ url: 'tcp://127.0.0.1:601', caFile: '/dev/null' })).toThrow(SyslogConfigError);
    expect(() => new SyslogForwarder({ url: 'tcp://127.0.0.1:601', capacity: 0 })).toThrow(SyslogConfigError);
  });
});

describe('octet-counting framing (RFC 6587)', () => {
  it('prefixes each message with its length in octets, not characters', async () => {
    const chunks: Buffer[] = [];
    const server = createServer((socket) => socket.on('data', (chunk) => chunks.push(chunk)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const forwarder = new SyslogForwarder({ url: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}` });
    const events = eventsFor('frame', 3);
    for (const event of events) forwarder.send(event);
    expect(await forwarder.flush(5_000)).toBe(true);
    await forwarder.close();
    await until(() => Buffer.concat(chunks).includes(Buffer.from(`${events[2]?.eventId}`)));
    await new Promise((resolve) => server.close(resolve));

    let stream = Buffer.concat(chunks);
    const frames: string[] = [];
    while (stream.length > 0) {
      const space = stream.indexOf(0x20);
      const length = Number(stream.subarray(0, space).toString('ascii'));
      expect(length).toBeGreaterThan(0);
      frames.push(stream.subarray(space + 1, space + 1 + length).toString('utf8'));
      stream = stream.subarray(space + 1 + length);
    }
    expect(frames.map((frame) => parseRfc5424(frame).structuredData[SD_ID]?.eventId)).toEqual(events.map((e) => e.eventId));
  });
});

describe('SyslogForwarder against rsyslogd', () => {
  let relay: RsyslogServer;
  const open: SyslogForwarder[] = [];
  const forwarder = (options: Omit<SyslogForwarderOptions, 'url'> & { url: string }): SyslogForwarder => {
    const created = new SyslogForwarder({ initialBackoffMs: 50, maxBackoffMs: 400, format: { hostname: 'vault-it' }, ...options });
    open.push(created);
    return created;
  };
  /** This test's events as rsyslog wrote them, parsed. */
  const received = (prefix: string) =>
    relay
      .messages()
      .filter((line) => line.includes(`eventId="${prefix}`)) // one test's garbage must not fail the next
      .map((line) => parseRfc5424(line))
      .filter((message) => message.structuredData[SD_ID]?.eventId?.startsWith(prefix));
  const receivedIds = (prefix: string): string[] => received(prefix).map((m) => m.structuredData[SD_ID]?.eventId as string);
  const waitForIds = async (prefix: string, count: number, timeoutMs = 10_000): Promise<string[]> => {
    await until(() => receivedIds(prefix).length >= count, timeoutMs).catch(() => undefined);
    return receivedIds(prefix);
  };

  beforeAll(async () => {
    relay = await RsyslogServer.start();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((f) => f.close(500)));
    if (!relay.running) await relay.start();
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it.each(['tcp', 'tls', 'udp'] as const)('delivers 20 events over %s, in order, structured data intact', async (transport) => {
    const sink = forwarder({
      url: relay.url(transport),
      ...(transport === 'tls' ? { caFile: relay.caFile, servername: 'localhost' } : {}),
    });
    const events = eventsFor(transport, 20);
    for (const event of events) sink.send(event);
    expect(await sink.flush(5_000)).toBe(true);
    expect(sink.stats()).toMatchObject({ sent: 20, dropped: 0, buffered: 0 });

    const prefix = prefixOf(events);
    expect(await waitForIds(prefix, 20)).toEqual(events.map((e) => e.eventId));
    const messages = received(prefix);
    messages.forEach((message, i) => {
      const event = events[i] as AuditEvent;
      expect(message).toMatchObject({
        facility: 22, // local6 by default
        severity: event.outcome === 'denied' ? 4 : 6,
        hostname: 'vault-it',
        appName: 'scaivault',
        msgId: 'secret.read',
        timestamp: event.time,
      });
      expect(message.structuredData[SD_ID]).toEqual({
        eventId: event.eventId,
        type: event.type,
        outcome: event.outcome,
        tenant: event.tenantId,
        identity: event.identityId,
        path: event.path,
        requestId: event.requestId,
        source: event.sourceAddress,
        userAgent: event.userAgent,
      });
    });
  });

  it('refuses a TLS relay whose certificate it cannot verify, and keeps the messages', async () => {
    const warnings: string[] = [];
    const sink = forwarder({ url: relay.url('tls'), onWarning: (w) => warnings.push(w) });
    const events = eventsFor('untrusted', 3);
    for (const event of events) sink.send(event);
    expect(await sink.flush(700)).toBe(false);
    expect(sink.stats()).toMatchObject({ sent: 0, buffered: 3, connected: false });
    expect(receivedIds(prefixOf(events))).toEqual([]);
    expect(warnings).toHaveLength(1); // once per outage, not once per retry
    expect(warnings[0]).toMatch(/unreachable.*(self[- ]signed|certificate)/i);
  });

  it.each(['tcp', 'tls'] as const)('reconnects over %s after the relay crashes and delivers what was buffered, in order', async (transport) => {
    const sink = forwarder({
      url: relay.url(transport),
      ...(transport === 'tls' ? { caFile: relay.caFile, servername: 'localhost' } : {}),
    });
    const before = eventsFor(`restart-${transport}`, 10);
    const prefix = prefixOf(before);
    const during = before.map((e, i) => ({ ...e, eventId: `${prefix}${String(11 + i).padStart(3, '0')}` }));
    const after = before.map((e, i) => ({ ...e, eventId: `${prefix}${String(21 + i).padStart(3, '0')}` }));

    for (const event of before) sink.send(event);
    expect(await sink.flush(5_000)).toBe(true);
    expect(await waitForIds(prefix, 10)).toHaveLength(10);

    await relay.kill();
    await until(() => !sink.stats().connected);
    for (const event of during) sink.send(event);
    await sleep(300); // a few refused reconnects while the relay is down
    expect(sink.stats()).toMatchObject({ connected: false, buffered: 10 });

    await relay.start();
    for (const event of after) sink.send(event);
    expect(await sink.flush(10_000)).toBe(true);
    expect(sink.stats()).toMatchObject({ connected: true, dropped: 0, buffered: 0 });
    expect(await waitForIds(prefix, 30)).toEqual([...before, ...during, ...after].map((e) => e.eventId));
  });

  it('keeps order and resumes delivery when the relay is killed and restarted mid-stream', async () => {
    const sink = forwarder({ url: relay.url('tcp') });
    const events = eventsFor('midstream', 120);
    const prefix = prefixOf(events);
    let next = 0;
    const sender = setInterval(() => {
      for (let i = 0; i < 2 && next < events.length; i++) sink.send(events[next++] as AuditEvent);
    }, 5);
    try {
      await until(() => next >= 40);
      await relay.kill(); // with writes in flight: those the kernel had taken for the dead peer are lost
      await until(() => next >= 60);
      await relay.start();
      await until(() => next >= events.length, 10_000);
    } finally {
      clearInterval(sender);
    }
    expect(await sink.flush(10_000)).toBe(true);
    const ids = await waitForIds(prefix, events.length, 3_000);
    const indices = ids.map((id) => Number(id.slice(prefix.length)));
    expect(indices).toEqual([...indices].sort((a, b) => a - b)); // never reordered
    expect(new Set(indices).size).toBe(indices.length); // nor duplicated
    // Everything sent once the relay was back arrives.
    expect(indices.slice(-50)).toEqual(Array.from({ length: 50 }, (_, i) => 71 + i));
    expect(sink.stats().connected).toBe(true);
  });

  it('with the relay down and capacity 5, drops the 7 oldest of 12 with one warning and delivers the 5 newest', async () => {
    await relay.kill();
    const warnings: string[] = [];
    const sink = forwarder({ url: relay.url('tcp'), capacity: 5, onWarning: (w) => warnings.push(w) });
    const events = eventsFor('overflow', 12);
    const overflowWarnings = (): string[] => warnings.filter((w) => w.includes('buffer full'));
    for (const event of events) sink.send(event);
    expect(sink.stats()).toMatchObject({ dropped: 7, buffered: 5, connected: false, sent: 0 });
    expect(overflowWarnings()).toEqual([expect.stringMatching(/buffer full \(5 messages\)/)]);

    await relay.start();
    expect(await sink.flush(10_000)).toBe(true);
    expect(sink.stats()).toMatchObject({ dropped: 7, buffered: 0, sent: 5, connected: true });
    expect(await waitForIds(prefixOf(events), 5)).toEqual(events.slice(7).map((e) => e.eventId));
    expect(overflowWarnings()).toHaveLength(1);
  });

  it('never throws from send, even when the warning hook does or after close', async () => {
    const sink = forwarder({
      url: relay.url('tcp'),
      capacity: 1,
      onWarning: () => {
        throw new Error('hook failed');
      },
    });
    await relay.kill();
    const events = eventsFor('nothrow', 3);
    expect(() => events.forEach((event) => sink.send(event))).not.toThrow();
    await sink.close(100);
    expect(() => sink.send(events[0] as AuditEvent)).not.toThrow();
    expect(sink.stats().dropped).toBeGreaterThanOrEqual(3);
  });
});
