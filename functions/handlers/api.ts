import { loadConfig } from '../config.js';
import { composeApi } from '../composition/api.js';
import { flushQuietly } from '../observability/fleet-metrics.js';
import { createLogger } from '../observability/logger.js';
import { API_FUNCTION } from '../runtime/definitions.js';
import { onShutdown } from '../runtime/shutdown.js';

const config = loadConfig(process.env);
const logger = createLogger(process.env, { service: API_FUNCTION.service });
const api = composeApi(config, logger);

export const handler = api.handler;

// The counts since the last interval's flush, written before Lambda reclaims the instance.
onShutdown(() => flushQuietly(api.fleetMetrics, logger, true));
