import { pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** Provider events already applied (SendGrid resends events; each counts once). */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    provider: text('provider').notNull(),
    eventId: text('event_id').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.eventId] })],
);
