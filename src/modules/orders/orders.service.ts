// Seed 002: an order-status change notifies the customer on every channel they
// subscribed to, each through its subscription's gateway. Every channel that cannot be
// served is written down as a FAILURE with the reason, in the same transaction as the
// messages and their jobs. With an idempotency key, a repeat of the call answers with
// what the first one wrote and notifies no one again.
import type { Database } from '../../db/client.js';
import type { ChannelValue } from '../../db/schema/index.js';
import { IDEMPOTENCY_WINDOW_HOURS, IDEMPOTENCY_WINDOW_MS } from '../../domain/limits.js';
import { idempotencyConflict, invalid, Refusal, refuse, UserErrorCode } from '../../domain/refusal.js';
import { naturalBatches } from '../../lib/batching.js';
import { fromGlobalId, timeOfUuidv7, toGlobalId, uuidv7 } from '../../lib/ids.js';
import type { Metrics } from '../../metrics.js';
import type { BudgetsService } from '../budgets/budgets.service.js';
import type { ConsentService } from '../consent/consent.service.js';
import type { SuppressionsService } from '../suppressions/suppressions.service.js';
import { orderStatusScope } from '../../templates/built-in.js';
import * as idempotencyQ from '../idempotency/idempotency.queries.js';
import * as messagesQ from '../messages/messages.queries.js';
import type { Outbox } from '../../dispatch/outbox.js';
import { requestHash } from '../messages/messages.service.js';
import { countSegments, segmentFigures } from '../messages/segments.js';
import * as recipientsQ from '../recipients/recipients.queries.js';
import { CONTACT_NAME, contactFor } from '../recipients/contact.js';
import { type Rendered, renderText } from '../templates/render.js';
import type { TemplatesService } from '../templates/templates.service.js';
import type { UpdateOrderStatusInput } from './orders.types.js';

/** The operation name idempotency keys of order updates are kept under. */
const OPERATION = 'updateOrderStatus';

export interface OrderNotification {
  messages: messagesQ.MessageRow[];
  failures: messagesQ.DeliveryLogRow[];
  /** The first call's rows, answered again for its idempotency key: nothing was written. */
  replayed: boolean;
}

export class OrdersService {
  // Order updates arriving together read their customers in one statement.
  private readonly channelsOf: (key: { tenantId: string; id: string }) => Promise<recipientsQ.RecipientChannels | undefined>;

  constructor(
    private readonly db: Database,
    private readonly outbox: Outbox,
    private readonly metrics: Metrics,
    private readonly budgets: BudgetsService,
    private readonly templates: TemplatesService,
    private readonly consent: ConsentService,
    private readonly suppressions: SuppressionsService,
  ) {
    this.channelsOf = naturalBatches((keys: { tenantId: string; id: string }[]) => recipientsQ.findRecipientChannels(db, keys), {
      maxInFlight: 1,
      maxWeight: 500,
    });
  }

