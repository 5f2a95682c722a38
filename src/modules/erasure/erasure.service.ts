// Erasure (right to erasure): a recipient keeps its id and kind, so messages and counts
// still add up, and loses everything that identifies the person, wherever Herald keeps it:
// its addresses, name and subscriptions; its messages' texts and destinations; what
// delivery logs, webhook events and endpoints' answers say of them. Messages not sent yet
// are cancelled, so nothing more reaches the person.
//
// The work is cut into short transactions: the recipient's addresses first (from that
// commit on, a send to it is refused), then its messages a batch at a time by id, then the
// logs that name no message, then its name. Each step writes only what is not erased yet,
// so a run cut short is finished by running it again, and running it again after it
// finished changes nothing. What names the person is found by the words they were known
// by: a message's own destination (the address it went to), and the name, which goes last
// because the logs that name no message (refusals: "Ada has no X handle") are found by it.
//
// Suppressions are the exception that keeps something: an entry of the recipient, or of one
// of its addresses, loses its plain address and its link to the recipient, but its keyed
// hash stays, so the address is still never messaged (a new recipient with the same number
// is refused). Always: a person who asked to be erased did not ask to be texted again.
import type { Database, Executor } from '../../db/client.js';
import { notFound } from '../../domain/refusal.js';
import { fromGlobalId } from '../../lib/ids.js';
import type { Metrics } from '../../metrics.js';
import * as messagesQ from '../messages/messages.queries.js';
import type { RecipientRow } from '../recipients/recipients.queries.js';
import * as q from './erasure.queries.js';
import { erasedEvent, erasedMessage, messageTerms, scrubber, termsOf } from './scrub.js';

/** Messages per transaction: a few milliseconds of row locks each. */
export const ERASE_BATCH = 500;

/** What an erasure changed (ids and counts only: this is what gets logged). */
export interface ErasureCounts {
  /** The recipient's database id. */
  recipientId: string;
  /** Messages whose text, destination or error changed (a second erasure counts only what it changed). */
  messagesErased: number;
  /** Of those, SCHEDULED or QUEUED ones cancelled. */
  messagesCancelled: number;
  deliveryLogs: number;
  webhookEvents: number;
  webhookDeliveries: number;
  /** Suppression entries that lost their plain address (their hash still applies). */
  suppressions: number;
}

/** What erasure asks of the suppression list (SuppressionsService). */
export interface SuppressionEraser {
  forgetPerson(ex: Executor, recipient: RecipientRow): Promise<number>;
}

export class ErasureService {
  constructor(
    private readonly db: Database,
    private readonly metrics: Metrics,
    private readonly suppressions: SuppressionEraser,
    private readonly batchSize = ERASE_BATCH,
  ) {}

  /** Erases the recipient `id` (an API id) of the tenant; NOT_FOUND on ["input", "id"] for anything else. */
  async eraseRecipient(tenantId: string, id: string): Promise<ErasureCounts> {
    const ref = fromGlobalId(id, 'Recipient');
    if (!ref) throw notFound(['input', 'id'], `no recipient ${id}`);
    let suppressions = 0;
    const identity = await this.db.transaction(async (tx) => {
      const row = await q.lockRecipient(tx, tenantId, ref.uuid);
      if (!row) return row;
      // Before the addresses go: entries are found by them as well as by the recipient.
      suppressions = await this.suppressions.forgetPerson(tx, row);
      await q.clearContacts(tx, tenantId, row.id);
      return row;
    });
    if (!identity) throw notFound(['input', 'id'], `no recipient ${id}`);

    const counts: ErasureCounts = {
      recipientId: identity.id,
      messagesErased: 0,
      messagesCancelled: 0,
      deliveryLogs: 0,
      webhookEvents: 0,
      webhookDeliveries: 0,
      suppressions,
    };
    const terms = termsOf(identity);
    let after: string | undefined;
    for (;;) {
      const taken = await this.db.transaction((tx) => this.eraseMessages(tx, tenantId, identity.id, terms, after, counts));
      if (taken.length < this.batchSize) break;
      after = taken[taken.length - 1];
    }

    const scrub = scrubber(terms);
    after = undefined;
    for (;;) {
      const logs = await q.looseReasonsOf(this.db, tenantId, identity.id, after, this.batchSize);
      const reasons = logs.flatMap((log) => {
        const reason = log.reason === null ? null : changed(log.reason, scrub);
        return reason === null ? [] : [{ id: log.id, reason }];
      });
      await q.writeReasons(this.db, reasons);
      counts.deliveryLogs += reasons.length;
      if (logs.length < this.batchSize) break;
      after = logs[logs.length - 1].id;
    }

    await q.eraseDisplayName(this.db, tenantId, identity.id);
    return counts;
  }

