import { and, count, desc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { type ChannelValue, gateways, type RecipientKindValue, recipients, subscriptions } from '../../db/schema/index.js';

export type RecipientRow = typeof recipients.$inferSelect;
export type NewRecipientRow = typeof recipients.$inferInsert;

export interface RecipientQuery {
  kind?: RecipientKindValue;
  externalRef?: string;
}

export async function findRecipient(ex: Executor, tenantId: string, id: string): Promise<RecipientRow | undefined> {
  const [row] = await ex.select().from(recipients).where(and(eq(recipients.tenantId, tenantId), eq(recipients.id, id)));
  return row;
}

/**
 * The recipient and, in the same round trip, the gateway a message to it on `channel`
 * takes: the one its subscription names (`subscribedTo` set), else the channel default.
 */
export async function findRecipientRoute(ex: Executor, tenantId: string, id: string, channel: ChannelValue) {
  const [row] = await routeQuery(ex).execute({ tenantId, id, channel });
  return row;
}

// Prepared once per database (built once here, parsed and planned once per connection):
// it runs for every message accepted.
const routeQueries = new WeakMap<Executor, ReturnType<typeof prepareRoute>>();

function routeQuery(ex: Executor) {
  let prepared = routeQueries.get(ex);
  if (!prepared) routeQueries.set(ex, (prepared = prepareRoute(ex)));
  return prepared;
}

function prepareRoute(ex: Executor) {
  const tenantId = sql.placeholder('tenantId');
  const channel = sql.placeholder('channel');
  return ex
    .select({ recipient: recipients, subscribedTo: subscriptions.gatewayId, gateway: gateways })
    .from(recipients)
    .leftJoin(subscriptions, and(eq(subscriptions.recipientId, recipients.id), eq(subscriptions.tenantId, tenantId), eq(subscriptions.channel, channel)))
    .leftJoin(
      gateways,
      and(
        eq(gateways.tenantId, tenantId),
        or(eq(gateways.id, subscriptions.gatewayId), and(isNull(subscriptions.gatewayId), eq(gateways.channel, channel), eq(gateways.isDefault, true))),
      ),
    )
    .where(and(eq(recipients.tenantId, tenantId), eq(recipients.id, sql.placeholder('id'))))
    .prepare('herald_recipient_route');
}

export async function insertRecipient(ex: Executor, row: NewRecipientRow): Promise<RecipientRow> {
  const [inserted] = await ex.insert(recipients).values(row).returning();
  return inserted;
}

export async function updateRecipient(ex: Executor, tenantId: string, id: string, set: Partial<NewRecipientRow>): Promise<RecipientRow | undefined> {
  const [row] = await ex
    .update(recipients)
    .set({ ...set, updatedAt: new Date() })
    .where(and(eq(recipients.tenantId, tenantId), eq(recipients.id, id)))
    .returning();
  return row;
}

const filterOf = (tenantId: string, filter: RecipientQuery) =>
  and(
    eq(recipients.tenantId, tenantId),
    filter.kind ? eq(recipients.kind, filter.kind) : undefined,
    filter.externalRef !== undefined ? eq(recipients.externalRef, filter.externalRef) : undefined,
  );

/** Newest first; `limit + 1` rows so the caller can tell whether a next page exists. */
export function pageRecipients(ex: Executor, tenantId: string, filter: RecipientQuery, limit: number, afterId?: string): Promise<RecipientRow[]> {
  return ex
    .select()
    .from(recipients)
    .where(and(filterOf(tenantId, filter), afterId ? lt(recipients.id, afterId) : undefined))
    .orderBy(desc(recipients.id))
    .limit(limit + 1);
}

export async function countRecipients(ex: Executor, tenantId: string, filter: RecipientQuery): Promise<number> {
  const [row] = await ex.select({ n: count() }).from(recipients).where(filterOf(tenantId, filter));
  return row.n;
}

export function recipientsByIds(ex: Executor, tenantId: string, ids: readonly string[]): Promise<RecipientRow[]> {
  return ex
    .select()
    .from(recipients)
    .where(and(eq(recipients.tenantId, tenantId), inArray(recipients.id, [...ids])));
}

/** Keeps the X user id of a handle, unless the handle changed meanwhile. */
export async function cacheTwitterUserId(ex: Executor, id: string, handle: string, userId: string): Promise<void> {
  await ex
    .update(recipients)
    .set({ twitterUserId: userId })
    .where(and(eq(recipients.id, id), eq(recipients.twitterHandle, handle)));
}
