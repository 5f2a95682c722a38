// The workers' side of the gateways' circuit breakers: each send's outcome is counted here
// and added to the gateway's shared row (gateway_health) a few times a second, in one
// transaction for every gateway touched, under the rows' locks so that several workers'
// counts add up. The state read back is what routing acts on until the next flush. Each
// transition is logged by the worker whose counts caused it.
import type { Logger } from 'pino';
import type { Database } from '../db/client.js';
import { type BreakerPolicy, type HealthDelta, effectiveState, nextHealth } from '../modules/routing/circuit-breaker.js';
import * as routingQ from '../modules/routing/routing.queries.js';
import type { CircuitState } from '../domain/enums.js';

const FLUSH_MS = 250;

export class HealthTracker {
  private readonly pending = new Map<string, HealthDelta>();
  private readonly known = new Map<string, { row?: routingQ.HealthRecord; readAt: number }>();
  private readonly lastProbe = new Map<string, number>();
  /** The opening (its openedAt) each gateway's half-opening was last logged for. */
  private readonly halfOpenSaid = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;

  constructor(
    private readonly deps: { db: Database; policy: BreakerPolicy; log: Logger },
    private readonly flushMs = FLUSH_MS,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush().catch(() => undefined), this.flushMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch(() => undefined);
  }

  succeeded(gatewayId: string): void {
    this.delta(gatewayId).successes += 1;
  }

  /** A failed send; `unusable` when the provider refused the gateway itself (credentials, account). */
  failed(gatewayId: string, unusable = false, at = new Date()): void {
    const delta = this.delta(gatewayId);
    delta.failures += 1;
    delta.lastFailureAt = at;
    if (unusable) {
      delta.unusable = true;
      void this.flush().catch(() => undefined);
    }
  }

  /** The gateways' breaker rows, read again when older than a flush. */
  async refresh(gatewayIds: string[], now = Date.now()): Promise<void> {
    const stale = gatewayIds.filter((id) => (this.known.get(id)?.readAt ?? 0) < now - this.flushMs);
    if (stale.length === 0) return;
    for (const row of await routingQ.healthOf(this.deps.db, stale)) this.known.set(row.gatewayId, { row, readAt: now });
    // A gateway never counted has no row: CLOSED.
    for (const id of stale) if (this.known.get(id)?.readAt !== now) this.known.set(id, { readAt: now });
  }

  state(gatewayId: string, now = new Date()): CircuitState {
    const row = this.known.get(gatewayId)?.row;
    return row ? effectiveState(row, now, this.deps.policy) : 'CLOSED';
  }

  /**
   * Whether a send may go through the gateway now: CLOSED yes, OPEN no, HALF_OPEN one send
   * per probe interval from this worker (the trickle whose outcome closes or reopens it).
   */
  admits(gatewayId: string, now = new Date()): boolean {
    const state = this.state(gatewayId, now);
    if (state !== 'HALF_OPEN') return state === 'CLOSED';
    const last = this.lastProbe.get(gatewayId) ?? 0;
    if (now.getTime() - last < this.deps.policy.probeIntervalMs) return false;
    this.lastProbe.set(gatewayId, now.getTime());
    // Half-opening is the cool-down running out, which no write records: each worker says
    // so once per opening, with the first send it lets through.
    const openedAt = this.known.get(gatewayId)?.row?.openedAt?.getTime() ?? 0;
    if (this.halfOpenSaid.get(gatewayId) !== openedAt) {
      this.halfOpenSaid.set(gatewayId, openedAt);
      this.deps.log.warn({ gatewayId, from: 'OPEN', to: 'HALF_OPEN' }, 'gateway circuit half-open');
    }
    return true;
  }

  /** Adds what was counted since the last flush to the shared rows. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(): Promise<void> {
    if (this.pending.size === 0) return;
    const deltas = new Map(this.pending);
    this.pending.clear();
    const now = new Date();
    const { db, policy, log } = this.deps;
    try {
      const transitions = await db.transaction(async (tx) => {
        const rows = await routingQ.lockHealth(tx, [...deltas.keys()].sort(), now);
        const next = rows.map((row) => ({
          before: row,
          after: { ...row, ...nextHealth(row, deltas.get(row.gatewayId)!, now, policy), updatedAt: now },
        }));
        await routingQ.writeHealth(
          tx,
          next.map((n) => n.after),
        );
        return next;
      });
      for (const { before, after } of transitions) {
        this.known.set(after.gatewayId, { row: after, readAt: now.getTime() });
        const was = effectiveState(before, now, policy);
        if (was !== after.state) {
          log.warn(
            { gatewayId: after.gatewayId, from: was, to: after.state, successes: after.successes, failures: after.failures },
            `gateway circuit ${after.state === 'OPEN' ? 'opened' : after.state === 'CLOSED' ? 'closed' : 'half-open'}`,
          );
        }
      }
    } catch (err) {
      // Counted again next time: the outcomes are not lost with one failed write.
      for (const [id, delta] of deltas) {
        const into = this.delta(id);
        into.successes += delta.successes;
        into.failures += delta.failures;
        into.lastFailureAt ??= delta.lastFailureAt;
        into.unusable ||= delta.unusable;
      }
      throw err;
    }
  }

  private delta(gatewayId: string): HealthDelta {
    let delta = this.pending.get(gatewayId);
    if (!delta) {
      delta = { successes: 0, failures: 0, lastFailureAt: null, unusable: false };
      this.pending.set(gatewayId, delta);
    }
    return delta;
  }
}
