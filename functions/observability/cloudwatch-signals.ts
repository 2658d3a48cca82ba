import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

// What must page through CloudWatch as well as Prometheus: AMP may not get the
// data at all (a failed push), and tampering evidence must not wait for a scrape.
// Every process emits them under one `service` dimension, so one alarm per
// signal sees the whole fleet (the api, the workers and the scheduler).

/** Powertools' `service` dimension on every signal, whichever function emits it. */
export const SIGNALS_SERVICE = 'scaivault';

/** Each signal's EMF metric: the CDK alarms and widgets read this table too. */
export const CLOUDWATCH_SIGNALS = {
  auditChainDivergence: { name: 'AuditChainDivergence', unit: MetricUnit.Count },
  auditWriteFailures: { name: 'AuditWriteFailures', unit: MetricUnit.Count },
  kmsErrors: { name: 'KmsErrors', unit: MetricUnit.Count },
  auditDetections: { name: 'AuditDetections', unit: MetricUnit.Count },
  rotationsFailed: { name: 'RotationsFailed', unit: MetricUnit.Count },
  jobsDeadLettered: { name: 'JobsDeadLettered', unit: MetricUnit.Count },
  auditSealAge: { name: 'AuditSealAgeSeconds', unit: MetricUnit.Seconds },
  metricsPublishFailures: { name: 'MetricsPublishFailures', unit: MetricUnit.Count },
  leasesIrrevocable: { name: 'LeasesIrrevocable', unit: MetricUnit.Count },
  enginesDown: { name: 'DynamicEnginesDown', unit: MetricUnit.Count },
  auditAnchorFailures: { name: 'AuditAnchorFailures', unit: MetricUnit.Count },
} as const;

export type CloudWatchSignal = keyof typeof CLOUDWATCH_SIGNALS;

export interface SignalEmitter {
  emit(signal: CloudWatchSignal, value?: number): void;
}

export class CloudWatchSignals implements SignalEmitter {
  private readonly metrics: Metrics;

  constructor(namespace: string) {
    this.metrics = new Metrics({ namespace, serviceName: SIGNALS_SERVICE });
  }

  /** One EMF document per event, written at once: these are rare, and a Lambda may be frozen right after. */
  emit(signal: CloudWatchSignal, value = 1): void {
    const { name, unit } = CLOUDWATCH_SIGNALS[signal];
    this.metrics.addMetric(name, unit, value);
    this.metrics.publishStoredMetrics();
  }
}
