import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableInput } from '../../functions/adapters/dynamodb/dynamodb-table-dumper.js';
import { composeNotifier } from '../../functions/composition/notifications.js';
import type { Notifier } from '../../functions/composition/notifier-slot.js';
import type { OperationalEvent } from '../../functions/domain/ports/notifications.js';
import { Logger } from '../../functions/observability/logger.js';
import { METRICS } from '../../functions/observability/metric-catalogue.js';
import { MetricRegistry, seriesKey } from '../../functions/observability/metric-registry.js';
import { VaultMetrics } from '../../functions/observability/vault-metrics.js';
import type { NotifyConfig } from '../../functions/ops-config.js';
import { STATE_TABLE } from '../../functions/runtime/definitions.js';
import { DynaliteProcess } from './support/processes.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };

const event = (n: number, overrides: Partial<OperationalEvent> = {}): OperationalEvent => ({
  event: 'db_backup.failed',
  summary: `a backup of the tables failed (#${n})`,
  error: 'BackupFailedError <- Error(ENOSPC)',
  severity: 'critical',
  at: Date.parse('2026-06-22T14:30:00.000Z'),
  ...overrides,
});

describe('chat notifications over real HTTP, with the fleet budget in DynamoDB (dynalite)', () => {
  let dynalite: DynaliteProcess;
  let dynamodb: DynamoDBClient;
  let receiver: WebhookReceiver;
  let hanging: Server;
  let tables = 0;
  const logged: string[] = [];

  /** A state table, once ACTIVE: until then dynalite refuses writes, and the budget would refuse every event. */
  const createTable = async (name: string) => {
    await dynamodb.send(new CreateTableCommand(createTableInput(STATE_TABLE, name)));
    await waitUntilTableExists({ client: dynamodb, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.2 }, { TableName: name });
  };

  /** One vault instance's notifier, on its own budget table unless `table` is shared. */
  const instance = async (overrides: Partial<NotifyConfig>, table?: string) => {
    const stateTable = table ?? `state-${(tables += 1)}`;
    if (!table) await createTable(stateTable);
    const registry = new MetricRegistry();
    const config: NotifyConfig = {
      slackUrl: undefined,
      jsonUrl: undefined,
      maxPerHour: 10,
      timeoutMs: 3000,
      environment: 'staging',
      ...overrides,
    };
    const notifier: Notifier = composeNotifier(config, {
      dynamodb,
      stateTable,
      egressAllowlist: ['127.0.0.1'],
      metrics: new VaultMetrics(registry),
      logger: new Logger('debug', 'json', {}, (line) => logged.push(line)),
    });
    const deliveries = (channel: string, status: string) =>
      Number(registry.snapshot()[METRICS.notificationDeliveries.name]?.[seriesKey([channel, status])] ?? 0);
    return { notifier, deliveries, stateTable };
  };

  beforeAll(async () => {
    dynalite = await DynaliteProcess.start();
    dynamodb = new DynamoDBClient({ ...LOCAL, endpoint: dynalite.endpoint });
    receiver = await WebhookReceiver.start();
    // Accepts the connection and never answers.
    hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    hanging?.closeAllConnections();
    hanging?.close();
    await receiver?.close();
    dynamodb?.destroy();
    await dynalite?.stop();
  });

  it('sends `[environment] event` with the error and the time to Slack, and the fields to the JSON channel', async () => {
    const { notifier, deliveries } = await instance({ slackUrl: receiver.url('/format/slack'), jsonUrl: receiver.url('/format/json') });
    await notifier.notify(event(1));
    const slack = JSON.parse(receiver.at('/format/slack')[0]!.body) as { text: string };
    expect(slack.text).toBe(
      '🚨 [staging] db_backup.failed: a backup of the tables failed (#1)\nError: BackupFailedError <- Error(ENOSPC)\nTimestamp: 2026-06-22T14:30:00.000Z',
    );
    const json = JSON.parse(receiver.at('/format/json')[0]!.body);
    expect(json).toMatchObject({ environment: 'staging', event: 'db_backup.failed', severity: 'critical', timestamp: '2026-06-22T14:30:00.000Z' });
    expect(deliveries('slack', 'sent')).toBe(1);
    expect(deliveries('json', 'sent')).toBe(1);
  });

  it('lets a burst of 50 events from two instances through at most SCAIVAULT_NOTIFY_MAX_PER_HOUR times', async () => {
    const first = await instance({ slackUrl: receiver.url('/burst') });
    const second = await instance({ slackUrl: receiver.url('/burst') }, first.stateTable);
    await Promise.all(Array.from({ length: 50 }, (_, n) => (n % 2 ? first : second).notifier.notify(event(n))));
    expect(receiver.at('/burst')).toHaveLength(10);
    expect(first.deliveries('slack', 'sent') + second.deliveries('slack', 'sent')).toBe(10);
    expect(first.deliveries('slack', 'suppressed') + second.deliveries('slack', 'suppressed')).toBe(40);
  });

  it('honours a 429 Retry-After that fits the timeout, and gives up on one that does not', async () => {
    // A Slack stand-in that throttles: the first post of each path gets 429 with the path's Retry-After.
    const seen = new Map<string, number>();
    const throttling = createServer((request, response) => {
      const path = request.url ?? '/';
      seen.set(path, (seen.get(path) ?? 0) + 1);
      request.resume();
      if (seen.get(path) === 1) response.writeHead(429, { 'retry-after': path === '/short' ? '1' : '120' });
      response.end();
    });
    await new Promise<void>((resolve) => throttling.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(throttling.address() as AddressInfo).port}`;
    try {
      const { notifier, deliveries } = await instance({ slackUrl: `${base}/short` });
      const started = Date.now();
      await notifier.notify(event(1));
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(seen.get('/short')).toBe(2);
      expect(deliveries('slack', 'sent')).toBe(1);

      // 120 s does not fit a 3 s timeout: one attempt, counted as throttled, nothing queued.
      const long = await instance({ slackUrl: `${base}/long` });
      await long.notifier.notify(event(2));
      expect(seen.get('/long')).toBe(1);
      expect(long.deliveries('slack', 'throttled')).toBe(1);
    } finally {
      throttling.closeAllConnections();
      throttling.close();
    }
  });

  it('gives up on a receiver that never answers within the timeout', async () => {
    const { port } = hanging.address() as AddressInfo;
    const { notifier, deliveries } = await instance({ slackUrl: `http://127.0.0.1:${port}/hooks/secret-token-123`, timeoutMs: 400 });
    const started = Date.now();
    await notifier.notify(event(1));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(deliveries('slack', 'failed')).toBe(1);
    // The URL is a credential: no log line carries it.
    expect(logged.join('\n')).not.toContain('secret-token-123');
    expect(logged.join('\n')).toContain('TimeoutError');
  });

  it("cuts a message to the service's size limit", async () => {
    const { notifier } = await instance({ slackUrl: receiver.url('/long') });
    await notifier.notify(event(1, { summary: 'x'.repeat(100_000) }));
    const { text } = JSON.parse(receiver.at('/long')[0]!.body) as { text: string };
    expect([...text]).toHaveLength(40_000);
    expect(text.endsWith('… (truncated)')).toBe(true);
  });

  it('refuses a destination the egress guard forbids', async () => {
    const registry = new MetricRegistry();
    await createTable('state-egress');
    const notifier = composeNotifier(
      { slackUrl: receiver.url('/guarded'), jsonUrl: undefined, maxPerHour: 10, timeoutMs: 2000, environment: 'staging' },
      {
        dynamodb,
        stateTable: 'state-egress',
        egressAllowlist: [],
        metrics: new VaultMetrics(registry),
        logger: new Logger('warn', 'json', {}, (l) => logged.push(l)),
      },
    );
    await notifier.notify(event(1));
    expect(receiver.at('/guarded')).toHaveLength(0);
    expect(registry.snapshot()[METRICS.notificationDeliveries.name]?.[seriesKey(['slack', 'failed'])]).toBe(1);
    expect(logged.join('\n')).toContain('EgressRefusedError');
  });
});
