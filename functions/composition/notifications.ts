import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbNotificationBudget } from '../adapters/dynamodb/dynamodb-notification-budget.js';
import type { ChannelName, NotificationChannel, OperationalEvent } from '../domain/ports/notifications.js';
import { NotificationService, notifyingPublisher, type NotificationMetrics } from '../domain/notifications/notification-service.js';
import { loadNotifyConfig } from '../ops-config.js';
import type { Notifier } from './notifier-slot.js';
import type { VaultCore } from './vault-core.js';
import type { Logger } from '../observability/logger.js';
import type { NotifyConfig } from '../ops-config.js';
import { EgressPolicy } from '../adapters/http/egress-guard.js';

const channelsOf = async (config: NotifyConfig, egressAllowlist: readonly string[]): Promise<NotificationChannel[]> => {
  const urls = (
    [
      ['slack', config.slackUrl],
      ['json', config.jsonUrl],
    ] as const
  ).filter((entry): entry is readonly [ChannelName, string] => !!entry[1]);
  if (urls.length === 0) return [];
  // undici only where a channel is configured: the api bundle stays free of it.
  const [{ createEgressAgent }, { HttpNotificationChannel }] = await Promise.all([
    import('../adapters/http/egress-agent.js'),
    import('../adapters/http/http-notification-channel.js'),
  ]);
  const agent = createEgressAgent(new EgressPolicy({ allowlist: egressAllowlist }), { connectTimeoutMs: config.timeoutMs });
  return urls.map(([name, url]) => new HttpNotificationChannel(name, url, agent));
};

/** Builds the notifier; its channels load on the first event, so a process that never alerts never loads them. */
export const composeNotifier = (
  config: NotifyConfig,
  parts: { dynamodb: DynamoDBClient; stateTable: string; egressAllowlist: readonly string[]; metrics: NotificationMetrics; logger: Logger },
): Notifier => {
  const inFlight = new Set<Promise<void>>();
  if (!config.slackUrl && !config.jsonUrl) return { alert: () => undefined, notify: async () => undefined, flush: async () => undefined };
  let service: Promise<NotificationService> | undefined;
  const serviceOf = () =>
    (service ??= channelsOf(config, parts.egressAllowlist).then(
      (channels) =>
        new NotificationService(channels, new DynamoDbNotificationBudget(parts.dynamodb, parts.stateTable), parts.metrics, parts.logger, {
          environment: config.environment,
          maxPerHour: config.maxPerHour,
          timeoutMs: config.timeoutMs,
        }),
    ));
  const notify = async (event: OperationalEvent) => (await serviceOf()).notify(event);
  return {
    notify,
    alert: (event) => {
      const sending = notify(event)
        .catch((error: unknown) => parts.logger.warn('notification failed', { event: event.event, error: (error as Error).name }))
        .finally(() => inFlight.delete(sending));
      inFlight.add(sending);
    },
    flush: async () => void (await Promise.allSettled([...inFlight])),
  };
};

/**
 * Chat notifications for this process's core (idempotent): failed rotations and detections from the
 * event bus, dead letters from the metrics, and whatever the scheduler and backups raise.
 */
export const enableNotifications = (core: VaultCore, logger: Logger): void => {
  if (core.notifier.enabled) return;
  const notifier = composeNotifier(loadNotifyConfig(process.env), {
    dynamodb: core.dynamodb,
    stateTable: core.config.stateTable,
    egressAllowlist: core.config.egressAllowlist,
    metrics: core.metrics,
    logger,
  });
  core.notifier.use(notifier);
  core.metrics.alerts = notifier;
  core.events.add(notifyingPublisher(notifier));
};
