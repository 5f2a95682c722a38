import { sql } from 'drizzle-orm';
import { boolean, doublePrecision, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { channelEnum, providerEnum } from './enums.js';
import { tenants } from './tenants.js';

export const gateways = pgTable(
  'gateways',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    channel: channelEnum('channel').notNull(),
    provider: providerEnum('provider').notNull(),
    name: text('name').notNull(),
    enabled: boolean('enabled').notNull().default(true),
    isDefault: boolean('is_default').notNull().default(false),
    // AES-256-GCM envelope (see lib/secret-box.ts); null for SANDBOX.
    credentials: text('credentials'),
    // Set for gateways written from TWILIO_*/SENDGRID_*/TWITTER_* at start; null for API-made ones.
    envSource: text('env_source'),
    // Optional send-rate cap: the worker spreads this gateway's sends to stay under it.
    maxPerSecond: doublePrecision('max_per_second'),
    // The next free send slot under maxPerSecond (reserved atomically by workers).
    nextSlotAt: timestamp('next_slot_at', { withTimezone: true }),
    // Set from a provider's rate-limit reset: every message of the gateway waits until then.
    pausedUntil: timestamp('paused_until', { withTimezone: true }),
    // What one SMS segment through this gateway costs, in units (billable units = segments × this).
    priceMultiplier: integer('price_multiplier').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('gateways_one_default')
      .on(t.tenantId, t.channel)
      .where(sql`${t.isDefault}`),
    uniqueIndex('gateways_tenant_channel_name').on(t.tenantId, t.channel, t.name),
    index('gateways_tenant_channel').on(t.tenantId, t.channel, t.id),
  ],
);
