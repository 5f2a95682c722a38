// How each channel's sends pick a gateway (PRIORITY or WEIGHTED over a list of the
// channel's gateways), and each gateway's health as the workers' shared circuit breaker
// sees it. Without routing set, a channel sends through its default gateway, as before.
import type { Database } from '../../db/client.js';
import type { ChannelValue } from '../../db/schema/index.js';
import type { CircuitState, RoutingStrategy } from '../../domain/enums.js';
import { Problems, UserErrorCode } from '../../domain/refusal.js';
import { fromGlobalId } from '../../lib/ids.js';
import * as gatewaysQ from '../gateways/gateways.queries.js';
import { type BreakerPolicy, DEFAULT_BREAKER_POLICY, effectiveState, failureRateOf } from './circuit-breaker.js';
import * as q from './routing.queries.js';
import { assemble, type ChannelRouting } from './routing.js';

export type { ChannelRouting } from './routing.js';

export const MAX_ROUTES = 20;
export const MAX_PRIORITY = 1_000;
export const MAX_WEIGHT = 1_000;

export interface SetRoutingRequest {
  channel: ChannelValue;
  strategy: RoutingStrategy;
  routes: { gatewayId: string; priority?: number | null; weight?: number | null }[];
  failoverPinned?: boolean | null;
}

export interface GatewayHealthView {
  state: CircuitState;
  failureRate: number;
  lastFailureAt: Date | null;
  openedAt: Date | null;
}

export class RoutingService {
  constructor(
    private readonly db: Database,
    private readonly policy: BreakerPolicy = DEFAULT_BREAKER_POLICY,
  ) {}

  /** The routing of each of `channels`, given the tenant's gateways. */
  async routingOf(tenantId: string, gateways: gatewaysQ.GatewayRow[], channels: readonly ChannelValue[]): Promise<ChannelRouting[]> {
    const { routing, routes } = await q.routingOf(this.db, tenantId);
    return channels.map((channel) => assemble(channel, gateways, routing, routes));
  }

  async set(tenantId: string, input: SetRoutingRequest, now = new Date()): Promise<ChannelRouting> {
    const problems = new Problems();
    const field = (...rest: (string | number)[]) => ['input', ...rest.map(String)];
    if (input.routes.length === 0) problems.add(field('routes'), 'give at least one gateway to route to');
    if (input.routes.length > MAX_ROUTES) problems.add(field('routes'), `at most ${MAX_ROUTES} routes`);
    const gateways = await gatewaysQ.listGateways(this.db, tenantId);
    const byId = new Map(gateways.map((g) => [g.id, g]));
    const seen = new Set<string>();
    const routes: q.RouteRow[] = [];
    input.routes.forEach((route, i) => {
      const ref = fromGlobalId(route.gatewayId, 'Gateway');
      const gateway = ref ? byId.get(ref.uuid) : undefined;
      if (!gateway) {
        problems.add(field('routes', i, 'gatewayId'), `no gateway ${route.gatewayId}`, UserErrorCode.NOT_FOUND);
        return;
      }
      if (gateway.channel !== input.channel) {
        problems.add(
          field('routes', i, 'gatewayId'),
          `gateway "${gateway.name}" carries ${gateway.channel}, not ${input.channel}`,
          UserErrorCode.WRONG_CHANNEL,
        );
      }
      if (seen.has(gateway.id)) problems.add(field('routes', i, 'gatewayId'), `gateway "${gateway.name}" is listed twice`);
      seen.add(gateway.id);
      const priority = route.priority ?? null;
      const weight = route.weight ?? null;
      if (input.strategy === 'PRIORITY') {
        if (priority === null || !Number.isInteger(priority) || priority < 0 || priority > MAX_PRIORITY)
          problems.add(field('routes', i, 'priority'), `PRIORITY routing needs a priority from 0 to ${MAX_PRIORITY} (lowest first)`);
      } else if (weight === null || !Number.isInteger(weight) || weight < 1 || weight > MAX_WEIGHT) {
        problems.add(field('routes', i, 'weight'), `WEIGHTED routing needs a weight from 1 to ${MAX_WEIGHT}`);
      }
      routes.push({ tenantId, channel: input.channel, gatewayId: gateway.id, priority, weight });
    });
    problems.throwIfAny();
    const routing: q.RoutingRow = {
      tenantId,
      channel: input.channel,
      strategy: input.strategy,
      failoverPinned: input.failoverPinned ?? false,
      updatedAt: now,
    };
    await this.db.transaction((tx) => q.replaceRouting(tx, routing, routes));
    return assemble(input.channel, gateways, [routing], routes);
  }

  /** A gateway's health now, from its row (none: never used, CLOSED with nothing counted). */
  healthView(row: q.HealthRecord | undefined, now = new Date()): GatewayHealthView {
    if (!row) return HEALTHY;
    return {
      state: effectiveState(row, now, this.policy),
      failureRate: failureRateOf(row, now, this.policy),
      lastFailureAt: row.lastFailureAt,
      openedAt: row.state === 'CLOSED' ? null : row.openedAt,
    };
  }
}

export const HEALTHY: GatewayHealthView = Object.freeze({ state: 'CLOSED', failureRate: 0, lastFailureAt: null, openedAt: null });