  /**
   * One batch of the recipient's messages, with their logs, events and endpoints' answers.
   * The texts are erased before the pending messages are cancelled, so the event the
   * cancellation writes already carries the erased values. A message SENDING is erased but
   * not cancelled (its provider call is out): its outcome is recorded when it comes, with
   * no text (messages.queries transition, delivery-log), and it is never sent again
   * (dispatcher). Returns the ids taken.
   */
  private async eraseMessages(
    tx: Executor,
    tenantId: string,
    recipientId: string,
    terms: readonly string[],
    after: string | undefined,
    counts: ErasureCounts,
  ): Promise<string[]> {
    const rows = await q.lockMessagesOf(tx, tenantId, recipientId, after, this.batchSize);
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const scrubs = new Map(rows.map((r) => [r.id, scrubber(messageTerms(terms, r.channel, r.destination))]));
    // Every row read below names one of this batch's messages.
    const scrubOf = (messageId: string | null) => scrubs.get(messageId!)!;
    const changedText = (text: string | null, messageId: string | null) => (text === null ? null : changed(text, scrubOf(messageId)));

    const erased = rows.flatMap((row) => {
      const text = erasedMessage(row, scrubOf(row.id));
      return text ? [{ id: row.id, subject: text.subject, errorMessage: text.errorMessage }] : [];
    });
    await q.writeErasedMessages(tx, erased);
    const touched = new Set(erased.map((e) => e.id));
    for (const row of rows) {
      if (row.status !== 'SCHEDULED' && row.status !== 'QUEUED') continue;
      const cancelled = await messagesQ.transition(tx, row.id, { status: 'CANCELLED' }, { tenantId });
      if (!cancelled) continue;
      touched.add(row.id);
      counts.messagesCancelled += 1;
      this.metrics.messages.inc({ channel: cancelled.channel, status: 'CANCELLED' });
    }
    counts.messagesErased += touched.size;

    const reasons = (await q.reasonsOfMessages(tx, ids)).flatMap((log) => {
      const reason = changedText(log.reason, log.messageId);
      return reason === null ? [] : [{ id: log.id, reason }];
    });
    await q.writeReasons(tx, reasons);
    counts.deliveryLogs += reasons.length;

    const events = (await q.lockEventsOfMessages(tx, tenantId, ids)).flatMap((event) => {
      const text = erasedEvent(event, scrubOf(event.messageId));
      return text ? [{ id: event.id, ...text }] : [];
    });
    await q.writeEvents(tx, events);
    counts.webhookEvents += events.length;

    const excerpts = (await q.excerptsOfMessages(tx, tenantId, ids)).flatMap((delivery) => {
      const responseExcerpt = changedText(delivery.responseExcerpt, delivery.messageId);
      return responseExcerpt === null ? [] : [{ id: delivery.id, responseExcerpt }];
    });
    await q.writeExcerpts(tx, excerpts);
    counts.webhookDeliveries += excerpts.length;
    return ids;
  }
}

/** The text scrubbed, or null when scrubbing leaves it as it is. */
function changed(text: string, scrub: (text: string) => string): string | null {
  const scrubbed = scrub(text);
  return scrubbed === text ? null : scrubbed;
}
