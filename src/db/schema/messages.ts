import { sql } from 'drizzle-orm';
import { boolean, index, integer, json, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { type Channel as ChannelValue, DELIVERY_OUTCOMES, MESSAGE_STATUSES } from '../../domain/enums.js';
import { channelEnum, messageCategoryEnum, smsEncodingEnum } from './enums.js';

export const messageStatusEnum = pgEnum('message_status', MESSAGE_STATUSES);
export const deliveryOutcomeEnum = pgEnum('delivery_outcome', DELIVERY_OUTCOMES);
export type { MessageStatus as MessageStatusValue } from '../../domain/enums.js';

export interface InvoiceData {
  number: string;
  amountDue: string;
  currency: string;
  dueDate: string;
  url?: string | null;
}

/** A fallback still to come, rendered when its message was accepted. */
export interface FallbackStepData {
  channel: ChannelValue;
  subject: string | null;
  body: string;
  htmlBody: string | null;
  templateId: string | null;
  templateVersion: number | null;
  locale: string | null;
}

export const messages = pgTable(
  'messages',
  {
    // UUIDv7, and created_at is the id's own timestamp: newest-first pages and
    // createdAfter/Before filters are ranges on the primary key order.
    id: uuid('id').primaryKey(),
    // No foreign keys on the two append-heavy tables (here and in delivery_logs): every
    // writer reads the tenant's recipient and gateway just before writing, nothing
    // deletes tenants, recipients or gateways, and each key would cost an index probe
    // plus a KEY SHARE lock on the (shared, hot) tenant and gateway rows per row written,
    // a large share of a bulk write's database time.
    tenantId: uuid('tenant_id').notNull(),
    recipientId: uuid('recipient_id').notNull(),
    gatewayId: uuid('gateway_id'),
    // The gateway came from a subscription that names it: no failover unless the channel's
    // routing allows it for pinned gateways.
    gatewayPinned: boolean('gateway_pinned').notNull().default(false),
    channel: channelEnum('channel').notNull(),
    // Herald's own flows (order status, invoices) and every message before categories are
    // TRANSACTIONAL; a send or its template may say MARKETING.
    category: messageCategoryEnum('category').notNull().default('TRANSACTIONAL'),
    status: messageStatusEnum('status').notNull(),
    body: text('body').notNull(),
    subject: text('subject'),
    htmlBody: text('html_body'),
    // The full address, needed to send; the API shows it masked only.
    destination: text('destination').notNull(),
    scheduledAt: timestamp('scheduled_at', { withTimezone: true }),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    attempts: integer('attempts').notNull().default(0),
    providerMessageId: text('provider_message_id'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    orderId: text('order_id'),
    orderStatus: text('order_status'),
    // json, not jsonb: kept as written and never queried into (invoice_number is the
    // indexed copy); jsonb's parse was ≈ 15 % of a 10,000-invoice billing statement.
    invoice: json('invoice').$type<InvoiceData>(),
    invoiceNumber: text('invoice_number'),
    billingCycleId: text('billing_cycle_id'),
    idempotencyKey: text('idempotency_key'),
    // SHA-256 of the normalized request: same key + same input → the first message.
    requestHash: text('request_hash'),
    // The template and version the text was rendered from (null for free text), and the
    // variant's locale. No foreign key, as above: templates are never deleted.
    templateId: uuid('template_id'),
    templateVersion: integer('template_version'),
    locale: text('locale'),
    // The caller's own reference, echoed back and in event webhooks.
    reference: text('reference'),
    // SMS and WhatsApp: how the text travels and how many segments it is billed as.
    encoding: smsEncodingEnum('encoding'),
    segments: integer('segments'),
    // Cross-channel fallback. `fallback` holds the channels still to try, each rendered at
    // accept time; it is set to null once settled (the next message written, or no longer
    // needed), so the partial index below holds only messages whose fallback may still come.
    fallback: json('fallback').$type<FallbackStepData[]>(),
    fallbackAfterSeconds: integer('fallback_after_seconds'),
    // The message this one stands in for: unique, so a fallback is written once.
    fallbackOf: uuid('fallback_of'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('messages_tenant_id').on(t.tenantId, t.id),
    index('messages_tenant_status_id').on(t.tenantId, t.status, t.id),
    index('messages_tenant_channel_id').on(t.tenantId, t.channel, t.id),
    index('messages_tenant_recipient_id').on(t.tenantId, t.recipientId, t.id),
    // A recipient's messages in one status, newest first: without it a rare status reads
    // the recipient's whole history.
    index('messages_tenant_recipient_status_id').on(t.tenantId, t.recipientId, t.status, t.id),
    index('messages_tenant_order_id')
      .on(t.tenantId, t.orderId, t.id)
      .where(sql`${t.orderId} is not null`),
    // Finds an invoice's messages, and DMs an invoice once per billing cycle however often
    // the cycle is notified (a null billing_cycle_id, a single sendInvoiceDM, never
    // conflicts). One index for both: each index is an entry per message written.
    uniqueIndex('messages_tenant_invoice_cycle')
      .on(t.tenantId, t.invoiceNumber, t.billingCycleId)
      .where(sql`${t.invoiceNumber} is not null`),
    uniqueIndex('messages_tenant_idempotency_key')
      .on(t.tenantId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} is not null`),
    index('messages_provider_message_id')
      .on(t.providerMessageId)
      .where(sql`${t.providerMessageId} is not null`),
    uniqueIndex('messages_fallback_of')
      .on(t.fallbackOf)
      .where(sql`${t.fallbackOf} is not null`),
    // Messages whose fallback may still be due (dispatch/fallback check).
    index('messages_fallback_pending')
      .on(t.status, t.sentAt)
      .where(sql`${t.fallback} is not null`),
    // Finds sends orphaned by a crashed worker.
    index('messages_sending_updated')
      .on(t.updatedAt)
      .where(sql`${t.status} = 'SENDING'`),
  ],
);

export const deliveryLogs = pgTable(
  'delivery_logs',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id').notNull(),
    messageId: uuid('message_id'),
    recipientId: uuid('recipient_id'),
    gatewayId: uuid('gateway_id'),
    channel: channelEnum('channel'),
    outcome: deliveryOutcomeEnum('outcome').notNull(),
    reason: text('reason'),
    attempt: integer('attempt'),
    providerCode: text('provider_code'),
    orderId: text('order_id'),
    orderStatus: text('order_status'),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('delivery_logs_tenant_id').on(t.tenantId, t.id),
    index('delivery_logs_message_id').on(t.messageId, t.id),
    index('delivery_logs_tenant_recipient_id').on(t.tenantId, t.recipientId, t.id),
    index('delivery_logs_tenant_order_id')
      .on(t.tenantId, t.orderId, t.id)
      .where(sql`${t.orderId} is not null`),
  ],
);
