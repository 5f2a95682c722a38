// The JSON body of an event, as Standard Webhooks shapes it: {"type", "timestamp", "data"}.
// `data` is the message as the API shows it at the status change (global ids, the
// destination masked, never the body or a credential), rendered once by the relay from the
// snapshot the status change stored, and sent byte for byte the same on every attempt.
import type { ChannelValue, MessageCategoryValue, MessageStatusValue, SuppressionSourceValue } from '../../db/schema/index.js';
import { ERASED } from '../../domain/erasure.js';
import type { WebhookEventType } from '../../domain/enums.js';
import { toGlobalId } from '../../lib/ids.js';
import { maskDestination } from '../../lib/mask.js';

/** What the trigger stores of a message (drizzle/0015, herald_message_snapshot). */
export interface MessageSnapshot {
  id: string;
  recipientId: string;
  gatewayId: string | null;
  channel: ChannelValue;
  status: MessageStatusValue;
  destination: string;
  reference: string | null;
  templateId: string | null;
  templateVersion: number | null;
  locale: string | null;
  orderId: string | null;
  invoiceNumber: string | null;
  attempts: number;
  providerMessageId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  scheduledAt: string | null;
  sentAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
  /** The status's time, to the microsecond. */
  at: string;
}

/** MESSAGE_DELIVERED → message.delivered, SUPPRESSION_ADDED → suppression.added */
export function eventTypeName(type: WebhookEventType): string {
  return type.toLowerCase().replace('_', '.');
}

export function renderPayload(type: WebhookEventType, snapshot: MessageSnapshot): string {
  return JSON.stringify({ type: eventTypeName(type), timestamp: snapshot.at, data: messageData(snapshot) });
}

/** What a suppression event says of its entry (SUPPRESSION_ADDED, SUPPRESSION_REMOVED). */
export interface SuppressionSnapshot {
  id: string;
  channel: ChannelValue;
  /** Null once erased. */
  destination: string | null;
  recipientId: string | null;
  source: SuppressionSourceValue;
  categories: MessageCategoryValue[];
  reason: string | null;
  createdAt: Date;
}

/** A suppression event's body, rendered when the entry changes; the destination masked as a message's. */
export function renderSuppressionPayload(type: WebhookEventType, entry: SuppressionSnapshot, at: Date, test = false): string {
  return JSON.stringify({
    type: eventTypeName(type),
    timestamp: at.toISOString(),
    ...(test ? { test: true } : {}),
    data: {
      id: toGlobalId('Suppression', entry.id),
      channel: entry.channel,
      destination: maskDestination(entry.channel, entry.destination ?? ERASED),
      recipientId: entry.recipientId ? toGlobalId('Recipient', entry.recipientId) : null,
      source: entry.source,
      categories: entry.categories,
      reason: entry.reason,
      createdAt: entry.createdAt.toISOString(),
    },
  });
}

/** A test event's body: a made-up message (or suppression) of the endpoint's first event type, marked `"test": true`. */
export function renderTestPayload(type: WebhookEventType, at: Date): string {
  const time = at.toISOString();
  if (type === 'SUPPRESSION_ADDED' || type === 'SUPPRESSION_REMOVED') {
    const sample: SuppressionSnapshot = {
      id: '00000000-0000-7000-8000-000000000000',
      channel: 'SMS',
      destination: '+15005550006',
      recipientId: null,
      source: 'API',
      categories: ['TRANSACTIONAL', 'MARKETING'],
      reason: 'a test event: no destination was suppressed',
      createdAt: at,
    };
    return renderSuppressionPayload(type, sample, at, true);
  }
  const status = type.slice('MESSAGE_'.length) as MessageStatusValue;
  const sample: MessageSnapshot = {
    id: '00000000-0000-7000-8000-000000000000',
    recipientId: '00000000-0000-7000-8000-000000000000',
    gatewayId: null,
    channel: 'SMS',
    status,
    destination: '+15005550006',
    reference: 'test',
    templateId: null,
    templateVersion: null,
    locale: null,
    orderId: null,
    invoiceNumber: null,
    attempts: status === 'SCHEDULED' || status === 'QUEUED' || status === 'CANCELLED' ? 0 : 1,
    providerMessageId: null,
    errorCode: status === 'FAILED' ? 'TEST' : null,
    errorMessage: status === 'FAILED' ? 'a test event: no message failed' : null,
    scheduledAt: null,
    sentAt: null,
    deliveredAt: null,
    createdAt: time,
    at: time,
  };
  return JSON.stringify({ type: eventTypeName(type), timestamp: time, test: true, data: messageData(sample) });
}

function messageData(m: MessageSnapshot) {
  return {
    id: toGlobalId('Message', m.id),
    recipientId: toGlobalId('Recipient', m.recipientId),
    gatewayId: m.gatewayId ? toGlobalId('Gateway', m.gatewayId) : null,
    channel: m.channel,
    status: m.status,
    destination: maskDestination(m.channel, m.destination),
    reference: m.reference,
    template: m.templateId ? { id: toGlobalId('Template', m.templateId), version: m.templateVersion } : null,
    locale: m.locale,
    orderId: m.orderId,
    invoiceNumber: m.invoiceNumber,
    attempts: m.attempts,
    providerMessageId: m.providerMessageId,
    errorCode: m.errorCode,
    errorMessage: m.errorMessage,
    scheduledAt: m.scheduledAt,
    sentAt: m.sentAt,
    deliveredAt: m.deliveredAt,
    createdAt: m.createdAt,
    updatedAt: m.at,
  };
}
