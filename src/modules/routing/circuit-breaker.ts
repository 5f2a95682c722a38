// A gateway's circuit breaker, as a pure function of its stored state and what happened
// since: the stored row is shared by every worker process (gateway_health), each adding
// its sends' outcomes a few times a second (dispatch/health.ts).
//
// CLOSED: sends flow; outcomes are counted in a fixed window. When the window holds at
// least `minRequests` outcomes and `failureRate` of them failed, or a failure says the
// gateway itself is unusable (bad credentials), the breaker OPENs: routing sends nothing
// through it. After `cooldownMs` it is HALF_OPEN: a trickle of sends goes through (one per
// `probeIntervalMs` per worker); the first success CLOSEs it, a failure OPENs it again.
import type { CircuitState } from '../../domain/enums.js';

export interface BreakerPolicy {
  windowMs: number;
  /** Failed share of a window's outcomes that opens the breaker, 0–1. */
  failureRate: number;
  /** Outcomes a window needs before its failure rate counts. */
  minRequests: number;
  cooldownMs: number;
  probeIntervalMs: number;
}

export const DEFAULT_BREAKER_POLICY: Readonly<BreakerPolicy> = Object.freeze({
  windowMs: 30_000,
  failureRate: 0.5,
  minRequests: 5,
  cooldownMs: 30_000,
  probeIntervalMs: 1_000,
});

export interface HealthRow {
  state: CircuitState;
  windowStartedAt: Date;
  successes: number;
  failures: number;
  lastFailureAt: Date | null;
  openedAt: Date | null;
}

/** Outcomes seen since the last write. */
export interface HealthDelta {
  successes: number;
  failures: number;
  lastFailureAt: Date | null;
  /** A failure about the gateway itself (credentials, account): open now, whatever the rate. */
  unusable: boolean;
}

export const NEW_HEALTH = (now: Date): HealthRow => ({
  state: 'CLOSED',
  windowStartedAt: now,
  successes: 0,
  failures: 0,
  lastFailureAt: null,
  openedAt: null,
});

/** The state routing acts on now: an OPEN breaker past its cool-down is HALF_OPEN. */
export function effectiveState(row: Pick<HealthRow, 'state' | 'openedAt'>, now: Date, policy: BreakerPolicy): CircuitState {
  if (row.state === 'OPEN' && row.openedAt && now.getTime() - row.openedAt.getTime() >= policy.cooldownMs) return 'HALF_OPEN';
  return row.state;
}

/** The failed share of the current window's outcomes (0 when there are none, or the window is over). */
export function failureRateOf(row: HealthRow, now: Date, policy: BreakerPolicy): number {
  if (now.getTime() - row.windowStartedAt.getTime() >= policy.windowMs) return 0;
  const total = row.successes + row.failures;
  return total === 0 ? 0 : row.failures / total;
}

/** The row after `delta`, at `now`. */
export function nextHealth(row: HealthRow, delta: HealthDelta, now: Date, policy: BreakerPolicy): HealthRow {
  const windowOver = now.getTime() - row.windowStartedAt.getTime() >= policy.windowMs;
  const counted = {
    windowStartedAt: windowOver ? now : row.windowStartedAt,
    successes: (windowOver ? 0 : row.successes) + delta.successes,
    failures: (windowOver ? 0 : row.failures) + delta.failures,
    lastFailureAt: delta.lastFailureAt ?? row.lastFailureAt,
  };
  const open = (): HealthRow => ({ ...counted, state: 'OPEN', openedAt: now });
  const fresh = (): HealthRow => ({ ...counted, windowStartedAt: now, successes: 0, failures: 0, state: 'CLOSED', openedAt: null });
  switch (effectiveState(row, now, policy)) {
    case 'CLOSED': {
      if (delta.unusable) return open();
      const total = counted.successes + counted.failures;
      if (total >= policy.minRequests && counted.failures / total >= policy.failureRate) return open();
      return { ...counted, state: 'CLOSED', openedAt: null };
    }
    case 'HALF_OPEN':
      // The trickle's verdict.
      if (delta.unusable || delta.failures > 0) return open();
      if (delta.successes > 0) return fresh();
      return { ...row, state: 'HALF_OPEN' };
    case 'OPEN':
      // Sends already under way when it opened: counted, and an unusable gateway's clock restarts.
      return delta.unusable ? open() : { ...counted, state: 'OPEN', openedAt: row.openedAt };
  }
}
