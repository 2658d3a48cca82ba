import { loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { composeRotationWorker } from '../composition/rotation-worker.js';

export const handler = composeRotationWorker(loadConfig(process.env), createLogger(process.env, { service: 'scaivault-rotation-worker' })).handler;
