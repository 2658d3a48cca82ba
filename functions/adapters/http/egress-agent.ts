// Kept apart from the policy so that only the webhook worker, which delivers, bundles undici;
// the api checks hosts at webhook creation with the policy alone.
import { rootCertificates } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import type { EgressPolicy } from './egress-guard.js';

export interface EgressAgentOptions {
  readonly connectTimeoutMs?: number;
  readonly headersTimeoutMs?: number;
  readonly bodyTimeoutMs?: number;
  /** Extra trusted CA certificates (PEM) on top of Node's roots: a test ACME server's own CA. */
  readonly extraCaPem?: string;
}

/** An undici dispatcher whose every connection passes the egress policy. */
export const createEgressAgent = (policy: EgressPolicy, options: EgressAgentOptions = {}): Agent => {
  const ca = options.extraCaPem ? [...rootCertificates, options.extraCaPem] : undefined;
  const connect = buildConnector({ lookup: policy.lookup(), timeout: options.connectTimeoutMs ?? 10_000, ...(ca ? { ca } : {}) });
  return new Agent({
    headersTimeout: options.headersTimeoutMs,
    bodyTimeout: options.bodyTimeoutMs,
    connect: (connectOptions, callback) => {
      const host = connectOptions.hostname;
      try {
        policy.checkHost(host);
      } catch (error) {
        callback(error as Error, null);
        return;
      }
      connect(connectOptions, (error, socket) => {
        if (error || !socket) {
          callback(error ?? new Error('connection failed'), null);
          return;
        }
        try {
          policy.checkConnected(host, socket);
        } catch (refused) {
          socket.destroy();
          callback(refused as Error, null);
          return;
        }
        callback(null, socket);
      });
    },
  });
};
