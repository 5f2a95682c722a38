import { and, asc, eq, gt, inArray, isNotNull, isNull, or, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { deliveryLogs, messages, outboundEvents, recipients, subscriptions, webhookDeliveries } from '../../db/schema/index.js';
import { ERASED } from '../../domain/erasure.js';
import type { MessageRow } from '../messages/messages.queries.js';
import type { RecipientRow } from '../recipients/recipients.queries.js';

/** The recipient as it is, locked for the transaction: a second erasure, or an update, waits for this one. */
export async function lockRecipient(tx: Executor, tenantId: string, id: string): Promise<RecipientRow | undefined> {
  const [row] = await tx
    .select()
    .from(recipients)
    .where(and(eq(recipients.tenantId, tenantId), eq(recipients.id, id)))
    .for('update');
  return row;
}

/** Every address of the recipient gone (if any is left), and its subscriptions: sends to it are refused from this commit on. */
export async function clearContacts(tx: Executor, tenantId: string, id: string): Promise<void> {
  await tx
    .update(recipients)
    // The time zone too: it says where the person lives.
    .set({
      phone: null,
      email: null,
      whatsapp: null,
      twitterHandle: null,
      twitterUserId: null,
      externalRef: null,
      timeZone: null,
      updatedAt: new Date(),
    })
    .where(
      and(
        eq(recipients.tenantId, tenantId),
        eq(recipients.id, id),
        or(
          isNotNull(recipients.phone),
          isNotNull(recipients.email),
          isNotNull(recipients.whatsapp),
          isNotNull(recipients.twitterHandle),
          isNotNull(recipients.twitterUserId),
          isNotNull(recipients.externalRef),
          isNotNull(recipients.timeZone),
        ),
      ),
    );
  await tx.delete(subscriptions).where(and(eq(subscriptions.tenantId, tenantId), eq(subscriptions.recipientId, id)));
}

/** The name goes last: until then an erasure run again still knows what to look for in the logs. */
export async function eraseDisplayName(ex: Executor, tenantId: string, id: string): Promise<void> {
  await ex
    .update(recipients)
    .set({ displayName: ERASED, updatedAt: new Date() })
    .where(and(eq(recipients.tenantId, tenantId), eq(recipients.id, id), sql`${recipients.displayName} <> ${ERASED}`));
}

/**
 * Up to `limit` of the recipient's messages after `afterId`, oldest first, locked for the
 * transaction: a worker's claim or status write of one of them waits for its commit (and
 * then finds it erased, or CANCELLED).
 */
export function lockMessagesOf(
  tx: Executor,
  tenantId: string,
  recipientId: string,
  afterId: string | undefined,
  limit: number,
): Promise<MessageRow[]> {
  return tx
    .select()
    .from(messages)
    .where(and(eq(messages.tenantId, tenantId), eq(messages.recipientId, recipientId), afterId ? gt(messages.id, afterId) : undefined))
    .orderBy(asc(messages.id))
    .limit(limit)
    .for('update');
}

export interface ErasedMessageRow {
  id: string;
  subject: string | null;
  errorMessage: string | null;
}

/**
 * Writes erased messages in one statement, their rows as one JSON parameter. updated_at is
 * left as it is: it is the time of the message's status (events, and the sweep of
 * orphaned sends, read it so), and erasing changes no status.
 */
export async function writeErasedMessages(tx: Executor, rows: readonly ErasedMessageRow[]): Promise<void> {
  if (rows.length === 0) return;
  const json = JSON.stringify(rows.map((r) => ({ id: r.id, subject: r.subject, error_message: r.errorMessage })));
  await tx.execute(sql`
    update messages m
       set body = ${ERASED}, subject = e.subject, html_body = null, destination = ${ERASED},
           error_message = e.error_message, fallback = null, request_hash = null
      from json_to_recordset(${json}::json) as e(id uuid, subject text, error_message text)
     where m.id = e.id`);
}

/** The delivery logs of these messages that say something. */
export function reasonsOfMessages(
  ex: Executor,
  messageIds: readonly string[],
): Promise<{ id: string; messageId: string | null; reason: string | null }[]> {
  return ex
    .select({ id: deliveryLogs.id, messageId: deliveryLogs.messageId, reason: deliveryLogs.reason })
    .from(deliveryLogs)
    .where(and(inArray(deliveryLogs.messageId, [...messageIds]), isNotNull(deliveryLogs.reason)));
}

/** Up to `limit` delivery logs of the recipient naming no message (refused at accept time), after `afterId`, oldest first. */
export function looseReasonsOf(
  ex: Executor,
  tenantId: string,
  recipientId: string,
  afterId: string | undefined,
  limit: number,
): Promise<{ id: string; reason: string | null }[]> {
  return ex
    .select({ id: deliveryLogs.id, reason: deliveryLogs.reason })
    .from(deliveryLogs)
    .where(
      and(
        eq(deliveryLogs.tenantId, tenantId),
        eq(deliveryLogs.recipientId, recipientId),
        isNull(deliveryLogs.messageId),
        afterId ? gt(deliveryLogs.id, afterId) : undefined,
      ),
    )
    .orderBy(asc(deliveryLogs.id))
    .limit(limit);
}

export async function writeReasons(ex: Executor, rows: readonly { id: string; reason: string }[]): Promise<void> {
  if (rows.length === 0) return;
  await ex.execute(sql`
    update delivery_logs l set reason = e.reason
      from json_to_recordset(${JSON.stringify(rows)}::json) as e(id uuid, reason text)
     where l.id = e.id`);
}

/**
 * The webhook events of these messages, locked for the transaction: the relay renders an
 * event it does not find locked (SKIP LOCKED), so it renders this one after the commit,
 * from the erased snapshot.
 */
export function lockEventsOfMessages(
  tx: Executor,
  tenantId: string,
  messageIds: readonly string[],
): Promise<{ id: string; messageId: string | null; snapshot: unknown; payload: string | null }[]> {
  return tx
    .select({
      id: outboundEvents.id,
      messageId: outboundEvents.messageId,
      snapshot: outboundEvents.snapshot,
      payload: outboundEvents.payload,
    })
    .from(outboundEvents)
    .where(and(inArray(outboundEvents.messageId, [...messageIds]), eq(outboundEvents.tenantId, tenantId)))
    .for('update');
}

export async function writeEvents(tx: Executor, rows: readonly { id: string; snapshot: unknown; payload: string | null }[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.execute(sql`
    update outbound_events o set snapshot = e.snapshot, payload = e.payload
      from json_to_recordset(${JSON.stringify(rows)}::json) as e(id uuid, snapshot jsonb, payload text)
     where o.id = e.id`);
}

/** The answers endpoints gave to the events of these messages (an endpoint may echo what it was sent). */
export function excerptsOfMessages(
  ex: Executor,
  tenantId: string,
  messageIds: readonly string[],
): Promise<{ id: string; messageId: string | null; responseExcerpt: string | null }[]> {
  return ex
    .select({
      id: webhookDeliveries.id,
      messageId: webhookDeliveries.messageId,
      responseExcerpt: webhookDeliveries.responseExcerpt,
    })
    .from(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.tenantId, tenantId),
        inArray(webhookDeliveries.messageId, [...messageIds]),
        isNotNull(webhookDeliveries.responseExcerpt),
      ),
    );
}

export async function writeExcerpts(ex: Executor, rows: readonly { id: string; responseExcerpt: string }[]): Promise<void> {
  if (rows.length === 0) return;
  await ex.execute(sql`
    update webhook_deliveries d set response_excerpt = e.response_excerpt
      from json_to_recordset(${JSON.stringify(rows.map((r) => ({ id: r.id, response_excerpt: r.responseExcerpt })))}::json)
        as e(id uuid, response_excerpt text)
     where d.id = e.id`);
}
