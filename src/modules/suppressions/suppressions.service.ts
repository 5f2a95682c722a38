// Suppressions: destinations a tenant does not message, per channel and category. Entries
// come from the API, inbound STOPs (inbound.service.ts), providers' opt-outs, bounces and
// spam reports (receipts, the dispatcher) and the one-click unsubscribe URL every e-mail
// carries. Sends are checked when accepted (a single send is refused, a fan-out logs a
// FAILURE) and again by the worker just before the provider call, since an entry may be
// added while a message waits.
//
// An entry is found by a keyed hash of its normalized destination (lib/destination-keys.ts),
// so erasure can drop the plain address and the person is still never messaged again. One
// entry per tenant, channel and address: a second listing widens its categories and keeps
// the first source, reason and time (what the person first asked is the useful history).
// Every change that adds or removes one is told to event webhooks (SUPPRESSION_ADDED,
// SUPPRESSION_REMOVED) in its own transaction, its destination masked.
import type { Database, Executor } from '../../db/client.js';
import { ERASED } from '../../domain/erasure.js';
import {
  CHANNELS,
  type Channel,
  MESSAGE_CATEGORIES,
  type MessageCategory,
  type SuppressionSource,
  type WebhookEventType,
} from '../../domain/enums.js';
import { MAX_SUPPRESSION_REASON_LENGTH } from '../../domain/limits.js';
import type { Pageable } from '../../domain/paging.js';
import { notFound, Problems, refuse, UserErrorCode } from '../../domain/refusal.js';
import { checkCategories } from '../../domain/categories.js';
import type { WebhookQueue } from '../../dispatch/webhooks/jobs.js';
import type { DestinationKeys } from '../../lib/destination-keys.js';
import { fromGlobalId, uuidv7 } from '../../lib/ids.js';
import { naturalBatches } from '../../lib/batching.js';
import type { MessageRow } from '../messages/messages.queries.js';
import * as messagesQ from '../messages/messages.queries.js';
import { CONTACT_NAME, contactFor } from '../recipients/contact.js';
import * as recipientsQ from '../recipients/recipients.queries.js';
import type { RecipientRow } from '../recipients/recipients.queries.js';
import * as tenantsQ from '../tenants/tenants.queries.js';
import * as endpointsQ from '../webhooks/webhook-endpoints.queries.js';
import * as eventsQ from '../webhooks/webhook-events.queries.js';
import { renderSuppressionPayload } from '../webhooks/webhook-payload.js';
import { DESTINATION_RULE, destinationKey, normalizeDestination } from './destination.js';
import * as q from './suppressions.queries.js';

/** The path of the one-click unsubscribe URL, before its token. */
export const UNSUBSCRIBE_PATH = '/unsubscribe';

export interface AddSuppressionRequest {
  channel: Channel;
  recipientId?: string | null;
  destination?: string | null;
  categories?: readonly MessageCategory[] | null;
  reason?: string | null;
}

export interface SuppressionFilterRequest {
  channel?: Channel | null;
  recipientId?: string | null;
  source?: SuppressionSource | null;
}

/** One listing of a destination. */
export interface SuppressionEntry {
  tenantId: string;
  channel: Channel;
  /** Normalized; null when only its hash is known. */
  destination: string | null;
  /** The hash, when the destination is not known. */
  hash?: string;
  recipientId?: string | null;
  source: SuppressionSource;
  categories: readonly MessageCategory[];
  reason?: string | null;
}

/** What a suppressed send is refused with (the address itself is never said). */
export interface SuppressedSend {
  channel: Channel;
  category: MessageCategory;
}

export interface UnsubscribeSettings {
  /** PUBLIC_URL: the base of the one-click URL. */
  publicUrl: string;
  /** HERALD_UNSUBSCRIBE_MAILTO: the mailto: List-Unsubscribe address, if any. */
  mailto?: string;
}

