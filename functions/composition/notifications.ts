import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbNotificationBudget } from '../adapters/dynamodb/dynamodb-notification-budget.js';
import type { ChannelName, NotificationChannel, OperationalAlerts, OperationalEvent } from '../domain/ports/notifications.js';
import { NotificationService, type NotificationMetrics } from '../domain/notifications/notification-service.js';
import type { Logger } from '../observability/logger.js';
import type { NotifyConfig } from '../ops-config.js';
import { EgressPolicy } from '../adapters/http/egress-guard.js';

/** The operational alerts of one process: a no-op until a webhook URL is configured. */
export interface Notifier extends OperationalAlerts {
  notify(event: OperationalEvent): Promise<void>;
  flush(): Promise<void>;
}

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
