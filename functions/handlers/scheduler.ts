import { loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { composeScheduler } from '../composition/scheduler.js';

export const handler = composeScheduler(loadConfig(process.env), createLogger(process.env, { service: 'scaivault-scheduler' })).handler;
