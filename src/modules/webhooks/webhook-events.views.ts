// The GraphQL views of event and delivery rows: global ids, and the database ids the
// nested fields load by.
import { toGlobalId } from '../../lib/ids.js';
import type * as q from './webhook-events.queries.js';
import type { WebhookDelivery, WebhookEvent } from './webhook-events.types.js';

export function toWebhookEventView(row: q.EventRow): WebhookEvent & { __typename: 'WebhookEvent' } {
  return {
    __typename: 'WebhookEvent',
    id: toGlobalId('WebhookEvent', row.id),
    type: row.type,
    messageDbId: row.messageId,
    // Rendered before anything is shown (WebhookEventsService.getEvent).
    payload: row.payload ?? '',
    createdAt: row.occurredAt,
  };
}

export function toWebhookDeliveryView(row: q.DeliveryRow): WebhookDelivery & { __typename: 'WebhookDelivery' } {
  return {
    __typename: 'WebhookDelivery',
    id: toGlobalId('WebhookDelivery', row.id),
    endpointDbId: row.endpointId,
    eventDbId: row.eventId,
    attempt: row.attempt,
    outcome: row.outcome,
    statusCode: row.statusCode,
    error: row.error,
    durationMs: row.durationMs,
    responseExcerpt: row.responseExcerpt,
    at: row.at,
    nextAttemptAt: row.nextAttemptAt,
  };
}
