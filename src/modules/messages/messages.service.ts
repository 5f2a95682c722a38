// Messages: persist first, send from a worker. A message row and the job that sends it
// are written in one transaction; nothing here talks to a provider.
import { createHash } from 'node:crypto';
import type { Database } from '../../db/client.js';
import type { ChannelValue } from '../../db/schema/index.js';
import { MessageCategory } from '../../domain/enums.js';
import { IDEMPOTENCY_WINDOW_HOURS, IDEMPOTENCY_WINDOW_MS, MAX_SCHEDULE_AHEAD_DAYS } from '../../domain/limits.js';
import type { Pageable } from '../../domain/paging.js';
import { idempotencyConflict, Refusal, refuse, UserErrorCode, type UserErrorShape } from '../../domain/refusal.js';
import { naturalBatches } from '../../lib/batching.js';
import { fromGlobalId, timeOfUuidv7, toGlobalId, uuidv7 } from '../../lib/ids.js';
import type { Metrics } from '../../metrics.js';
import type { Outbox } from '../../dispatch/outbox.js';
import type { BudgetsService } from '../budgets/budgets.service.js';
import type { ConsentService } from '../consent/consent.service.js';
import type { SuppressionsService } from '../suppressions/suppressions.service.js';
import type { FallbackAsk } from '../fallback/fallback.js';
import type { FallbackService } from '../fallback/fallback.service.js';
import * as gatewaysQ from '../gateways/gateways.queries.js';
import * as recipientsQ from '../recipients/recipients.queries.js';
import type { DeliveryLogFilter, MessageFilter, SendSmsInput } from './messages.types.js';
import * as q from './messages.queries.js';
import { countSegments, segmentFigures } from './segments.js';

const MAX_SCHEDULE_AHEAD_MS = MAX_SCHEDULE_AHEAD_DAYS * 24 * 3600 * 1000;

export class MessagesService {
  constructor(
    private readonly db: Database,
    private readonly outbox: Outbox,
    private readonly metrics: Metrics,
    private readonly budgets: BudgetsService,
    private readonly fallbacks: FallbackService,
    private readonly consent: ConsentService,
    private readonly suppressions: SuppressionsService,
  ) {
    // Senders arriving together look their recipients up together.
    this.findRoute = naturalBatches((keys: recipientsQ.RouteKey[]) => recipientsQ.findRecipientRoutes(this.db, keys), {
      maxInFlight: 1,
      maxWeight: 500,
    });
  }

  private readonly findRoute: (key: recipientsQ.RouteKey) => Promise<recipientsQ.RouteRow | undefined>;

  /** sendSms: to a known CLIENT or STAFF only, never a raw number. */
  async sendSms(tenantId: string, input: SendSmsInput, now = new Date()): Promise<q.MessageRow> {
    const target = this.smsTarget(input);
    this.fallbacks.check('SMS', input);
    const [route, quietHours] = await Promise.all([this.route(tenantId, target.id, 'SMS'), this.consent.quietHours(tenantId)]);
    const recipient = route?.recipient;
    if (!recipient || recipient.kind !== target.kind) {
      throw refuse(UserErrorCode.NOT_FOUND, `no ${target.kind.toLowerCase()} ${target.id}`, target.field);
    }
    if (!recipient.phone) throw refuse(UserErrorCode.RECIPIENT_NOT_REACHABLE, `${recipient.displayName} has no phone number`, target.field);
    const gateway = route.gateway();

    const sendAt = scheduledTime(input.sendAt, now);
    const category = input.category ?? MessageCategory.TRANSACTIONAL;
    const scheduledAt = quietHours({ channel: 'SMS', category, urgent: input.urgent, timeZone: recipient.timeZone, sendAt }, now) ?? sendAt;
    await this.suppressions.refuseIfSuppressed(tenantId, { channel: 'SMS', category }, recipient.phone, target.field);
    const plan = this.fallbacks.planText(input, { subject: null, body: input.message, htmlBody: null, locale: null });
    const id = uuidv7();
    const row: q.NewMessageRow = {
      id,
      tenantId,
      recipientId: recipient.id,
      gatewayId: gateway.id,
      gatewayPinned: route.pinned,
      channel: 'SMS',
      category,
      status: scheduledAt ? 'SCHEDULED' : 'QUEUED',
      body: input.message,
      ...segmentFigures('SMS', input.message),
      destination: recipient.phone,
      scheduledAt,
      ...plan,
      idempotencyKey: input.idempotencyKey ?? null,
      requestHash: input.idempotencyKey
        ? requestHash({
            kind: 'sms',
            clientId: input.clientId ?? null,
            staffId: input.staffId ?? null,
            message: input.message,
            sendAt: sendAt?.toISOString() ?? null,
            ...fallbackOf(input),
            ...consentOf(input),
          })
        : null,
      createdAt: timeOfUuidv7(id),
    };
    return this.insertAndEnqueue(row, now, gateway);
  }

