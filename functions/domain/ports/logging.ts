// What the domain logs through; functions/observability/logger.ts implements it.

/** The log a use case writes to: one structured line per call. Use cases take the levels they use (`Pick`). */
export interface DomainLogger {
  info(message: string, fields?: Record<string, string | number | boolean | null | undefined>): void;
  warn(message: string, fields?: Record<string, string | number | boolean | null | undefined>): void;
  error(message: string, fields?: Record<string, string | number | boolean | null | undefined>): void;
}
