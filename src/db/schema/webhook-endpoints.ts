import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { webhookDeliveryOutcomeEnum, webhookEventTypeEnum } from './enums.js';
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
    // Since when every attempt to it has failed; null after a success. Herald disables an
    // endpoint that has failed for 24 hours.
    failingSince: timestamp('failing_since', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('webhook_endpoints_tenant_id').on(t.tenantId, t.id)],
);

/**
 * The events told to endpoints: one per message status change a tenant's enabled endpoint
 * subscribes to, written by a trigger on `messages` in the transaction of the change
 * (drizzle/0015), so no status change is committed without its event nor an event without
 * its change. The trigger stores the message's fields (`snapshot`); the worker's relay
 * renders them once into `payload`, the body every delivery sends, and clears the snapshot.
 */
export const outboundEvents = pgTable(
  'outbound_events',
  {
    // UUIDv7 of the status's time.
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id').notNull(),
    // Null for a test event.
    messageId: uuid('message_id'),
    type: webhookEventTypeEnum('type').notNull(),
    // The status's time (the message's updated_at then).
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull(),
    snapshot: jsonb('snapshot'),
    payload: text('payload'),
  },
  (t) => [
    // What the relay has still to render: small, since rendering is prompt.
    index('outbound_events_unrendered')
      .on(t.id)
      .where(sql`${t.payload} is null`),
    // The retention purge removes a message's events with it (and test events, message_id null, by age).
    index('outbound_events_message_id').on(t.messageId),
  ],
);

/** One attempt to deliver one event to one endpoint. */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    // UUIDv7 of the attempt's time: newest first on the id alone.
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id').notNull(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: uuid('event_id')
      .notNull()
      .references(() => outboundEvents.id, { onDelete: 'cascade' }),
    messageId: uuid('message_id'),
    // The queue job that made the attempt: a job run again after its worker died records once.
    jobId: uuid('job_id').notNull().unique('webhook_deliveries_job_id'),
    attempt: integer('attempt').notNull(),
    outcome: webhookDeliveryOutcomeEnum('outcome').notNull(),
    statusCode: integer('status_code'),
    error: text('error'),
    durationMs: integer('duration_ms'),
    responseExcerpt: text('response_excerpt'),
    at: timestamp('at', { withTimezone: true }).notNull(),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
  },
  (t) => [
    index('webhook_deliveries_tenant_id').on(t.tenantId, t.id),
    index('webhook_deliveries_tenant_endpoint_id').on(t.tenantId, t.endpointId, t.id),
    index('webhook_deliveries_tenant_event_id').on(t.tenantId, t.eventId, t.id),
    // An event's attempts without its tenant: the cascade of an event's delete (the retention
    // purge) and attemptsOfEvent look them up by event alone.
    index('webhook_deliveries_event_id').on(t.eventId),
    index('webhook_deliveries_tenant_message_id')
      .on(t.tenantId, t.messageId, t.id)
      .where(sql`${t.messageId} is not null`),
  ],
);
