// A rotator produces a secret's next value and, for secrets that live in
// another system too, applies and proves it there. The rotation worker runs
// its steps like AWS Secrets Manager's four: create pending, set, test, finish.

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
