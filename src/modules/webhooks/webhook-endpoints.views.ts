// The GraphQL view of an endpoint row: global id, and never a secret, sealed or not.
import { toGlobalId } from '../../lib/ids.js';
import type * as q from './webhook-endpoints.queries.js';
import type { WebhookEndpoint } from './webhook-endpoints.types.js';

export function toWebhookEndpointView(row: q.EndpointRow): WebhookEndpoint & { __typename: 'WebhookEndpoint' } {
  return {
    __typename: 'WebhookEndpoint',
    id: toGlobalId('WebhookEndpoint', row.id),
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
