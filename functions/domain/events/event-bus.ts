import type { VaultEvent } from './events.js';
import type { EventPublisher } from '../ports/events.js';

/** Hands each event to every registered publisher; one failing subscriber never blocks the others. */
export class EventBus implements EventPublisher {
  private readonly publishers: EventPublisher[] = [];

  constructor(private readonly onError: (error: unknown, event: VaultEvent) => void = () => undefined) {}

  add(publisher: EventPublisher): void {
    this.publishers.push(publisher);
  }

  async publish(event: VaultEvent): Promise<void> {
    await Promise.all(this.publishers.map((publisher) => publisher.publish(event).catch((error: unknown) => this.onError(error, event))));
  }
}
