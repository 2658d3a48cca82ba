import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRfc5424, RsyslogServer } from '../support/rsyslog-server.js';
import { waitFor } from './support/processes.js';
import { VaultProcess } from './support/vault.js';

// Syslog settings end to end against a real rsyslogd over TLS: the relay's CA
// given as PEM text in the environment (as the stack bundles it into a
// Lambda's), facility, hostname and app name in every message, and the
// settings' test action answering whether the relay took its message.

describe('syslog settings and their test action', () => {
  let relay: RsyslogServer;
  let vault: VaultProcess;

  beforeAll(async () => {
    relay = await RsyslogServer.start();
    vault = await VaultProcess.start({
      env: {
        SCAIVAULT_SYSLOG_URL: relay.url('tls'),
        SCAIVAULT_SYSLOG_CA_PEM: readFileSync(relay.caFile, 'utf8'),
        SCAIVAULT_SYSLOG_FACILITY: 'local3',
        SCAIVAULT_SYSLOG_HOSTNAME: 'vault-settings-test',
        SCAIVAULT_SYSLOG_APP_NAME: 'scaivault-test',
        SCAIVAULT_SYSLOG_BUFFER_SIZE: '50',
      },
    });
  });

  afterAll(async () => {
    await vault?.stop();
    await relay?.stop();
  });

  const parsed = () =>
    relay
      .messages()
      .filter((line) => line.startsWith('<'))
      .map(parseRfc5424);

  it('sends a test message the relay parses, with the configured facility, hostname and app name', async () => {
    const answer = await vault.request('POST', '/v1/admin/syslog/test', { headers: { 'x-request-id': 'syslog-settings-1' } });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.body).toMatchObject({ delivered: true, transport: 'tls', target: relay.url('tls'), message_type: 'syslog.test' });
    await waitFor(async () => parsed().some((message) => message.msgId === 'syslog.test'), 10_000, 'the test message at the relay');
    const test = parsed().find((message) => message.msgId === 'syslog.test')!;
    expect(test).toMatchObject({ facility: 19, hostname: 'vault-settings-test', appName: 'scaivault-test' });
    expect(test.structuredData['scaivault@32473']?.eventId).toBe('syslog-test-syslog-settings-1');
    // Ordinary audit events carry the same settings.
    expect(parsed().some((message) => message.msgId !== 'syslog.test' && message.facility === 19 && message.appName === 'scaivault-test')).toBe(true);
  });

  it('says the relay did not take it when the relay is down', async () => {
    await relay.kill();
    const answer = await vault.request('POST', '/v1/admin/syslog/test');
    expect(answer.status).toBe(200);
    expect(answer.body.delivered).toBe(false);
    expect(answer.body.buffered).toBeGreaterThan(0);
  });
});
