import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exited, freePort, tempDir, waitFor } from './processes.js';

export interface PrometheusOptions {
  /** `host:port` of each target of the scrape job; none, no scrape job. */
  readonly targets: readonly string[];
  /** Accept remote-write pushes at `/api/v1/write` (`--web.enable-remote-write-receiver`). */
  readonly remoteWriteReceiver?: boolean;
  /** Absolute paths of rule files to load. */
  readonly ruleFiles: readonly string[];
  readonly job?: string;
  readonly metricsPath?: string;
  /** Global scrape and evaluation interval, as Prometheus spells durations. */
  readonly interval?: string;
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface PromAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: 'pending' | 'firing' | 'inactive';
  readonly activeAt: string;
  readonly value: string;
}

export interface PromTarget {
  readonly labels: Record<string, string>;
  readonly scrapeUrl: string;
  readonly health: 'up' | 'down' | 'unknown';
  readonly lastError: string;
  readonly lastScrape: string;
  readonly lastScrapeDuration: number;
}

export interface PromRule {
  readonly name: string;
  readonly type: 'alerting' | 'recording';
  readonly health: 'ok' | 'err' | 'unknown';
  readonly lastError?: string;
  readonly state?: 'pending' | 'firing' | 'inactive';
}

export interface PromRuleGroup {
  readonly name: string;
  readonly file: string;
  readonly rules: readonly PromRule[];
}

/** The `prometheus` binary on PATH (PROMETHEUS_BIN overrides), or undefined. */
export const findPrometheus = (): string | undefined => {
  if (process.env.PROMETHEUS_BIN) return process.env.PROMETHEUS_BIN;
  const found = spawnSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' });
  return found.status === 0 && found.stdout.trim() ? found.stdout.trim() : undefined;
};

/**
 * A real Prometheus server (Debian's `prometheus` 2.x) in its own process with
 * a generated config: one scrape job over static targets and the given rule
 * files, scraping and evaluating every second. Its TSDB and config live in a
 * temp dir removed on stop.
 */
export class PrometheusServer {
  output = '';
  private child: ChildProcess | undefined;

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(options: PrometheusOptions): Promise<PrometheusServer> {
    const binary = findPrometheus();
    if (!binary) {
      throw new Error(
        "the `prometheus` binary is not on PATH: run `bash scripts/ensure-test-deps.sh` (npm test does) to install Debian's prometheus package, or set PROMETHEUS_BIN",
      );
    }
    const server = new PrometheusServer(tempDir('prometheus'), await freePort());
    try {
      await server.launch(binary, options);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Where a remote-write client pushes (with `remoteWriteReceiver`). */
  get remoteWriteUrl(): string {
    return `${this.url}/api/v1/write`;
  }

  private async launch(binary: string, options: PrometheusOptions): Promise<void> {
    const interval = options.interval ?? '1s';
    // YAML is a superset of JSON: no quoting rules to get wrong.
    const config = {
      global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
      rule_files: options.ruleFiles,
      scrape_configs: options.targets.length
        ? [
            {
              job_name: options.job ?? 'scaivault',
              metrics_path: options.metricsPath ?? '/v1/metrics',
              static_configs: [{ targets: options.targets }],
            },
          ]
        : [],
    };
    const configFile = join(this.dir, 'prometheus.yml');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const child = spawn(
      binary,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(this.dir, 'data')}`,
        '--storage.tsdb.retention.time=1h',
        `--web.listen-address=127.0.0.1:${this.port}`,
        '--log.level=warn',
        ...(options.remoteWriteReceiver ? ['--web.enable-remote-write-receiver'] : []),
      ],
      { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
    spawnError.catch(() => undefined);
    await Promise.race([
      spawnError,
      waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`prometheus exited early (${child.exitCode}):\n${this.output}`);
          return (await fetch(`${this.url}/-/ready`)).ok;
        },
        30_000,
        'prometheus to be ready',
      ).catch((error: Error) => {
        throw new Error(`${error.message}\n${this.output}`);
      }),
    ]);
  }

  private async api<T>(path: string): Promise<T> {
    const response = await fetch(`${this.url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${path}: ${body.errorType ?? response.status} ${body.error ?? ''}`);
    return body.data;
  }

  /** An instant query; the result as a vector (scalars come back as one unlabelled sample). */
  async query(promql: string): Promise<PromSample[]> {
    const data = await this.api<{ resultType: string; result: unknown }>(`/api/v1/query?query=${encodeURIComponent(promql)}`);
    if (data.resultType === 'vector') return data.result as PromSample[];
    if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
    throw new Error(`prometheus query ${promql}: unexpected result type ${data.resultType}`);
  }

  /** The single value of a query that must return exactly one sample; undefined when it returns none. */
  async value(promql: string): Promise<number | undefined> {
    const result = await this.query(promql);
    if (result.length > 1) throw new Error(`prometheus query ${promql}: ${result.length} samples, expected at most one`);
    return result[0] ? Number(result[0].value[1]) : undefined;
  }

  /** Active alerts (pending and firing). */
  async alerts(): Promise<PromAlert[]> {
    return (await this.api<{ alerts: PromAlert[] }>('/api/v1/alerts')).alerts;
  }

  /** Active alerts named `name`, in any state. */
  async alertsNamed(name: string): Promise<PromAlert[]> {
    return (await this.alerts()).filter((alert) => alert.labels.alertname === name);
  }

  async targets(): Promise<PromTarget[]> {
    return (await this.api<{ activeTargets: PromTarget[] }>('/api/v1/targets?state=active')).activeTargets;
  }

  async ruleGroups(): Promise<PromRuleGroup[]> {
    return (await this.api<{ groups: PromRuleGroup[] }>('/api/v1/rules')).groups;
  }

  /** SIGTERM, wait for exit (SIGKILL after 10 s), remove the temp dir. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited(child);
      clearTimeout(killer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
