import { and, count, eq, inArray, isNull, or, sql } from 'drizzle-orm';
import { type Database, type Executor, preparedOnce } from '../../db/client.js';
import { keyset } from '../../db/keyset.js';
import type { PageRequest } from '../../domain/paging.js';
import { CHANNELS } from '../../domain/enums.js';
import { type ChannelValue, gateways, type RecipientKindValue, recipients, subscriptions } from '../../db/schema/index.js';
import { type GatewayRow, listGateways } from '../gateways/gateways.queries.js';

export type RecipientRow = typeof recipients.$inferSelect;
export type NewRecipientRow = typeof recipients.$inferInsert;

export interface RecipientQuery {
  kind?: RecipientKindValue;
  externalRef?: string;
}

export async function findRecipient(ex: Executor, tenantId: string, id: string): Promise<RecipientRow | undefined> {
  const [row] = await ex
    .select()
    .from(recipients)
    .where(and(eq(recipients.tenantId, tenantId), eq(recipients.id, id)));
  return row;
}

/** Which recipient, and the channel a message to it takes. */
export interface RouteKey {
  tenantId: string;
  id: string;
  channel: ChannelValue;
}

/**
 * The recipient and the gateway a message to it takes: the one its subscription names
 * (`pinned`), else the channel default (a subscription made without naming a gateway
 * follows the channel's routing, as a recipient without one does).
 */
export interface RouteRow {
  recipient: RecipientRow;
  subscribedTo: string | null;
  pinned: boolean;
  gateway: GatewayRow | null;
}

function routesStatement(db: Database, channel: ChannelValue) {
  return db
    .select({
      recipient: recipients,
      subscribedTo: subscriptions.gatewayId,
      pinned: sql<boolean>`coalesce(${subscriptions.pinned}, false)`,
      gateway: gateways,
    })
    .from(recipients)
    .leftJoin(
      subscriptions,
      and(
        eq(subscriptions.recipientId, recipients.id),
        eq(subscriptions.tenantId, recipients.tenantId),
        eq(subscriptions.channel, channel),
      ),
    )
    .leftJoin(
      gateways,
      and(
        eq(gateways.tenantId, recipients.tenantId),
        or(
          and(eq(gateways.id, subscriptions.gatewayId), eq(subscriptions.pinned, true)),
          and(
            or(isNull(subscriptions.gatewayId), eq(subscriptions.pinned, false)),
            eq(gateways.channel, channel),
            eq(gateways.isDefault, true),
          ),
        ),
      ),
    )
    .where(
      and(
        sql`${recipients.tenantId} = any(${sql.placeholder('tenantIds')}::uuid[])`,
        sql`${recipients.id} = any(${sql.placeholder('ids')}::uuid[])`,
      ),
    )
    .prepare(`herald_routes_${channel.toLowerCase()}`);
}

// The route lookup of each channel, as every send runs it (prepared once per database).
const routesStatements = new Map(CHANNELS.map((channel) => [channel, preparedOnce((db) => routesStatement(db, channel))]));

/**
 * Routes for many keys (one per key, undefined where the tenant has no such recipient):
 * senders arriving together share one statement per channel among them (lib/batching.ts).
 */
export async function findRecipientRoutes(db: Database, keys: readonly RouteKey[]): Promise<(RouteRow | undefined)[]> {
  const found = new Map<string, RouteRow>();
  const channels = [...new Set(keys.map((k) => k.channel))];
  const perChannel = await Promise.all(
    channels.map(async (channel) => {
      const statement = routesStatements.get(channel)!(db);
      const ofChannel = keys.filter((k) => k.channel === channel);
      const rows = await statement.execute({ tenantIds: [...new Set(ofChannel.map((k) => k.tenantId))], ids: ofChannel.map((k) => k.id) });
      return { channel, rows };
    }),
  );
  for (const { channel, rows } of perChannel) {
    for (const row of rows) {
      const key = routeKey(row.recipient.tenantId, row.recipient.id, channel);
      if (!found.has(key)) found.set(key, row);
    }
  }
  return keys.map((k) => found.get(routeKey(k.tenantId, k.id, k.channel)));
}

const routeKey = (tenantId: string, id: string, channel: ChannelValue) => `${tenantId} ${id} ${channel}`;

/**
 * Routes of many recipients of one tenant on one channel (a billing cycle), by recipient
 * id. The tenant's few gateways are read once beside them (listGateways) and matched here
 * rather than joined per recipient, as findRecipientRoutes does for keys of any tenant.
 */
