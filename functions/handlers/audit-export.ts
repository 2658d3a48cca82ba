import { loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { composeAuditExport } from '../composition/audit-export.js';

export const handler = composeAuditExport(loadConfig(process.env), createLogger(process.env, { service: 'scaivault-audit-export' })).handler;
