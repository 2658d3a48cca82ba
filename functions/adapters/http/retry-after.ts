// An HTTP Retry-After header (RFC 9110 §10.2.3) read once for every outbound
// client that honours it: ACME servers and chat notification channels.

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export const retryAfterMs = (header: string | null, now: number = Date.now()): number | undefined => {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
};
