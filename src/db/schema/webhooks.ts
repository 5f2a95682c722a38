import { index, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/** Provider events already applied (SendGrid resends events; each counts once). */
export const webhookEvents = pgTable(
  'webhook_events',
  {
    provider: text('provider').notNull(),
    eventId: text('event_id').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  },
  // The retention purge removes them by age: they name no tenant (nor message) to go by.
  (t) => [primaryKey({ columns: [t.provider, t.eventId] }), index('webhook_events_received_at').on(t.receivedAt)],
);
