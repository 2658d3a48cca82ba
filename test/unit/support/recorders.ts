import type { AuditDraft } from '../../../functions/domain/audit/audit-event.js';

/** An audit log that keeps drafts; the types in `failing` throw as a store outage would. */
export class RecordingAuditLog {
  readonly drafts: AuditDraft[] = [];
  readonly failing = new Set<string>();
  async record(draft: AuditDraft): Promise<void> {
    if (this.failing.has(draft.type)) throw Object.assign(new Error('down'), { name: 'DependencyUnavailableError' });
    this.drafts.push(draft);
  }
  ofType(type: string): AuditDraft[] {
    return this.drafts.filter((draft) => draft.type === type);
  }
}

type Fields = Record<string, string | number | boolean | null | undefined>;

/** A logger that keeps its lines. */
export class RecordingLogger {
  readonly lines: { level: string; message: string; fields?: Fields }[] = [];
  info = (message: string, fields?: Fields) => void this.lines.push({ level: 'info', message, fields });
  warn = (message: string, fields?: Fields) => void this.lines.push({ level: 'warn', message, fields });
  error = (message: string, fields?: Fields) => void this.lines.push({ level: 'error', message, fields });
  messages(level: string): string[] {
    return this.lines.filter((line) => line.level === level).map((line) => line.message);
  }
}
