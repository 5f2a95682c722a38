import { sql } from 'drizzle-orm';
import { boolean, check, index, integer, json, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { RETENTION_DAYS } from '../../domain/limits.js';
import { apiKeyRoleEnum, type ChannelValue, messageCategoryEnum, type MessageCategoryValue } from './enums.js';

/** A channel's daily quiet window, "HH:MM" in the recipient's zone, and the categories it holds. */
export interface QuietHoursData {
  channel: ChannelValue;
  start: string;
  end: string;
  categories: MessageCategoryValue[];
}

export const tenants = pgTable(
  'tenants',
  {
    id: uuid('id').primaryKey(),
    name: text('name').notNull(),
    isDefault: boolean('is_default').notNull().default(false),
    // BCP 47: the locale a send without one is in, and the template variant it falls back to.
    defaultLocale: text('default_locale').notNull().default('en'),
    // Messages (and their logs, events and jobs) older than this many days are purged.
    retentionDays: integer('retention_days').notNull().default(RETENTION_DAYS.default),
    // IANA zone of recipients that have none of their own.
    defaultTimeZone: text('default_time_zone').notNull().default('UTC'),
    // What an inbound HELP is answered with; null: nothing.
    helpReply: text('help_reply'),
    // Categories an inbound STOP (SMS, WhatsApp) and an e-mail unsubscribe suppress; MARKETING
    // always (checked below), TRANSACTIONAL as the tenant chooses.
    stopSuppresses: messageCategoryEnum('stop_suppresses').array().notNull().default(['TRANSACTIONAL', 'MARKETING']),
    unsubscribeSuppresses: messageCategoryEnum('unsubscribe_suppresses').array().notNull().default(['MARKETING']),
    // One window per channel at most; json, as written: sends read it whole, nothing queries into it.
    quietHours: json('quiet_hours').$type<QuietHoursData[]>().notNull().default([]),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // There is exactly one operator tenant.
    uniqueIndex('tenants_one_default')
      .on(t.isDefault)
      .where(sql`${t.isDefault}`),
    check(
      'tenants_retention_days',
      sql`${t.retentionDays} between ${sql.raw(String(RETENTION_DAYS.min))} and ${sql.raw(String(RETENTION_DAYS.max))}`,
    ),
    check('tenants_stop_suppresses_marketing', sql`'MARKETING' = any(${t.stopSuppresses})`),
    check('tenants_unsubscribe_suppresses_marketing', sql`'MARKETING' = any(${t.unsubscribeSuppresses})`),
  ],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    name: text('name').notNull(),
    role: apiKeyRoleEnum('role').notNull(),
    // SHA-256 of the secret: keys carry 256 bits of entropy, so a slow hash buys nothing.
    keyHash: text('key_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    // Written at most once a minute per key and process, not per request.
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('api_keys_key_hash').on(t.keyHash), index('api_keys_tenant').on(t.tenantId)],
);
