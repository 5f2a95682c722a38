import { describe, expect, it } from 'vitest';
import type { ProviderError } from '../providers/types.js';
import { DEFAULT_RETRY_POLICY, decide, retryDelayMs, type RetryPolicy } from './retry-policy.js';

const transient: ProviderError = { ok: false, kind: 'transient', code: '503', message: 'Twilio is unavailable (HTTP 503)' };
const permanent: ProviderError = {
  ok: false,
  kind: 'permanent',
  code: '21211',
  message: "The 'To' number +1*******0001 is not a valid phone number",
};
const now = new Date('2025-01-01T12:00:00Z');
const low = () => 0;
const mid = () => 0.5;
const high = () => 0.999999;

describe('retry delay', () => {
  it('waits about a second before the first retry', () => {
    for (let i = 0; i < 200; i++) {
      const d = retryDelayMs(1);
      expect(d).toBeGreaterThanOrEqual(800);
      expect(d).toBeLessThanOrEqual(1200);
    }
    expect(retryDelayMs(1, DEFAULT_RETRY_POLICY, mid)).toBe(1000);
  });

  it('doubles the wait after each failed attempt', () => {
    const waits = [1, 2, 3, 4, 5, 6].map((a) => retryDelayMs(a, DEFAULT_RETRY_POLICY, mid));
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 32000]);
  });

  it('never waits longer than the cap, however many attempts failed', () => {
    expect(retryDelayMs(7, DEFAULT_RETRY_POLICY, mid)).toBe(60_000);
    expect(retryDelayMs(25, DEFAULT_RETRY_POLICY, mid)).toBe(60_000);
    expect(retryDelayMs(5000, DEFAULT_RETRY_POLICY, high)).toBeLessThanOrEqual(72_000);
    expect(Number.isFinite(retryDelayMs(5000, DEFAULT_RETRY_POLICY, mid))).toBe(true);
  });

  it('jitters by at most 20 % either way', () => {
    expect(retryDelayMs(3, DEFAULT_RETRY_POLICY, low)).toBe(3200);
    expect(retryDelayMs(3, DEFAULT_RETRY_POLICY, high)).toBe(4800);
    expect(retryDelayMs(10, DEFAULT_RETRY_POLICY, low)).toBe(48_000);
    expect(retryDelayMs(10, DEFAULT_RETRY_POLICY, high)).toBe(72_000);
  });

  it('follows a custom policy', () => {
    const policy: RetryPolicy = { baseDelayMs: 50, maxDelayMs: 200, maxAttempts: 3 };
    expect([1, 2, 3, 4].map((a) => retryDelayMs(a, policy, mid))).toEqual([50, 100, 200, 200]);
  });

  it('rides out a ten-minute outage with the default policy, even at the shortest jitter', () => {
    let total = 0;
    for (let attempt = 1; attempt < DEFAULT_RETRY_POLICY.maxAttempts; attempt++) total += retryDelayMs(attempt, DEFAULT_RETRY_POLICY, low);
    expect(total).toBeGreaterThan(10 * 60_000);
  });
});

describe('retry decision', () => {
  it('fails a permanent error at once', () => {
    expect(decide(permanent, 1, DEFAULT_RETRY_POLICY, now)).toEqual({ action: 'fail' });
  });

  it('retries a transient error after the backoff delay', () => {
    const decision = decide(transient, 1, DEFAULT_RETRY_POLICY, now);
    expect(decision.action).toBe('retry');
    const wait = (decision as { at: Date }).at.getTime() - now.getTime();
    expect(wait).toBeGreaterThanOrEqual(800);
    expect(wait).toBeLessThanOrEqual(1200);

    const later = decide(transient, 5, DEFAULT_RETRY_POLICY, now) as { at: Date };
    expect(later.at.getTime() - now.getTime()).toBeGreaterThanOrEqual(12_800);
    expect(later.at.getTime() - now.getTime()).toBeLessThanOrEqual(19_200);
  });

  it('stops after the last allowed attempt', () => {
    expect(decide(transient, 24, DEFAULT_RETRY_POLICY, now).action).toBe('retry');
    expect(decide(transient, 25, DEFAULT_RETRY_POLICY, now)).toEqual({ action: 'fail' });
    expect(decide(transient, 26, DEFAULT_RETRY_POLICY, now)).toEqual({ action: 'fail' });
    const short: RetryPolicy = { ...DEFAULT_RETRY_POLICY, maxAttempts: 1 };
    expect(decide(transient, 1, short, now)).toEqual({ action: 'fail' });
  });

  it('comes back when a rate-limiting vendor said to', () => {
    const retryAt = new Date(now.getTime() + 30_000);
    expect(decide({ ...transient, kind: 'rate_limited', code: '20429', retryAt }, 1, DEFAULT_RETRY_POLICY, now)).toEqual({
      action: 'retry',
      at: retryAt,
    });
  });

  it('keeps a small floor when a vendor says to come back now or in the past', () => {
    const retryAt = new Date(now.getTime() - 5_000);
    const decision = decide({ ...transient, kind: 'rate_limited', code: '20429', retryAt }, 1, DEFAULT_RETRY_POLICY, now) as { at: Date };
    expect(decision.at.getTime()).toBe(now.getTime() + 1_000);
  });

  it('backs off as usual when a rate limit names no time', () => {
    const decision = decide({ ...transient, kind: 'rate_limited', code: '20429' }, 2, DEFAULT_RETRY_POLICY, now) as { at: Date };
    const wait = decision.at.getTime() - now.getTime();
    expect(wait).toBeGreaterThanOrEqual(1600);
    expect(wait).toBeLessThanOrEqual(2400);
  });

  it('does not retry a rate limit past the last attempt', () => {
    const retryAt = new Date(now.getTime() + 30_000);
    expect(decide({ ...transient, kind: 'rate_limited', code: '20429', retryAt }, 25, DEFAULT_RETRY_POLICY, now)).toEqual({
      action: 'fail',
    });
  });
});