/** How a one-click unsubscribe ended, for the page that answers it. */
export type UnsubscribeOutcome = 'unsubscribed' | 'invalid' | 'unknown';

/** Entries read per page when hashing again after a key rotation. */
const REHASH_PAGE = 1_000;

export interface RehashCounts {
  rehashed: number;
  current: number;
  /** Entries with no address left (erased): they match only under the key they were made with. */
  hashOnly: number;
}

/**
 * After HERALD_SECRET_KEY changes (npm run rotate-secrets): every entry that still holds
 * its address is hashed again under the current key, so dropping the previous key loses
 * none of them. An entry whose address was erased keeps only its hash and cannot be: it
 * matches while the key it was made under is current or previous (counted as hashOnly).
 */
export async function rehashSuppressions(db: Database, keys: DestinationKeys): Promise<RehashCounts> {
  const counts: RehashCounts = { rehashed: 0, current: 0, hashOnly: await q.countHashOnly(db) };
  let after: string | undefined;
  for (;;) {
    const page = await q.entriesWithAddress(db, after, REHASH_PAGE);
    for (const entry of page) {
      const hash = keys.hash(destinationKey(entry.channel, entry.destination!));
      if (hash === entry.destinationHash) counts.current++;
      // Gone meanwhile (removed, or merged into an entry listed again since): nothing to do.
      else if (await q.replaceHash(db, entry.id, entry.destinationHash, hash)) counts.rehashed++;
    }
    if (page.length < REHASH_PAGE) return counts;
    after = page[page.length - 1].id;
  }
}

/** One send's destination as the suppression list is asked about it. */
interface SendToCheck {
  tenantId: string;
  category: MessageCategory;
  channel: Channel;
  destination: string;
}

export class SuppressionsService {
  constructor(
    private readonly db: Database,
    private readonly keys: DestinationKeys,
    private readonly queue: WebhookQueue,
    private readonly unsubscribe: UnsubscribeSettings,
  ) {}

  /** addSuppression: a recipient's destination on the channel, or one given whole. */
  async add(tenantId: string, input: AddSuppressionRequest, now = new Date()): Promise<q.SuppressionRow> {
    const problems = new Problems();
    const { channel } = input;
    const byRecipient = input.recipientId !== undefined && input.recipientId !== null;
    const byDestination = input.destination !== undefined && input.destination !== null;
    if (byRecipient === byDestination) {
      const message = byRecipient ? 'give recipientId or destination, not both' : 'give recipientId or destination';
      problems.add(['input', 'recipientId'], message);
      problems.add(['input', 'destination'], message);
    }
    let destination: string | null = null;
    if (byDestination && !byRecipient) {
      destination = normalizeDestination(channel, input.destination!);
      if (!destination) problems.add(['input', 'destination'], `destination must be ${DESTINATION_RULE[channel]} for ${channel}`);
    }
    const categories = checkCategories(
      input.categories ?? MESSAGE_CATEGORIES,
      ['input', 'categories'],
      problems,
      'give at least one category, or none to list every category',
    );
    const reason = input.reason?.trim() || null;
    if (reason && reason.length > MAX_SUPPRESSION_REASON_LENGTH) {
      problems.add(['input', 'reason'], `reason must be at most ${MAX_SUPPRESSION_REASON_LENGTH} characters`);
    }
    problems.throwIfAny();

    let recipientId: string | null = null;
    if (byRecipient) {
      const ref = fromGlobalId(input.recipientId!, 'Recipient');
      const recipient = ref ? await recipientsQ.findRecipient(this.db, tenantId, ref.uuid) : undefined;
      if (!recipient) throw notFound(['input', 'recipientId'], `no recipient ${input.recipientId}`);
      const contact = contactFor(recipient, channel);
      if (!contact) {
        throw refuse(UserErrorCode.RECIPIENT_NOT_REACHABLE, `${recipient.displayName} has no ${CONTACT_NAME[channel]}`, [
          'input',
          'recipientId',
        ]);
      }
      destination = destinationKey(channel, contact);
      recipientId = recipient.id;
    }
    return this.db.transaction(async (tx) => {
      const entry = { tenantId, channel, destination, recipientId, source: 'API' as const, categories: categories!, reason };
      return (await this.suppress(tx, entry, now)) ?? (await this.findEntry(tx, tenantId, channel, destination!))!;
    });
  }

