import { loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { WEBHOOK_WORKER_FUNCTION } from '../runtime/definitions.js';
import { composeWebhookWorker } from '../composition/webhook-worker.js';

export const handler = composeWebhookWorker(loadConfig(process.env), createLogger(process.env, { service: WEBHOOK_WORKER_FUNCTION.service })).handler;
