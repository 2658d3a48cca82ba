// Where domain events go (the webhook fan-out subscribes).

import type { VaultEvent } from '../events/events.js';

export interface PublishOptions {
  /**
   * Rejects when a subscriber could not record the event, for a caller that
   * retries (a worker): otherwise publishing is best effort after the fact.
   */
  readonly required?: boolean;
}

export interface EventPublisher {
  /** Does not throw for subscriber problems unless `required`. */
  publish(event: VaultEvent, options?: PublishOptions): Promise<void>;
}