  /** removeSuppression: the entry gone; NOT_FOUND for anything not the tenant's. */
  async remove(tenantId: string, id: string, now = new Date()): Promise<string> {
    const ref = fromGlobalId(id, 'Suppression');
    const removed = ref
      ? await this.db.transaction(async (tx) => {
          const row = await q.deleteSuppression(tx, tenantId, ref.uuid);
          if (row) await this.tell(tx, 'SUPPRESSION_REMOVED', row, now);
          return row;
        })
      : undefined;
    if (!removed) throw notFound(['input', 'id'], `no suppression ${id}`);
    return removed.id;
  }

  async get(tenantId: string, id: string): Promise<q.SuppressionRow | undefined> {
    const ref = fromGlobalId(id, 'Suppression');
    return ref ? q.findSuppression(this.db, tenantId, ref.uuid) : undefined;
  }

  page(tenantId: string, filter: SuppressionFilterRequest | null | undefined): Pageable<q.SuppressionRow> {
    const query: q.SuppressionQuery = { channel: filter?.channel ?? undefined, source: filter?.source ?? undefined };
    // An id that names no recipient matches nothing (a filter is a question, not an error).
    const unknown = !!filter?.recipientId && !(query.recipientId = fromGlobalId(filter.recipientId, 'Recipient')?.uuid);
    return {
      rows: async (page) => (unknown ? [] : q.pageSuppressions(this.db, tenantId, query, page)),
      count: async (atMost) => (unknown ? 0 : q.countSuppressions(this.db, tenantId, query, atMost)),
    };
  }

  /**
   * Lists `entry` in the caller's transaction, with its SUPPRESSION_ADDED event when it
   * added something (a new entry, or categories, recipient or address the entry lacked);
   * undefined when the destination was listed already for all of it.
   */
  async suppress(ex: Executor, entry: SuppressionEntry, now = new Date()): Promise<q.SuppressionRow | undefined> {
    const hash = entry.destination !== null ? this.keys.hash(entry.destination) : entry.hash;
    if (!hash) throw new Error('a suppression needs its destination or its hash');
    // An entry stored under a previous key's hash is widened, not listed twice.
    const existing = entry.destination !== null ? await this.findEntry(ex, entry.tenantId, entry.channel, entry.destination) : undefined;
    const written = await q.upsertSuppression(ex, {
      id: uuidv7(now.getTime()),
      tenantId: entry.tenantId,
      channel: entry.channel,
      destination: entry.destination,
      destinationHash: existing?.destinationHash ?? hash,
      recipientId: entry.recipientId ?? null,
      source: entry.source,
      categories: [...entry.categories],
      reason: entry.reason?.slice(0, MAX_SUPPRESSION_REASON_LENGTH) ?? null,
      createdAt: now,
    });
    if (!written) return undefined;
    await this.tell(ex, 'SUPPRESSION_ADDED', written.row, now);
    return written.row;
  }

  /** Removes a destination's entries from `source` (START after STOP), each with its SUPPRESSION_REMOVED event. */
  async unsuppress(
    ex: Executor,
    tenantId: string,
    channel: Channel,
    destination: string,
    source: SuppressionSource,
    now = new Date(),
  ): Promise<q.SuppressionRow[]> {
    const removed = await q.deleteBySource(ex, tenantId, channel, this.keys.hashes(destination), source);
    for (const row of removed) await this.tell(ex, 'SUPPRESSION_REMOVED', row, now);
    return removed;
  }

