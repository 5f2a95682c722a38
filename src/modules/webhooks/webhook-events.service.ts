// What a tenant sees of its event webhooks: each attempt to deliver each event, and two
// ways to send one again (the same event, or a test event). Events themselves are written
// by the database with each status change and relayed by the worker (dispatch/webhooks).
import type { Database } from '../../db/client.js';
import type { WebhookDeliveryOutcome } from '../../domain/enums.js';
import type { Pageable } from '../../domain/paging.js';
import { refuse, UserErrorCode } from '../../domain/refusal.js';
import type { WebhookQueue } from '../../dispatch/webhooks/jobs.js';
import { fromGlobalId, uuidv7 } from '../../lib/ids.js';
import * as endpointsQ from './webhook-endpoints.queries.js';
import * as q from './webhook-events.queries.js';
import { renderTestPayload } from './webhook-payload.js';

export interface DeliveryFilter {
  endpointId?: string | null;
  eventId?: string | null;
  messageId?: string | null;
  outcome?: WebhookDeliveryOutcome | null;
}

export class WebhookEventsService {
  constructor(
    private readonly db: Database,
    private readonly queue: WebhookQueue,
  ) {}

  /**
   * The tenant's delivery attempts, newest first. A filter id that is malformed, of another
   * type or of another tenant matches nothing (an empty page, as a filter on any list).
   */
  deliveries(tenantId: string, filter: DeliveryFilter = {}): Pageable<q.DeliveryRow> {
    const query: q.DeliveryQuery = { outcome: filter.outcome ?? undefined };
    const ids: [keyof q.DeliveryQuery, string | null | undefined, 'WebhookEndpoint' | 'WebhookEvent' | 'Message'][] = [
      ['endpointId', filter.endpointId, 'WebhookEndpoint'],
      ['eventId', filter.eventId, 'WebhookEvent'],
      ['messageId', filter.messageId, 'Message'],
    ];
    let impossible = false;
    for (const [key, id, type] of ids) {
      if (id === null || id === undefined) continue;
      const ref = fromGlobalId(id, type);
      if (ref) (query as Record<string, string>)[key] = ref.uuid;
      else impossible = true;
    }
    if (impossible) return { rows: async () => [], count: async () => 0 };
    return {
      rows: (page) => q.pageDeliveries(this.db, tenantId, query, page),
      count: (atMost) => q.countDeliveries(this.db, tenantId, query, atMost),
    };
  }

  async getEvent(tenantId: string, id: string): Promise<q.EventRow | undefined> {
    const ref = fromGlobalId(id, 'WebhookEvent');
    const row = ref ? await q.findEvent(this.db, tenantId, ref.uuid) : undefined;
    // An event the relay has not rendered yet is not shown: its payload is not written.
    return row?.payload === null ? undefined : row;
  }

  async getDelivery(tenantId: string, id: string): Promise<q.DeliveryRow | undefined> {
    const ref = fromGlobalId(id, 'WebhookDelivery');
    return ref ? q.findDelivery(this.db, tenantId, ref.uuid) : undefined;
  }

  /**
   * The event sent again, now, with the same webhook-id and body: to the endpoint named,
   * else to every endpoint it was sent to that is still enabled. Each starts a new run of
   * attempts (retried for 24 hours), numbered after the endpoint's earlier attempts.
   */
  async redeliver(tenantId: string, eventId: string, endpointId?: string | null): Promise<q.EventRow> {
    const event = await this.getEvent(tenantId, eventId);
    if (!event) throw refuse(UserErrorCode.NOT_FOUND, `no webhook event ${eventId}`, ['input', 'eventId']);
    // Each endpoint's last attempt at the event: whom it was sent to, and where numbering goes on.
    const attempts = new Map((await q.attemptsOfEvent(this.db, event.id)).map((a) => [a.endpointId, a.attempts]));
    let targets: endpointsQ.EndpointRow[];
    if (endpointId !== null && endpointId !== undefined) {
      targets = [await this.enabledEndpoint(tenantId, endpointId)];
    } else {
      targets = (await endpointsQ.listEndpoints(this.db, tenantId)).filter((e) => attempts.has(e.id) && e.enabled);
      if (targets.length === 0) {
        throw refuse(
          UserErrorCode.INVALID_STATE,
          'no enabled endpoint was sent this event: name one with endpointId, or enable the one it was sent to',
          ['input', 'eventId'],
        );
      }
    }
    await this.queue.enqueue(
      this.db,
      targets.map((endpoint) => ({ job: { eventId: event.id, endpointId: endpoint.id, attempt: (attempts.get(endpoint.id) ?? 0) + 1 } })),
    );
    return event;
  }

  /** A made-up event of the endpoint's first event type, sent to it alone (`"test": true` in the body). */
  async sendTest(tenantId: string, endpointId: string, now = new Date()): Promise<q.EventRow> {
    const endpoint = await this.enabledEndpoint(tenantId, endpointId);
    const type = endpoint.eventTypes[0];
    return this.db.transaction(async (tx) => {
      const event = await q.insertEvent(tx, {
        id: uuidv7(now.getTime()),
        tenantId,
        messageId: null,
        type,
        occurredAt: now,
        payload: renderTestPayload(type, now),
      });
      await this.queue.enqueue(tx, [{ job: { eventId: event.id, endpointId: endpoint.id, attempt: 1 } }]);
      return event;
    });
  }

  private async enabledEndpoint(tenantId: string, id: string): Promise<endpointsQ.EndpointRow> {
    const ref = fromGlobalId(id, 'WebhookEndpoint');
    const endpoint = ref ? await endpointsQ.findEndpoint(this.db, tenantId, ref.uuid) : undefined;
    if (!endpoint) throw refuse(UserErrorCode.NOT_FOUND, `no webhook endpoint ${id}`, ['input', 'endpointId']);
    if (!endpoint.enabled) {
      throw refuse(UserErrorCode.INVALID_STATE, `webhook endpoint ${id} is disabled: enable it first (updateWebhookEndpoint)`, [
        'input',
        'endpointId',
      ]);
    }
    return endpoint;
  }
}
