import type { VaultEvent } from './events.js';
import type { EventPublisher, PublishOptions } from '../ports/events.js';

/** Hands each event to every registered publisher; one failing subscriber never blocks the others. */
export class EventBus implements EventPublisher {
  private readonly publishers: EventPublisher[] = [];

  constructor(private readonly onError: (error: unknown, event: VaultEvent) => void = () => undefined) {}

  add(publisher: EventPublisher): void {
    this.publishers.push(publisher);
  }

  async publish(event: VaultEvent, options: PublishOptions = {}): Promise<void> {
    const results = await Promise.allSettled(this.publishers.map((publisher) => publisher.publish(event, options)));
    const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    for (const failure of failures) this.onError(failure.reason, event);
    if (options.required && failures.length > 0) throw failures[0]!.reason;
  }
}
