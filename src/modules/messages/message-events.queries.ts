import { and, desc, eq, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { messages } from '../../db/schema/index.js';
import type { StatusEvent } from '../../realtime/status-hub.js';

const eventColumns = {
  id: messages.id,
  tenantId: messages.tenantId,
  recipientId: messages.recipientId,
  status: messages.status,
  updatedAt: messages.updatedAt,
  // The same text as the notifications' "at" (drizzle/0011_status_events_from_every_write.sql).
  at: sql<string>`herald_status_time(${messages.updatedAt})`,
};

/** One message's current status, as an event. */
export async function currentStatusOf(
  ex: Executor,
  tenantId: string,
  id: string,
): Promise<(StatusEvent & { updatedAt: Date }) | undefined> {
  const [row] = await ex
    .select(eventColumns)
    .from(messages)
    .where(and(eq(messages.tenantId, tenantId), eq(messages.id, id)));
  return row;
}

/**
 * The current status of a recipient's newest `limit` messages (an index range on
 * (tenant_id, recipient_id, id), whatever the recipient's history).
 */
export function newestOfRecipient(
  ex: Executor,
  tenantId: string,
  recipientId: string,
  limit: number,
): Promise<(StatusEvent & { updatedAt: Date })[]> {
  return ex
    .select(eventColumns)
    .from(messages)
    .where(and(eq(messages.tenantId, tenantId), eq(messages.recipientId, recipientId)))
    .orderBy(desc(messages.id))
    .limit(limit);
}
