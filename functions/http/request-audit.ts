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
//
// A read whose version is known once it is authorized (asked for, or the
// current version this instance last saw) has its success record written
// ahead, beside the storage read, so the read costs one round trip rather than
// two: the value is released only when that record is durable AND the read
// returned exactly the version it names. Otherwise (another version was
// current, the read failed) the request's real outcome is recorded before the
// answer leaves, with `voids` naming the record written ahead, whose value
// never left. No value leaves without a durable record naming reader, path and
// version; a read that fails is recorded as failed.
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { clip, type AuditDetailValue, type AuditDraft, type AuditEvent, type AuditOutcome } from '../domain/audit/audit-event.js';
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

/** How the record written ahead ended: written (the event), or not (the error). */
type Settled = { readonly event: AuditEvent } | { readonly error: unknown };

interface Ahead {
  /** The details it was written with; it stands for the request only if they are still the request's. */
  readonly details: string;
  readonly settled: Promise<Settled>;
}

const AHEAD_STATUS = 200;

const detailsKey = (details: Readonly<Record<string, AuditDetailValue>>): string =>
  JSON.stringify(Object.entries(details).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

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
  private ahead: Ahead | undefined;

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

  /** A read's success record, started now beside the read, naming what it expects to return (see the top of this file). */
  recordAhead(details: Readonly<Record<string, AuditDetailValue>>): void {
    if (this.ahead || !SAFE_METHODS.has(this.route.method)) return;
    Object.assign(this.details, details);
    const settled = this.log.record(this.draft('success', AHEAD_STATUS)).then(
      (event): Settled => ({ event }),
      (error: unknown): Settled => ({ error }),
    );
    this.ahead = { details: detailsKey(this.details), settled };
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
    if (this.ahead) {
      const settled = await this.ahead.settled;
      if (status === AHEAD_STATUS && detailsKey(this.details) === this.ahead.details) {
        if ('event' in settled) return;
        throw settled.error;
      }
      if ('event' in settled) this.details.voids = settled.event.eventId;
    }
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
