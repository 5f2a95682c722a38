import { and, asc, count, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { webhookEndpoints } from '../../db/schema/index.js';

export type EndpointRow = typeof webhookEndpoints.$inferSelect;
export type NewEndpointRow = typeof webhookEndpoints.$inferInsert;
export type EndpointChange = Partial<Pick<NewEndpointRow, 'url' | 'description' | 'eventTypes' | 'enabled' | 'disabledReason'>>;

/** Makes the tenant's endpoint writes that count them wait for one another, so the cap holds. */
export async function lockTenantEndpoints(ex: Executor, tenantId: string): Promise<void> {
  await ex.execute(sql`select pg_advisory_xact_lock(hashtext(${`herald:webhook-endpoints:${tenantId}`}))`);
}

export async function countEndpoints(ex: Executor, tenantId: string): Promise<number> {
  const [row] = await ex.select({ n: count() }).from(webhookEndpoints).where(eq(webhookEndpoints.tenantId, tenantId));
  return row.n;
}

export async function insertEndpoint(ex: Executor, row: NewEndpointRow): Promise<EndpointRow> {
  const [written] = await ex.insert(webhookEndpoints).values(row).returning();
  return written;
}

/** The tenant's endpoints, oldest first. */
export function listEndpoints(ex: Executor, tenantId: string): Promise<EndpointRow[]> {
  return ex.select().from(webhookEndpoints).where(eq(webhookEndpoints.tenantId, tenantId)).orderBy(asc(webhookEndpoints.id));
}

export async function findEndpoint(ex: Executor, tenantId: string, id: string): Promise<EndpointRow | undefined> {
  const [row] = await ex
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, id)));
  return row;
}

export function endpointsByIds(ex: Executor, tenantId: string, ids: readonly string[]): Promise<EndpointRow[]> {
  return ex
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, tenantId), inArray(webhookEndpoints.id, [...ids])));
}

export async function updateEndpoint(
  ex: Executor,
  tenantId: string,
  id: string,
  set: EndpointChange,
  at: Date,
): Promise<EndpointRow | undefined> {
  const [row] = await ex
    .update(webhookEndpoints)
    .set({ ...set, updatedAt: at })
    .where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, id)))
    .returning();
  return row;
}

/** The new sealed secret, the current one kept as previous until `previousExpiresAt`. */
/**
 * Makes `current` the secret and the secret it replaces the previous one, in one statement:
 * the old value is read from the row as it is updated, so two rotations at once each keep
 * what the other wrote, and no secret handed out is lost.
 */
export async function rotateSecret(
  ex: Executor,
  tenantId: string,
  id: string,
  secrets: { current: string; previousExpiresAt: Date; keepPrevious: boolean },
  at: Date,
): Promise<EndpointRow | undefined> {
  const [row] = await ex
    .update(webhookEndpoints)
    .set({
      secret: secrets.current,
      previousSecret: secrets.keepPrevious ? sql`${webhookEndpoints.secret}` : null,
      previousSecretExpiresAt: secrets.keepPrevious ? secrets.previousExpiresAt : null,
      updatedAt: at,
    })
    .where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, id)))
    .returning();
  return row;
}

export async function deleteEndpoint(ex: Executor, tenantId: string, id: string): Promise<boolean> {
  const rows = await ex
    .delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.tenantId, tenantId), eq(webhookEndpoints.id, id)))
    .returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

/** Every tenant's endpoints, a page at a time in id order (re-sealing). */
export function endpointsAfter(ex: Executor, afterId: string | null, limit: number): Promise<EndpointRow[]> {
  return ex
    .select()
    .from(webhookEndpoints)
    .where(afterId ? gt(webhookEndpoints.id, afterId) : undefined)
    .orderBy(asc(webhookEndpoints.id))
    .limit(limit);
}

/** Swaps one sealed secret column if it still holds `expected`; false when another writer changed it first. */
export async function replaceSealedSecret(
  ex: Executor,
  id: string,
  column: 'secret' | 'previousSecret',
  expected: string,
  sealed: string,
): Promise<boolean> {
  const rows = await ex
    .update(webhookEndpoints)
    .set({ [column]: sealed })
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints[column], expected)))
    .returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}
