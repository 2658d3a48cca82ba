import type { AuditAnchors, AuditBlock } from '../domain/ports/audit.js';
import type { AuditSealMetrics } from '../domain/ports/metrics.js';
import { errorClassOf } from './error-class.js';

/** Counts every anchor that could not be written, by error class (a bounded label), and lets the error through. */
export class InstrumentedAuditAnchors implements AuditAnchors {
  constructor(
    private readonly inner: AuditAnchors,
    private readonly metrics: Pick<AuditSealMetrics, 'auditAnchorFailed'>,
  ) {}

  async put(block: AuditBlock): Promise<void> {
    try {
      await this.inner.put(block);
    } catch (error) {
      this.metrics.auditAnchorFailed(errorClassOf(error));
      throw error;
    }
  }

  get(seq: number): Promise<AuditBlock | undefined> {
    return this.inner.get(seq);
  }

  exists(seq: number): Promise<boolean> {
    return this.inner.exists(seq);
  }
}
