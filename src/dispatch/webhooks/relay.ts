// The relay between the events the status changes write (outbound_events, by trigger, in
// the change's own transaction) and the webhook queue: it renders each event's payload
// once and gives every enabled endpoint subscribed to its type a delivery job, in one
// transaction, so an event is relayed exactly once whatever the number of worker processes
// (rows another relay holds are skipped). It wakes on the trigger's NOTIFY and, should one
// be missed (a listener reconnecting), on a slow poll.
import type { Logger } from 'pino';
import type { Database } from '../../db/client.js';
import type { DatabaseListener } from '../../realtime/listener.js';
import * as q from '../../modules/webhooks/webhook-events.queries.js';
import { type MessageSnapshot, renderPayload } from '../../modules/webhooks/webhook-payload.js';
import type { WebhookJob, WebhookQueue } from './jobs.js';

export const WEBHOOK_EVENTS_CHANNEL = 'herald_webhook_events';
/** Events rendered and relayed per transaction. */
const RELAY_BATCH = 200;
const POLL_MS = 1_000;

export class WebhookRelay {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private started = false;
  private stopped = false;

  constructor(
    private readonly deps: { db: Database; queue: WebhookQueue; log: Logger },
    private readonly pollMs = POLL_MS,
  ) {}

  /** Follows the trigger's notifications on `listener` (register before the listener starts). */
  follow(listener: DatabaseListener): void {
    listener.on(WEBHOOK_EVENTS_CHANNEL, () => this.wake());
    listener.onReconnect(() => this.wake());
  }

  /** Relays from now on (a notification heard before is caught by the first run). */
  start(): void {
    this.started = true;
    this.timer = setInterval(() => this.wake(), this.pollMs);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Relays until nothing is left; a wake-up during a run makes it look once more. */
  wake(): void {
    if (this.stopped || !this.started) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopped && (await this.relayOnce()) === RELAY_BATCH);
        } while (this.again && !this.stopped);
      } catch (err) {
        // The poll tries again; the events wait in their table meanwhile.
        this.deps.log.warn({ err: { message: (err as Error).message } }, 'could not relay webhook events; trying again shortly');
      } finally {
        this.running = undefined;
      }
    })();
  }

  /** One batch: the events it relayed. */
  async relayOnce(): Promise<number> {
    const { db, queue } = this.deps;
    return db.transaction(async (tx) => {
      const events = await q.takeUnrendered(tx, RELAY_BATCH);
      if (events.length === 0) return 0;
      const endpoints = await q.enabledEndpointsOf(tx, [...new Set(events.map((e) => e.tenantId))]);
      await q.setPayloads(
        tx,
        events.map((e) => ({ id: e.id, payload: renderPayload(e.type, e.snapshot as MessageSnapshot) })),
      );
      const jobs: { job: WebhookJob; failing: boolean }[] = events.flatMap((e) =>
        endpoints
          .filter((endpoint) => endpoint.tenantId === e.tenantId && endpoint.eventTypes.includes(e.type))
          .map((endpoint) => ({ job: { eventId: e.id, endpointId: endpoint.id, attempt: 1 }, failing: endpoint.failingSince !== null })),
      );
      await queue.enqueue(tx, jobs);
      return events.length;
    });
  }
}
