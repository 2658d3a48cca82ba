// An HTTP Retry-After header (RFC 9110 §10.2.3) read once for every outbound
// client that honours it: ACME servers, chat notification channels and remote-write receivers.

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export const retryAfterMs = (header: string | null, now: number = Date.now()): number | undefined => {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  // Every HTTP-date form names its day and month; Date.parse would also take "1.5" as a date.
  if (!/[A-Za-z]/.test(header)) return undefined;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
};
