import { and, asc, count, eq, inArray, isNotNull, isNull, max, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { keyset } from '../../db/keyset.js';
import { outboundEvents, webhookDeliveries, webhookEndpoints } from '../../db/schema/index.js';
import type { WebhookDeliveryOutcome } from '../../domain/enums.js';
import type { PageRequest } from '../../domain/paging.js';
import type { EndpointRow } from './webhook-endpoints.queries.js';

export type EventRow = typeof outboundEvents.$inferSelect;
export type NewEventRow = typeof outboundEvents.$inferInsert;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;
export type NewDeliveryRow = typeof webhookDeliveries.$inferInsert;

export interface DeliveryQuery {
  endpointId?: string;
  eventId?: string;
  messageId?: string;
  outcome?: WebhookDeliveryOutcome;
}

/**
 * Up to `limit` events the trigger wrote and no relay has rendered yet, oldest first,
 * locked for this transaction; rows another relay holds are skipped, not waited for.
 */
export function takeUnrendered(ex: Executor, limit: number): Promise<EventRow[]> {
  return ex
    .select()
    .from(outboundEvents)
    .where(isNull(outboundEvents.payload))
    .orderBy(asc(outboundEvents.id))
    .limit(limit)
    .for('update', { skipLocked: true });
}

/** Rendered payloads, the snapshots they were rendered from dropped (they hold the whole destination). */
export async function setPayloads(ex: Executor, rendered: { id: string; payload: string }[]): Promise<void> {
  if (rendered.length === 0) return;
  await ex.execute(sql`
    update outbound_events e set payload = r.payload, snapshot = null
      from unnest(${sql.param(rendered.map((r) => r.id))}::uuid[], ${sql.param(rendered.map((r) => r.payload))}::text[]) as r(id, payload)
     where e.id = r.id`);
}

export async function insertEvent(ex: Executor, row: NewEventRow): Promise<EventRow> {
  const [written] = await ex.insert(outboundEvents).values(row).returning();
  return written;
}

/** The enabled endpoints of these tenants (the relay's fan-out). */
export function enabledEndpointsOf(
  ex: Executor,
  tenantIds: string[],
): Promise<Pick<EndpointRow, 'id' | 'tenantId' | 'eventTypes' | 'failingSince'>[]> {
  return ex
    .select({
      id: webhookEndpoints.id,
      tenantId: webhookEndpoints.tenantId,
      eventTypes: webhookEndpoints.eventTypes,
      failingSince: webhookEndpoints.failingSince,
    })
    .from(webhookEndpoints)
    .where(and(inArray(webhookEndpoints.tenantId, tenantIds), eq(webhookEndpoints.enabled, true)));
}

export async function findEvent(ex: Executor, tenantId: string, id: string): Promise<EventRow | undefined> {
  const [row] = await ex
    .select()
    .from(outboundEvents)
    .where(and(eq(outboundEvents.tenantId, tenantId), eq(outboundEvents.id, id)));
  return row;
}

export function eventsByIds(ex: Executor, tenantId: string, ids: readonly string[]): Promise<EventRow[]> {
  return ex
    .select()
    .from(outboundEvents)
    .where(and(eq(outboundEvents.tenantId, tenantId), inArray(outboundEvents.id, [...ids])));
}

/** The events and endpoints a batch of jobs names, as they are now (deleted ones are missing). */
export async function deliveryTargets(
  ex: Executor,
  eventIds: string[],
  endpointIds: string[],
): Promise<{ events: Map<string, EventRow>; endpoints: Map<string, EndpointRow> }> {
  const [events, endpoints] = await Promise.all([
    ex
      .select()
      .from(outboundEvents)
      .where(inArray(outboundEvents.id, [...new Set(eventIds)])),
    ex
      .select()
      .from(webhookEndpoints)
      .where(inArray(webhookEndpoints.id, [...new Set(endpointIds)])),
  ]);
  return { events: new Map(events.map((e) => [e.id, e])), endpoints: new Map(endpoints.map((e) => [e.id, e])) };
}

/** Attempts recorded; a job already recorded (run again after its worker died) adds nothing. Returns the job ids written. */
export async function recordDeliveries(ex: Executor, rows: NewDeliveryRow[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const written = await ex
    .insert(webhookDeliveries)
    .values(rows)
    .onConflictDoNothing({ target: webhookDeliveries.jobId })
    .returning({ jobId: webhookDeliveries.jobId });
  return new Set(written.map((r) => r.jobId));
}

/** A success ends the endpoint's failing streak. */
export async function clearFailing(ex: Executor, endpointIds: string[]): Promise<void> {
  if (endpointIds.length === 0) return;
  await ex
    .update(webhookEndpoints)
    .set({ failingSince: null })
    .where(and(inArray(webhookEndpoints.id, endpointIds), isNotNull(webhookEndpoints.failingSince)));
}

/** A failure starts the endpoint's failing streak if none is running; returns when it began. */
export async function markFailing(ex: Executor, endpointId: string, at: Date): Promise<Date | undefined> {
  const [row] = await ex
    .update(webhookEndpoints)
    .set({ failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${at.toISOString()}::timestamptz)` })
    .where(eq(webhookEndpoints.id, endpointId))
    .returning({ failingSince: webhookEndpoints.failingSince });
  return row?.failingSince ?? undefined;
}

/** Disables an endpoint still enabled; true when this call did it. */
export async function disableEndpoint(ex: Executor, endpointId: string, reason: string, at: Date): Promise<boolean> {
  const rows = await ex
    .update(webhookEndpoints)
    .set({ enabled: false, disabledReason: reason, updatedAt: at })
    .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.enabled, true)))
    .returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

/** The endpoints an event was sent to, each with its last attempt's number. */
export function attemptsOfEvent(ex: Executor, eventId: string, endpointId?: string): Promise<{ endpointId: string; attempts: number }[]> {
  return ex
    .select({ endpointId: webhookDeliveries.endpointId, attempts: max(webhookDeliveries.attempt).mapWith(Number) })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.eventId, eventId), endpointId ? eq(webhookDeliveries.endpointId, endpointId) : undefined))
    .groupBy(webhookDeliveries.endpointId);
}

function deliveryFilter(tenantId: string, f: DeliveryQuery) {
  return and(
    eq(webhookDeliveries.tenantId, tenantId),
    f.endpointId ? eq(webhookDeliveries.endpointId, f.endpointId) : undefined,
    f.eventId ? eq(webhookDeliveries.eventId, f.eventId) : undefined,
    f.messageId ? eq(webhookDeliveries.messageId, f.messageId) : undefined,
    f.outcome ? eq(webhookDeliveries.outcome, f.outcome) : undefined,
  );
}

/** A page of deliveries in scan order, `limit + 1` rows (see Pageable in domain/paging.ts). */
export function pageDeliveries(ex: Executor, tenantId: string, filter: DeliveryQuery, page: PageRequest): Promise<DeliveryRow[]> {
  const { range, order, limit } = keyset(webhookDeliveries.id, page);
  return ex
    .select()
    .from(webhookDeliveries)
    .where(and(deliveryFilter(tenantId, filter), range))
    .orderBy(order)
    .limit(limit);
}

/** Rows matching, counting no further than `atMost` (a bounded totalCount). */
export async function countDeliveries(ex: Executor, tenantId: string, filter: DeliveryQuery, atMost: number): Promise<number> {
  const matching = ex
    .select({ one: sql`1` })
    .from(webhookDeliveries)
    .where(deliveryFilter(tenantId, filter))
    .limit(atMost)
    .as('matching');
  const [row] = await ex.select({ n: count() }).from(matching);
  return row.n;
}

export async function findDelivery(ex: Executor, tenantId: string, id: string): Promise<DeliveryRow | undefined> {
  const [row] = await ex
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.tenantId, tenantId), eq(webhookDeliveries.id, id)));
  return row;
}
