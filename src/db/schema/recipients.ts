import { boolean, index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { channelEnum, recipientKindEnum } from './enums.js';
import { gateways } from './gateways.js';
import { tenants } from './tenants.js';

export const recipients = pgTable(
  'recipients',
  {
    // UUIDv7: ids sort by creation, so keyset pagination needs the id alone.
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    kind: recipientKindEnum('kind').notNull(),
    externalRef: text('external_ref'),
    displayName: text('display_name').notNull(),
    phone: text('phone'),
    email: text('email'),
    whatsapp: text('whatsapp'),
    twitterHandle: text('twitter_handle'),
    // X user id of twitter_handle, resolved by the first DM; cleared when the handle changes.
    twitterUserId: text('twitter_user_id'),
    // IANA zone quiet hours are kept in; null: the tenant's default_time_zone.
    timeZone: text('time_zone'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('recipients_tenant_id').on(t.tenantId, t.id),
    index('recipients_tenant_kind_id').on(t.tenantId, t.kind, t.id),
    index('recipients_tenant_external_ref').on(t.tenantId, t.externalRef),
  ],
);

export const subscriptions = pgTable(
  'subscriptions',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    recipientId: uuid('recipient_id')
      .notNull()
      .references(() => recipients.id, { onDelete: 'cascade' }),
    channel: channelEnum('channel').notNull(),
    gatewayId: uuid('gateway_id')
      .notNull()
      .references(() => gateways.id),
    // Named by the subscriber: sends stay on it (unless the channel's routing allows
    // failover for pinned gateways). Otherwise the gateway is the channel's routing's choice.
    pinned: boolean('pinned').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  // One subscription per recipient and channel: subscribing again moves it.
  (t) => [primaryKey({ columns: [t.recipientId, t.channel] }), index('subscriptions_gateway').on(t.gatewayId)],
);
