import { and, asc, count, desc, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import { unionAll } from 'drizzle-orm/pg-core';
import { type Database, type Executor, preparedOnce } from '../../db/client.js';
import { keyset } from '../../db/keyset.js';
import {
  type ChannelValue,
  deliveryLogs,
  gateways,
  type MessageStatusValue,
  messages,
  recipients,
  tenants,
} from '../../db/schema/index.js';
import { ERASED } from '../../domain/erasure.js';
import type { PageRequest } from '../../domain/paging.js';
import { uuidv7Floor } from '../../lib/ids.js';
import type { GatewayRow } from '../gateways/gateways.queries.js';
import { allowedFrom } from './lifecycle.js';

export type MessageRow = typeof messages.$inferSelect;
export type NewMessageRow = typeof messages.$inferInsert;
export type DeliveryLogRow = typeof deliveryLogs.$inferSelect;
export type NewDeliveryLogRow = typeof deliveryLogs.$inferInsert;

export interface MessageQuery {
  status?: MessageStatusValue[];
  channel?: ChannelValue[];
  recipientId?: string;
  orderId?: string;
  invoiceNumber?: string;
  createdAfter?: Date;
  createdBefore?: Date;
}

export async function findMessage(ex: Executor, tenantId: string, id: string): Promise<MessageRow | undefined> {
  const [row] = await ex
    .select()
    .from(messages)
    .where(and(eq(messages.tenantId, tenantId), eq(messages.id, id)));
  return row;
}

export function messagesByIds(ex: Executor, tenantId: string, ids: readonly string[]): Promise<MessageRow[]> {
  return ex
    .select()
    .from(messages)
    .where(and(eq(messages.tenantId, tenantId), inArray(messages.id, [...ids])));
}

/**
 * Many messages in one INSERT, their rows as one JSON parameter: a bulk write (a billing
 * cycle's invoice DMs) sends 10,000 rows, and a parameter per value would cost more to
 * build than the insert costs PostgreSQL. The columns are those a bulk write sets; the
 * others take their defaults. `skipExisting` leaves out a row the unique indexes refuse.
 */
export async function insertBulkMessages(
  ex: Executor,
  rows: readonly NewMessageRow[],
  skipExisting: boolean,
): Promise<{ id: string; scheduledAt: Date | null }[]> {
  const json = JSON.stringify(
    rows.map((m) => ({
      id: m.id,
      tenant_id: m.tenantId,
      recipient_id: m.recipientId,
      gateway_id: m.gatewayId ?? null,
      gateway_pinned: m.gatewayPinned ?? false,
      channel: m.channel,
      status: m.status,
      body: m.body,
      destination: m.destination,
      scheduled_at: m.scheduledAt ?? null,
      invoice: m.invoice ?? null,
      invoice_number: m.invoiceNumber ?? null,
      billing_cycle_id: m.billingCycleId ?? null,
      template_id: m.templateId ?? null,
      template_version: m.templateVersion ?? null,
      locale: m.locale ?? null,
      created_at: m.createdAt,
      // Left out (null) when there is none: most bulk rows have no fallback.
      fallback: m.fallback ?? undefined,
      fallback_after_seconds: m.fallbackAfterSeconds ?? undefined,
    })),
  );
  const result = await ex.execute(sql`
    insert into messages (id, tenant_id, recipient_id, gateway_id, gateway_pinned, channel, status, body, destination, scheduled_at, invoice, invoice_number, billing_cycle_id, template_id, template_version, locale, created_at, fallback, fallback_after_seconds)
    select id, tenant_id, recipient_id, gateway_id, gateway_pinned, channel, status, body, destination, scheduled_at, invoice, invoice_number, billing_cycle_id, template_id, template_version, locale, coalesce(created_at, now()), fallback, fallback_after_seconds
      from json_populate_recordset(null::messages, ${json}::json)
    ${skipExisting ? sql`on conflict do nothing` : sql``}
    returning id, scheduled_at`);
  // Both drivers (node-postgres, PGlite) answer execute() with { rows }.
  const written = (result as { rows: { id: string; scheduled_at: Date | string | null }[] }).rows;
  return written.map((r) => ({ id: r.id, scheduledAt: r.scheduled_at === null ? null : new Date(r.scheduled_at) }));
}

export async function findByIdempotencyKey(ex: Executor, tenantId: string, key: string): Promise<MessageRow | undefined> {
  const [row] = await ex
    .select()
    .from(messages)
    .where(and(eq(messages.tenantId, tenantId), eq(messages.idempotencyKey, key)));
  return row;
}

/** Frees a key whose 24 hours are over, so it can name a new message. */
export async function releaseIdempotencyKey(ex: Executor, id: string): Promise<void> {
  await ex.update(messages).set({ idempotencyKey: null }).where(eq(messages.id, id));
}

/**
 * Moves a message to `set.status` if the lifecycle allows it from where the message is
 * now (optionally only from `only`), and returns the row after the move, or undefined
 * when the guard refused (already further along, or not ours).
 */
export async function transition(
  ex: Executor,
  id: string,
  set: Partial<NewMessageRow> & { status: MessageStatusValue },
  options: { only?: MessageStatusValue[]; tenantId?: string } = {},
): Promise<MessageRow | undefined> {
  const from = allowedFrom(set.status, options.only);
  // A message erased while its send was out keeps no error text written after: a
  // provider's may name the address the send went to. Decided in the statement, so the
  // status's webhook event (a trigger on this update) carries the erased value too.
  const errorMessage = set.errorMessage
    ? { errorMessage: sql`case when ${messages.destination} = ${ERASED} then ${ERASED} else ${set.errorMessage} end` }
    : {};
  const [row] = await ex
    .update(messages)
    .set({ ...set, ...errorMessage, updatedAt: new Date() })
    .where(and(eq(messages.id, id), inArray(messages.status, from), options.tenantId ? eq(messages.tenantId, options.tenantId) : undefined))
    .returning();
  return row;
}

export interface Claimed {
  message: MessageRow;
  gateway: GatewayRow | undefined;
  /** For an X DM: the user id already resolved for the handle it goes to, if any. */
  xUserId: string | null;
}

// The claim, as every send runs it (prepared once per database).
const claimStatement = preparedOnce((db: Database) => {
  const claimed = db.$with('claimed').as(
    db
      .update(messages)
      .set({ status: 'SENDING', attempts: sql`${messages.attempts} + 1`, updatedAt: sql`now()` })
      .where(and(sql`${messages.id} = any(${sql.placeholder('ids')}::uuid[])`, inArray(messages.status, allowedFrom('SENDING'))))
      .returning(),
  );
  return (
    db
      .with(claimed)
      .select({ message: claimed._.selectedFields, gateway: gateways, xUserId: recipients.twitterUserId })
      .from(claimed)
      .leftJoin(gateways, and(eq(gateways.id, claimed.gatewayId), eq(gateways.tenantId, claimed.tenantId)))
      // The X user id kept on the recipient counts only while its handle is still the one this DM goes to.
      .leftJoin(
        recipients,
        and(
          eq(claimed.channel, 'TWITTER_DM'),
          eq(recipients.id, claimed.recipientId),
          eq(recipients.tenantId, claimed.tenantId),
          eq(recipients.twitterHandle, claimed.destination),
        ),
      )
      .prepare('herald_claim')
  );
});

/**
 * Claims messages for a send attempt (attempts + 1, status SENDING) and reads their
 * gateways in the same statement: the worker's first round trip for every send. One
 * answer per id, undefined where the claim is refused (cancelled, sending or sent, not
 * ours). A message left SENDING is never claimed here: the sweep takes it over.
 */
export async function claimWithGateway(db: Database, ids: readonly string[]): Promise<(Claimed | undefined)[]> {
  const rows = await claimStatement(db).execute({ ids: [...ids] });
  const byId = new Map(
    rows.map((row) => [row.message.id, { message: row.message, gateway: row.gateway ?? undefined, xUserId: row.xUserId }]),
  );
  return ids.map((id) => byId.get(id));
}

export interface SentRecord {
  id: string;
  /** The gateway the send went through (routing may have chosen another than the message's). */
  gatewayId: string;
  providerMessageId: string;
  sentAt: Date;
  /** The SUCCESS log, written only if the message becomes SENT. */
  log: NewDeliveryLogRow;
}

/**
 * Successful sends in one statement: SENT (guarded by the lifecycle) with their SUCCESS
 * logs, or, where a receipt overtook the worker (already DELIVERED/FAILED), only the
 * provider's id and send time kept.
 *
 * One UPDATE for both outcomes, deciding by the status it finds when it takes the row: a
 * receipt that commits while this statement runs is then seen (PostgreSQL re-reads a row
 * it had to wait for), where a second statement of the same snapshot would still find the
 * message SENDING and skip it. Any DELIVERED/FAILED found here was reached from this
 * attempt's SENDING, so the send's own id and time are the ones to keep. The sends and
 * their logs go in as JSON parameters, so the statement is the same whatever the batch.
 * The ids go in once more as an array: the planner cannot see how many rows the JSON holds
 * and, without them, reads the whole table to join it (a seq scan per batch).
 */
export async function recordSent(ex: Executor, sends: readonly SentRecord[]): Promise<void> {
  const sendable = allowedFrom('SENT');
  const sent = JSON.stringify(
    sends.map((s) => ({ id: s.id, gateway_id: s.gatewayId, sent_at: s.sentAt.toISOString(), provider_message_id: s.providerMessageId })),
  );
  const logs = JSON.stringify(
    sends.map(({ log }) => ({
      id: log.id,
      tenant_id: log.tenantId,
      message_id: log.messageId ?? null,
      recipient_id: log.recipientId ?? null,
      gateway_id: log.gatewayId ?? null,
      channel: log.channel ?? null,
      outcome: log.outcome,
      reason: log.reason ?? null,
      attempt: log.attempt ?? null,
      provider_code: log.providerCode ?? null,
      order_id: log.orderId ?? null,
      order_status: log.orderStatus ?? null,
      at: log.at?.toISOString() ?? null,
    })),
  );
  await ex.execute(sql`
    with sends as (
      select * from json_to_recordset(${sent}::json) as s(id uuid, gateway_id uuid, sent_at timestamptz, provider_message_id text)),
    recorded as (
      update messages m
         set status = case when m.status in ${sendable} then 'SENT'::message_status else m.status end,
             error_code = case when m.status in ${sendable} then null else m.error_code end,
             error_message = case when m.status in ${sendable} then null else m.error_message end,
             sent_at = s.sent_at, provider_message_id = s.provider_message_id, gateway_id = s.gateway_id, updated_at = now()
        from sends s
       where m.id = s.id and m.id = any(${sql.param(sends.map((s) => s.id))}::uuid[])
         and (m.status in ${sendable} or m.status in ('DELIVERED', 'FAILED'))
       returning m.id, m.status)
    insert into delivery_logs (id, tenant_id, message_id, recipient_id, gateway_id, channel, outcome, reason, attempt, provider_code, order_id, order_status, at)
    select id, tenant_id, message_id, recipient_id, gateway_id, channel, outcome, reason, attempt, provider_code, order_id, order_status, coalesce(at, now())
      from json_populate_recordset(null::delivery_logs, ${logs}::json)
     where message_id in (select id from recorded where status = 'SENT')`);
}

export async function findByProviderMessageId(ex: Executor, providerMessageId: string): Promise<MessageRow | undefined> {
  const [row] = await ex.select().from(messages).where(eq(messages.providerMessageId, providerMessageId));
  return row;
}

/** A message by id in any tenant (webhooks find the tenant from the message). */
export async function findMessageAnyTenant(ex: Executor, id: string): Promise<MessageRow | undefined> {
  const [row] = await ex.select().from(messages).where(eq(messages.id, id));
  return row;
}

const messageFilter = (tenantId: string, f: MessageQuery) =>
  and(
    eq(messages.tenantId, tenantId),
    f.status?.length ? inArray(messages.status, f.status) : undefined,
    f.channel?.length ? inArray(messages.channel, f.channel) : undefined,
    f.recipientId ? eq(messages.recipientId, f.recipientId) : undefined,
    f.orderId !== undefined ? eq(messages.orderId, f.orderId) : undefined,
    f.invoiceNumber !== undefined ? eq(messages.invoiceNumber, f.invoiceNumber) : undefined,
    // created_at is the id's own timestamp, so time bounds are primary-key bounds.
    f.createdAfter ? gte(messages.id, uuidv7Floor(f.createdAfter.getTime() + 1)) : undefined,
    f.createdBefore ? lt(messages.id, uuidv7Floor(f.createdBefore.getTime())) : undefined,
  );

/** A page of messages in scan order, `limit + 1` rows (see Pageable in domain/paging.ts). */
export function pageMessages(ex: Executor, tenantId: string, filter: MessageQuery, page: PageRequest): Promise<MessageRow[]> {
  const { range, order, limit } = keyset(messages.id, page);
  const scan = (f: MessageQuery) =>
    ex
      .select()
      .from(messages)
      .where(and(messageFilter(tenantId, f), range))
      .orderBy(order)
      .limit(limit);
  // Several statuses: one (tenant_id, status, id) range per status, merged by id (Merge
  // Append), so a page reads at most limit + 1 index entries per status, either way. Given
  // `status IN (…)`, the planner may instead walk the primary key and filter, which reads
  // the tenant's whole history when those statuses are rare beyond the cursor (the last
  // page of a backlog, "queued before yesterday").
  const statuses = [...new Set(filter.status ?? [])];
  if (statuses.length < 2) return scan(filter);
  const [first, second, ...rest] = statuses.map((status) => scan({ ...filter, status: [status] }));
  return unionAll(first, second, ...rest)
    .orderBy(page.direction === 'backward' ? asc(messages.id) : desc(messages.id))
    .limit(limit);
}

/** Rows matching, counting no further than `atMost` (a bounded totalCount). */
export async function countMessages(ex: Executor, tenantId: string, filter: MessageQuery, atMost: number): Promise<number> {
  const matching = ex
    .select({ one: sql`1` })
    .from(messages)
    .where(messageFilter(tenantId, filter))
    .limit(atMost)
    .as('matching');
  const [row] = await ex.select({ n: count() }).from(matching);
  return row.n;
}

export async function findLog(ex: Executor, tenantId: string, id: string): Promise<DeliveryLogRow | undefined> {
  const [row] = await ex
    .select()
    .from(deliveryLogs)
    .where(and(eq(deliveryLogs.tenantId, tenantId), eq(deliveryLogs.id, id)));
  return row;
}

export async function insertLogs(ex: Executor, rows: NewDeliveryLogRow[]): Promise<DeliveryLogRow[]> {
  if (rows.length === 0) return [];
  return ex.insert(deliveryLogs).values(rows).returning();
}

export interface LogQuery {
  outcome?: 'SUCCESS' | 'FAILURE';
  channel?: ChannelValue;
  recipientId?: string;
  messageId?: string;
  orderId?: string;
}

const logFilter = (tenantId: string, f: LogQuery) =>
  and(
    eq(deliveryLogs.tenantId, tenantId),
    f.outcome ? eq(deliveryLogs.outcome, f.outcome) : undefined,
    f.channel ? eq(deliveryLogs.channel, f.channel) : undefined,
    f.recipientId ? eq(deliveryLogs.recipientId, f.recipientId) : undefined,
    f.messageId ? eq(deliveryLogs.messageId, f.messageId) : undefined,
    f.orderId !== undefined ? eq(deliveryLogs.orderId, f.orderId) : undefined,
  );

/** A page of delivery logs in scan order, `limit + 1` rows (see Pageable in domain/paging.ts). */
export function pageLogs(ex: Executor, tenantId: string, filter: LogQuery, page: PageRequest): Promise<DeliveryLogRow[]> {
  const { range, order, limit } = keyset(deliveryLogs.id, page);
  return ex
    .select()
    .from(deliveryLogs)
    .where(and(logFilter(tenantId, filter), range))
    .orderBy(order)
    .limit(limit);
}

/** Rows matching, counting no further than `atMost` (a bounded totalCount). */
export async function countLogs(ex: Executor, tenantId: string, filter: LogQuery, atMost: number): Promise<number> {
  const matching = ex
    .select({ one: sql`1` })
    .from(deliveryLogs)
    .where(logFilter(tenantId, filter))
    .limit(atMost)
    .as('matching');
  const [row] = await ex.select({ n: count() }).from(matching);
  return row.n;
}

/** Logs of many messages, oldest first per message (for Message.logs). */
export function logsOfMessages(ex: Executor, tenantId: string, messageIds: readonly string[]): Promise<DeliveryLogRow[]> {
  return ex
    .select()
    .from(deliveryLogs)
    .where(and(eq(deliveryLogs.tenantId, tenantId), inArray(deliveryLogs.messageId, [...messageIds])))
    .orderBy(deliveryLogs.id);
}

/**
 * Messages waiting for a worker, for the queue-depth gauge: run at every /metrics scrape,
 * so its cost must follow the QUEUED messages, not every message ever sent. Counted per
 * tenant on (tenant_id, status, id): a count over status alone has no index to start from
 * and scans the whole table (measured in a soak: 108 ms at 240,000 messages, on parallel
 * workers taking both cores, and growing with the table; this form 8 ms with 2,000 QUEUED).
 */
export function waitingStatement(ex: Executor) {
  const queuedOfTenant = sql`(select count(*) from ${messages} where ${messages.tenantId} = ${tenants.id} and ${messages.status} = 'QUEUED')`;
  return ex.select({ n: sql<number>`coalesce(sum(${queuedOfTenant}), 0)::int` }).from(tenants);
}

/**
 * The gauge's count, in the caller's transaction (metrics.ts boundedRead). JIT off for it:
 * the planner's guess for a never-analyzed tenants table (960 rows) prices the per-tenant
 * counts past jit_above_cost, and compiling them took ~400 ms.
 */
export async function countWaiting(tx: Executor): Promise<number> {
  await tx.execute(sql`set local jit = off`);
  const [row] = await waitingStatement(tx);
  return Number(row.n);
}

/** Messages inserted as given (no job: the caller enqueues them in the same transaction). */
export async function insertMessages(ex: Executor, rows: readonly NewMessageRow[]): Promise<MessageRow[]> {
  if (rows.length === 0) return [];
  return ex
    .insert(messages)
    .values([...rows])
    .returning();
}

export function logsByIds(ex: Executor, tenantId: string, ids: readonly string[]): Promise<DeliveryLogRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return ex
    .select()
    .from(deliveryLogs)
    .where(and(eq(deliveryLogs.tenantId, tenantId), inArray(deliveryLogs.id, [...ids])));
}
