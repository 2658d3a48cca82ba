// What the domain logs through; functions/observability/logger.ts implements it.

export interface JobLogger {
  warn(message: string, fields?: Record<string, string | number | boolean | null | undefined>): void;
}

export interface DeliveryLogger {
  info(message: string, fields?: Record<string, string | number | boolean | null | undefined>): void;
  warn(message: string, fields?: Record<string, string | number | boolean | null | undefined>): void;
}

/** The log a use case writes to: one structured line per call. */
export interface DomainLogger {
  info(message: string, fields?: Record<string, string | number | boolean | null | undefined>): void;
  warn(message: string, fields?: Record<string, string | number | boolean | null | undefined>): void;
  error(message: string, fields?: Record<string, string | number | boolean | null | undefined>): void;
}
