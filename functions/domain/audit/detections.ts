// The reference's audit-driven alerts, run by the sealer over each run's newly
// sealed events: every event is looked at once, by one sealer, whatever
// instance wrote it. Each finding becomes a counter, an audit event and a
// webhook event.
import { globMatches } from '../auth/path-glob.js';
import type { AuditEvent } from './audit-event.js';
import type { DetectionState } from '../ports/audit.js';

export const DETECTIONS = ['policy_violation_spike', 'dormant_secret_read', 'new_identity_sensitive_read'] as const;
export type DetectionKind = (typeof DETECTIONS)[number];

export interface Detection {
  readonly kind: DetectionKind;
  readonly tenantId: string;
  readonly path?: string;
  readonly identityId?: string;
  /** Non-sensitive facts: counts, ages, the triggering event's id. */
  readonly details: Readonly<Record<string, string | number>>;
}

export interface DetectionOptions {
  readonly violationSpikeThreshold: number;
  readonly dormantMs: number;
  readonly sensitivePaths: readonly string[];
}

export const SECRET_READ = 'secret.read';
export const POLICY_VIOLATION = 'policy_violation';

export class AuditDetector {
  constructor(
    private readonly store: DetectionState,
    private readonly options: DetectionOptions,
  ) {}

  async inspect(events: readonly AuditEvent[]): Promise<Detection[]> {
    const found: Detection[] = [];
    const violations = new Map<string, AuditEvent[]>();
    for (const event of events) {
      if (event.type !== POLICY_VIOLATION || !event.tenantId) continue;
      violations.set(event.tenantId, [...(violations.get(event.tenantId) ?? []), event]);
    }
    for (const [tenantId, list] of violations) {
      if (list.length < this.options.violationSpikeThreshold) continue;
      const identities = new Set(list.map((event) => event.identityId ?? 'unknown'));
      found.push({
        kind: 'policy_violation_spike',
        tenantId,
        details: { violations: list.length, threshold: this.options.violationSpikeThreshold, identities: identities.size, first_event_id: list[0]!.eventId },
      });
    }
    // A read's record written ahead and voided by its request's real outcome (see http/request-audit.ts) released nothing.
    const voided = new Set(events.map((event) => event.details?.voids).filter((id) => id !== undefined));
    for (const event of events) {
      if (event.type !== SECRET_READ || event.outcome !== 'success' || !event.tenantId || !event.path || voided.has(event.eventId)) continue;
      found.push(...(await this.inspectRead(event, event.tenantId, event.path)));
    }
    return found;
  }

  private async inspectRead(event: AuditEvent, tenantId: string, path: string): Promise<Detection[]> {
    const found: Detection[] = [];
    const at = Date.parse(event.time);
    const lastRead = await this.store.swapLastRead(tenantId, path, at);
    if (lastRead !== undefined && at - lastRead >= this.options.dormantMs) {
      found.push({
        kind: 'dormant_secret_read',
        tenantId,
        path,
        identityId: event.identityId,
        details: { idle_seconds: Math.round((at - lastRead) / 1000), last_read_at: new Date(lastRead).toISOString(), event_id: event.eventId },
      });
    }
    const identityId = event.identityId;
    if (identityId && this.options.sensitivePaths.some((glob) => globMatches(glob, path)) && (await this.store.markReader(tenantId, path, identityId))) {
      found.push({ kind: 'new_identity_sensitive_read', tenantId, path, identityId, details: { event_id: event.eventId } });
    }
    return found;
  }
}
