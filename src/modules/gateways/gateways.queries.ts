import { and, asc, eq, inArray, sql } from 'drizzle-orm';
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
  const [row] = await ex.select().from(gateways).where(and(eq(gateways.tenantId, tenantId), eq(gateways.id, id)));
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

export async function findGatewayByName(ex: Executor, tenantId: string, channel: ChannelValue, name: string): Promise<GatewayRow | undefined> {
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
