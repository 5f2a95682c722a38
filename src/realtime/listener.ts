// The process's one LISTEN connection, shared by every channel it follows (message status
// changes, API key revocations). On PostgreSQL it is a dedicated pg.Client that a keepalive
// query watches; when it drops it is re-established with bounded backoff, never twice at
// once, and the `onReconnect` handlers hear when the gap began so they can make up for the
// notifications it swallowed. PGlite has the same LISTEN in-process and never drops.
import { setTimeout as wait } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from 'pino';
import type { DatabaseHandle } from '../db/client.js';

/** How operators (and tests) find the connection in pg_stat_activity. */
export const LISTENER_APPLICATION_NAME = 'herald listener';

export interface ListenerTiming {
  /** Between two keepalive queries on an idle connection. */
  keepaliveMs: number;
  /** A keepalive query (or a connect) slower than this counts the connection as lost. */
  timeoutMs: number;
  /** First and largest wait between two connection attempts. */
  minBackoffMs: number;
  maxBackoffMs: number;
}

const DEFAULT_TIMING: ListenerTiming = { keepaliveMs: 5_000, timeoutMs: 3_000, minBackoffMs: 250, maxBackoffMs: 5_000 };

type Handler = (payload: string) => void;
/** `since`: the last moment the old connection was known to work. */
type ReconnectHandler = (since: Date) => Promise<void> | void;

export class DatabaseListener {
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly reconnectHandlers = new Set<ReconnectHandler>();
  private readonly timing: ListenerTiming;
  private client?: pg.Client;
  private stopPglite: (() => Promise<void>)[] = [];
  private running?: Promise<void>;
  private closed = false;
  private up = false;
  private aliveAt = new Date();
  private readonly closing = new AbortController();

  constructor(
    private readonly log: Logger,
    timing: Partial<ListenerTiming> = {},
  ) {
    this.timing = { ...DEFAULT_TIMING, ...timing };
  }

  /** True while notifications are known to arrive: LISTEN issued and the last keepalive answered. */
  get isUp(): boolean {
    return this.up;
  }

  /** Calls `handler` with each notification's payload on `channel`. Register before `start`. */
  on(channel: string, handler: Handler): void {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a channel name: ${channel}`);
    const set = this.handlers.get(channel) ?? new Set();
    set.add(handler);
    this.handlers.set(channel, set);
  }

  /** Called once listening again after a drop (not after the first connect). */
  onReconnect(handler: ReconnectHandler): void {
    this.reconnectHandlers.add(handler);
  }

  /** Resolves after the first attempt to listen; on failure it keeps trying in the background. */
  async start(handle: DatabaseHandle, databaseUrl?: string): Promise<void> {
    if (this.running || this.closed) return;
    if (handle.kind === 'pglite') {
      this.running = Promise.resolve();
      for (const channel of this.handlers.keys()) {
        this.stopPglite.push(await handle.pglite!.listen(channel, (payload) => this.dispatch(channel, payload)));
      }
      this.up = true;
      return;
    }
    let firstAttempt!: () => void;
    const attempted = new Promise<void>((resolve) => (firstAttempt = resolve));
    this.running = this.run(databaseUrl!, firstAttempt);
    await attempted;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.up = false;
    this.closing.abort();
    for (const stop of this.stopPglite.splice(0)) await stop().catch(() => undefined);
    await this.client?.end().catch(() => undefined);
    await this.running;
  }

  // One loop, so there is never more than one connection listening: connect, LISTEN, watch
  // with keepalives until the connection is lost, wait, start over.
  private async run(databaseUrl: string, firstAttempt: () => void): Promise<void> {
    let backoffMs = this.timing.minBackoffMs;
    let droppedSince: Date | undefined;
    while (!this.closed) {
      const client = new pg.Client({
        connectionString: databaseUrl,
        keepAlive: true,
        connectionTimeoutMillis: this.timing.timeoutMs,
        application_name: LISTENER_APPLICATION_NAME,
      });
      const lost = new Promise<string>((resolve) => {
        client.on('error', (err) => resolve(err.message));
        client.on('end', () => resolve('the connection ended'));
      });
      client.on('notification', (msg) => {
        this.aliveAt = new Date();
        if (msg.payload !== undefined) this.dispatch(msg.channel, msg.payload);
      });
      try {
        await client.connect();
        for (const channel of this.handlers.keys()) await client.query(`LISTEN ${channel}`);
      } catch (err) {
        client.end().catch(() => undefined);
        firstAttempt();
        if (this.closed) break;
        this.log.warn({ err: { message: (err as Error).message }, retryInMs: backoffMs }, 'database listener could not connect; retrying');
        droppedSince ??= this.aliveAt;
        await this.sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, this.timing.maxBackoffMs);
        continue;
      }
      this.client = client;
      this.aliveAt = new Date();
      this.up = true;
      backoffMs = this.timing.minBackoffMs;
      firstAttempt();
      if (droppedSince) {
        this.log.info({ downSince: droppedSince.toISOString() }, 'database listener is listening again');
        const since = droppedSince;
        for (const handler of this.reconnectHandlers) {
          // Handlers catch up from the database; one failing must not stop the others.
          void Promise.resolve()
            .then(() => handler(since))
            .catch((err: Error) => this.log.warn({ err: { message: err.message } }, 'catching up after a listener reconnect failed'));
        }
      }

      const reason = await Promise.race([lost, this.keepalive(client)]);
      this.up = false;
      this.client = undefined;
      client.end().catch(() => undefined);
      if (this.closed) break;
      droppedSince = this.aliveAt;
      this.log.warn({ reason }, 'database listener lost its connection; reconnecting');
    }
  }

  /** Resolves (with why) once the connection stops answering; runs until then. */
  private async keepalive(client: pg.Client): Promise<string> {
    for (;;) {
      await this.sleep(this.timing.keepaliveMs);
      if (this.closed || this.client !== client) return 'closed';
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<string>((resolve) => {
        timer = setTimeout(() => resolve(`no answer to the keepalive query within ${this.timing.timeoutMs} ms`), this.timing.timeoutMs);
      });
      const answered = client.query('select 1').then(
        () => undefined,
        (err: Error) => err.message,
      );
      const problem = await Promise.race([answered, timeout]);
      clearTimeout(timer);
      if (problem) return problem;
      this.aliveAt = new Date();
    }
  }

  // Timers that neither hold the process open nor outlive close().
  private sleep(ms: number): Promise<void> {
    return wait(ms, undefined, { signal: this.closing.signal, ref: false }).catch(() => undefined);
  }

  private dispatch(channel: string, payload: string): void {
    for (const handler of this.handlers.get(channel) ?? []) {
      try {
        handler(payload);
      } catch (err) {
        this.log.error({ err, channel }, 'a notification handler failed');
      }
    }
  }
}
