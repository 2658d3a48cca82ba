// Where domain events go (the webhook fan-out subscribes).

import type { VaultEvent } from '../events/events.js';

export interface EventPublisher {
  /** Must not throw for subscriber problems: publishing is best effort after the fact it reports. */
  publish(event: VaultEvent): Promise<void>;
}
