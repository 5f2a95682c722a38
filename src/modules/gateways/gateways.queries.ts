import { and, asc, eq, gt, inArray, isNotNull, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type ChannelValue, gateways } from '../../db/schema/index.js';

export type GatewayRow = typeof gateways.$inferSelect;
export type NewGatewayRow = typeof gateways.$inferInsert;

export function listGateways(ex: Executor, tenantId: string, channel?: ChannelValue): Promise<GatewayRow[]> {
  return ex
    .select()
    .from(gateways)
    .where(and(eq(gateways.tenantId, tenantId), channel ? eq(gateways.channel, channel) : undefined))
    .orderBy(asc(gateways.channel), asc(gateways.id));
}

export async function findGateway(ex: Executor, tenantId: string, id: string): Promise<GatewayRow | undefined> {
  const [row] = await ex
    .select()
    .from(gateways)
    .where(and(eq(gateways.tenantId, tenantId), eq(gateways.id, id)));
  return row;
}

export function gatewaysByIds(ex: Executor, tenantId: string, ids: readonly string[]): Promise<GatewayRow[]> {
  return ex
    .select()
    .from(gateways)
    .where(and(eq(gateways.tenantId, tenantId), inArray(gateways.id, [...ids])));
}

export async function findDefaultGateway(ex: Executor, tenantId: string, channel: ChannelValue): Promise<GatewayRow | undefined> {
  const [row] = await ex
    .select()
    .from(gateways)
    .where(and(eq(gateways.tenantId, tenantId), eq(gateways.channel, channel), eq(gateways.isDefault, true)));
  return row;
}

export async function insertGateways(ex: Executor, rows: NewGatewayRow[]): Promise<GatewayRow[]> {
  return ex.insert(gateways).values(rows).returning();
}

/** Takes the default flag off the channel's current default, so another can take it. */
export async function clearDefault(ex: Executor, tenantId: string, channel: ChannelValue): Promise<void> {
  await ex
    .update(gateways)
    .set({ isDefault: false })
    .where(and(eq(gateways.tenantId, tenantId), eq(gateways.channel, channel), eq(gateways.isDefault, true)));
}

export async function updateGateway(ex: Executor, id: string, set: Partial<NewGatewayRow>): Promise<void> {
  await ex.update(gateways).set(set).where(eq(gateways.id, id));
}

export async function findGatewayByName(
  ex: Executor,
  tenantId: string,
  channel: ChannelValue,
  name: string,
): Promise<GatewayRow | undefined> {
  const [row] = await ex
    .select()
    .from(gateways)
    .where(and(eq(gateways.tenantId, tenantId), eq(gateways.channel, channel), eq(gateways.name, name)));
  return row;
}

/** Serializes start-up and default changes across processes sharing one database. */
export async function lockGatewayDefaults(ex: Executor, tenantId: string): Promise<void> {
  await ex.execute(sql`select pg_advisory_xact_lock(hashtext(${`herald:gateways:${tenantId}`}))`);
}

/**
 * Reserves the gateway's next send slot under its max_per_second and returns when it
 * starts; concurrent workers get consecutive slots (one row update each).
 */
export async function reserveSendSlot(ex: Executor, id: string): Promise<Date> {
  const result = await ex.execute<{ slot: Date | string }>(sql`
    update gateways
       set next_slot_at = greatest(coalesce(next_slot_at, now()), now()) + make_interval(secs => 1.0 / max_per_second)
     where id = ${id}
    returning next_slot_at - make_interval(secs => 1.0 / max_per_second) as slot`);
  const rows = (result as { rows: { slot: Date | string }[] }).rows;
  return new Date(rows[0].slot);
}

/** Every message of the gateway waits until `until` (a provider's rate-limit reset). */
export async function pauseGateway(ex: Executor, id: string, until: Date): Promise<void> {
  await ex
    .update(gateways)
    .set({ pausedUntil: sql`greatest(coalesce(${gateways.pausedUntil}, now()), ${until.toISOString()}::timestamptz)` })
    .where(eq(gateways.id, id));
}

/** Every tenant's gateways of one provider (SendGrid receipts try each one's verification key). */
export function gatewaysOfProvider(ex: Executor, provider: string): Promise<GatewayRow[]> {
  return ex
    .select()
    .from(gateways)
    .where(eq(gateways.provider, provider as GatewayRow['provider']))
    .orderBy(asc(gateways.id));
}

/** A page of gateways holding credentials, in id order after `afterId` (rotation walks them all). */
export function gatewaysWithCredentials(ex: Executor, afterId: string | null, limit: number): Promise<GatewayRow[]> {
  return ex
    .select()
    .from(gateways)
    .where(and(isNotNull(gateways.credentials), afterId ? gt(gateways.id, afterId) : undefined))
    .orderBy(asc(gateways.id))
    .limit(limit);
}

/** Swaps the sealed credentials if they are still `expected`; false when another writer changed them first. */
export async function replaceSealedCredentials(ex: Executor, id: string, expected: string, sealed: string): Promise<boolean> {
  const rows = await ex
    .update(gateways)
    .set({ credentials: sealed })
    .where(and(eq(gateways.id, id), eq(gateways.credentials, expected)))
    .returning({ id: gateways.id });
  return rows.length > 0;
}
