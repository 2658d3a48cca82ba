import { loadConfig } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { ROTATION_WORKER_FUNCTION } from '../runtime/definitions.js';
import { composeRotationWorker } from '../composition/rotation-worker.js';

export const handler = composeRotationWorker(loadConfig(process.env), createLogger(process.env, { service: ROTATION_WORKER_FUNCTION.service })).handler;
