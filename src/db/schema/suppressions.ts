import { sql } from 'drizzle-orm';
import { index, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { channelEnum, messageCategoryEnum, suppressionSourceEnum } from './enums.js';
import { recipients } from './recipients.js';
import { tenants } from './tenants.js';

/**
 * Destinations a tenant must not message on a channel, for the categories listed. An entry
 * is found by the keyed hash of its normalized destination (lib/destination-keys.ts), never
 * by the address itself: erasure clears `destination` and `recipient_id`, and the hash
 * still stops every later send to the same address.
 */
export const suppressions = pgTable(
  'suppressions',
  {
    // UUIDv7: listed newest first on the id alone.
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    channel: channelEnum('channel').notNull(),
    // Normalized (E.164, lower-cased e-mail, handle without "@"); null once erased, or when
    // only its hash was known (a one-click unsubscribe of a purged message).
    destination: text('destination'),
    // HMAC-SHA256 of the normalized destination under a key derived from HERALD_SECRET_KEY, hex.
    destinationHash: text('destination_hash').notNull(),
    recipientId: uuid('recipient_id').references(() => recipients.id),
    // The first source that listed it: later ones only widen the categories.
    source: suppressionSourceEnum('source').notNull(),
    categories: messageCategoryEnum('categories').array().notNull(),
    reason: text('reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    // One entry per address: every send's check is one probe of this index.
    uniqueIndex('suppressions_tenant_channel_hash').on(t.tenantId, t.channel, t.destinationHash),
    index('suppressions_tenant_id').on(t.tenantId, t.id),
    index('suppressions_tenant_channel_id').on(t.tenantId, t.channel, t.id),
    index('suppressions_tenant_recipient_id')
      .on(t.tenantId, t.recipientId, t.id)
      .where(sql`${t.recipientId} is not null`),
  ],
);
