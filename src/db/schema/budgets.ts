import { integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants.js';

/**
 * Send budgets, one row per tenant: the operator's settings (null = the environment's
 * default) and the counters of the current windows. A window starts at the first send
 * after the previous one ended (database clock) and lasts a minute or a day; the spend
 * statement restarts it in place, so the table never grows beyond one row per tenant.
 */
export const sendBudgets = pgTable('send_budgets', {
  tenantId: uuid('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  perMinute: integer('per_minute'),
  perDay: integer('per_day'),
  internationalPerDay: integer('international_per_day'),
  homeCountries: text('home_countries').array(),
  minuteStartedAt: timestamp('minute_started_at', { withTimezone: true }),
  minuteUsed: integer('minute_used').notNull().default(0),
  dayStartedAt: timestamp('day_started_at', { withTimezone: true }),
  dayUsed: integer('day_used').notNull().default(0),
  internationalStartedAt: timestamp('international_started_at', { withTimezone: true }),
  internationalUsed: integer('international_used').notNull().default(0),
});
