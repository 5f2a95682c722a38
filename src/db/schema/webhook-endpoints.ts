import { boolean, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { webhookEventTypeEnum } from './enums.js';
import { tenants } from './tenants.js';

/**
 * Where a tenant wants its message events posted. The signing secrets are sealed with the
 * SecretBox for the row's id (never stored in the clear); after a rotation the previous
 * secret keeps signing beside the new one until `previous_secret_expires_at`.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    // UUIDv7: listed oldest first on the id alone.
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    url: text('url').notNull(),
    description: text('description'),
    eventTypes: webhookEventTypeEnum('event_types').array().notNull(),
    enabled: boolean('enabled').notNull(),
    // Set when Herald disabled the endpoint itself; null when enabled or disabled by a user.
    disabledReason: text('disabled_reason'),
    secret: text('secret').notNull(),
    previousSecret: text('previous_secret'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('webhook_endpoints_tenant_id').on(t.tenantId, t.id)],
);
