import { eq } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { tenants } from '../../db/schema/index.js';

export type TenantRow = typeof tenants.$inferSelect;

export async function findTenant(ex: Executor, id: string): Promise<TenantRow | undefined> {
  const [row] = await ex.select().from(tenants).where(eq(tenants.id, id));
  return row;
}

export async function insertTenant(ex: Executor, row: typeof tenants.$inferInsert): Promise<TenantRow> {
  const [inserted] = await ex.insert(tenants).values(row).returning();
  return inserted;
}

/** The operator tenant, created on first start (concurrent starts agree on one). */
export async function ensureDefaultTenant(ex: Executor, id: string): Promise<void> {
  await ex.insert(tenants).values({ id, name: 'default', isDefault: true }).onConflictDoNothing();
}

export async function setDefaultLocale(ex: Executor, id: string, locale: string): Promise<TenantRow> {
  const [row] = await ex.update(tenants).set({ defaultLocale: locale }).where(eq(tenants.id, id)).returning();
  return row;
}
