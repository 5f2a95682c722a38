// Message status changes from every process, through PostgreSQL LISTEN/NOTIFY (triggers
// on messages announce each insert and status change with the status's time; see
// drizzle/0011_status_events_from_every_write.sql). PGlite has
// the same LISTEN in-process. Each API process keeps one listening connection (shared with
// API key revocations, see listener.ts) and fans the events out to its WebSocket
// subscribers. Notifications sent while that connection was down are lost: after a
// reconnect each subscriber catches up from the database instead.
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { DatabaseHandle } from '../db/client.js';
import type { MessageStatusValue } from '../db/schema/index.js';
import { DatabaseListener } from './listener.js';

export const STATUS_CHANNEL = 'herald_message_status';
// A subscriber that stops reading loses its oldest events rather than the process's memory.
const MAX_BUFFERED = 1_000;
// Per subscriber, the time of the newest status shown for each of this many messages.
const MAX_REMEMBERED = 1_000;

export interface StatusEvent {
  id: string;
  tenantId: string;
  recipientId: string;
  status: MessageStatusValue;
  /**
   * When the message took this status: the database's updated_at as fixed-width UTC text
   * with microseconds, so that for one message a later status compares greater.
   */
  at: string;
}

/** The current state of what a subscriber watches, for changes since `since` that it may have missed. */
export type CatchUp = (since: Date) => Promise<StatusEvent[]>;

/** What a subscriber is sent first, before any live event: the current state of what it watches. */
export type Current = () => Promise<StatusEvent[]>;

interface Subscriber {
  filter(event: StatusEvent): boolean;
  push(event: StatusEvent): void;
  catchUp?: CatchUp;
  /** Live events that arrived while the subscriber was catching up, delivered after it. */
  held?: StatusEvent[];
}

/**
 * Events newer than any shown before for their message. A notification committed before
 * a catch-up read can reach this process after it: without this, a subscriber shown
 * SENT by the read would then be shown the older SENDING.
 */
function newerOnly(push: (event: StatusEvent) => void): (event: StatusEvent) => void {
  const shown = new LRUCache<string, string>({ max: MAX_REMEMBERED });
  return (event) => {
    const last = shown.get(event.id);
    if (last !== undefined && event.at <= last) return;
    shown.set(event.id, event.at);
    push(event);
  };
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

  // A status change is one event; the messages one statement inserted come as an array.
  // Every message written anywhere is announced to every API process: with no subscriber
  // here, nothing is parsed.
  private emit(payload: string): void {
    if (this.subscribers.size === 0) return;
    let parsed: StatusEvent | StatusEvent[];
    try {
      parsed = JSON.parse(payload) as StatusEvent | StatusEvent[];
    } catch {
      return;
    }
    for (const event of Array.isArray(parsed) ? parsed : [parsed]) {
      for (const subscriber of this.subscribers) {
        if (!subscriber.filter(event)) continue;
        if (subscriber.held) subscriber.held.push(event);
        else subscriber.push(event);
      }
    }
  }

  // The subscriber's held live events, after what it was just sent.
  private release(subscriber: Subscriber): void {
    const held = subscriber.held ?? [];
    subscriber.held = undefined;
    for (const event of held) subscriber.push(event);
  }

  // Each subscriber gets the current state first, then whatever arrived meanwhile, newer
  // than what it was shown, so the last event it sees is never older than the database.
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
          this.release(subscriber);
        }
      }),
    );
  }

  /**
   * Events that pass `filter`, as an async iterator that unsubscribes when the client goes.
   * `current` (if given) is read after the subscriber starts listening and sent first, with
   * the live events that arrived meanwhile after it, so that no change falls between the
   * read and the first live event; its error ends the subscription and is thrown here.
   * `catchUp` is asked for the current state after the listener was down.
   */
  async subscribe(
    filter: (event: StatusEvent) => boolean,
    { current, catchUp }: { current?: Current; catchUp?: CatchUp } = {},
  ): Promise<AsyncIterableIterator<StatusEvent>> {
    const buffer: StatusEvent[] = [];
    let wake: ((result: IteratorResult<StatusEvent>) => void) | undefined;
    let done = false;
    const subscriber: Subscriber = {
      filter,
      catchUp,
      held: current ? [] : undefined,
      push: newerOnly((event) => {
        if (done) return;
        if (wake) {
          const w = wake;
          wake = undefined;
          w({ value: event, done: false });
        } else {
          buffer.push(event);
          if (buffer.length > MAX_BUFFERED) buffer.shift();
        }
      }),
    };
    if (!this.closed) this.subscribers.add(subscriber);
    const finish = async (): Promise<IteratorResult<StatusEvent>> => {
      done = true;
      this.subscribers.delete(subscriber);
      wake?.({ value: undefined, done: true });
      return { value: undefined, done: true };
    };
    if (current) {
      try {
        for (const event of await current()) subscriber.push(event);
      } catch (err) {
        await finish();
        throw err;
      }
      this.release(subscriber);
    }
    const iterator: AsyncIterableIterator<StatusEvent> = {
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
        return iterator;
      },
    };
    return iterator;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.subscribers.clear();
    await this.listener.close();
  }
}
