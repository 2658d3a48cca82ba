import { loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { SCHEDULER_FUNCTION } from '../runtime/definitions.js';
import { composeScheduler } from '../composition/scheduler.js';

export const handler = composeScheduler(loadConfig(process.env), createLogger(process.env, { service: SCHEDULER_FUNCTION.service })).handler;
