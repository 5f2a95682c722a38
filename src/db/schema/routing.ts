import { boolean, integer, pgTable, primaryKey, timestamp, uuid } from 'drizzle-orm/pg-core';
import { channelEnum, circuitStateEnum, routingStrategyEnum } from './enums.js';
import { gateways } from './gateways.js';
import { tenants } from './tenants.js';

/**
 * How a tenant's sends on a channel pick a gateway, once the tenant has set it
 * (setChannelRouting); without a row, the channel's default gateway carries everything.
 */
export const channelRouting = pgTable(
  'channel_routing',
  {
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    channel: channelEnum('channel').notNull(),
    strategy: routingStrategyEnum('strategy').notNull(),
    // A subscription that names its gateway may fail over to another too.
    failoverPinned: boolean('failover_pinned').notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.channel] })],
);

/** The gateways of a channel's routing, each with its priority (PRIORITY) or weight (WEIGHTED). */
export const channelRoutes = pgTable(
  'channel_routes',
  {
    tenantId: uuid('tenant_id').notNull(),
    channel: channelEnum('channel').notNull(),
    gatewayId: uuid('gateway_id')
      .notNull()
      .references(() => gateways.id),
    priority: integer('priority'),
    weight: integer('weight'),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.channel, t.gatewayId] })],
);

/**
 * Each gateway's circuit breaker, shared by every worker process: the outcomes of its sends
 * in the current window, and since when it has been open. Workers add their counts a few
 * times a second (dispatch/health.ts); a gateway without a row is CLOSED and unused.
 */
export const gatewayHealth = pgTable('gateway_health', {
  gatewayId: uuid('gateway_id')
    .primaryKey()
    .references(() => gateways.id),
  state: circuitStateEnum('state').notNull(),
  windowStartedAt: timestamp('window_started_at', { withTimezone: true }).notNull(),
  successes: integer('successes').notNull(),
  failures: integer('failures').notNull(),
  lastFailureAt: timestamp('last_failure_at', { withTimezone: true }),
  openedAt: timestamp('opened_at', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
});