  private smsTarget(input: SendSmsInput): { id: string; kind: 'CLIENT' | 'STAFF'; field: string[] } {
    const hasClient = !!input.clientId;
    const hasStaff = !!input.staffId;
    if (hasClient === hasStaff) {
      const message = hasClient ? 'give clientId or staffId, not both' : 'give exactly one of clientId or staffId';
      const errors: UserErrorShape[] = [
        { field: ['input', 'clientId'], message, code: UserErrorCode.INVALID_INPUT },
        { field: ['input', 'staffId'], message, code: UserErrorCode.INVALID_INPUT },
      ];
      throw new Refusal(errors);
    }
    return hasClient
      ? { id: input.clientId!, kind: 'CLIENT', field: ['input', 'clientId'] }
      : { id: input.staffId!, kind: 'STAFF', field: ['input', 'staffId'] };
  }

  /**
   * The recipient behind an API id and, in the same round trip, the gateway a message to
   * it on `channel` takes: its subscription's, else the channel default. `gateway()`
   * refuses with GATEWAY_NOT_CONFIGURED when that gateway is missing or disabled, so
   * callers decide when that check comes among their own.
   */
  async route(tenantId: string, id: string, channel: ChannelValue) {
    const ref = fromGlobalId(id, 'Recipient');
    const row = ref ? await this.findRoute({ tenantId, id: ref.uuid, channel }) : undefined;
    if (!row) return undefined;
    return {
      recipient: row.recipient,
      pinned: row.pinned,
      gateway: () => usableGateway(channel, row.pinned, row.gateway ?? undefined),
    };
  }

  /** Routes (recipient + gateway on `channel`) of many recipients of the tenant at once, by database id; absent ids are not theirs. */
  async routesOf(tenantId: string, recipientIds: readonly string[], channel: ChannelValue): Promise<Map<string, recipientsQ.RouteRow>> {
    return recipientIds.length ? recipientsQ.findTenantRoutes(this.db, tenantId, recipientIds, channel) : new Map();
  }

  /**
   * Inserts the message and its job in one transaction, once the tenant's send budget
   * allowed it (OverBudget otherwise, and nothing is written). With an idempotency key the
   * unique index settles races: the loser gets the winner's message back, or a conflict
   * when its input differs; either way its budget is given back.
   */
  async insertAndEnqueue(row: q.NewMessageRow, now: Date, gateway: { priceMultiplier: number }): Promise<q.MessageRow> {
    const spent = await this.budgets.spend(row.tenantId, [row]);
    let written: q.MessageRow | undefined;
    try {
      written = await this.insertOnce(row, now);
      if (written.id === row.id) countSegments(this.metrics, [written], () => gateway.priceMultiplier);
      return written;
    } finally {
      if (written?.id !== row.id) await this.budgets.refund(spent);
    }
  }

  private async insertOnce(row: q.NewMessageRow, now: Date): Promise<q.MessageRow> {
    for (let round = 0; round < 2; round++) {
      const {
        messages: [inserted],
      } = await this.outbox.write({ messages: [row] });
      if (inserted) {
        this.metrics.messages.inc({ channel: row.channel, status: row.status });
        return inserted;
      }
      if (!row.idempotencyKey) throw new Error('a message without an idempotency key was not inserted');
      const existing = await q.findByIdempotencyKey(this.db, row.tenantId, row.idempotencyKey);
      if (!existing) continue; // released between our insert and read: try again
      if (now.getTime() - existing.createdAt.getTime() > IDEMPOTENCY_WINDOW_MS) {
        await q.releaseIdempotencyKey(this.db, existing.id);
        continue;
      }
      if (existing.requestHash !== row.requestHash) {
        throw idempotencyConflict(
          `this idempotencyKey was used within ${IDEMPOTENCY_WINDOW_HOURS} h for a different request`,
          toGlobalId('Message', existing.id),
        );
      }
      return existing;
    }
    throw new Error('idempotency key kept changing hands');
  }

  async cancel(tenantId: string, id: string): Promise<q.MessageRow> {
    const message = await this.mustFind(tenantId, id);
    const cancelled = await q.transition(this.db, message.id, { status: 'CANCELLED' }, { tenantId });
    if (!cancelled) {
      const now = await q.findMessage(this.db, tenantId, message.id);
      throw refuse(UserErrorCode.INVALID_STATE, `the message is ${now?.status}; only SCHEDULED or QUEUED messages can be cancelled`, [
        'input',
        'id',
      ]);
    }
    this.metrics.messages.inc({ channel: cancelled.channel, status: 'CANCELLED' });
    return cancelled;
  }

  async retry(tenantId: string, id: string): Promise<q.MessageRow> {
    const message = await this.mustFind(tenantId, id);
    const requeued = await this.db.transaction(async (tx) => {
      const row = await q.transition(
        tx,
        message.id,
        { status: 'QUEUED', errorCode: null, errorMessage: null },
        { only: ['FAILED'], tenantId },
      );
      if (row) await this.outbox.enqueue(tx, [{ messageId: row.id }]);
      return row;
    });
    if (!requeued) {
      throw refuse(UserErrorCode.INVALID_STATE, `the message is ${message.status}; only FAILED messages can be retried`, ['input', 'id']);
    }
    this.metrics.messages.inc({ channel: requeued.channel, status: 'QUEUED' });
    return requeued;
  }