  async updateOrderStatus(tenantId: string, input: UpdateOrderStatusInput, now = new Date()): Promise<OrderNotification> {
    const ref = fromGlobalId(input.customerId, 'Recipient');
    const found = ref ? await this.channelsOf({ tenantId, id: ref.uuid }) : undefined;
    const customer = found?.recipient;
    if (!customer) throw refuse(UserErrorCode.NOT_FOUND, `no customer ${input.customerId}`, ['input', 'customerId']);
    if (customer.kind !== 'CUSTOMER') {
      throw invalid(['input', 'customerId'], `order notifications go to customers; ${input.customerId} is a ${customer.kind}`);
    }
    const order = { orderId: input.orderId.trim(), status: input.status.trim(), note: input.note?.trim() || null };
    const subscriptions = found.subscriptions;

    const messages: messagesQ.NewMessageRow[] = [];
    const failures: messagesQ.NewDeliveryLogRow[] = [];
    const failure = (channel: ChannelValue | null, gatewayId: string | null, reason: string) =>
      failures.push({
        id: uuidv7(),
        tenantId,
        recipientId: customer.id,
        gatewayId,
        channel,
        outcome: 'FAILURE',
        reason,
        orderId: order.orderId,
        orderStatus: order.status,
      });

    if (subscriptions.length === 0) failure(null, null, `${customer.displayName} is not subscribed to any channel`);
    const [builtIn, quietHours] = await Promise.all([this.templates.builtIns(tenantId), this.consent.quietHours(tenantId)]);
    const scope = orderStatusScope(order, customer.displayName);
    for (const subscription of subscriptions) {
      const channel = subscription.channel;
      const gateway = subscription.gateway;
      const destination = contactFor(customer, channel);
      if (channel === 'TWITTER_DM') {
        failure(channel, subscription.gatewayId, 'order notifications are sent by SMS, e-mail and WhatsApp, not as X DMs');
      } else if (!destination) {
        failure(channel, subscription.gatewayId, `${customer.displayName} is subscribed to ${channel} but has no ${CONTACT_NAME[channel]}`);
      } else if (!gateway || !gateway.enabled) {
        failure(channel, subscription.gatewayId, `the ${channel} gateway "${gateway?.name ?? 'unknown'}" is disabled`);
      } else {
        const template = builtIn('ORDER_STATUS', channel);
        let text: Rendered;
        try {
          text = renderText(channel, template.text, scope, template.tenantLocale);
        } catch (error) {
          // A tenant's edit of the template that this order cannot fill: that channel fails, the others go.
          if (!(error instanceof Refusal)) throw error;
          failure(channel, gateway.id, `the order-status template cannot be rendered: ${error.message}`);
          continue;
        }
        // Held only where the tenant's window on the channel lists TRANSACTIONAL.
        const scheduledAt = quietHours({ channel, category: 'TRANSACTIONAL', timeZone: customer.timeZone, sendAt: null }, now);
        const id = uuidv7();
        messages.push({
          id,
          tenantId,
          recipientId: customer.id,
          gatewayId: gateway.id,
          gatewayPinned: subscription.pinned,
          channel,
          status: scheduledAt ? 'SCHEDULED' : 'QUEUED',
          scheduledAt,
          body: text.body,
          subject: text.subject,
          htmlBody: text.htmlBody,
          ...segmentFigures(channel, text.body),
          destination,
          orderId: order.orderId,
          orderStatus: order.status,
          templateId: template.template?.id ?? null,
          templateVersion: template.template?.version ?? null,
          locale: text.locale,
          createdAt: timeOfUuidv7(id),
        });
      }
    }

    // Order updates are TRANSACTIONAL: a channel whose destination is listed for that is a
    // FAILURE like an unreachable one, in one read for all the channels.
    const suppressed = await this.suppressions.suppressedOf(tenantId, messages, 'TRANSACTIONAL');
    const sendable = messages.filter((m) => {
      if (!suppressed.has(`${m.channel}:${m.destination}`)) return true;
      failure(
        m.channel,
        m.gatewayId ?? null,
        `suppressed: ${customer.displayName}'s ${CONTACT_NAME[m.channel]} is on the suppression list for TRANSACTIONAL messages on ${m.channel}`,
      );
      return false;
    });

    // Every message this call queues spends the tenant's budget first; a replay gives it back.
    const spent = await this.budgets.spend(tenantId, sendable);
    let charged = false;
    try {
      const multipliers = new Map(subscriptions.flatMap((s) => (s.gateway ? [[s.gateway.id, s.gateway.priceMultiplier] as const] : [])));
      const notification = await this.write(tenantId, input, order, sendable, failures, multipliers, now);
      charged = !notification.replayed;
      return notification;
    } finally {
      if (!charged) await this.budgets.refund(spent);
    }
  }

