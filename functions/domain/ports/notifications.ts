// Chat notifications of operational events: the channels they go out on and the fleet-wide budget they share.

/** Something an on-call engineer must hear about: never a secret value, token or key. */
export interface OperationalEvent {
  /** Dotted name, e.g. `db_backup.failed`, `rotation.failed`, `audit.divergence`. */
  readonly event: string;
  /** One line saying what happened. */
  readonly summary: string;
  /** The error as an error class chain or a reason; never a secret. */
  readonly error?: string;
  readonly severity: 'critical' | 'warning';
  /** Epoch ms. */
  readonly at: number;
}

/** Fire-and-forget raising of an operational event: never throws, never blocks the caller's work. */
export interface OperationalAlerts {
  alert(event: OperationalEvent): void;
}

export type ChannelName = 'slack' | 'json';

export type ChannelResponse =
  | { readonly kind: 'response'; readonly status: number; readonly retryAfterMs?: number }
  | { readonly kind: 'error'; readonly error: string };

/** One incoming webhook: it formats and posts a message within `timeoutMs`. */
export interface NotificationChannel {
  readonly name: ChannelName;
  /** The service's limit on one message's text, in characters. */
  readonly maxChars: number;
  send(payload: string, timeoutMs: number): Promise<ChannelResponse>;
}

/** The fleet's notification budget: one counter per hour window, shared by every instance. */
export interface NotificationBudget {
  /** Takes one notification from the window's budget of `max`; false when it is spent. */
  take(windowKey: string, max: number): Promise<boolean>;
}
