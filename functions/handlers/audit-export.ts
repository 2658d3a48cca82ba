import { loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { AUDIT_EXPORT_FUNCTION } from '../runtime/definitions.js';
import { composeAuditExport } from '../composition/audit-export.js';

export const handler = composeAuditExport(loadConfig(process.env), createLogger(process.env, { service: AUDIT_EXPORT_FUNCTION.service })).handler;
