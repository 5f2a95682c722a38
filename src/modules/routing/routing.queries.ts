import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type ChannelValue, channelRoutes, channelRouting, gatewayHealth } from '../../db/schema/index.js';

export type RoutingRow = typeof channelRouting.$inferSelect;
export type RouteRow = typeof channelRoutes.$inferSelect;
export type HealthRecord = typeof gatewayHealth.$inferSelect;

/** The tenant's routing rows and their routes (every channel, or one). */
export async function routingOf(
  ex: Executor,
  tenantId: string,
  channel?: ChannelValue,
): Promise<{ routing: RoutingRow[]; routes: RouteRow[] }> {
  const [routing, routes] = await Promise.all([
    ex
      .select()
      .from(channelRouting)
      .where(and(eq(channelRouting.tenantId, tenantId), channel ? eq(channelRouting.channel, channel) : undefined)),
    ex
      .select()
      .from(channelRoutes)
      .where(and(eq(channelRoutes.tenantId, tenantId), channel ? eq(channelRoutes.channel, channel) : undefined)),
  ]);
  return { routing, routes };
}

/** Replaces a channel's routing and its routes. */
export async function replaceRouting(ex: Executor, routing: RoutingRow, routes: RouteRow[]): Promise<void> {
  await ex
    .insert(channelRouting)
    .values(routing)
    .onConflictDoUpdate({
      target: [channelRouting.tenantId, channelRouting.channel],
      set: { strategy: routing.strategy, failoverPinned: routing.failoverPinned, updatedAt: routing.updatedAt },
    });
  await ex.delete(channelRoutes).where(and(eq(channelRoutes.tenantId, routing.tenantId), eq(channelRoutes.channel, routing.channel)));
  if (routes.length > 0) await ex.insert(channelRoutes).values(routes);
}

export function healthOf(ex: Executor, gatewayIds: readonly string[]): Promise<HealthRecord[]> {
  if (gatewayIds.length === 0) return Promise.resolve([]);
  return ex
    .select()
    .from(gatewayHealth)
    .where(inArray(gatewayHealth.gatewayId, [...gatewayIds]));
}

/** The rows of these gateways, created CLOSED where missing, locked until the transaction ends. */
export async function lockHealth(ex: Executor, gatewayIds: string[], now: Date): Promise<HealthRecord[]> {
  await ex
    .insert(gatewayHealth)
    .values(
      gatewayIds.map((gatewayId) => ({
        gatewayId,
        state: 'CLOSED' as const,
        windowStartedAt: now,
        successes: 0,
        failures: 0,
        updatedAt: now,
      })),
    )
    .onConflictDoNothing();
  return ex.select().from(gatewayHealth).where(inArray(gatewayHealth.gatewayId, gatewayIds)).orderBy(gatewayHealth.gatewayId).for('update');
}

export async function writeHealth(ex: Executor, rows: HealthRecord[]): Promise<void> {
  if (rows.length === 0) return;
  await ex.execute(sql`
    update gateway_health h
       set state = r.state::circuit_state, window_started_at = r.window_started_at, successes = r.successes,
           failures = r.failures, last_failure_at = r.last_failure_at, opened_at = r.opened_at, updated_at = r.updated_at
      from json_to_recordset(${JSON.stringify(
        rows.map((r) => ({
          gateway_id: r.gatewayId,
          state: r.state,
          window_started_at: r.windowStartedAt.toISOString(),
          successes: r.successes,
          failures: r.failures,
          last_failure_at: r.lastFailureAt?.toISOString() ?? null,
          opened_at: r.openedAt?.toISOString() ?? null,
          updated_at: r.updatedAt.toISOString(),
        })),
      )}::json) as r(gateway_id uuid, state text, window_started_at timestamptz, successes int, failures int,
                     last_failure_at timestamptz, opened_at timestamptz, updated_at timestamptz)
     where h.gateway_id = r.gateway_id`);
}

/** Every gateway's breaker row (a handful per tenant), for /metrics. */
export function allHealth(ex: Executor): Promise<Pick<HealthRecord, 'gatewayId' | 'state' | 'openedAt'>[]> {
  return ex
    .select({ gatewayId: gatewayHealth.gatewayId, state: gatewayHealth.state, openedAt: gatewayHealth.openedAt })
    .from(gatewayHealth);
}
