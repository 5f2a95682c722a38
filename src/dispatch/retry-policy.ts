// When to try a failed send again. Exponential backoff with jitter, so a provider
// outage is ridden out (the default budget spans more than ten minutes) and the
// retries of many messages do not arrive together when it ends.
import type { ProviderError } from '../providers/types.js';

export interface RetryPolicy {
  /** Delay before the first retry, before jitter. */
  baseDelayMs: number;
  /** No single wait is longer than this, before jitter. */
  maxDelayMs: number;
  /** Attempts in all, the first one included. */
  maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  baseDelayMs: 1_000,
  maxDelayMs: 60_000,
  maxAttempts: 25,
});

/** ±20 %: spreads retries apart without making the schedule unpredictable. */
export const JITTER = 0.2;

/** Even a vendor saying "come back now" gets this much room. */
export const RATE_LIMIT_FLOOR_MS = 1_000;

export type RetryDecision = { action: 'fail' } | { action: 'retry'; at: Date };

/** The wait after failed attempt number `attempt` (1-based): base·2^(attempt−1), capped, then jittered. */
export function retryDelayMs(attempt: number, policy: RetryPolicy = DEFAULT_RETRY_POLICY, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  // 2^exponent overflows to Infinity long after the cap; min() keeps it finite.
  const raw = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  const factor = 1 - JITTER + 2 * JITTER * clamp01(random());
  return Math.round(raw * factor);
}

/** What to do after `attempts` attempts, the last of which failed with `error`. */
export function decide(
  error: ProviderError,
  attempts: number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  now: Date = new Date(),
): RetryDecision {
  if (error.kind === 'permanent') return { action: 'fail' };
  if (attempts >= policy.maxAttempts) return { action: 'fail' };
  if (error.kind === 'rate_limited' && error.retryAt) {
    const floor = now.getTime() + RATE_LIMIT_FLOOR_MS;
    return { action: 'retry', at: new Date(Math.max(error.retryAt.getTime(), floor)) };
  }
  return { action: 'retry', at: new Date(now.getTime() + retryDelayMs(attempts, policy)) };
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0.5;
}
