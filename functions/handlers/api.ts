import { loadConfig } from '../config.js';
import { composeApi } from '../composition/api.js';
import { createLogger } from '../observability/logger.js';

const config = loadConfig(process.env);
const logger = createLogger(process.env, { service: 'scaivault-api' });

export const handler = composeApi(config, logger).handler;
