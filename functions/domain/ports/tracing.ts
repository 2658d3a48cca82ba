// Names the steps of background work, so a trace shows each with its own calls
// beneath it. Attributes are ids and counts only: never a secret, path or message.

export type StepAttributes = Readonly<Record<string, string | number | boolean>>;

export interface StepTracer {
  /** Runs `work` as the step `name`; `describe` says what it came to. */
  step<T>(name: string, work: () => Promise<T>, describe?: (result: T) => StepAttributes): Promise<T>;
}

/** Steps that run untraced. */
export const UNTRACED_STEPS: StepTracer = { step: (_name, work) => work() };
