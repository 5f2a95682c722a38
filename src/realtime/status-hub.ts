// Message status changes from every process, through PostgreSQL LISTEN/NOTIFY (a
// trigger on messages announces them; see drizzle/0003_status_notify.sql). PGlite has
// the same LISTEN in-process. Each API process keeps one listening connection and fans
// the events out to its WebSocket subscribers.
import pg from 'pg';
import type { Logger } from 'pino';
import type { DatabaseHandle } from '../db/client.js';
import type { MessageStatusValue } from '../db/schema/index.js';

export const STATUS_CHANNEL = 'herald_message_status';
// A subscriber that stops reading loses its oldest events rather than the process's memory.
const MAX_BUFFERED = 1_000;

export interface StatusEvent {
  id: string;
  tenantId: string;
  recipientId: string;
  status: MessageStatusValue;
}

export class StatusHub {
  private readonly listeners = new Set<(event: StatusEvent) => void>();
  private stopListening?: () => Promise<void>;
  private closed = false;

  constructor(private readonly log: Logger) {}

  async start(handle: DatabaseHandle, databaseUrl?: string): Promise<void> {
    if (handle.kind === 'pglite') {
      this.stopListening = await handle.pglite!.listen(STATUS_CHANNEL, (payload) => this.emit(payload));
      return;
    }
    await this.listenPg(databaseUrl!);
  }

  // A dedicated connection (LISTEN needs one that stays), re-established when it drops.
  private async listenPg(databaseUrl: string, delayMs = 500): Promise<void> {
    const client = new pg.Client({ connectionString: databaseUrl });
    // Once per connection: an error event and a failed connect for the same loss must not
    // start two listeners (subscribers would see every event twice).
    let retried = false;
    const retry = () => {
      if (this.closed || retried) return;
      retried = true;
      setTimeout(() => void this.listenPg(databaseUrl, Math.min(delayMs * 2, 10_000)).catch(() => undefined), delayMs).unref();
    };
    client.on('notification', (msg) => msg.payload && this.emit(msg.payload));
    client.on('error', (err) => {
      this.log.warn({ err: { message: err.message } }, 'status listener lost its connection; reconnecting');
      client.end().catch(() => undefined);
      retry();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${STATUS_CHANNEL}`);
      this.stopListening = async () => {
        await client.end();
      };
    } catch (err) {
      this.log.warn({ err: { message: (err as Error).message } }, 'status listener could not connect; retrying');
      client.end().catch(() => undefined);
      retry();
    }
  }

  private emit(payload: string): void {
    let event: StatusEvent;
    try {
      event = JSON.parse(payload) as StatusEvent;
    } catch {
      return;
    }
    for (const listener of this.listeners) listener(event);
  }

  /** Events that pass `filter`, as an async iterator that unsubscribes when the client goes. */
  subscribe(filter: (event: StatusEvent) => boolean): AsyncIterableIterator<StatusEvent> {
    const buffer: StatusEvent[] = [];
    let wake: ((result: IteratorResult<StatusEvent>) => void) | undefined;
    let done = false;
    const listener = (event: StatusEvent) => {
      if (!filter(event)) return;
      if (wake) {
        const w = wake;
        wake = undefined;
        w({ value: event, done: false });
      } else {
        buffer.push(event);
        if (buffer.length > MAX_BUFFERED) buffer.shift();
      }
    };
    this.listeners.add(listener);
    const finish = async (): Promise<IteratorResult<StatusEvent>> => {
      done = true;
      this.listeners.delete(listener);
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
    for (const listener of [...this.listeners]) this.listeners.delete(listener);
    await this.stopListening?.().catch(() => undefined);
  }
}
