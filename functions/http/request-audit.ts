// The audit record of one API request. Authenticated routes only: the
// unauthenticated probes (health, metrics) and unknown paths are not audited,
// so a load balancer or a scanner cannot flood the trail.
//
// Fail-closed: a request that changes something gets an `attempted` record
// before its route runs, and is refused with 503 if that record cannot be
// written; every request gets its outcome record before the answer leaves,
// and a read whose record cannot be written is refused (503) too. The outcome
// of a change that already happened is never turned into a 503 (a retry would
// repeat it): a failure to record it is logged and counted instead. The same
// holds for the few operational reads marked auditBestEffort (detailed health,
// admin status), which an operator needs most while the audit table is down.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { clip, type AuditDetailValue, type AuditDraft, type AuditOutcome } from '../domain/audit/audit-event.js';
import type { AuditLog } from '../domain/audit/audit-log.js';
import { headerOf } from './body.js';
import type { AuditedRoute, AuditNotes } from './route.js';

const VERBS: Record<string, string> = { GET: 'read', HEAD: 'read', PUT: 'write', PATCH: 'update', POST: 'create', DELETE: 'delete' };
const SAFE_METHODS = new Set(['GET', 'HEAD']);

export const auditTypeOf = (route: Pick<AuditedRoute, 'audit' | 'category' | 'method'>): string =>
  route.audit ?? `${route.category}.${VERBS[route.method] ?? route.method.toLowerCase()}`;

export const outcomeOf = (status: number): AuditOutcome =>
  status < 400 ? 'success' : status === 401 || status === 403 || status === 429 ? 'denied' : status < 500 ? 'failure' : 'error';

/** The bearer token presented, for its HMAC (lets an operator find every request made with a known token). */
const bearerOf = (event: APIGatewayProxyEventV2): string | undefined => {
  const match = /^Bearer\s+(\S+)$/i.exec(headerOf(event, 'authorization') ?? '');
  return match?.[1];
};

export interface RequestIdentity {
  readonly requestId: string;
  readonly sourceIp: string;
  readonly tenantId: string | undefined;
  readonly identityId: string | undefined;
  readonly path: string | undefined;
}

export interface RequestAuditHooks {
  /** Who and where, read when each record is made. */
  readonly who: () => RequestIdentity;
  /** An outcome record lost where the answer must stand (see above). */
  readonly onLost: (error: unknown) => void;
}

export class RequestAudit implements AuditNotes {
  private readonly details: Record<string, AuditDetailValue> = {};
  private readonly sensitiveValues: Record<string, string> = {};
  private attempted = false;
  /** The `attempted` record could not be written: the request is refused and needs no second failed write. */
  private refused = false;

  constructor(
    private readonly log: AuditLog,
    private readonly route: AuditedRoute,
    private readonly event: APIGatewayProxyEventV2,
    private readonly hooks: RequestAuditHooks,
  ) {
    const token = bearerOf(event);
    if (token) this.sensitiveValues.token = token;
  }

  detail(name: string, value: AuditDetailValue): void {
    this.details[name] = value;
  }

  sensitive(name: string, value: string): void {
    this.sensitiveValues[name] = value;
  }

  /** Before a change: the durable record that it was attempted. Throws (503) when it cannot be written. */
  async beforeChange(): Promise<void> {
    if (SAFE_METHODS.has(this.route.method)) return;
    try {
      await this.log.record(this.draft('attempted'));
    } catch (error) {
      this.refused = true;
      throw error;
    }
    this.attempted = true;
  }

  /**
   * The outcome. Throws (503) when it cannot be written and nothing was
   * changed yet; after an attempted change (or on a best-effort route),
   * `onLost` hears of it instead.
   */
  async outcome(status: number): Promise<void> {
    if (this.refused) return;
    try {
      await this.log.record(this.draft(outcomeOf(status), status));
    } catch (error) {
      if (!this.attempted && !this.route.auditBestEffort) throw error;
      this.hooks.onLost(error);
    }
  }

  private draft(outcome: AuditOutcome, status?: number): AuditDraft {
    const who = this.hooks.who();
    const action = auditTypeOf(this.route);
    const type = status === 403 ? 'policy_violation' : status === 401 ? 'auth.failed' : action;
    return {
      type,
      outcome,
      tenantId: who.tenantId,
      identityId: who.identityId,
      path: clip(who.path, 1024),
      requestId: who.requestId,
      sourceAddress: clip(who.sourceIp, 64),
      userAgent: clip(headerOf(this.event, 'user-agent'), 256),
      method: this.route.method,
      status,
      details: type !== action ? { ...this.details, action } : { ...this.details },
      sensitive: this.sensitiveValues,
    };
  }
}
