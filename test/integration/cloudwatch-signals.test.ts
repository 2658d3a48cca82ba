import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from './support/processes.js';
import { VaultProcess } from './support/vault.js';

interface SignalDocument {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  service: string;
  [metric: string]: unknown;
}

describe('CloudWatch signals (EMF) from the rotation worker and the scheduler', () => {
  let vault: VaultProcess;

  beforeAll(async () => {
    // Nothing listens on the remote-write port: every push fails after its retries.
    const closedPort = await freePort();
    vault = await VaultProcess.start({
      env: {
        POWERTOOLS_METRICS_NAMESPACE: 'ScaiVault',
        SCAIVAULT_SCHEDULER_INTERVAL_SECONDS: '1',
        SCAIVAULT_REMOTE_WRITE_URL: `http://127.0.0.1:${closedPort}/api/v1/write`,
      },
    });
  });

  afterAll(async () => {
    await vault?.stop();
  });

  const signals = (): SignalDocument[] => vault.logLines().filter((line) => '_aws' in line && line.service === 'scaivault') as unknown as SignalDocument[];
  const documentsOf = (metric: string) => signals().filter((document) => metric in document);
  const arrives = (metric: string) => waitFor(async () => documentsOf(metric).length > 0, 20_000, `an EMF ${metric}`);

  it('emits each signal as its own document under namespace ScaiVault and service scaivault', async () => {
    await arrives('AuditSealAgeSeconds');
    for (const document of signals()) {
      const [directive] = document._aws.CloudWatchMetrics;
      expect(directive?.Namespace).toBe('ScaiVault');
      expect(directive?.Dimensions).toEqual([['service']]);
      expect(directive?.Metrics).toHaveLength(1);
    }
  });

  it('reports a failed rotation from the rotation worker', async () => {
    expect(documentsOf('RotationsFailed')).toEqual([]);
    await vault.request('PUT', '/v1/secrets/signals/db-role', {
      body: { value: 'role-password-v1', rotation: { interval_days: 30, rotator: 'postgresql', options: { connection_secret: 'signals/none', role: 'app' } } },
    });
    const requested = await vault.request('POST', '/v1/secrets/signals/db-role/rotate');
    expect(requested.status).toBe(202);
    await arrives('RotationsFailed');
    const [failed] = documentsOf('RotationsFailed');
    expect(failed?.RotationsFailed).toBe(1);
    expect(failed?._aws.CloudWatchMetrics[0]?.Metrics).toEqual([{ Name: 'RotationsFailed', Unit: 'Count' }]);
    // Counted once, when the job gives up; the job's outcome says the same.
    expect(documentsOf('RotationsFailed')).toHaveLength(1);
    expect((await vault.request('GET', `/v1/jobs/${requested.body.job_id}`)).body.status).toBe('failed');
  });

  it('reports the seal age and a clean chain on each scheduler run, and each failed push', async () => {
    await waitFor(async () => documentsOf('AuditSealAgeSeconds').length >= 2, 20_000, 'two scheduler runs');
    for (const document of documentsOf('AuditSealAgeSeconds')) {
      expect(document.AuditSealAgeSeconds).toBeGreaterThanOrEqual(0);
      // The scheduler seals every run (an empty block when idle): the age stays within a few runs.
      expect(document.AuditSealAgeSeconds).toBeLessThan(30);
      expect(document._aws.CloudWatchMetrics[0]?.Metrics).toEqual([{ Name: 'AuditSealAgeSeconds', Unit: 'Seconds' }]);
    }
    expect(documentsOf('AuditChainDivergence').map((d) => d.AuditChainDivergence)).toContain(0);
    expect(documentsOf('AuditChainDivergence').every((d) => d.AuditChainDivergence === 0)).toBe(true);
    await arrives('MetricsPublishFailures');
    expect(documentsOf('MetricsPublishFailures')[0]?.MetricsPublishFailures).toBe(1);
  });
});
