import { createHmac, randomBytes } from 'node:crypto';

// Standard Webhooks signatures (https://www.standardwebhooks.com): the secret is
// `whsec_` + base64 of random bytes; a signature is `v1,` + base64 of
// HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${body}` keyed by the
// decoded bytes; several signatures are separated by spaces.

export const SIGNING_SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;

/** A fresh signing secret of 32 random bytes (the spec asks for 24 to 64). */
export const newSigningSecret = (): string => SIGNING_SECRET_PREFIX + randomBytes(SECRET_BYTES).toString('base64');

const keyOf = (secret: string): Buffer => {
  const encoded = secret.startsWith(SIGNING_SECRET_PREFIX) ? secret.slice(SIGNING_SECRET_PREFIX.length) : secret;
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) throw new Error('signing secret is empty');
  return key;
};

/** `v1,<base64 HMAC>` of one message under one secret. */
export const signPayload = (secret: string, messageId: string, timestampSeconds: number, body: string): string =>
  `v1,${createHmac('sha256', keyOf(secret)).update(`${messageId}.${timestampSeconds}.${body}`, 'utf8').digest('base64')}`;

/** The `webhook-signature` header: one signature per secret, in the order given (newest first). */
export const signatureHeader = (secrets: readonly string[], messageId: string, timestampSeconds: number, body: string): string =>
  secrets.map((secret) => signPayload(secret, messageId, timestampSeconds, body)).join(' ');

export interface SignedHeaders {
  readonly 'webhook-id': string;
  readonly 'webhook-timestamp': string;
  readonly 'webhook-signature': string;
}

export const signedHeaders = (secrets: readonly string[], messageId: string, timestampSeconds: number, body: string): SignedHeaders => ({
  'webhook-id': messageId,
  'webhook-timestamp': String(timestampSeconds),
  'webhook-signature': signatureHeader(secrets, messageId, timestampSeconds, body),
});
