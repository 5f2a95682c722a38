import { sql } from 'drizzle-orm';
import { index, integer, json, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { channelEnum, messageCategoryEnum } from './enums.js';
import { tenants } from './tenants.js';

/** One language of a template version, as written (Liquid source). */
export interface TemplateVariantData {
  locale: string;
  subject: string | null;
  body: string;
  htmlBody: string | null;
}

/**
 * A tenant's template: its stable id and latest version number. What it says lives in
 * template_versions, one immutable row per change, so a message names the exact text it
 * was rendered from.
 */
export const templates = pgTable(
  'templates',
  {
    // UUIDv7: pages newest first on the id alone.
    id: uuid('id').primaryKey(),
    tenantId: uuid('tenant_id')
      .notNull()
      .references(() => tenants.id),
    name: text('name').notNull(),
    channel: channelEnum('channel').notNull(),
    // ORDER_STATUS, INVOICE_DUE: the template one of Herald's own flows renders.
    builtIn: text('built_in'),
    version: integer('version').notNull(),
    // The fallback a send from this template takes when the send names none.
    fallback: channelEnum('fallback').array(),
    fallbackAfterSeconds: integer('fallback_after_seconds'),
    // The category of sends from this template that name none.
    category: messageCategoryEnum('category').notNull().default('TRANSACTIONAL'),
    archivedAt: timestamp('archived_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    index('templates_tenant_id').on(t.tenantId, t.id),
    // One built-in template per flow and channel: creating them twice (two processes
    // starting together) leaves one.
    uniqueIndex('templates_tenant_built_in')
      .on(t.tenantId, t.builtIn, t.channel)
      .where(sql`${t.builtIn} is not null`),
  ],
);

export const templateVersions = pgTable(
  'template_versions',
  {
    templateId: uuid('template_id')
      .notNull()
      .references(() => templates.id),
    version: integer('version').notNull(),
    name: text('name').notNull(),
    defaultLocale: text('default_locale').notNull(),
    // json, as written: read whole, never queried into.
    variants: json('variants').$type<TemplateVariantData[]>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.templateId, t.version] })],
);
