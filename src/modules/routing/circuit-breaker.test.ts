import { describe, expect, it } from 'vitest';
import { type BreakerPolicy, type HealthDelta, effectiveState, NEW_HEALTH, nextHealth } from './circuit-breaker.js';

const policy: BreakerPolicy = { windowMs: 10_000, failureRate: 0.5, minRequests: 4, cooldownMs: 5_000, probeIntervalMs: 1_000 };
const t0 = new Date('2026-12-04T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const delta = (successes: number, failures: number, unusable = false): HealthDelta => ({
  successes,
  failures,
  lastFailureAt: failures > 0 ? t0 : null,
  unusable,
});

describe('nextHealth', () => {
  it('stays closed below the minimum of outcomes, then opens at the failure rate', () => {
    const few = nextHealth(NEW_HEALTH(t0), delta(0, 2), at(100), policy);
    expect(few.state).toBe('CLOSED');
    const stillClosed = nextHealth(few, delta(1, 0), at(200), policy);
    expect(stillClosed).toMatchObject({ state: 'CLOSED', failures: 2, successes: 1 });
    const more = nextHealth(stillClosed, delta(0, 1), at(300), policy);
    expect(more).toMatchObject({ state: 'OPEN', openedAt: at(300) });
  });

  it('stays closed under the failure rate, and forgets a window that is over', () => {
    const mostlyFine = nextHealth(NEW_HEALTH(t0), delta(7, 3), at(100), policy);
    expect(mostlyFine.state).toBe('CLOSED');
    const later = nextHealth(mostlyFine, delta(0, 3), at(10_500), policy);
    expect(later).toMatchObject({ state: 'CLOSED', successes: 0, failures: 3, windowStartedAt: at(10_500) });
  });

  it('opens at once on a failure about the gateway itself', () => {
    expect(nextHealth(NEW_HEALTH(t0), delta(20, 1, true), at(1), policy)).toMatchObject({ state: 'OPEN', openedAt: at(1) });
  });

  it('half-opens after the cool-down, closes on a success and opens again on a failure', () => {
    const open = nextHealth(NEW_HEALTH(t0), delta(0, 4), at(0), policy);
    expect(effectiveState(open, at(4_999), policy)).toBe('OPEN');
    expect(effectiveState(open, at(5_000), policy)).toBe('HALF_OPEN');
    // Late outcomes of sends made before it opened keep it open, the clock unchanged.
    expect(nextHealth(open, delta(1, 0), at(1_000), policy)).toMatchObject({ state: 'OPEN', openedAt: at(0) });
    const closed = nextHealth(open, delta(1, 0), at(6_000), policy);
    expect(closed).toMatchObject({ state: 'CLOSED', openedAt: null, successes: 0, failures: 0 });
    const reopened = nextHealth(open, delta(0, 1), at(6_000), policy);
    expect(reopened).toMatchObject({ state: 'OPEN', openedAt: at(6_000) });
    expect(effectiveState(reopened, at(10_999), policy)).toBe('OPEN');
  });
});
