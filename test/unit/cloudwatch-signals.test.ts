import { afterEach, describe, expect, it, vi } from 'vitest';
import { CloudWatchSignals, type CloudWatchSignal } from '../../functions/observability/cloudwatch-signals.js';
import { MetricRegistry } from '../../functions/observability/metric-registry.js';
import { VaultMetrics } from '../../functions/observability/vault-metrics.js';

const recorder = () => {
  const emitted: [CloudWatchSignal, number | undefined][] = [];
  const metrics = new VaultMetrics(new MetricRegistry(), { emit: (signal, value) => void emitted.push([signal, value]) });
  return { metrics, emitted };
};

describe('VaultMetrics signals', () => {
  it('sends the events that must page to CloudWatch, and only those', () => {
    const { metrics, emitted } = recorder();
    metrics.keyProviderCall('decrypt', 0.01, false);
    metrics.rotationFinished('success');
    metrics.auditWritten('success', 'secret.read');
    metrics.webhookDelivery(false, 0.1);
    expect(emitted).toEqual([]);

    metrics.keyProviderCall('encrypt', 0.01, true);
    metrics.rotationFinished('failed');
    metrics.deadLettered('webhook');
    metrics.auditWriteFailed();
    metrics.auditDetection('dormant_secret_read');
    expect(emitted.map(([signal]) => signal)).toEqual(['kmsErrors', 'rotationsFailed', 'jobsDeadLettered', 'auditWriteFailures', 'auditDetections']);
  });

  it('still counts the Prometheus series with signals on', () => {
    const { metrics } = recorder();
    metrics.rotationFinished('failed');
    expect(metrics.registry.snapshot().scaivault_secret_rotations_total).toEqual({ failed: 1 });
  });
});

describe('CloudWatchSignals', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('writes one EMF document per signal, under the fixed service dimension', () => {
    // Outside Lambda, Powertools prints EMF only with its namespace variable set (the embedded runtime's case too).
    vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', 'ScaiVaultTest');
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => lines.push(String(chunk)) > 0);
    const signals = new CloudWatchSignals('ScaiVaultTest');
    signals.emit('auditSealAge', 42.5);
    signals.emit('auditChainDivergence', 1);
    const documents = lines.filter((line) => line.includes('_aws')).map((line) => JSON.parse(line));
    expect(documents).toHaveLength(2);
    expect(documents[0]).toMatchObject({ service: 'scaivault', AuditSealAgeSeconds: 42.5 });
    expect(documents[0]._aws.CloudWatchMetrics[0]).toMatchObject({
      Namespace: 'ScaiVaultTest',
      Dimensions: [['service']],
      Metrics: [{ Name: 'AuditSealAgeSeconds', Unit: 'Seconds' }],
    });
    expect(documents[1]).toMatchObject({ AuditChainDivergence: 1 });
    expect(documents[1]).not.toHaveProperty('AuditSealAgeSeconds');
  });
});
