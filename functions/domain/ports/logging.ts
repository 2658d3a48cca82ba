// What the domain logs through; functions/observability/logger.ts implements it.

export interface JobLogger {
  warn(message: string, fields?: Record<string, string | number | boolean | null | undefined>): void;
}

export interface DeliveryLogger {
  info(message: string, fields?: Record<string, string | number | boolean | null | undefined>): void;
  warn(message: string, fields?: Record<string, string | number | boolean | null | undefined>): void;
}
