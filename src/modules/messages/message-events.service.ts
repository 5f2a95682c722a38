// Status changes as subscribers see them: which events a subscriber gets, and what it is
// sent first after this process's listener was down (notifications sent meanwhile are lost).
import type { Database } from '../../db/client.js';
import { fromGlobalId } from '../../lib/ids.js';
import type { CatchUp, StatusEvent, StatusHub } from '../../realtime/status-hub.js';
import { currentStatusOf, newestOfRecipient } from './message-events.queries.js';
import * as q from './messages.queries.js';

// After a gap, a recipient's subscriber is sent the current status of those of the
// recipient's newest messages that changed since the gap began. Bounded: a change to an
// older message during the gap is not replayed. updated_at is written by every process's
// own clock, hence the margin.
const CATCH_UP_MESSAGES = 100;
const CLOCK_MARGIN_MS = 5_000;

export class MessageEventsService {
  constructor(
    private readonly db: Database,
    private readonly hub: StatusHub,
  ) {}

  /**
   * The status changes of one message, of every message to one recipient, or of one
   * message of one recipient (API ids). An id of another type or a malformed one matches
   * nothing: no events, not an error.
   */
  watch(tenantId: string, ids: { messageId?: string | null; recipientId?: string | null }): AsyncIterableIterator<StatusEvent> {
    const message = ids.messageId ? (fromGlobalId(ids.messageId, 'Message')?.uuid ?? 'none') : undefined;
    const recipient = ids.recipientId ? (fromGlobalId(ids.recipientId, 'Recipient')?.uuid ?? 'none') : undefined;
    // What the subscriber watches, as it is now: that message, or the recipient's recent changes.
    const catchUp: CatchUp = async (since) => {
      if (message) {
        const row = await currentStatusOf(this.db, tenantId, message);
        return row && (!recipient || row.recipientId === recipient) ? [row] : [];
      }
      const after = since.getTime() - CLOCK_MARGIN_MS;
      const rows = await newestOfRecipient(this.db, tenantId, recipient!, CATCH_UP_MESSAGES);
      return rows.filter((r) => r.updatedAt.getTime() >= after).sort((a, b) => a.updatedAt.getTime() - b.updatedAt.getTime());
    };
    return this.hub.subscribe(
      (e) => e.tenantId === tenantId && (!message || e.id === message) && (!recipient || e.recipientId === recipient),
      message === 'none' || recipient === 'none' ? undefined : catchUp,
    );
  }

  /** The message an event is about, as it is now (undefined when it is gone). */
  messageOf(tenantId: string, event: StatusEvent): Promise<q.MessageRow | undefined> {
    return q.findMessage(this.db, tenantId, event.id);
  }
}
