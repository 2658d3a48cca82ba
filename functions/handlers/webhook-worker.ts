import { loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { composeWebhookWorker } from '../composition/webhook-worker.js';

export const handler = composeWebhookWorker(loadConfig(process.env), createLogger(process.env, { service: 'scaivault-webhook-worker' })).handler;
