// When to try a webhook delivery again. Standard Webhooks senders retry for about a day;
// Herald retries network errors, timeouts, refused addresses, 408, 429 and every answer
// but 2xx and other 4xx, with exponential backoff and jitter, for at least 24 hours.
import { DAY_MS } from '../../domain/limits.js';
import { JITTER } from '../retry-policy.js';

export interface WebhookRetryPolicy {
  /** Wait after the first failed attempt, before jitter. */
  baseDelayMs: number;
  /** Longest single wait, before jitter. */
  maxDelayMs: number;
  /** Attempts go on until this long after the first one. */
  retryForMs: number;
}

export const DEFAULT_WEBHOOK_RETRY: Readonly<WebhookRetryPolicy> = Object.freeze({
  baseDelayMs: 5_000,
  maxDelayMs: 60 * 60 * 1_000,
  retryForMs: DAY_MS,
});

/** Whether an attempt that got `statusCode` (or no answer: undefined) may succeed if made again. */
export function worthRetrying(statusCode: number | undefined): boolean {
  if (statusCode === undefined) return true;
  if (statusCode >= 200 && statusCode < 300) return false;
  if (statusCode === 408 || statusCode === 429) return true;
  return statusCode < 400 || statusCode >= 500;
}

/**
 * When the next attempt is due after failed attempt number `attempt` of a run that began at
 * `firstAttemptAt`, or null when the run is over. The last retry is the first one due at
 * least `retryForMs` after the run began, so a receiver down for exactly a day still gets it.
 */
export function nextAttemptAt(
  attempt: number,
  firstAttemptAt: Date,
  now: Date,
  policy: WebhookRetryPolicy = DEFAULT_WEBHOOK_RETRY,
  random: () => number = Math.random,
): Date | null {
  if (now.getTime() - firstAttemptAt.getTime() >= policy.retryForMs) return null;
  const raw = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(Math.max(0, attempt - 1), 40));
  const factor = 1 - JITTER + 2 * JITTER * Math.min(1, Math.max(0, random()));
  return new Date(now.getTime() + Math.round(raw * factor));
}
