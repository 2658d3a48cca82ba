import type { OperationalAlerts, OperationalEvent } from '../domain/ports/notifications.js';

/** The operational alerts of one process. */
export interface Notifier extends OperationalAlerts {
  notify(event: OperationalEvent): Promise<void>;
  /** Waits for alerts under way (a Lambda handler, before it returns). */
  flush(): Promise<void>;
}

/**
 * The core's notifier: silent until a worker or the scheduler enables chat
 * notifications (composition/notifications.ts). The api never raises an
 * operational event, so its bundle carries neither the channels nor undici.
 */
export class NotifierSlot implements Notifier {
  private target: Notifier | undefined;

  get enabled(): boolean {
    return this.target !== undefined;
  }

  use(target: Notifier): void {
    this.target = target;
  }

  alert(event: OperationalEvent): void {
    this.target?.alert(event);
  }

  async notify(event: OperationalEvent): Promise<void> {
    await this.target?.notify(event);
  }

  async flush(): Promise<void> {
    await this.target?.flush();
  }
}