  private findEntry(ex: Executor, tenantId: string, channel: Channel, destination: string): Promise<q.SuppressionRow | undefined> {
    return q.findByHash(ex, tenantId, channel, this.keys.hashes(destination));
  }

  /**
   * Refuses (RECIPIENT_SUPPRESSED on `field`) a single send to `destination` when it is
   * listed for the send's category; the sends of the moment check together (listedNow).
   */
  async refuseIfSuppressed(tenantId: string, send: SuppressedSend, destination: string, field: string[]): Promise<void> {
    if (await this.listedNow({ tenantId, category: send.category, channel: send.channel, destination }))
      throw suppressedRefusal(send, field);
  }

  /**
   * Which of these destinations (stored ones: a recipient's, a message's) are listed for
   * `category`, in one statement: answers them as `channel:destination`. A fan-out of
   * thousands reads once.
   */
  async suppressedOf(
    tenantId: string,
    pairs: readonly { channel: Channel; destination: string }[],
    category: MessageCategory,
    ex: Executor = this.db,
  ): Promise<Set<string>> {
    const hashed = pairs
      .filter((p) => p.destination !== ERASED)
      .flatMap((p) => this.keys.hashes(destinationKey(p.channel, p.destination)).map((hash) => ({ ...p, hash })));
    const found = await q.suppressedAmong(ex, tenantId, hashed, category);
    return new Set(hashed.filter((p) => found.has(`${p.channel}:${p.hash}`)).map((p) => `${p.channel}:${p.destination}`));
  }

  /** The worker's check just before the provider call: is the message's destination listed for its category now? */
  isSuppressed(message: MessageRow): Promise<boolean> {
    return this.listedNow(message);
  }

  // Single sends check together, the accepts an API process serves at once as the sends a
  // worker has out: one indexed probe per tenant and category among them (usually one
  // statement for the lot) instead of one per send. An idle process checks at once.
  private readonly listedNow = naturalBatches(
    async (sends: SendToCheck[]) => {
      const groups = new Map<string, SendToCheck[]>();
      for (const send of sends) {
        const key = `${send.tenantId}:${send.category}`;
        const group = groups.get(key);
        if (group) group.push(send);
        else groups.set(key, [send]);
      }
      const listed = new Set<SendToCheck>();
      for (const group of groups.values()) {
        const found = await this.suppressedOf(group[0].tenantId, group, group[0].category);
        for (const send of group) if (found.has(`${send.channel}:${send.destination}`)) listed.add(send);
      }
      return sends.map((send) => listed.has(send));
    },
    { maxInFlight: 1, maxWeight: 256 },
  );

  /**
   * The provider refused the message's destination as opted out (Twilio 21610), or
   * reported an unsubscribe, a spam report or a hard bounce (`source`): listed for every
   * category, since the provider drops whatever else is sent, in the caller's transaction.
   */
  async providerOptOut(
    ex: Executor,
    message: MessageRow,
    reason: string,
    now = new Date(),
    source: SuppressionSource = 'PROVIDER_OPT_OUT',
  ): Promise<void> {
    if (message.destination === ERASED) return;
    await this.suppress(
      ex,
      {
        tenantId: message.tenantId,
        channel: message.channel,
        destination: destinationKey(message.channel, message.destination),
        recipientId: message.recipientId,
        source,
        categories: MESSAGE_CATEGORIES,
        reason,
      },
      now,
    );
  }

