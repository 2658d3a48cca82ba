// One delivery message as the webhook worker handles it: deliver, record the
// attempt in the audit trail, and schedule the retry by the message's own
// visibility (exponential backoff, full jitter); the queue's redrive policy
// takes it to the DLQ after its last attempt.
import { recordAfter, type AuditRecorder } from '../audit/audit-maintenance.js';
import { describeError } from '../errors.js';
import type { DomainLogger } from '../ports/logging.js';
import type { MessageVisibility } from '../ports/webhooks.js';
import type { DeliveryDecision, DeliveryMessage } from './deliver-webhook.js';

export const WEBHOOK_WORKER_IDENTITY = 'system:webhook-worker';

export interface ReceivedDelivery extends DeliveryMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
}

/** `keep`: SQS should keep the message (a retry or the DLQ); `gaveUp`: this was the delivery's last attempt. */
export interface DeliveryJobResult {
  readonly keep: boolean;
  readonly gaveUp: boolean;
}

export class WebhookDeliveryJob {
  constructor(
    private readonly visibility: MessageVisibility,
    private readonly audit: AuditRecorder,
    private readonly logger: DomainLogger,
  ) {}

  /** `deliver` makes the attempt (DeliverWebhook, traced). Never throws: an error keeps the message for another attempt. */
  async run(message: ReceivedDelivery, deliver: (message: ReceivedDelivery) => Promise<DeliveryDecision>): Promise<DeliveryJobResult> {
    const { jobId } = message;
    try {
      const decision = await deliver(message);
      const details = { job_id: jobId, decision: decision.action };
      const outcome = decision.action === 'done' ? 'success' : 'failure';
      await recordAfter(this.audit, { type: 'webhook.delivery', outcome, identityId: WEBHOOK_WORKER_IDENTITY, details }, this.logger);
      if (decision.action === 'done') return { keep: false, gaveUp: false };
      const seconds = decision.action === 'retry' ? decision.delaySeconds : 0;
      // Without the new visibility the message still comes back, after the queue's default timeout.
      await this.visibility
        .delay(message.receiptHandle, seconds)
        .catch((error: unknown) => this.logger.warn('could not reschedule webhook delivery', { job_id: jobId, error: describeError(error) }));
      return { keep: true, gaveUp: decision.action === 'dead-letter' };
    } catch (error) {
      this.logger.error('webhook delivery errored', { job_id: jobId, message_id: message.messageId, error: describeError(error) });
      return { keep: true, gaveUp: false };
    }
  }
}
