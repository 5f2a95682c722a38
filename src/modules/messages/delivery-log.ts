import { ERASED } from '../../domain/erasure.js';
import { uuidv7 } from '../../lib/ids.js';
import type { MessageRow, NewDeliveryLogRow } from './messages.queries.js';

/**
 * A DeliveryLog entry about `message`: its tenant, recipient, gateway, channel, order and
 * current attempt, with what `entry` says (and overrides). A failure of an erased message
 * (its send was out when its recipient was erased) is logged without its reason: a
 * provider's may name the person.
 */
export function deliveryLogOf(
  message: MessageRow,
  entry: Pick<NewDeliveryLogRow, 'outcome' | 'reason'> & Partial<NewDeliveryLogRow>,
): NewDeliveryLogRow {
  const erased = message.destination === ERASED && entry.outcome === 'FAILURE' && entry.reason ? { reason: ERASED } : {};
  return {
    id: uuidv7(),
    tenantId: message.tenantId,
    messageId: message.id,
    recipientId: message.recipientId,
    gatewayId: message.gatewayId,
    channel: message.channel,
    attempt: message.attempts,
    orderId: message.orderId,
    orderStatus: message.orderStatus,
    ...entry,
    ...erased,
  };
}
