// Backups of every table: the dumps a backup reads, the files it writes, the tables a restore fills.

import type { TableDefinition } from '../../runtime/definitions.js';

/** Reads and fills tables item by item; items travel as encoded JSON lines (DynamoDB JSON, binary as base64). */
export interface TableDumper {
  /** Every item of a table, each read strongly consistent, page by page. */
  dump(tableName: string): AsyncIterable<readonly string[]>;
  /** Creates an empty table `tableName` with the definition's keys and indexes. */
  create(tableName: string, definition: TableDefinition): Promise<void>;
  /** Writes items (encoded lines) into a table; all of them or a thrown error. */
  load(tableName: string, lines: readonly string[]): Promise<void>;
  /** Items in a table, by a strongly consistent scan. */
  count(tableName: string): Promise<number>;
  drop(tableName: string): Promise<void>;
}

export interface WrittenFile {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** Streams lines into one compressed file of a backup. */
export interface BackupFileWriter {
  write(lines: readonly string[]): Promise<void>;
  /** Closes the file; its size and sha256 as written. */
  close(): Promise<WrittenFile>;
}

/** Where backups live: one directory (or prefix) per backup, a manifest and one file per table. */
export interface BackupStore {
  /** Human-readable location of a backup (a directory), for logs and the CLI. */
  locationOf(backupId: string): string;
  createFile(backupId: string, file: string): Promise<BackupFileWriter>;
  writeManifest(backupId: string, manifest: BackupManifest): Promise<void>;
  readManifest(backupId: string): Promise<BackupManifest>;
  /** The decompressed lines of a file, page by page. */
  readLines(backupId: string, file: string, pageSize: number): AsyncIterable<readonly string[]>;
  /** sha256 and size of a file as stored now. */
  digest(backupId: string, file: string): Promise<WrittenFile>;
  /** Backups with a manifest, oldest first. */
  list(): Promise<readonly string[]>;
  remove(backupId: string): Promise<void>;
}

export interface BackupTableEntry extends WrittenFile {
  /** The definition id (`scaivault-state`, ...). */
  readonly id: string;
  /** The physical table the items were read from. */
  readonly tableName: string;
  readonly items: number;
  readonly definition: TableDefinition;
}

/** The audit chain's head when the backup started: every block up to it, and its events, are in the backup. */
export interface BackupChainHead {
  readonly seq: number;
  readonly hash: string;
  readonly throughKey: string;
}

export interface BackupManifest {
  readonly format: 'scaivault-backup/1';
  readonly backupId: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly chainHead: BackupChainHead | null;
  readonly tables: readonly BackupTableEntry[];
}

/** A point-in-time export of a table to S3 (DynamoDB's ExportTableToPointInTime). */
export interface TableExporter {
  /** Starts an export of `tableName` under `prefix`; the same `clientToken` never starts a second one. Returns its id (ARN). */
  start(tableName: string, prefix: string, clientToken: string): Promise<string>;
  describe(exportId: string): Promise<ExportStatus>;
}

export interface ExportStatus {
  readonly state: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  readonly bytes: number;
  /** Epoch ms. */
  readonly startedAt?: number;
  readonly endedAt?: number;
  /** Why it failed: DynamoDB's failure code. */
  readonly failure?: string;
}

export interface PendingExport {
  readonly exportId: string;
  readonly tableId: string;
  readonly startedAt: number;
}

/** The fleet's export schedule and the exports under way, in one item. */
export interface ExportSchedule {
  /** Claims the next run when it is due (once per `intervalMs`, across the fleet); false when not due or taken. */
  claim(now: number, intervalMs: number): Promise<boolean>;
  pending(): Promise<readonly PendingExport[]>;
  savePending(exports: readonly PendingExport[]): Promise<void>;
}
