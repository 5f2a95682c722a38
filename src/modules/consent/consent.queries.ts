import { eq, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type ChannelValue, type QuietHoursData, tenants } from '../../db/schema/index.js';
import type { TenantRow } from '../tenants/tenants.queries.js';

export type ConsentSettings = Partial<Pick<TenantRow, 'defaultTimeZone' | 'helpReply' | 'stopSuppresses' | 'unsubscribeSuppresses'>>;

export async function updateConsentSettings(ex: Executor, tenantId: string, set: ConsentSettings): Promise<TenantRow | undefined> {
  const [row] = await ex.update(tenants).set(set).where(eq(tenants.id, tenantId)).returning();
  return row;
}

/**
 * The tenant's window on `channel` replaced by `window` (null: removed), in one statement,
 * so two channels set at the same moment both stay.
 */
export async function setQuietHours(
  ex: Executor,
  tenantId: string,
  channel: ChannelValue,
  window: QuietHoursData | null,
): Promise<TenantRow | undefined> {
  const others = sql`coalesce((select jsonb_agg(w) from jsonb_array_elements(${tenants.quietHours}::jsonb) w where w->>'channel' <> ${channel}), '[]'::jsonb)`;
  const [row] = await ex
    .update(tenants)
    .set({ quietHours: window ? sql`(${others} || ${JSON.stringify([window])}::jsonb)::json` : sql`${others}::json` })
    .where(eq(tenants.id, tenantId))
    .returning();
  return row;
}

/** What a send needs of its tenant to apply quiet hours. */
export async function findSendRules(
  ex: Executor,
  tenantId: string,
): Promise<Pick<TenantRow, 'defaultTimeZone' | 'quietHours'> | undefined> {
  const [row] = await ex
    .select({ defaultTimeZone: tenants.defaultTimeZone, quietHours: tenants.quietHours })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  return row;
}
