import type { Database } from '../../db/client.js';
import { invalid, notFound, refuse, UserErrorCode } from '../../domain/refusal.js';
import { fromGlobalId } from '../../lib/ids.js';
import * as gatewaysQ from '../gateways/gateways.queries.js';
import * as recipientsQ from '../recipients/recipients.queries.js';
import type { SubscribeInput, UnsubscribeInput } from './subscriptions.types.js';
import * as q from './subscriptions.queries.js';

export class SubscriptionsService {
  constructor(private readonly db: Database) {}

  async subscribe(tenantId: string, input: SubscribeInput): Promise<recipientsQ.RecipientRow> {
    const recipient = await this.recipient(tenantId, input.recipientId);
    let gateway: gatewaysQ.GatewayRow | undefined;
    if (input.gatewayId) {
      const ref = fromGlobalId(input.gatewayId, 'Gateway');
      gateway = ref ? await gatewaysQ.findGateway(this.db, tenantId, ref.uuid) : undefined;
      if (!gateway) throw notFound(['input', 'gatewayId'], `no gateway ${input.gatewayId}`);
      if (gateway.channel !== input.channel) {
        throw invalid(['input', 'gatewayId'], `gateway "${gateway.name}" carries ${gateway.channel}, not ${input.channel}`);
      }
      if (!gateway.enabled) throw invalid(['input', 'gatewayId'], `gateway "${gateway.name}" is disabled`);
    } else {
      gateway = await gatewaysQ.findDefaultGateway(this.db, tenantId, input.channel);
      if (!gateway || !gateway.enabled) {
        throw refuse(UserErrorCode.GATEWAY_NOT_CONFIGURED, `${input.channel} has no enabled default gateway; name one with gatewayId`, [
          'input',
          'channel',
        ]);
      }
    }
    // A gateway named pins the subscription to it; none: the channel's routing decides each send.
    await q.upsertSubscription(this.db, {
      tenantId,
      recipientId: recipient.id,
      channel: input.channel,
      gatewayId: gateway.id,
      pinned: Boolean(input.gatewayId),
    });
    return recipient;
  }

  async unsubscribe(tenantId: string, input: UnsubscribeInput): Promise<recipientsQ.RecipientRow> {
    const recipient = await this.recipient(tenantId, input.recipientId);
    const removed = await q.deleteSubscription(this.db, tenantId, recipient.id, input.channel);
    if (!removed) throw refuse(UserErrorCode.NOT_SUBSCRIBED, `the recipient is not subscribed to ${input.channel}`, ['input', 'channel']);
    return recipient;
  }

  private async recipient(tenantId: string, id: string): Promise<recipientsQ.RecipientRow> {
    const ref = fromGlobalId(id, 'Recipient');
    const row = ref ? await recipientsQ.findRecipient(this.db, tenantId, ref.uuid) : undefined;
    if (!row) throw notFound(['input', 'recipientId'], `no recipient ${id}`);
    return row;
  }
}