  /** The List-Unsubscribe headers of an e-mail (RFC 2369, one-click per RFC 8058). */
  unsubscribeHeaders(message: Pick<MessageRow, 'id' | 'tenantId' | 'channel' | 'destination'>): Record<string, string> | undefined {
    if (message.channel !== 'EMAIL' || message.destination === ERASED) return undefined;
    const token = this.keys.unsubscribeToken({
      tenantId: message.tenantId,
      messageId: message.id,
      destinationHash: this.keys.hash(destinationKey('EMAIL', message.destination)),
    });
    const url = `${this.unsubscribe.publicUrl.replace(/\/+$/, '')}${UNSUBSCRIBE_PATH}/${token}`;
    const mailto = this.unsubscribe.mailto ? `, <mailto:${this.unsubscribe.mailto}?subject=unsubscribe>` : '';
    return { 'List-Unsubscribe': `<${url}>${mailto}`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' };
  }

  /** Whether `token` is one this Herald gave out (a GET shows the confirmation page only for those). */
  readToken(token: string): boolean {
    return this.keys.readUnsubscribeToken(token) !== undefined;
  }

  /**
   * The one-click POST: the token's address suppressed on EMAIL for its tenant, for the
   * tenant's unsubscribeSuppresses categories. The plain address is kept when the e-mail
   * the token came with still names it (it may have been purged or erased since).
   */
  async unsubscribeByToken(token: string, now = new Date()): Promise<UnsubscribeOutcome> {
    const claim = this.keys.readUnsubscribeToken(token);
    if (!claim) return 'invalid';
    const tenant = await tenantsQ.findTenant(this.db, claim.tenantId);
    if (!tenant) return 'unknown';
    const message = await messagesQ.findMessage(this.db, claim.tenantId, claim.messageId);
    const address = message?.channel === 'EMAIL' && message.destination !== ERASED ? destinationKey('EMAIL', message.destination) : null;
    const known = address !== null && this.keys.hashes(address).includes(claim.destinationHash);
    await this.db.transaction((tx) =>
      this.suppress(
        tx,
        {
          tenantId: tenant.id,
          channel: 'EMAIL',
          destination: known ? address : null,
          hash: claim.destinationHash,
          recipientId: known ? message!.recipientId : null,
          source: 'UNSUBSCRIBE_LINK',
          categories: tenant.unsubscribeSuppresses,
          reason: 'one-click unsubscribe (List-Unsubscribe)',
        },
        now,
      ),
    );
    return 'unsubscribed';
  }

  /**
   * Erasure: the recipient's entries, and those of each address it had, lose the plain
   * destination and the recipient; the hash stays, so the address is still never messaged.
   */
  async forgetPerson(ex: Executor, recipient: RecipientRow): Promise<number> {
    const addresses = CHANNELS.flatMap((channel) => {
      const contact = contactFor(recipient, channel);
      return contact ? [{ channel, hashes: this.keys.hashes(destinationKey(channel, contact)) }] : [];
    });
    return q.forgetPerson(ex, recipient.tenantId, recipient.id, addresses);
  }

  /** The event of a change, for the tenant's enabled endpoints subscribed to it (none: nothing is written). */
  private async tell(ex: Executor, type: WebhookEventType, row: q.SuppressionRow, now: Date): Promise<void> {
    const endpoints = (await endpointsQ.listEndpoints(ex, row.tenantId)).filter((e) => e.enabled && e.eventTypes.includes(type));
    if (endpoints.length === 0) return;
    const event = await eventsQ.insertEvent(ex, {
      id: uuidv7(now.getTime()),
      tenantId: row.tenantId,
      messageId: null,
      type,
      occurredAt: now,
      payload: renderSuppressionPayload(type, row, now),
    });
    await this.queue.enqueue(
      ex,
      endpoints.map((e) => ({ job: { eventId: event.id, endpointId: e.id, attempt: 1 }, failing: e.failingSince !== null })),
    );
  }
}

/** RECIPIENT_SUPPRESSED for a send, naming the channel and category, never the address. */
export function suppressedRefusal(send: SuppressedSend, field: string[]) {
  return refuse(
    UserErrorCode.RECIPIENT_SUPPRESSED,
    `the recipient's ${CONTACT_NAME[send.channel]} is on the suppression list for ${send.category} messages on ${send.channel}`,
    field,
  );
}
