// Health: what readiness checks.

/** A named reachability check for readiness. */
export interface DependencyProbe {
  readonly name: string;
  check(): Promise<void>;
}
