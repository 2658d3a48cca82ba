import { isIP } from 'node:net';

/** Whether `host` binds only the loopback interface (127.0.0.0/8, ::1, localhost). */
export const isLoopbackHost = (host: string): boolean => {
  const bare = host.replace(/^\[|\]$/g, '');
  if (bare === 'localhost' || bare === '::1') return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
};

/**
 * /v1/metrics is open without a metrics token, which is safe only while nobody
 * but this machine can reach the vault: bound elsewhere, a token is required.
 */
export const unprotectedMetricsProblem = (host: string, env: NodeJS.ProcessEnv): string | undefined => {
  if (isLoopbackHost(host)) return undefined;
  if (env.SCAIVAULT_METRICS_TOKEN || env.SCAIVAULT_METRICS_TOKEN_SECRET_ARN) return undefined;
  return `SCAIVAULT_HOST=${host} is not a loopback address: set SCAIVAULT_METRICS_TOKEN so /v1/metrics is not open to the network, or listen on 127.0.0.1`;
};
