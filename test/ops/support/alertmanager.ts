import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { exited, freePort, waitFor } from '../../integration/support/processes.js';

const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';

/** A real Alertmanager on a free local port, with its data under `dir`, ready to take alerts. */
export class Alertmanager {
  private constructor(
    readonly url: string,
    private readonly child: ReturnType<typeof spawn>,
  ) {}

  static async start(configFile: string, dir: string): Promise<Alertmanager> {
    const port = await freePort();
    const child = spawn(
      ALERTMANAGER,
      [`--config.file=${configFile}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='],
      { stdio: 'ignore' },
    );
    const alertmanager = new Alertmanager(`http://127.0.0.1:${port}`, child);
    await waitFor(async () => (await fetch(`${alertmanager.url}/-/ready`).catch(() => undefined))?.ok === true, 20_000, 'alertmanager to start');
    return alertmanager;
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    await exited(this.child);
  }
}
