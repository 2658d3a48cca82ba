import { loadConfig } from '../config.js';
import { composeApi } from '../composition/api.js';
import { createLogger } from '../observability/logger.js';
import { API_FUNCTION } from '../runtime/definitions.js';

const config = loadConfig(process.env);
const logger = createLogger(process.env, { service: API_FUNCTION.service });

export const handler = composeApi(config, logger).handler;
