import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsBackupStore } from '../../functions/adapters/local-fs/fs-backup-store.js';
import type { AuditDraft } from '../../functions/domain/audit/audit-event.js';
import { BackupService } from '../../functions/domain/backups/backup-service.js';
import { RestoreService } from '../../functions/domain/backups/restore-service.js';
import type { TableDumper } from '../../functions/domain/ports/backups.js';
import { METRICS } from '../../functions/observability/metric-catalogue.js';
import { MetricRegistry } from '../../functions/observability/metric-registry.js';
import { VaultMetrics } from '../../functions/observability/vault-metrics.js';
import { AUDIT_TABLE, STATE_TABLE } from '../../functions/runtime/definitions.js';

/** Tables in memory, items as encoded lines; `failAfter` pages makes a dump fail part-way. */
const memoryTables = (contents: Record<string, string[]>, failAfter = Number.POSITIVE_INFINITY): TableDumper & { tables: Record<string, string[]> } => ({
  tables: contents,
  async *dump(name) {
    const lines = contents[name] ?? [];
    for (let i = 0, page = 0; i < lines.length; i += 2, page += 1) {
      if (page >= failAfter) throw Object.assign(new Error('read timeout'), { name: 'TimeoutError' });
      yield lines.slice(i, i + 2);
    }
  },
  create: async (name) => void (contents[name] = []),
  load: async (name, lines) => void contents[name]!.push(...lines),
  count: async (name) => contents[name]?.length ?? 0,
  drop: async (name) => void delete contents[name],
});

const setup = (dumper: TableDumper) => {
  const dir = mkdtempSync(join(tmpdir(), 'scaivault-backup-unit-'));
  const registry = new MetricRegistry();
  const audit: AuditDraft[] = [];
  const store = new FsBackupStore(dir);
  const service = new BackupService({
    tables: [
      { definition: STATE_TABLE, tableName: 'state' },
      { definition: AUDIT_TABLE, tableName: 'audit' },
    ],
    dumper,
    store,
    chain: { latestBlock: async () => undefined },
    audit: { record: async (draft) => void audit.push(draft) },
    metrics: new VaultMetrics(registry),
    logger: { info: () => undefined, error: () => undefined },
  });
  const count = (metric: { name: string }) => registry.snapshot()[metric.name]?.[''];
  return { dir, store, service, audit, count };
};

const items = (n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ pk: { S: `p${i}` }, sk: { S: 's' }, v: { B: Buffer.from([i]).toString('base64') } }));

describe('BackupService and RestoreService on files', () => {
  it('round-trips every item, and a restore refuses a backup whose file changed before writing anything', async () => {
    const dumper = memoryTables({ state: items(5), audit: items(3) });
    const { service, store, audit, count } = setup(dumper);
    const manifest = await service.backup();
    expect(manifest.tables.map((t) => [t.id, t.items])).toEqual([
      ['scaivault-state', 5],
      ['scaivault-audit', 3],
    ]);
    expect(count(METRICS.dbBackups)).toBe(1);
    expect(audit.map((d) => d.type)).toEqual(['db_backup.started', 'db_backup.succeeded']);

    const report = await new RestoreService({ store, dumper, logger: { info: () => undefined, error: () => undefined } }).restore(
      manifest.backupId,
      (entry) => `${entry.tableName}-copy`,
    );
    expect(report.checks).toEqual({ manifest: true, sha256: true, counts: true });
    expect(dumper.tables['state-copy']).toEqual(dumper.tables.state);
  });

  it('counts, audits and cleans up a backup that fails part-way: no manifest, no directory', async () => {
    const { service, dir, audit, count } = setup(memoryTables({ state: items(6), audit: items(2) }, 1));
    await expect(service.backup()).rejects.toThrow('read timeout');
    expect(count(METRICS.dbBackups)).toBe(1);
    expect(count(METRICS.dbBackupsFailed)).toBe(1);
    expect(audit.at(-1)).toMatchObject({ type: 'db_backup.failed', outcome: 'failure', details: { error: 'TimeoutError' } });
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(join(dir, 'manifest.json'))).toBe(false);
  });
});
