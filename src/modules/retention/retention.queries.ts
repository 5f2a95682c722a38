import { and, asc, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import {
  type ChannelValue,
  type MessageStatusValue,
  deliveryLogs,
  messages,
  outboundEvents,
  tenants,
  webhookDeliveries,
} from '../../db/schema/index.js';
import type { TenantRow } from '../tenants/tenants.queries.js';

/**
 * The statuses a message is purged in. SCHEDULED, QUEUED and SENDING are still in flight
 * and stay, however old: a message may be scheduled up to a year ahead, or wait out a long
 * provider outage, and purging it would drop a send the tenant still expects.
 */
export const PURGEABLE_STATUSES = ['SENT', 'DELIVERED', 'FAILED', 'CANCELLED'] as const satisfies readonly MessageStatusValue[];

export interface DailyStatRow {
  /** YYYY-MM-DD (UTC). */
  day: string;
  channel: ChannelValue;
  status: MessageStatusValue;
  count: number;
  segments: number;
}

export async function setRetentionDays(ex: Executor, tenantId: string, days: number): Promise<TenantRow | undefined> {
  const [row] = await ex.update(tenants).set({ retentionDays: days }).where(eq(tenants.id, tenantId)).returning();
  return row;
}

export function retentionOfTenants(ex: Executor): Promise<{ id: string; retentionDays: number }[]> {
  return ex.select({ id: tenants.id, retentionDays: tenants.retentionDays }).from(tenants).orderBy(asc(tenants.id));
}

/**
 * Up to `limit` of the tenant's purgeable messages created before `beforeId` (a UUIDv7
 * floor: created_at is the id's time, so this is a range of the (tenant_id, id) index),
 * oldest first and locked for this transaction. Rows another transaction holds (a
 * receipt, another purge) are skipped, not waited for: two purges take disjoint batches.
 */
export async function takeExpiredMessages(ex: Executor, tenantId: string, beforeId: string, limit: number): Promise<string[]> {
  const rows = await ex
    .select({ id: messages.id })
    .from(messages)
    .where(and(eq(messages.tenantId, tenantId), lt(messages.id, beforeId), inArray(messages.status, [...PURGEABLE_STATUSES])))
    .orderBy(asc(messages.id))
    .limit(limit)
    .for('update', { skipLocked: true });
  return rows.map((r) => r.id);
}

/**
 * Adds these messages to the daily counts. Rows are upserted in key order, so two purges
 * adding to the same days lock those rows in the same order and wait for each other
 * rather than deadlock.
 */
export async function addToDailyStats(ex: Executor, ids: string[]): Promise<void> {
  await ex.execute(sql`
    insert into message_daily_stats (tenant_id, day, channel, status, count, segments)
    select tenant_id, (created_at at time zone 'UTC')::date, channel, status, count(*), coalesce(sum(segments), 0)
      from messages
     where id = any(${sql.param(ids)}::uuid[])
     group by 1, 2, 3, 4
     order by 1, 2, 3, 4
    on conflict (tenant_id, day, channel, status) do update
      set count = message_daily_stats.count + excluded.count,
          segments = message_daily_stats.segments + excluded.segments`);
}

export interface DeletedWithMessages {
  messages: number;
  deliveryLogs: number;
  webhookEvents: number;
  webhookDeliveries: number;
}

/** The messages and everything that names them: delivery logs, webhook events and their delivery attempts. */
export async function deleteMessagesAndTheirRows(ex: Executor, tenantId: string, ids: string[]): Promise<DeletedWithMessages> {
  const deliveries = await ex
    .delete(webhookDeliveries)
    .where(and(eq(webhookDeliveries.tenantId, tenantId), inArray(webhookDeliveries.messageId, ids)))
    .returning({ id: webhookDeliveries.id });
  const events = await ex
    .delete(outboundEvents)
    .where(and(inArray(outboundEvents.messageId, ids), eq(outboundEvents.tenantId, tenantId)))
    .returning({ id: outboundEvents.id });
  const logs = await ex.delete(deliveryLogs).where(inArray(deliveryLogs.messageId, ids)).returning({ id: deliveryLogs.id });
  const deleted = await ex
    .delete(messages)
    .where(and(eq(messages.tenantId, tenantId), inArray(messages.id, ids)))
    .returning({ id: messages.id });
  return { messages: deleted.length, deliveryLogs: logs.length, webhookEvents: events.length, webhookDeliveries: deliveries.length };
}

/** Delivery logs that name no message (a recipient refused by a bulk send) created before `beforeId`. */
export async function deleteExpiredLooseLogs(ex: Executor, tenantId: string, beforeId: string, limit: number): Promise<number> {
  const batch = ex
    .select({ id: deliveryLogs.id })
    .from(deliveryLogs)
    .where(and(eq(deliveryLogs.tenantId, tenantId), isNull(deliveryLogs.messageId), lt(deliveryLogs.id, beforeId)))
    .orderBy(asc(deliveryLogs.id))
    .limit(limit)
    .for('update', { skipLocked: true });
  const deleted = await ex.delete(deliveryLogs).where(inArray(deliveryLogs.id, batch)).returning({ id: deliveryLogs.id });
  return deleted.length;
}

/** Test events (they name no message) that occurred before `beforeId`, with their delivery attempts. */
export async function deleteExpiredTestEvents(
  ex: Executor,
  tenantId: string,
  beforeId: string,
  limit: number,
): Promise<{ webhookEvents: number; webhookDeliveries: number }> {
  const rows = await ex
    .select({ id: outboundEvents.id })
    .from(outboundEvents)
    .where(and(isNull(outboundEvents.messageId), eq(outboundEvents.tenantId, tenantId), lt(outboundEvents.id, beforeId)))
    .orderBy(asc(outboundEvents.id))
    .limit(limit)
    .for('update', { skipLocked: true });
  if (rows.length === 0) return { webhookEvents: 0, webhookDeliveries: 0 };
  const ids = rows.map((r) => r.id);
  const deliveries = await ex
    .delete(webhookDeliveries)
    .where(inArray(webhookDeliveries.eventId, ids))
    .returning({ id: webhookDeliveries.id });
  const events = await ex.delete(outboundEvents).where(inArray(outboundEvents.id, ids)).returning({ id: outboundEvents.id });
  return { webhookEvents: events.length, webhookDeliveries: deliveries.length };
}

/**
 * Idempotency keys taken before `before`. Their window (24 hours) is shorter than any
 * retention, so the keys are spent: they only still name messages that are purged now.
 */
export async function deleteExpiredIdempotencyKeys(ex: Executor, tenantId: string, before: Date, limit: number): Promise<number> {
  const deleted = await ex.execute(sql`
    delete from idempotency_keys k
     using (select tenant_id, operation, key
              from idempotency_keys
             where tenant_id = ${tenantId} and created_at < ${before.toISOString()}::timestamptz
             limit ${limit}
               for update skip locked) old
     where k.tenant_id = old.tenant_id and k.operation = old.operation and k.key = old.key
    returning k.key`);
  return (deleted as { rows: unknown[] }).rows.length;
}

/** Provider receipts already applied (their ids, kept so a resent one counts once) received before `before`. */
export async function deleteExpiredReceipts(ex: Executor, before: Date, limit: number): Promise<number> {
  const deleted = await ex.execute(sql`
    delete from webhook_events w
     using (select provider, event_id
              from webhook_events
             where received_at < ${before.toISOString()}::timestamptz
             order by received_at
             limit ${limit}
               for update skip locked) old
     where w.provider = old.provider and w.event_id = old.event_id
    returning w.event_id`);
  return (deleted as { rows: unknown[] }).rows.length;
}

/** Which of these ids name a stored message. */
export async function storedMessageIds(ex: Executor, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await ex.select({ id: messages.id }).from(messages).where(inArray(messages.id, ids));
  return new Set(rows.map((r) => r.id));
}

/** Which of these ids name a stored webhook event. */
export async function storedEventIds(ex: Executor, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await ex.select({ id: outboundEvents.id }).from(outboundEvents).where(inArray(outboundEvents.id, ids));
  return new Set(rows.map((r) => r.id));
}

/**
 * Messages created from `fromId` to before `toId` (UUIDv7 floors of UTC midnights) by day,
 * channel and current status: the counts of purged days plus those of the rows still
 * stored, in one statement, so a purge committing meanwhile is seen wholly or not at all.
 */
export async function dailyStats(
  ex: Executor,
  tenantId: string,
  range: { firstDay: string; lastDay: string; fromId: string; toId: string },
  channel?: ChannelValue,
): Promise<DailyStatRow[]> {
  const ofChannel = channel ? sql`and channel = ${channel}` : sql``;
  const result = await ex.execute(sql`
    select to_char(day, 'YYYY-MM-DD') as day, channel, status, sum(count)::text as count, sum(segments)::text as segments
      from (
        select day, channel, status, count, segments
          from message_daily_stats
         where tenant_id = ${tenantId} and day between ${range.firstDay}::date and ${range.lastDay}::date ${ofChannel}
        union all
        select (created_at at time zone 'UTC')::date, channel, status, count(*), coalesce(sum(segments), 0)
          from messages
         where tenant_id = ${tenantId} and id >= ${range.fromId}::uuid and id < ${range.toId}::uuid ${ofChannel}
         group by 1, 2, 3
      ) counted
     group by day, channel, status
     order by day, channel, status`);
  const rows = (result as { rows: { day: string; channel: ChannelValue; status: MessageStatusValue; count: string; segments: string }[] })
    .rows;
  return rows.map((r) => ({ day: r.day, channel: r.channel, status: r.status, count: Number(r.count), segments: Number(r.segments) }));
}
