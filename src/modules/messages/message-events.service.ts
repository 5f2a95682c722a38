// Status changes as subscribers see them: which events a subscriber gets, what it is sent
// first (the watched message as it is now), and what it is sent after this process's
// listener was down (notifications sent meanwhile are lost).
import type { Database } from '../../db/client.js';
import { notFound } from '../../domain/refusal.js';
import { fromGlobalId } from '../../lib/ids.js';
import type { CatchUp, StatusEvent, StatusHub } from '../../realtime/status-hub.js';
import { findRecipient } from '../recipients/recipients.queries.js';
import { currentStatusOf, newestOfRecipient } from './message-events.queries.js';
import * as q from './messages.queries.js';

// After a gap, a recipient's subscriber is sent the current status of those of the
// recipient's newest messages that changed since the gap began. Bounded: a change to an
// older message during the gap is not replayed. updated_at is stamped by the database
// (whose clock may differ from this process's), hence the margin.
const CATCH_UP_MESSAGES = 100;
const CLOCK_MARGIN_MS = 5_000;

export class MessageEventsService {
  constructor(
    private readonly db: Database,
    private readonly hub: StatusHub,
  ) {}

  /**
   * The status changes of one message (its current status first), of every message to
   * one recipient from now on, or of one message of one recipient (API ids). Refuses an
   * id that names nothing of this tenant's, or a message of another recipient.
   */
  async watch(
    tenantId: string,
    ids: { messageId?: string | null; recipientId?: string | null },
  ): Promise<AsyncIterableIterator<StatusEvent>> {
    const message = ids.messageId ? fromGlobalId(ids.messageId, 'Message')?.uuid : undefined;
    const recipient = ids.recipientId ? fromGlobalId(ids.recipientId, 'Recipient')?.uuid : undefined;
    if (ids.recipientId && !(recipient && (await findRecipient(this.db, tenantId, recipient)))) {
      throw notFound(['recipientId'], `No recipient with id ${ids.recipientId}`);
    }
    if (ids.messageId && !message) throw notFound(['messageId'], `No message with id ${ids.messageId}`);

    const filter = (e: StatusEvent) =>
      e.tenantId === tenantId && (!message || e.id === message) && (!recipient || e.recipientId === recipient);
    if (message) {
      const current = async () => {
        const row = await currentStatusOf(this.db, tenantId, message);
        if (!row) throw notFound(['messageId'], `No message with id ${ids.messageId}`);
        if (recipient && row.recipientId !== recipient) {
          throw notFound(['messageId'], `Message ${ids.messageId} is not to recipient ${ids.recipientId}`);
        }
        return [row];
      };
      // After a gap, the message as it is then: the same read.
      return this.hub.subscribe(filter, { current, catchUp: current });
    }
    const catchUp: CatchUp = async (since) => {
      const after = since.getTime() - CLOCK_MARGIN_MS;
      const rows = await newestOfRecipient(this.db, tenantId, recipient!, CATCH_UP_MESSAGES);
      return rows.filter((r) => r.updatedAt.getTime() >= after).sort((a, b) => a.at.localeCompare(b.at));
    };
    return this.hub.subscribe(filter, { catchUp });
  }

  /** The message an event is about, as it is now (undefined when it is gone). */
  messageOf(tenantId: string, event: StatusEvent): Promise<q.MessageRow | undefined> {
    return q.findMessage(this.db, tenantId, event.id);
  }
}
