// Health: what readiness checks.

/** A named reachability check for readiness. */
export interface DependencyProbe {
  readonly name: string;
  check(): Promise<void>;
}

/** One run of every readiness check by the scheduler, as stored for other processes to show. */
export interface ScheduledChecks {
  /** ISO 8601 time the run started. */
  readonly checkedAt: string;
  readonly ready: boolean;
  readonly checks: Readonly<
    Record<string, { readonly status: 'up' | 'down'; readonly latencyMs: number; readonly error?: string; readonly checkedAt?: string }>
  >;
}

/** Where the scheduler keeps its latest checks: the api runs in other processes and shows them. */
export interface ScheduledChecksStore {
  save(checks: ScheduledChecks): Promise<void>;
  load(): Promise<ScheduledChecks | undefined>;
}
