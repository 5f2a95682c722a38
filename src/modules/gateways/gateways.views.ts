// The GraphQL view of a gateway row: global id, and the database id nested fields load by.
import { toGlobalId } from '../../lib/ids.js';
import type * as q from './gateways.queries.js';
import type { Gateway } from './gateways.types.js';

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
