import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

// CloudWatch gets a small, low-cardinality set through Powertools Metrics
// (embedded metric format on stdout): what the CDK dashboard and alarms read.
// Prometheus series stay the detailed view.

export interface RequestOutcome {
  readonly status: number;
  readonly latencyMs: number;
}

export class CloudWatchRequestMetrics {
  private readonly metrics: Metrics;

  constructor(namespace: string, serviceName: string) {
    this.metrics = new Metrics({ namespace, serviceName });
  }

  /** One EMF document per request: counts by outcome class and the latency. */
  record(outcome: RequestOutcome): void {
    this.metrics.addMetric('Requests', MetricUnit.Count, 1);
    this.metrics.addMetric('Errors5xx', MetricUnit.Count, outcome.status >= 500 ? 1 : 0);
    this.metrics.addMetric('Errors4xx', MetricUnit.Count, outcome.status >= 400 && outcome.status < 500 ? 1 : 0);
    this.metrics.addMetric('Throttles', MetricUnit.Count, outcome.status === 429 ? 1 : 0);
    // The security dashboard's authentication and authorisation failures.
    this.metrics.addMetric('Unauthorized', MetricUnit.Count, outcome.status === 401 ? 1 : 0);
    this.metrics.addMetric('Forbidden', MetricUnit.Count, outcome.status === 403 ? 1 : 0);
    this.metrics.addMetric('Latency', MetricUnit.Milliseconds, outcome.latencyMs);
    this.metrics.publishStoredMetrics();
  }
}
