import { bigint, date, pgTable, primaryKey, uuid } from 'drizzle-orm/pg-core';
import { channelEnum } from './enums.js';
import { messageStatusEnum } from './messages.js';
import { tenants } from './tenants.js';

/**
 * What the retention purge keeps of the messages it removes: per tenant, UTC day of
 * creation, channel and final status, how many there were and their SMS segments. Added
 * to in the transaction that deletes the rows, so a message is counted here exactly when
 * it is no longer counted in `messages`.
 */
export const messageDailyStats = pgTable(
  'message_daily_stats',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    day: date('day', { mode: 'string' }).notNull(),
    channel: channelEnum('channel').notNull(),
    status: messageStatusEnum('status').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
    segments: bigint('segments', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.day, t.channel, t.status] })],
);
