// A channel's routing as rows say it: which gateways, in which order or with which weights.
// Shared by the service (what the API shows) and the workers (dispatch/router.ts).
import type { ChannelValue } from '../../db/schema/index.js';
import type { RoutingStrategy } from '../../domain/enums.js';
import type * as gatewaysQ from '../gateways/gateways.queries.js';
import type * as q from './routing.queries.js';

export interface ChannelRouting {
  channel: ChannelValue;
  strategy: RoutingStrategy;
  failoverPinned: boolean;
  /** In the order sends try them: by priority (PRIORITY), by weight, heaviest first (WEIGHTED). */
  routes: { gateway: gatewaysQ.GatewayRow; priority: number | null; weight: number | null }[];
}

/** A channel's routing from its rows; without one, its default gateway alone. */
export function assemble(
  channel: ChannelValue,
  gateways: gatewaysQ.GatewayRow[],
  routing: q.RoutingRow[],
  routes: q.RouteRow[],
): ChannelRouting {
  const row = routing.find((r) => r.channel === channel);
  if (!row) {
    const fallback = gateways.find((g) => g.channel === channel && g.isDefault);
    return {
      channel,
      strategy: 'PRIORITY',
      failoverPinned: false,
      routes: fallback ? [{ gateway: fallback, priority: 0, weight: null }] : [],
    };
  }
  const byId = new Map(gateways.map((g) => [g.id, g]));
  const listed = routes
    .filter((r) => r.channel === channel)
    .flatMap((r) => {
      const gateway = byId.get(r.gatewayId);
      return gateway ? [{ gateway, priority: r.priority, weight: r.weight }] : [];
    });
  listed.sort((a, b) => (row.strategy === 'PRIORITY' ? (a.priority ?? 0) - (b.priority ?? 0) : (b.weight ?? 0) - (a.weight ?? 0)));
  return { channel, strategy: row.strategy, failoverPinned: row.failoverPinned, routes: listed };
}
