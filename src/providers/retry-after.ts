// Response headers as the adapters read them, and Retry-After (RFC 9110, section 10.2.3):
// when a vendor that answered 429 or 503 takes requests again. Every adapter reads them
// here, the same way.

/** A response header by case-insensitive name (the first value when repeated, trimmed); undefined when absent or blank. */
export function headerValue(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const wanted = name.toLowerCase();
  const key = Object.keys(headers).find((k) => k.toLowerCase() === wanted);
  const raw: unknown = key === undefined ? undefined : (headers as Record<string, unknown>)[key];
  const value: unknown = Array.isArray(raw) ? raw[0] : raw;
  const text = typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '';
  return text === '' ? undefined : text;
}

/** Retry-After as delay seconds or an HTTP date; undefined when absent, negative or unreadable. */
export function retryAfter(headers: unknown, now: Date): Date | undefined {
  const value = headerValue(headers, 'retry-after');
  if (value === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return new Date(now.getTime() + Math.round(Number(value) * 1000));
  // An HTTP date starts with the day's name; Date.parse alone also reads "-5" or "1 2" as dates.
  if (!/^[A-Za-z]{3}/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : new Date(at);
}
