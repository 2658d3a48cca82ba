import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parseExposition, sumOf } from './support/exposition.js';
import { ROOT, tempDir, waitFor } from './support/processes.js';
import { VaultProcess } from './support/vault.js';

const run = promisify(execFile);

/** `npm run backup|restore` as an operator runs them, in a child process. */
const cli = async (script: string, args: string[], env: Record<string, string>): Promise<string> => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
  });
  return stdout.trim();
};

const metricsOf = async (vault: VaultProcess) => {
  const response = await vault.request('GET', '/v1/metrics');
  expect(response.status, response.text).toBe(200);
  return parseExposition(response.text);
};

const verify = async (vault: VaultProcess) => {
  const response = await vault.request('GET', '/v1/audit/verify');
  expect(response.status, response.text).toBe(200);
  return response.body as { ok: boolean; checked_blocks: number; checked_events: number; head: { block: number; sealed_through: string } | null };
};

describe('backup, wipe, restore and the restore drill', () => {
  const keyFile = join(tempDir('backup-key'), 'master.key');
  const backupDir = tempDir('backups');
  const common = {
    SCAIVAULT_LOCAL_KEY_FILE: keyFile,
    SCAIVAULT_BACKUP_DIR: backupDir,
    SCAIVAULT_SCHEDULER_INTERVAL_SECONDS: '1',
    SCAIVAULT_AUDIT_SEAL_GRACE_SECONDS: '1',
    SCAIVAULT_METRICS_FLUSH_SECONDS: '0.5',
    SCAIVAULT_METRICS_STATE_CACHE_SECONDS: '0',
  };
  const vaults: VaultProcess[] = [];
  const written = new Map<string, string>();
  let backup = '';
  let rootToken = '';
  let sealedHead = -1;
  let restored: VaultProcess | undefined;

  afterAll(async () => {
    for (const vault of vaults) await vault.stop('SIGKILL');
  });

  it('backs up a running vault, and after a wipe the restore gives back every secret and a verifying chain', async () => {
    const original = await VaultProcess.start({ env: common });
    vaults.push(original);
    rootToken = original.rootToken;
    for (const round of [1, 2]) {
      await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const path = `apps/svc-${i}/password`;
          const value = `value-${i}-${round}-${Math.random().toString(36).slice(2)}`;
          const put = await original.request('PUT', `/v1/secrets/${path}`, { body: { value } });
          expect(put.status, put.text).toBeLessThan(300);
          written.set(path, value);
        }),
      );
    }
    const wroteAt = new Date().toISOString();
    await waitFor(async () => ((await verify(original)).head?.sealed_through ?? '') > wroteAt, 20_000, 'a seal past the writes');
    sealedHead = (await verify(original)).head!.block;

    backup = await cli('bin/backup.ts', [], { ...common, SCAIVAULT_DATA_DIR: original.dataDir });
    const manifest = JSON.parse(readFileSync(join(backup, 'manifest.json'), 'utf8'));
    expect(manifest.tables.map((t: { id: string }) => t.id).sort()).toEqual(['scaivault-audit', 'scaivault-metrics', 'scaivault-state']);
    for (const table of manifest.tables) {
      expect(
        createHash('sha256')
          .update(readFileSync(join(backup, table.file)))
          .digest('hex'),
      ).toBe(table.sha256);
    }
    expect(manifest.tables.find((t: { id: string }) => t.id === 'scaivault-state').items).toBeGreaterThanOrEqual(60);
    expect(manifest.chainHead.seq).toBeGreaterThanOrEqual(sealedHead);

    // The CLI's counts reach the vault's fleet metrics, and its audit events the trail.
    await waitFor(async () => sumOf(await metricsOf(original), 'scaivault_db_backup_total') >= 1, 10_000, 'the backup counted');
    const events = await original.request('GET', '/v1/audit/events?type=db_backup.succeeded');
    expect(events.status, events.text).toBe(200);
    expect(JSON.stringify(events.body)).toContain(manifest.backupId);

    await original.stop();
    rmSync(original.dataDir, { recursive: true, force: true });
    const restoredDir = join(tempDir('restored'), 'data');
    expect(await cli('bin/restore.ts', [backup, '--data-dir', restoredDir], {})).toBe(restoredDir);

    // It drills the backups too (the second test): same key, so the backup it was restored from opens there.
    const back = await VaultProcess.start({
      dataDir: restoredDir,
      env: { ...common, SCAIVAULT_ROOT_TOKEN: rootToken, SCAIVAULT_RESTORE_DRILL_INTERVAL_MINUTES: '0.02' },
    });
    vaults.push(back);
    restored = back;
    await Promise.all(
      [...written].map(async ([path, value]) => {
        const read = await back.request('GET', `/v1/secrets/${path}`);
        expect(read.status, read.text).toBe(200);
        expect(read.body.value).toBe(value);
      }),
    );
    const chain = await verify(back);
    expect(chain.ok).toBe(true);
    expect(chain.checked_blocks).toBeGreaterThanOrEqual(manifest.chainHead.seq + 1);
  }, 120_000);

  it('drills the latest backup on a schedule, and a corrupted backup fails the drill and moves its metrics', async () => {
    expect(restored).toBeDefined();
    const vault = restored!;
    const latest = readdirSync(backupDir).sort().at(-1)!;
    expect(join(backupDir, latest)).toBe(backup);
    await waitFor(async () => sumOf(await metricsOf(vault), 'scaivault_restore_drills_total', { result: 'success' }) >= 1, 20_000, 'a passing drill');
    let samples = await metricsOf(vault);
    for (const check of ['manifest', 'sha256', 'counts', 'decrypt', 'audit_chain']) {
      expect(sumOf(samples, 'scaivault_restore_drill_check', { check }), check).toBe(1);
    }
    expect(sumOf(samples, 'scaivault_restore_drill_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);

    const failedBefore = sumOf(samples, 'scaivault_restore_drills_total', { result: 'failed' });
    // One flipped byte in the middle of the state table's file.
    const file = join(backupDir, latest, 'scaivault-state.jsonl.gz');
    const bytes = readFileSync(file);
    const middle = bytes.length >> 1;
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    await waitFor(async () => sumOf(await metricsOf(vault), 'scaivault_restore_drill_check', { check: 'sha256' }) === 0, 20_000, 'the sha256 check failing');
    samples = await metricsOf(vault);
    expect(sumOf(samples, 'scaivault_restore_drills_total', { result: 'failed' })).toBeGreaterThan(failedBefore);
    const failed = await vault.request('GET', '/v1/audit/events?type=db_restore.failed');
    expect(failed.status, failed.text).toBe(200);
    expect(JSON.stringify(failed.body)).toContain(latest);
  }, 90_000);
});
