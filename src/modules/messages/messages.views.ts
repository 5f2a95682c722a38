// The GraphQL views of message and delivery-log rows: global ids, the database ids nested
// fields load by, and the destination masked (the full address never leaves Herald).
import { toGlobalId } from '../../lib/ids.js';
import { maskDestination } from '../../lib/mask.js';
import type * as q from './messages.queries.js';
import type { DeliveryLog, Message } from './messages.types.js';

export function toMessageView(row: q.MessageRow): Message & { __typename: 'Message' } {
  return {
    __typename: 'Message',
    id: toGlobalId('Message', row.id),
    dbId: row.id,
    recipientDbId: row.recipientId,
    gatewayDbId: row.gatewayId,
    templateDbId: row.templateId,
    fallbackOfDbId: row.fallbackOf,
    channel: row.channel,
    status: row.status,
    category: row.category,
    body: row.body,
    subject: row.subject,
    destination: maskDestination(row.channel, row.destination),
    scheduledAt: row.scheduledAt,
    sentAt: row.sentAt,
    deliveredAt: row.deliveredAt,
    attempts: row.attempts,
    providerMessageId: row.providerMessageId,
    errorCode: row.errorCode,
    errorMessage: row.errorMessage,
    orderId: row.orderId,
    invoice: row.invoice
      ? { number: row.invoice.number, amountDue: row.invoice.amountDue, currency: row.invoice.currency, dueDate: row.invoice.dueDate }
      : null,
    templateVersion: row.templateVersion,
    locale: row.locale,
    reference: row.reference,
    encoding: row.encoding,
    segments: row.segments,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  } as Message & { __typename: 'Message' };
}

export function toDeliveryLogView(row: q.DeliveryLogRow): DeliveryLog & { __typename: 'DeliveryLog' } {
  return {
    __typename: 'DeliveryLog',
    id: toGlobalId('DeliveryLog', row.id),
    outcome: row.outcome,
    channel: row.channel ?? null,
    reason: row.reason,
    orderId: row.orderId,
    orderStatus: row.orderStatus,
    at: row.at,
    messageDbId: row.messageId,
    recipientDbId: row.recipientId,
    gatewayDbId: row.gatewayId,
  };
}
