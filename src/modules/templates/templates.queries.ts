import { and, count, desc, eq, ilike, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { keyset } from '../../db/keyset.js';
import { type ChannelValue, type MessageCategoryValue, templates, templateVersions, tenants } from '../../db/schema/index.js';
import type { PageRequest } from '../../domain/paging.js';

export type TemplateRow = typeof templates.$inferSelect;
export type NewTemplateRow = typeof templates.$inferInsert;
export type VersionRow = typeof templateVersions.$inferSelect;
export type NewVersionRow = typeof templateVersions.$inferInsert;

/** A template with one of its versions (the current one unless asked otherwise). */
export interface TemplateAt {
  template: TemplateRow;
  version: VersionRow;
}

export interface TemplateQuery {
  channel?: ChannelValue;
  archived?: boolean;
  name?: string;
}

export async function insertTemplate(ex: Executor, row: NewTemplateRow, version: NewVersionRow): Promise<TemplateAt> {
  const [template] = await ex.insert(templates).values(row).returning();
  const [written] = await ex.insert(templateVersions).values(version).returning();
  return { template, version: written };
}

/**
 * Built-in templates, each with its first version, leaving out those the tenant already
 * has (the unique index decides, so processes starting together write each once).
 */
export async function insertBuiltIns(ex: Executor, rows: { template: NewTemplateRow; version: NewVersionRow }[]): Promise<number> {
  if (rows.length === 0) return 0;
  const inserted = await ex
    .insert(templates)
    .values(rows.map((r) => r.template))
    .onConflictDoNothing()
    .returning({ id: templates.id });
  const ids = new Set(inserted.map((r) => r.id));
  const versions = rows.filter((r) => ids.has(r.template.id)).map((r) => r.version);
  if (versions.length > 0) await ex.insert(templateVersions).values(versions);
  return versions.length;
}

/** Tenants that lack one or more of the `expected` built-in templates. */
export async function tenantsMissingBuiltIns(ex: Executor, expected: number): Promise<string[]> {
  const rows = await ex
    .select({ id: tenants.id })
    .from(tenants)
    .leftJoin(templates, and(eq(templates.tenantId, tenants.id), isNotNull(templates.builtIn)))
    .groupBy(tenants.id)
    .having(sql`count(${templates.id}) < ${expected}`);
  return rows.map((r) => r.id);
}

/** The template with its `version`, or its current one. */
export async function findTemplateAt(ex: Executor, tenantId: string, id: string, version?: number): Promise<TemplateAt | undefined> {
  const [row] = await ex
    .select({ template: templates, version: templateVersions })
    .from(templates)
    .innerJoin(
      templateVersions,
      and(eq(templateVersions.templateId, templates.id), eq(templateVersions.version, version ?? templates.version)),
    )
    .where(and(eq(templates.tenantId, tenantId), eq(templates.id, id)));
  return row;
}

/** Current versions of the built-in templates of several tenants at once. */
export function findBuiltIns(ex: Executor, tenantIds: readonly string[]): Promise<TemplateAt[]> {
  return ex
    .select({ template: templates, version: templateVersions })
    .from(templates)
    .innerJoin(templateVersions, and(eq(templateVersions.templateId, templates.id), eq(templateVersions.version, templates.version)))
    .where(and(inArray(templates.tenantId, [...tenantIds]), isNotNull(templates.builtIn)));
}

/** Every version of the templates named, newest first. */
export function versionsOf(ex: Executor, templateIds: readonly string[]): Promise<VersionRow[]> {
  return ex
    .select()
    .from(templateVersions)
    .where(inArray(templateVersions.templateId, [...templateIds]))
    .orderBy(templateVersions.templateId, desc(templateVersions.version));
}

export function templatesByIds(ex: Executor, tenantId: string, ids: readonly string[]): Promise<TemplateRow[]> {
  return ex
    .select()
    .from(templates)
    .where(and(eq(templates.tenantId, tenantId), inArray(templates.id, [...ids])));
}

/**
 * Locks the template and numbers its next version, or undefined when it is not the
 * tenant's. Concurrent updates of one template wait here, so versions never collide.
 */
export async function claimNextVersion(
  ex: Executor,
  tenantId: string,
  id: string,
  set: { name: string; updatedAt: Date; category?: MessageCategoryValue },
): Promise<TemplateRow | undefined> {
  const [row] = await ex
    .update(templates)
    .set({ version: sql`${templates.version} + 1`, ...set })
    .where(and(eq(templates.tenantId, tenantId), eq(templates.id, id)))
    .returning();
  return row;
}

export async function insertVersion(ex: Executor, version: NewVersionRow): Promise<VersionRow> {
  const [row] = await ex.insert(templateVersions).values(version).returning();
  return row;
}

export async function archiveTemplate(ex: Executor, tenantId: string, id: string, at: Date): Promise<TemplateRow | undefined> {
  const [row] = await ex
    .update(templates)
    .set({ archivedAt: sql`coalesce(${templates.archivedAt}, ${at})`, updatedAt: at })
    .where(and(eq(templates.tenantId, tenantId), eq(templates.id, id)))
    .returning();
  return row;
}

export async function setTemplateFallback(
  ex: Executor,
  tenantId: string,
  id: string,
  fallback: { fallback: ChannelValue[] | null; fallbackAfterSeconds: number | null },
  at: Date,
): Promise<TemplateRow | undefined> {
  const [row] = await ex
    .update(templates)
    .set({ ...fallback, updatedAt: at })
    .where(and(eq(templates.tenantId, tenantId), eq(templates.id, id)))
    .returning();
  return row;
}

function filterOf(tenantId: string, filter: TemplateQuery) {
  return and(
    eq(templates.tenantId, tenantId),
    filter.channel ? eq(templates.channel, filter.channel) : undefined,
    filter.archived === undefined ? undefined : filter.archived ? isNotNull(templates.archivedAt) : isNull(templates.archivedAt),
    // The name is matched as typed: % and _ are not wildcards.
    filter.name ? ilike(templates.name, `%${filter.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`) : undefined,
  );
}

export function pageTemplates(ex: Executor, tenantId: string, filter: TemplateQuery, page: PageRequest): Promise<TemplateRow[]> {
  const { range, order, limit } = keyset(templates.id, page);
  return ex
    .select()
    .from(templates)
    .where(and(filterOf(tenantId, filter), range))
    .orderBy(order)
    .limit(limit);
}

export async function countTemplates(ex: Executor, tenantId: string, filter: TemplateQuery, atMost: number): Promise<number> {
  const matching = ex
    .select({ one: sql`1` })
    .from(templates)
    .where(filterOf(tenantId, filter))
    .limit(atMost)
    .as('matching');
  const [row] = await ex.select({ n: count() }).from(matching);
  return row.n;
}

/** The tenant's newest template on `channel` whose current version is named `name` and that is not archived. */
export async function findCurrentByName(
  ex: Executor,
  tenantId: string,
  channel: ChannelValue,
  name: string,
): Promise<TemplateAt | undefined> {
  const [row] = await ex
    .select({ template: templates, version: templateVersions })
    .from(templates)
    .innerJoin(templateVersions, and(eq(templateVersions.templateId, templates.id), eq(templateVersions.version, templates.version)))
    .where(
      and(eq(templates.tenantId, tenantId), eq(templates.channel, channel), isNull(templates.archivedAt), eq(templateVersions.name, name)),
    )
    .orderBy(desc(templates.id))
    .limit(1);
  return row;
}
