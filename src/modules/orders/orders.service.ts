// Seed 002: an order-status change notifies the customer on every channel they
// subscribed to, each through its subscription's gateway. Every channel that cannot be
// served is written down as a FAILURE with the reason, in the same transaction as the
// messages and their jobs.
import type { DatabaseHandle } from '../../db/client.js';
import type { ChannelValue } from '../../db/schema/index.js';
import { UserErrorCode } from '../../graphql/enums.js';
import { invalid, refuse } from '../../graphql/user-errors.js';
import { naturalBatches } from '../../lib/batching.js';
import { fromGlobalId, timeOfUuidv7, uuidv7 } from '../../lib/ids.js';
import type { Metrics } from '../../metrics.js';
import { orderStatusEmail, orderStatusText } from '../../templates/index.js';
import * as messagesQ from '../messages/messages.queries.js';
import type { Outbox } from '../messages/messages.service.js';
import * as recipientsQ from '../recipients/recipients.queries.js';
import type { UpdateOrderStatusInput } from './orders.types.js';

/** Which contact field each channel needs, and how a missing one is explained. */
const CONTACT: Record<ChannelValue, { field: 'phone' | 'email' | 'whatsapp' | 'twitterHandle'; missing: string }> = {
  SMS: { field: 'phone', missing: 'subscribed to SMS but has no phone number' },
  EMAIL: { field: 'email', missing: 'subscribed to EMAIL but has no e-mail address' },
  WHATSAPP: { field: 'whatsapp', missing: 'subscribed to WHATSAPP but has no WhatsApp number' },
  TWITTER_DM: { field: 'twitterHandle', missing: 'subscribed to TWITTER_DM but has no X handle' },
};

export interface OrderNotification {
  messages: messagesQ.MessageRow[];
  failures: messagesQ.DeliveryLogRow[];
}

export class OrdersService {
  // Order updates arriving together read their customers in one statement.
  private readonly channelsOf: (key: { tenantId: string; id: string }) => Promise<recipientsQ.RecipientChannels | undefined>;

  constructor(
    prepared: DatabaseHandle['prepared'],
    private readonly outbox: Outbox,
    private readonly metrics: Metrics,
  ) {
    this.channelsOf = naturalBatches((keys: { tenantId: string; id: string }[]) => recipientsQ.findRecipientChannels(prepared, keys), { maxInFlight: 1, maxWeight: 500 });
  }

  async updateOrderStatus(tenantId: string, input: UpdateOrderStatusInput): Promise<OrderNotification> {
    const ref = fromGlobalId(input.customerId, 'Recipient');
    const found = ref ? await this.channelsOf({ tenantId, id: ref.uuid }) : undefined;
    const customer = found?.recipient;
    if (!customer) throw refuse(UserErrorCode.NOT_FOUND, `no customer ${input.customerId}`, ['input', 'customerId']);
    if (customer.kind !== 'CUSTOMER') {
      throw invalid(['input', 'customerId'], `order notifications go to customers; ${input.customerId} is a ${customer.kind}`);
    }
    const order = { orderId: input.orderId.trim(), status: input.status.trim(), note: input.note?.trim() || null };
    const subscriptions = found!.subscriptions;

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
    for (const subscription of subscriptions) {
      const channel = subscription.channel;
      const gateway = subscription.gateway;
      const destination = customer[CONTACT[channel].field];
      if (channel === 'TWITTER_DM') {
        failure(channel, subscription.gatewayId, 'order notifications are sent by SMS, e-mail and WhatsApp, not as X DMs');
      } else if (!destination) {
        failure(channel, subscription.gatewayId, `${customer.displayName} is ${CONTACT[channel].missing}`);
      } else if (!gateway || !gateway.enabled) {
        failure(channel, subscription.gatewayId, `the ${channel} gateway "${gateway?.name ?? 'unknown'}" is disabled`);
      } else {
        const id = uuidv7();
        const email = channel === 'EMAIL' ? orderStatusEmail(order, customer.displayName) : null;
        messages.push({
          id,
          tenantId,
          recipientId: customer.id,
          gatewayId: gateway.id,
          channel,
          status: 'QUEUED',
          body: email ? email.text : orderStatusText(order),
          subject: email?.subject ?? null,
          htmlBody: email?.html ?? null,
          destination,
          orderId: order.orderId,
          orderStatus: order.status,
          createdAt: timeOfUuidv7(id),
        });
      }
    }

    const written = await this.outbox.write({ messages, logs: failures });
    for (const m of written.messages) this.metrics.messages.inc({ channel: m.channel, status: 'QUEUED' });
    return { messages: written.messages, failures: written.logs };
  }
}
