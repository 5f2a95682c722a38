// Message status changes from every process, through PostgreSQL LISTEN/NOTIFY (a
// trigger on messages announces them; see drizzle/0003_status_notify.sql). PGlite has
// the same LISTEN in-process. Each API process keeps one listening connection (shared with
// API key revocations, see listener.ts) and fans the events out to its WebSocket
// subscribers. Notifications sent while that connection was down are lost: after a
// reconnect each subscriber catches up from the database instead.
import type { Logger } from 'pino';
import type { DatabaseHandle } from '../db/client.js';
import type { MessageStatusValue } from '../db/schema/index.js';
import { DatabaseListener } from './listener.js';

export const STATUS_CHANNEL = 'herald_message_status';
// A subscriber that stops reading loses its oldest events rather than the process's memory.
const MAX_BUFFERED = 1_000;

export interface StatusEvent {
  id: string;
  tenantId: string;
  recipientId: string;
  status: MessageStatusValue;
}

/** The current state of what a subscriber watches, for changes since `since` that it may have missed. */
export type CatchUp = (since: Date) => Promise<StatusEvent[]>;

interface Subscriber {
  filter(event: StatusEvent): boolean;
  push(event: StatusEvent): void;
  catchUp?: CatchUp;
  /** Live events that arrived while the subscriber was catching up, delivered after it. */
  held?: StatusEvent[];
}

export class StatusHub {
  private readonly subscribers = new Set<Subscriber>();
  private closed = false;

  constructor(
    private readonly log: Logger,
    /** The process's LISTEN connection; other modules follow their own channels on it. */
    readonly listener = new DatabaseListener(log),
  ) {
    listener.on(STATUS_CHANNEL, (payload) => this.emit(payload));
    listener.onReconnect((since) => this.catchUpAll(since));
  }

  start(handle: DatabaseHandle, databaseUrl?: string): Promise<void> {
    return this.listener.start(handle, databaseUrl);
  }

  private emit(payload: string): void {
    let event: StatusEvent;
    try {
      event = JSON.parse(payload) as StatusEvent;
    } catch {
      return;
    }
    for (const subscriber of this.subscribers) {
      if (!subscriber.filter(event)) continue;
      if (subscriber.held) subscriber.held.push(event);
      else subscriber.push(event);
    }
  }

  // Each subscriber gets the current state first, then whatever arrived meanwhile, so the
  // last event it sees is never older than the database. Around a reconnect a status may
  // arrive twice.
  private async catchUpAll(since: Date): Promise<void> {
    await Promise.all(
      [...this.subscribers].map(async (subscriber) => {
        if (!subscriber.catchUp || subscriber.held) return;
        subscriber.held = [];
        try {
          for (const event of await subscriber.catchUp(since)) subscriber.push(event);
        } catch (err) {
          this.log.warn({ err: { message: (err as Error).message } }, 'a subscriber could not catch up after a listener reconnect');
        } finally {
          const held = subscriber.held;
          subscriber.held = undefined;
          for (const event of held) subscriber.push(event);
        }
      }),
    );
  }

  /**
   * Events that pass `filter`, as an async iterator that unsubscribes when the client goes.
   * `catchUp` is asked for the current state after the listener was down.
   */
  subscribe(filter: (event: StatusEvent) => boolean, catchUp?: CatchUp): AsyncIterableIterator<StatusEvent> {
    const buffer: StatusEvent[] = [];
    let wake: ((result: IteratorResult<StatusEvent>) => void) | undefined;
    let done = false;
    const subscriber: Subscriber = {
      filter,
      catchUp,
      push(event) {
        if (done) return;
        if (wake) {
          const w = wake;
          wake = undefined;
          w({ value: event, done: false });
        } else {
          buffer.push(event);
          if (buffer.length > MAX_BUFFERED) buffer.shift();
        }
      },
    };
    if (!this.closed) this.subscribers.add(subscriber);
    const finish = async (): Promise<IteratorResult<StatusEvent>> => {
      done = true;
      this.subscribers.delete(subscriber);
      wake?.({ value: undefined, done: true });
      return { value: undefined, done: true };
    };
    return {
      next: () => {
        if (buffer.length > 0) return Promise.resolve({ value: buffer.shift()!, done: false });
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (wake = resolve));
      },
      return: finish,
      throw: async (err) => {
        await finish();
        throw err;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subscribers.clear();
    await this.listener.close();
  }
}