  private async write(
    tenantId: string,
    input: UpdateOrderStatusInput,
    order: { orderId: string; status: string; note: string | null },
    messages: messagesQ.NewMessageRow[],
    failures: messagesQ.NewDeliveryLogRow[],
    multipliers: ReadonlyMap<string, number>,
    now: Date,
  ): Promise<OrderNotification> {
    if (input.idempotencyKey) {
      const key = { tenantId, operation: OPERATION, key: input.idempotencyKey };
      const hash = requestHash({ kind: 'order-status', customerId: input.customerId, ...order });
      const notification = await this.writeOnce(key, hash, messages, failures, now);
      if (!notification.replayed) this.countAccepted(notification.messages, multipliers);
      return notification;
    }
    const written = await this.outbox.write({ messages, logs: failures });
    this.countAccepted(written.messages, multipliers);
    return { messages: written.messages, failures: written.logs, replayed: false };
  }

  /**
   * The write of a call with an idempotency key, in one transaction with the key's row
   * (so a key is never stored without what it names, nor rows without their key), or the
   * rows the key's first call wrote. Not the shared accept statement: a repeat arriving
   * while the first call is still writing must wait for it and answer with its rows, which
   * the key row's insert lock gives (see idempotencyQ.takeKey).
   */
  private async writeOnce(
    key: idempotencyQ.KeyRef,
    hash: string,
    messages: messagesQ.NewMessageRow[],
    failures: messagesQ.NewDeliveryLogRow[],
    now: Date,
  ): Promise<OrderNotification> {
    const messageIds = messages.map((m) => m.id);
    const logIds = failures.map((f) => f.id);
    for (let round = 0; round < 2; round++) {
      const notification = await this.db.transaction(async (tx): Promise<OrderNotification | undefined> => {
        await idempotencyQ.releaseExpiredKey(tx, key, new Date(now.getTime() - IDEMPOTENCY_WINDOW_MS));
        const taken = await idempotencyQ.takeKey(tx, { ...key, requestHash: hash, messageIds, logIds, createdAt: now });
        if (taken) {
          const written = await messagesQ.insertMessages(tx, messages);
          const logs = await messagesQ.insertLogs(tx, failures);
          await this.outbox.enqueue(
            tx,
            written.map((m) => ({ messageId: m.id, startAfter: m.scheduledAt ?? undefined })),
          );
          return { messages: inOrder(messageIds, written), failures: inOrder(logIds, logs), replayed: false };
        }
        const held = await idempotencyQ.findKey(tx, key);
        if (!held) return undefined; // released by a call that found it expired: take it again
        if (held.requestHash !== hash) {
          throw idempotencyConflict(
            `this idempotencyKey was used within ${IDEMPOTENCY_WINDOW_HOURS} h for a different order update`,
            firstMadeBy(held),
          );
        }
        const firstMessages = held.messageIds.length ? await messagesQ.messagesByIds(tx, key.tenantId, held.messageIds) : [];
        const firstLogs = await messagesQ.logsByIds(tx, key.tenantId, held.logIds);
        return { messages: inOrder(held.messageIds, firstMessages), failures: inOrder(held.logIds, firstLogs), replayed: true };
      });
      if (notification) return notification;
    }
    throw new Error('idempotency key kept changing hands');
  }

  private countAccepted(messages: readonly messagesQ.MessageRow[], multipliers: ReadonlyMap<string, number>): void {
    for (const m of messages) this.metrics.messages.inc({ channel: m.channel, status: m.status });
    countSegments(this.metrics, messages, (m) => multipliers.get(m.gatewayId ?? '') ?? 1);
  }
}

/** The API id a conflict names: the first call's first message, else (it queued none) its first failure. */
function firstMadeBy(held: { messageIds: string[]; logIds: string[] }): string | null {
  if (held.messageIds.length > 0) return toGlobalId('Message', held.messageIds[0]);
  return held.logIds.length > 0 ? toGlobalId('DeliveryLog', held.logIds[0]) : null;
}

/** `rows` in the order of `ids` (the first answer's order), leaving out ids not found. */
function inOrder<T extends { id: string }>(ids: readonly string[], rows: readonly T[]): T[] {
  const byId = new Map(rows.map((r) => [r.id, r]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}
