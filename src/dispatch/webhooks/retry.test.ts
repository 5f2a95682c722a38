import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../domain/limits.js';
import { DEFAULT_WEBHOOK_RETRY, nextAttemptAt, worthRetrying } from './retry.js';

describe('worthRetrying', () => {
  it.each([
    [undefined, true],
    [200, false],
    [204, false],
    [301, true],
    [400, false],
    [401, false],
    [404, false],
    [408, true],
    [410, false],
    [429, true],
    [500, true],
    [503, true],
  ])('%s → %s', (status, expected) => {
    expect(worthRetrying(status)).toBe(expected);
  });
});

describe('nextAttemptAt', () => {
  const start = new Date('2026-12-04T00:00:00Z');
  const middle = () => 0.5;

  it('doubles the wait from the base, up to the largest', () => {
    const waits = [1, 2, 3, 10, 11, 12, 30].map(
      (attempt) => nextAttemptAt(attempt, start, start, DEFAULT_WEBHOOK_RETRY, middle)!.getTime() - start.getTime(),
    );
    expect(waits).toEqual([5_000, 10_000, 20_000, 2_560_000, 3_600_000, 3_600_000, 3_600_000]);
  });

  it('jitters by at most 20 % either way', () => {
    const low = nextAttemptAt(1, start, start, DEFAULT_WEBHOOK_RETRY, () => 0)!.getTime() - start.getTime();
    const high = nextAttemptAt(1, start, start, DEFAULT_WEBHOOK_RETRY, () => 1)!.getTime() - start.getTime();
    expect([low, high]).toEqual([4_000, 6_000]);
  });

  it('keeps retrying for 24 hours from the first attempt, then stops', () => {
    // The schedule from the first attempt: the last retry falls at or after the day.
    let at = start;
    let attempt = 1;
    for (;;) {
      const next = nextAttemptAt(attempt, start, at, DEFAULT_WEBHOOK_RETRY, middle);
      if (!next) break;
      at = next;
      attempt += 1;
    }
    expect(at.getTime() - start.getTime()).toBeGreaterThanOrEqual(DAY_MS);
    expect(attempt).toBeGreaterThan(20);
    expect(nextAttemptAt(attempt, start, new Date(start.getTime() + DAY_MS - 1), DEFAULT_WEBHOOK_RETRY, middle)).not.toBeNull();
    expect(nextAttemptAt(attempt, start, new Date(start.getTime() + DAY_MS), DEFAULT_WEBHOOK_RETRY, middle)).toBeNull();
  });
});
