// A rotator produces a secret's next value and, for secrets that live in
// another system too, applies and proves it there. The rotation worker runs
// its steps like AWS Secrets Manager's four: create pending, set, test, finish.

export type RotationOptions = Readonly<Record<string, string | number | boolean>>;

export interface RotationContext {
  readonly tenantId: string;
  readonly path: string;
  readonly options: RotationOptions;
  /** The current value (e.g. the password a database role has now). */
  readonly currentValue: string;
  /** The value about to be promoted. */
  readonly pendingValue: string;
  /** Reads another secret of the same tenant (e.g. an admin connection), through the same checks as the API. */
  readonly readSecret: (path: string) => Promise<string>;
}

export interface Rotator {
  readonly name: string;
  /** Validates options when a rotation schedule is configured; throws ValidationError. */
  validate(options: RotationOptions): void;
  /** Step 1: the next value. Must not touch any external system. */
  generate(options: RotationOptions, currentValue: string): string;
  /** Step 2: make the external system accept the pending value (idempotent: may run again after a crash). */
  set?(context: RotationContext): Promise<void>;
  /** Step 3: prove the pending value works before it becomes current. */
  test?(context: RotationContext): Promise<void>;
}

/** A rotator step failed for a reason worth reporting (never containing a secret). */
export class RotationStepError extends Error {
  override readonly name = 'RotationStepError';
  constructor(
    readonly step: 'create' | 'set' | 'test' | 'finish',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