export async function findTenantRoutes(
  ex: Executor,
  tenantId: string,
  ids: readonly string[],
  channel: ChannelValue,
): Promise<Map<string, RouteRow>> {
  const [rows, tenantGateways] = await Promise.all([
    ex
      .select({ recipient: recipients, subscribedTo: subscriptions.gatewayId, pinned: subscriptions.pinned })
      .from(recipients)
      .leftJoin(
        subscriptions,
        and(eq(subscriptions.recipientId, recipients.id), eq(subscriptions.tenantId, tenantId), eq(subscriptions.channel, channel)),
      )
      .where(and(eq(recipients.tenantId, tenantId), inArray(recipients.id, [...ids]))),
    listGateways(ex, tenantId),
  ]);
  const byId = new Map(tenantGateways.map((g) => [g.id, g]));
  const channelDefault = tenantGateways.find((g) => g.channel === channel && g.isDefault) ?? null;
  const routes = new Map<string, RouteRow>();
  for (const { recipient, subscribedTo, pinned } of rows) {
    const gateway = subscribedTo && pinned ? (byId.get(subscribedTo) ?? null) : channelDefault;
    routes.set(recipient.id, { recipient, subscribedTo, pinned: pinned ?? false, gateway });
  }
  return routes;
}

/**
 * A recipient's channel subscriptions with the gateway each sends through: the one it names
 * (`pinned`), else its channel's default (null where there is none, or it is not the tenant's).
 */
export interface RecipientChannels {
  recipient: RecipientRow;
  subscriptions: { channel: ChannelValue; gatewayId: string; pinned: boolean; gateway: GatewayRow | null }[];
}

/**
 * Recipients with their subscriptions and those subscriptions' gateways, for many keys in
 * one statement (undefined where the tenant has no such recipient).
 */
export async function findRecipientChannels(
  ex: Executor,
  keys: readonly { tenantId: string; id: string }[],
): Promise<(RecipientChannels | undefined)[]> {
  const rows = await ex
    .select({ recipient: recipients, subscription: subscriptions, gateway: gateways })
    .from(recipients)
    .leftJoin(subscriptions, and(eq(subscriptions.recipientId, recipients.id), eq(subscriptions.tenantId, recipients.tenantId)))
    .leftJoin(
      gateways,
      and(
        eq(gateways.tenantId, subscriptions.tenantId),
        or(
          and(eq(subscriptions.pinned, true), eq(gateways.id, subscriptions.gatewayId)),
          and(eq(subscriptions.pinned, false), eq(gateways.channel, subscriptions.channel), eq(gateways.isDefault, true)),
        ),
      ),
    )
    .where(
      and(
        inArray(recipients.tenantId, [...new Set(keys.map((k) => k.tenantId))]),
        inArray(
          recipients.id,
          keys.map((k) => k.id),
        ),
      ),
    )
    .orderBy(recipients.id, subscriptions.channel);
  const found = new Map<string, RecipientChannels>();
  for (const { recipient, subscription, gateway } of rows) {
    const key = `${recipient.tenantId} ${recipient.id}`;
    let entry = found.get(key);
    if (!entry) found.set(key, (entry = { recipient, subscriptions: [] }));
    if (subscription) {
      entry.subscriptions.push({ channel: subscription.channel, gatewayId: subscription.gatewayId, pinned: subscription.pinned, gateway });
    }
  }
  return keys.map((k) => found.get(`${k.tenantId} ${k.id}`));
}

export async function insertRecipient(ex: Executor, row: NewRecipientRow): Promise<RecipientRow> {
  const [inserted] = await ex.insert(recipients).values(row).returning();
  return inserted;
}

export async function updateRecipient(
  ex: Executor,
  tenantId: string,
  id: string,
  set: Partial<NewRecipientRow>,
): Promise<RecipientRow | undefined> {
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

/** A page of recipients in scan order, `limit + 1` rows (see Pageable in domain/paging.ts). */
export function pageRecipients(ex: Executor, tenantId: string, filter: RecipientQuery, page: PageRequest): Promise<RecipientRow[]> {
  const { range, order, limit } = keyset(recipients.id, page);
  return ex
    .select()
    .from(recipients)
    .where(and(filterOf(tenantId, filter), range))
    .orderBy(order)
    .limit(limit);
}

/** Rows matching, counting no further than `atMost` (a bounded totalCount). */
export async function countRecipients(ex: Executor, tenantId: string, filter: RecipientQuery, atMost: number): Promise<number> {
  const matching = ex
    .select({ one: sql`1` })
    .from(recipients)
    .where(filterOf(tenantId, filter))
    .limit(atMost)
    .as('matching');
  const [row] = await ex.select({ n: count() }).from(matching);
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
