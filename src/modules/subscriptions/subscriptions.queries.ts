import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type ChannelValue, subscriptions } from '../../db/schema/index.js';

export type SubscriptionRow = typeof subscriptions.$inferSelect;

export function subscriptionsOf(ex: Executor, tenantId: string, recipientIds: readonly string[]): Promise<SubscriptionRow[]> {
  return ex
    .select()
    .from(subscriptions)
    .where(and(eq(subscriptions.tenantId, tenantId), inArray(subscriptions.recipientId, [...recipientIds])))
    .orderBy(asc(subscriptions.channel));
}

/** Subscribing again on a channel moves the subscription to the new gateway. */
export async function upsertSubscription(ex: Executor, row: typeof subscriptions.$inferInsert): Promise<void> {
  await ex
    .insert(subscriptions)
    .values(row)
    .onConflictDoUpdate({
      target: [subscriptions.recipientId, subscriptions.channel],
      set: { gatewayId: row.gatewayId, pinned: row.pinned },
    });
}

export async function deleteSubscription(ex: Executor, tenantId: string, recipientId: string, channel: ChannelValue): Promise<boolean> {
  const deleted = await ex
    .delete(subscriptions)
    .where(and(eq(subscriptions.tenantId, tenantId), eq(subscriptions.recipientId, recipientId), eq(subscriptions.channel, channel)))
    .returning({ recipientId: subscriptions.recipientId });
  return deleted.length > 0;
}
