// Chat notifications of operational events (failed rotations, backup and drill
// failures, audit detections, chain divergence, dead-lettered jobs), formatted
// as reference 004 shows them:
//
//   🚨 [production] db_backup.failed: the backup of every table failed
//   Error: BackupFailedError
//   Timestamp: 2026-06-22T14:30:00.000Z
//
// A fleet-wide budget (SCAIVAULT_NOTIFY_MAX_PER_HOUR per clock hour, one
// DynamoDB counter) keeps an incident from flooding the channel; each post has
// a timeout, a 429's Retry-After is honoured once when it fits the timeout, and
// the text is cut to the service's limit.

import { describeError } from '../errors.js';
import type { VaultEvent } from '../events/events.js';
import type { EventPublisher } from '../ports/events.js';
import type { DomainLogger } from '../ports/logging.js';
import type { ChannelName, NotificationBudget, NotificationChannel, OperationalEvent } from '../ports/notifications.js';

export type DeliveryStatus = 'sent' | 'failed' | 'throttled' | 'suppressed';

export interface NotificationMetrics {
  notificationDelivery(channel: ChannelName, status: DeliveryStatus): void;
}

export interface NotificationOptions {
  readonly environment: string;
  readonly maxPerHour: number;
  readonly timeoutMs: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const TRUNCATED = '… (truncated)';
const ICON: Record<OperationalEvent['severity'], string> = { critical: '🚨', warning: '⚠️' };

/** Cuts `text` to `max` characters (code points), marking the cut. */
export const truncate = (text: string, max: number): string => {
  const chars = [...text];
  if (chars.length <= max) return text;
  return chars.slice(0, Math.max(0, max - TRUNCATED.length)).join('') + TRUNCATED;
};

/** The message text: `[environment] event: summary`, the error, the time. */
export const formatNotification = (environment: string, event: OperationalEvent): string =>
  [
    `${ICON[event.severity]} [${environment}] ${event.event}: ${event.summary}`,
    ...(event.error ? [`Error: ${event.error}`] : []),
    `Timestamp: ${new Date(event.at).toISOString()}`,
  ].join('\n');

/** The hour window an instant falls in, `2026-06-22T14`: the budget's counter key. */
export const hourWindow = (ms: number): string => new Date(ms).toISOString().slice(0, 13);

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class NotificationService {
  private readonly now: () => number;

  constructor(
    private readonly channels: readonly NotificationChannel[],
    private readonly budget: NotificationBudget,
    private readonly metrics: NotificationMetrics,
    private readonly logger: Pick<DomainLogger, 'warn'>,
    private readonly options: NotificationOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.channels.length > 0;
  }

  /** Sends one event to every channel, within the fleet's hourly budget; never throws. */
  async notify(event: OperationalEvent): Promise<void> {
    if (!this.enabled) return;
    let allowed: boolean;
    try {
      allowed = await this.budget.take(hourWindow(this.now()), this.options.maxPerHour);
    } catch (error) {
      // Without the shared counter the limit cannot hold: better one quiet event than a flood.
      this.logger.warn('notification budget unavailable', { event: event.event, error: describeError(error) });
      allowed = false;
    }
    if (!allowed) {
      for (const channel of this.channels) this.metrics.notificationDelivery(channel.name, 'suppressed');
      return;
    }
    const text = formatNotification(this.options.environment, event);
    await Promise.all(this.channels.map((channel) => this.deliver(channel, event, text)));
  }

  private async deliver(channel: NotificationChannel, event: OperationalEvent, text: string): Promise<void> {
    const payload = payloadFor(channel, this.options.environment, event, truncate(text, channel.maxChars));
    const deadline = this.now() + this.options.timeoutMs;
    let response = await channel.send(payload, this.options.timeoutMs);
    if (response.kind === 'response' && response.status === 429) {
      const wait = response.retryAfterMs ?? 1000;
      // Honoured when the wait and a second attempt fit the timeout; otherwise the message is dropped, not queued.
      if (this.now() + wait >= deadline) return this.finish(channel, event, 'throttled', 'HTTP 429');
      await (this.options.sleep ?? defaultSleep)(wait);
      response = await channel.send(payload, Math.max(100, deadline - this.now()));
    }
    if (response.kind === 'response' && response.status >= 200 && response.status < 300) return this.finish(channel, event, 'sent');
    const reason = response.kind === 'error' ? response.error : `HTTP ${response.status}`;
    return this.finish(channel, event, response.kind === 'response' && response.status === 429 ? 'throttled' : 'failed', reason);
  }

  private finish(channel: NotificationChannel, event: OperationalEvent, status: DeliveryStatus, reason?: string): void {
    this.metrics.notificationDelivery(channel.name, status);
    if (reason) this.logger.warn('notification not delivered', { channel: channel.name, event: event.event, status, error: reason });
  }
}

/** Slack takes `{text}`; the generic channel gets the fields as well as the text. */
const payloadFor = (channel: NotificationChannel, environment: string, event: OperationalEvent, text: string): string =>
  channel.name === 'slack'
    ? JSON.stringify({ text })
    : JSON.stringify({
        environment,
        event: event.event,
        severity: event.severity,
        summary: truncate(event.summary, channel.maxChars),
        ...(event.error ? { error: truncate(event.error, channel.maxChars) } : {}),
        timestamp: new Date(event.at).toISOString(),
        text,
      });

/** The vault events an on-call engineer hears about: failed rotations and audit detections. */
export const operationalEventOf = (event: VaultEvent, at: number): OperationalEvent | undefined => {
  if (event.type === 'rotation.failed') {
    return {
      event: event.type,
      summary: `rotation of ${event.data.path} failed (tenant ${event.tenantId})`,
      error: String(event.data.reason ?? ''),
      severity: 'critical',
      at,
    };
  }
  if (event.type.startsWith('audit.')) {
    const subject = event.data.path ? ` on ${event.data.path}` : '';
    return { event: event.type, summary: `audit detection${subject} (tenant ${event.tenantId})`, severity: 'warning', at };
  }
  return undefined;
};

/** Subscribes the notifier to the event bus; other events pass by. Awaited: a Lambda may freeze once its handler returns. */
export const notifyingPublisher = (notifier: { notify(event: OperationalEvent): Promise<void> }, now: () => number = Date.now): EventPublisher => ({
  publish: async (event) => {
    const operational = operationalEventOf(event, now());
    if (operational) await notifier.notify(operational);
  },
});
