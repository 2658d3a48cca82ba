// `npm run restore -- <backup dir> [--data-dir <fresh dir>] [--master-key <file>]`
//   restores a backup into a fresh embedded data dir (default: <backup dir>-restored):
//   start the vault there (SCAIVAULT_DATA_DIR) with the same master key.
// `npm run restore -- <backup dir> --endpoint <DynamoDB URL> --table-suffix <suffix>`
//   restores into new tables `<table><suffix>` of any DynamoDB (AWS: default credentials).
// Every file is checked against the manifest (sha256, size) before anything is written,
// and every table's item count after.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDbTableDumper } from '../functions/adapters/dynamodb/dynamodb-table-dumper.js';
import { FsBackupStore } from '../functions/adapters/local-fs/fs-backup-store.js';
import { RestoreService } from '../functions/domain/backups/restore-service.js';
import { createLogger } from '../functions/observability/logger.js';
import { openDynamoDb, runCommand } from '../local/offline-stack.js';

const logger = createLogger(process.env, { service: 'scaivault-restore' });

const usage = 'usage: npm run restore -- <backup dir> [--data-dir <fresh dir>] [--master-key <file>] | [--endpoint <url> --table-suffix <suffix>]';

const target = async (values: { 'data-dir'?: string; endpoint?: string; 'table-suffix'?: string; 'master-key'?: string }, backupDir: string) => {
  if (values.endpoint) {
    if (!values['table-suffix']) throw new Error('--endpoint needs --table-suffix: a restore never writes into existing tables');
    const suffix = values['table-suffix'];
    return { endpoint: values.endpoint, close: async () => undefined, nameOf: (tableName: string) => `${tableName}${suffix}`, where: values.endpoint };
  }
  const dataDir = resolve(values['data-dir'] ?? `${backupDir}-restored`);
  if (existsSync(join(dataDir, 'dynamodb'))) throw new Error(`${dataDir} already holds tables: restore into a fresh data dir`);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (values['master-key']) copyFileSync(values['master-key'], join(dataDir, 'master.key'));
  const dynamodb = await openDynamoDb(dataDir, undefined);
  // The embedded runtime names its tables by definition id.
  return { endpoint: dynamodb.endpoint, close: () => dynamodb.close(), nameOf: (_tableName: string, id?: string) => id ?? _tableName, where: dataDir };
};

const main = async (): Promise<void> => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { 'data-dir': { type: 'string' }, 'master-key': { type: 'string' }, endpoint: { type: 'string' }, 'table-suffix': { type: 'string' } },
  });
  if (positionals.length !== 1) throw new Error(usage);
  const backupDir = resolve(positionals[0]!);
  const into = await target(values, backupDir);
  const client = new DynamoDBClient({
    endpoint: into.endpoint,
    ...(values.endpoint ? {} : { region: 'us-east-1', credentials: { accessKeyId: 'embedded', secretAccessKey: 'embedded' } }),
  });
  try {
    const restore = new RestoreService({ store: new FsBackupStore(dirname(backupDir)), dumper: new DynamoDbTableDumper(client), logger });
    const report = await restore.restore(basename(backupDir), (entry) => into.nameOf(entry.tableName, values.endpoint ? undefined : entry.id));
    const tables = report.manifest.tables.map((t) => `${report.tableNames.get(t.id)} (${t.items} items)`).join(', ');
    logger.info('restore finished', { backup_id: report.manifest.backupId, into: into.where, tables });
    process.stdout.write(`${into.where}\n`);
  } finally {
    client.destroy();
    await into.close();
  }
};

runCommand(main, logger, 'restore');
