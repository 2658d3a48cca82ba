import type { DependencyProbe } from '../ports/health.js';

export interface CheckResult {
  readonly status: 'up' | 'down';
  readonly latencyMs: number;
  readonly error?: string;
  /** ISO 8601 time the check started. */
  readonly checkedAt?: string;
}

export interface CheckHistory {
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
  readonly lastSuccessAt: string | null;
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, CheckResult>>;
}

class ProbeTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** Short, detail-free description of why a probe failed (no hosts, no payloads). */
const describeFailure = (error: unknown): string => {
  if (error instanceof ProbeTimeoutError) return 'timeout';
  const named = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  return named.code ?? named.name ?? 'error';
};

/** Told of every check as it ends: its dependency, result and duration in seconds. */
export type CheckObserver = (dependency: string, result: CheckResult, seconds: number) => void;

/** Runs every dependency probe at once, each under its own deadline. */
export class HealthService {
  private readonly history = new Map<string, { lastError: string | null; lastErrorAt: string | null; lastSuccessAt: string | null }>();

  constructor(
    private readonly probes: readonly DependencyProbe[],
    private readonly timeoutMs: number,
    private readonly onCheck: CheckObserver = () => undefined,
  ) {}

  async readiness(): Promise<Readiness> {
    const results = await Promise.all(
      this.probes.map(async (probe) => {
        const result = await this.run(probe);
        this.onCheck(probe.name, result, result.latencyMs / 1000);
        return [probe.name, result] as const;
      }),
    );
    return { ready: results.every(([, result]) => result.status === 'up'), checks: Object.fromEntries(results) };
  }

  lastErrors(): Readonly<Record<string, CheckHistory>> {
    return Object.fromEntries(this.history);
  }

  private async run(probe: DependencyProbe): Promise<CheckResult> {
    const started = performance.now();
    const checkedAt = new Date().toISOString();
    let timer: NodeJS.Timeout | undefined;
    const history = this.history.get(probe.name) ?? { lastError: null, lastErrorAt: null, lastSuccessAt: null };
    this.history.set(probe.name, history);
    try {
      await Promise.race([
        probe.check(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ProbeTimeoutError()), this.timeoutMs);
        }),
      ]);
      history.lastSuccessAt = new Date().toISOString();
      return { status: 'up', latencyMs: round(performance.now() - started), checkedAt };
    } catch (error) {
      history.lastError = describeFailure(error);
      history.lastErrorAt = new Date().toISOString();
      return { status: 'down', latencyMs: round(performance.now() - started), error: history.lastError, checkedAt };
    } finally {
      clearTimeout(timer);
    }
  }
}

const round = (ms: number): number => Math.round(ms * 100) / 100;
