import { pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Idempotency keys of calls that write several rows (updateOrderStatus): the first call's
 * request hash and what it wrote, so the same key again answers with those rows and
 * another payload with it is refused. sendSms keeps its key on its one message instead.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    tenantId: uuid('tenant_id').notNull(),
    operation: text('operation').notNull(),
    key: text('key').notNull(),
    // SHA-256 of the normalized request.
    requestHash: text('request_hash').notNull(),
    messageIds: uuid('message_ids').array().notNull(),
    logIds: uuid('log_ids').array().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.operation, t.key] })],
);
