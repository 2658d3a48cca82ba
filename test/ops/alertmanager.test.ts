import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from '../integration/support/processes.js';
import { Alertmanager } from './support/alertmanager.js';
import { WebhookReceiver } from '../integration/support/webhook-receiver.js';
import { opsPath } from './support/ops-files.js';

const SHIPPED_URL_FILE = '/etc/alertmanager/secrets/slack-webhook-url';

describe('Alertmanager routes ScaiVault alerts to Slack (the shipped ops/alertmanager/alertmanager.yml)', () => {
  let receiver: WebhookReceiver;
  let alertmanager: Alertmanager | undefined;
  let url = '';
  let config = '';

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    const dir = tempDir('alertmanager');
    // The one change: the webhook URL file, a secret mounted elsewhere in production.
    const urlFile = join(dir, 'slack-webhook-url');
    writeFileSync(urlFile, receiver.url('/services/T000/B000/XXXX'), { mode: 0o600 });
    const shipped = readFileSync(opsPath('alertmanager', 'alertmanager.yml'), 'utf8');
    expect(shipped).toContain(SHIPPED_URL_FILE);
    config = join(dir, 'alertmanager.yml');
    writeFileSync(config, shipped.replaceAll(SHIPPED_URL_FILE, urlFile));
    alertmanager = await Alertmanager.start(config, dir);
    url = alertmanager.url;
  });

  afterAll(async () => {
    await alertmanager?.stop();
    await receiver?.close();
  });

  it('passes amtool check-config', () => {
    const run = spawnSync('amtool', ['check-config', config], { encoding: 'utf8' });
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });

  it('delivers a firing critical alert to the Slack-compatible receiver, grouped by name, with its runbook', async () => {
    const startsAt = new Date().toISOString();
    const alert = (check: string) => ({
      labels: { alertname: 'ScaiVaultRestoreDrillFailing', severity: 'critical', check },
      annotations: {
        summary: `ScaiVault restore drill failing (${check})`,
        description: `The last restore drill failed its ${check} check.`,
        runbook_url: 'ops/runbooks.md#scaivaultrestoredrillfailing',
      },
      startsAt,
    });
    const posted = await fetch(`${url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([alert('sha256'), alert('decrypt')]),
    });
    expect(posted.status).toBe(200);
    await waitFor(async () => receiver.at('/services/T000/B000/XXXX').length > 0, 30_000, 'a Slack message');
    const messages = receiver.at('/services/T000/B000/XXXX');
    // Two alerts of one name: one message.
    expect(messages).toHaveLength(1);
    const body = JSON.parse(messages[0]!.body) as { channel: string; attachments: { title: string; text: string }[] };
    expect(body.channel).toBe('#scaivault-oncall');
    expect(body.attachments[0]!.title).toContain('[critical] ScaiVaultRestoreDrillFailing (2 firing)');
    expect(body.attachments[0]!.text).toContain('ScaiVault restore drill failing (sha256)');
    expect(body.attachments[0]!.text).toContain('ScaiVault restore drill failing (decrypt)');
    expect(body.attachments[0]!.text).toContain('ops/runbooks.md#scaivaultrestoredrillfailing');
  }, 45_000);
});
