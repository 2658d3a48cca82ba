// An HTTP Retry-After header (RFC 9110 §10.2.3) read once for every outbound
// client that honours it: ACME servers, chat notification channels and remote-write receivers.

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export const retryAfterMs = (header: string | null, now: number = Date.now()): number | undefined => {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  // Every HTTP-date form (IMF-fixdate, RFC 850, asctime) starts with the day's name; Date.parse alone
  // would also take "1.5" or "test 1" for a date in 2001.
  if (!/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)/.test(header.trim())) return undefined;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
};
