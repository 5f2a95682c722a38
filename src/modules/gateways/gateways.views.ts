// The GraphQL view of a gateway row: global id, and the database id nested fields load by.
import { toGlobalId } from '../../lib/ids.js';
import type * as q from './gateways.queries.js';
import type { ChannelGateways } from './gateways.service.js';
import type { ChannelInfo, Gateway } from './gateways.types.js';

export function toGatewayView(row: q.GatewayRow): Gateway & { __typename: 'Gateway'; dbId: string } {
  return {
    __typename: 'Gateway',
    id: toGlobalId('Gateway', row.id),
    dbId: row.id,
    name: row.name,
    channel: row.channel,
    provider: row.provider,
    enabled: row.enabled,
    isDefault: row.isDefault,
    maxPerSecond: row.maxPerSecond,
    priceMultiplier: row.priceMultiplier,
    createdAt: row.createdAt,
  };
}

export function toChannelInfo({ channel, gateways, routing }: ChannelGateways): ChannelInfo {
  return {
    channel,
    gateways: gateways.map(toGatewayView),
    strategy: routing.strategy,
    failoverPinned: routing.failoverPinned,
    routeRows: routing.routes.map((r) => ({ gateway: toGatewayView(r.gateway), priority: r.priority, weight: r.weight })),
  };
}
