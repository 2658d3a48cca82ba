// The alert manager definition the stack gives its AMP workspace
// (lib/observability.ts), run by a real Alertmanager whose SNS receiver
// publishes to a local stand-in for SNS: each alert group must arrive as one
// AWS Chatbot custom notification (valid JSON, whatever the annotations hold),
// so the Chatbot channel subscribed to the alarm topic posts it to Slack.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { AMP_SNS_TEMPLATE, alertManagerDefinition } from '../../lib/observability.js';
import { tempDir, waitFor } from '../integration/support/processes.js';
import { Alertmanager } from './support/alertmanager.js';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ScaiVault-alarms';

interface Published {
  readonly topic: string | null;
  readonly subject: string | null;
  readonly message: string;
}

interface ChatbotNotification {
  version: string;
  source: string;
  content: { textType: string; title: string; description: string; nextSteps: string[] };
  metadata: { threadId: string; summary: string; eventType: string; additionalContext: Record<string, string> };
}

/** SNS's Publish action (the query protocol Alertmanager's AWS SDK speaks), recording each message. */
const startSns = async (published: Published[]): Promise<Server> => {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    request.on('end', () => {
      const form = new URLSearchParams(body);
      if (form.get('Action') !== 'Publish') {
        response.writeHead(400).end();
        return;
      }
      published.push({ topic: form.get('TopicArn'), subject: form.get('Subject'), message: form.get('Message') ?? '' });
      response.writeHead(200, { 'content-type': 'text/xml' });
      response.end(
        '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult>' +
          '<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>',
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
};

describe("the AMP workspace's alert manager definition, through a real Alertmanager to SNS", () => {
  const published: Published[] = [];
  let sns: Server;
  let alertmanager: Alertmanager | undefined;
  let url = '';

  beforeAll(async () => {
    sns = await startSns(published);
    const dir = tempDir('amp-alertmanager');
    const definition = parse(alertManagerDefinition(TOPIC, 'eu-west-1')) as { template_files: Record<string, string>; alertmanager_config: string };
    // What AMP does for the workspace: the template files beside the config, and SNS's endpoint and credentials.
    const templateFile = join(dir, AMP_SNS_TEMPLATE);
    writeFileSync(templateFile, definition.template_files[AMP_SNS_TEMPLATE]!);
    const config = parse(definition.alertmanager_config) as {
      templates: string[];
      route: Record<string, unknown>;
      receivers: { sns_configs: Record<string, unknown>[] }[];
    };
    expect(config.templates).toEqual([AMP_SNS_TEMPLATE]);
    config.templates = [templateFile];
    config.route.group_wait = '1s';
    const receiver = config.receivers[0]!.sns_configs[0]!;
    receiver.api_url = `http://127.0.0.1:${(sns.address() as AddressInfo).port}`;
    receiver.sigv4 = { ...(receiver.sigv4 as object), access_key: 'AKIDEXAMPLE', secret_key: 'local-only-example-key' };
    const configFile = join(dir, 'alertmanager.yml');
    writeFileSync(configFile, stringify(config));
    alertmanager = await Alertmanager.start(configFile, dir);
    url = alertmanager.url;
  }, 30_000);

  afterAll(async () => {
    await alertmanager?.stop();
    await new Promise((resolve) => sns?.close(resolve));
  });

  it('publishes one group as one Chatbot custom notification, valid JSON even with quotes, backslashes and newlines in its annotations', async () => {
    const startsAt = new Date().toISOString();
    const alert = (dependency: string, description: string) => ({
      labels: { alertname: 'ScaiVaultDependencyDown', severity: 'critical', dependency },
      annotations: { summary: `ScaiVault dependency ${dependency} is down`, description, runbook_url: 'ops/runbooks.md#scaivaultdependencydown' },
      startsAt,
    });
    const posted = await fetch(`${url}/api/v2/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        alert('dynamodb', 'The "dynamodb" probe failed:\nconnect ECONNREFUSED at C:\\path\t(tab)'),
        alert('kms', "KMS answered the vault's call with AccessDenied."),
      ]),
    });
    expect(posted.status).toBe(200);
    await waitFor(async () => published.length > 0, 30_000, 'a message published to SNS');
    expect(published).toHaveLength(1);
    const [message] = published;
    expect(message!.topic).toBe(TOPIC);
    expect(message!.subject).toBe('[FIRING:2] ScaiVaultDependencyDown');
    const notification = JSON.parse(message!.message) as ChatbotNotification;
    expect(notification).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: {
        textType: 'client-markdown',
        title: ':rotating_light: [critical] ScaiVaultDependencyDown: 2 firing',
        nextSteps: ['Runbook: ops/runbooks.md#scaivaultdependencydown'],
      },
      metadata: {
        threadId: 'scaivault-ScaiVaultDependencyDown',
        eventType: 'ScaiVaultAlert',
        additionalContext: { status: 'firing', alertname: 'ScaiVaultDependencyDown', severity: 'critical' },
      },
    });
    const lines = notification.content.description.split('\n');
    expect(lines).toEqual([
      '• *firing* ScaiVault dependency dynamodb is down: The "dynamodb" probe failed:',
      'connect ECONNREFUSED at C:\\path (tab)',
      "• *firing* ScaiVault dependency kms is down: KMS answered the vault's call with AccessDenied.",
    ]);
  }, 45_000);
});