  private async mustFind(tenantId: string, id: string): Promise<q.MessageRow> {
    const ref = fromGlobalId(id, 'Message');
    const row = ref ? await q.findMessage(this.db, tenantId, ref.uuid) : undefined;
    if (!row) throw refuse(UserErrorCode.NOT_FOUND, `no message ${id}`, ['input', 'id']);
    return row;
  }

  async get(tenantId: string, id: string): Promise<q.MessageRow | undefined> {
    const ref = fromGlobalId(id, 'Message');
    return ref ? q.findMessage(this.db, tenantId, ref.uuid) : undefined;
  }

  async getLog(tenantId: string, id: string): Promise<q.DeliveryLogRow | undefined> {
    const ref = fromGlobalId(id, 'DeliveryLog');
    return ref ? q.findLog(this.db, tenantId, ref.uuid) : undefined;
  }

  page(tenantId: string, filter: MessageFilter | null | undefined): Pageable<q.MessageRow> {
    const query: q.MessageQuery = {
      status: filter?.status ?? undefined,
      channel: filter?.channel ?? undefined,
      orderId: filter?.orderId ?? undefined,
      invoiceNumber: filter?.invoiceNumber ?? undefined,
      createdAfter: filter?.createdAfter ?? undefined,
      createdBefore: filter?.createdBefore ?? undefined,
    };
    // An id that names no recipient matches no message (not an error: the filter is a question).
    const unknownRecipient = !!filter?.recipientId && !(query.recipientId = fromGlobalId(filter.recipientId, 'Recipient')?.uuid);
    return {
      rows: async (page) => (unknownRecipient ? [] : q.pageMessages(this.db, tenantId, query, page)),
      count: async (atMost) => (unknownRecipient ? 0 : q.countMessages(this.db, tenantId, query, atMost)),
    };
  }

  logPage(tenantId: string, filter: DeliveryLogFilter | null | undefined): Pageable<q.DeliveryLogRow> {
    const query: q.LogQuery = {
      outcome: filter?.outcome ?? undefined,
      channel: filter?.channel ?? undefined,
      orderId: filter?.orderId ?? undefined,
    };
    let unknown = false;
    if (filter?.recipientId) unknown ||= !(query.recipientId = fromGlobalId(filter.recipientId, 'Recipient')?.uuid);
    if (filter?.messageId) unknown ||= !(query.messageId = fromGlobalId(filter.messageId, 'Message')?.uuid);
    return {
      rows: async (page) => (unknown ? [] : q.pageLogs(this.db, tenantId, query, page)),
      count: async (atMost) => (unknown ? 0 : q.countLogs(this.db, tenantId, query, atMost)),
    };
  }
}

/** The gateway when it exists and is enabled, else GATEWAY_NOT_CONFIGURED saying why. */
function usableGateway(channel: ChannelValue, subscribed: boolean, gateway: gatewaysQ.GatewayRow | undefined): gatewaysQ.GatewayRow {
  if (!gateway || !gateway.enabled) {
    const which = subscribed
      ? `the ${channel} gateway "${gateway?.name ?? '?'}" the recipient is subscribed through is disabled`
      : `${channel} has no enabled default gateway`;
    throw refuse(UserErrorCode.GATEWAY_NOT_CONFIGURED, which);
  }
  return gateway;
}

/** When a send asking for `sendAt` is due: null for now (omitted or past), refused beyond MAX_SCHEDULE_AHEAD_DAYS. */
export function scheduledTime(sendAt: Date | null | undefined, now: Date): Date | null {
  if (!sendAt || sendAt.getTime() <= now.getTime()) return null;
  if (sendAt.getTime() - now.getTime() > MAX_SCHEDULE_AHEAD_MS) {
    throw refuse(UserErrorCode.INVALID_INPUT, `sendAt must be at most ${MAX_SCHEDULE_AHEAD_DAYS} days ahead`, ['input', 'sendAt']);
  }
  return sendAt;
}

/** A send's fallback as part of its idempotent request; nothing when it has none, so requests without one hash as before. */
export function fallbackOf(input: FallbackAsk): Partial<Record<'fallback' | 'fallbackAfterSeconds', unknown>> {
  return input.fallback?.length ? { fallback: input.fallback, fallbackAfterSeconds: input.fallbackAfterSeconds ?? null } : {};
}

/**
 * A send's category and urgency as part of its idempotent request, only when given, so
 * requests without them hash as before. A category is kept whatever it is (omitted means the
 * template's); `urgent: false` asks for nothing more than omitting it does.
 */
export function consentOf(input: {
  category?: MessageCategory | null;
  urgent?: boolean | null;
}): Partial<Record<'category' | 'urgent', unknown>> {
  return { ...(input.category ? { category: input.category } : {}), ...(input.urgent ? { urgent: true } : {}) };
}

export function requestHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}
