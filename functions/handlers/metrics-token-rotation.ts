import { createLogger } from '../observability/logger.js';
import { METRICS_TOKEN_ROTATION_FUNCTION } from '../runtime/definitions.js';
import { composeMetricsTokenRotation } from '../composition/metrics-token-rotation.js';

export const handler = composeMetricsTokenRotation(createLogger(process.env, { service: METRICS_TOKEN_ROTATION_FUNCTION.service })).handler;
