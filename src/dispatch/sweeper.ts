// Nothing stays SENDING. A worker that dies between its claim and its record (SIGKILL,
// a crash, a lost host) leaves its message SENDING with no one to finish it: the queue's
// own retry of the job never takes a SENDING message over (dispatcher.ts), so this sweep,
// run by every worker process, does. A message SENDING for longer than any live send can
// take is sent again (QUEUED with a new job: at-least-once, the one case where a
// provider may see a message twice) or, with its attempts spent, ended FAILED; either
// way a FAILURE DeliveryLog says the outcome was unknown.
//
// A worker that is alive but could not write its outcome (the database was away) keeps
// it and writes it within RECORD_RETRY_MAX_MS of the database answering again. So a
// sweep acts only when its own process has had the database for a grace period: by
// then every live worker has written what it kept, and what is still SENDING is orphaned.
import type { Logger } from 'pino';
import type { Database } from '../db/client.js';
import type { Metrics } from '../metrics.js';
import { deliveryLogOf } from '../modules/messages/delivery-log.js';
import * as q from '../modules/messages/messages.queries.js';
import { endOverdueSend, overdueSending } from '../modules/messages/orphans.queries.js';
import type { Outbox } from './outbox.js';
import { RECORD_RETRY_MAX_MS, longestSendMs } from './dispatcher.js';
import type { RetryPolicy } from './retry-policy.js';

/** Beyond the longest live send: room for the claim and the record statements themselves. */
const TAKEOVER_MARGIN_MS = 10_000;
/** How long a sweep's process must have had the database before it takes anything over. */
export const SWEEP_GRACE_MS = 10 * RECORD_RETRY_MAX_MS;
const SWEEP_BATCH = 100;

export const OUTCOME_UNKNOWN = 'outcome unknown after a worker failure';

/** How long a message may stay SENDING before it counts as orphaned. */
export function takeOverAfterMs(sendTimeoutMs: number): number {
  return longestSendMs(sendTimeoutMs) + TAKEOVER_MARGIN_MS;
}

export interface SweeperDeps {
  db: Database;
  outbox: Outbox;
  policy: RetryPolicy;
  metrics: Metrics;
  log: Logger;
  sendTimeoutMs: number;
  /** This process's own worker: what it still holds is never taken over. */
  worker: { isPending(messageId: string): boolean; lastDatabaseFailureAt(): number };
}

export class Sweeper {
  readonly takeOverAfterMs: number;
  /** When this sweep last failed to reach the database; the start counts as one. */
  private lastFailureAt = Date.now();
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(private readonly deps: SweeperDeps) {
    this.takeOverAfterMs = takeOverAfterMs(deps.sendTimeoutMs);
  }

  /** Sweeps every `intervalMs` (default: a fifth of the take-over age, at most 5 s). */
  start(intervalMs = Math.min(5_000, Math.ceil(this.takeOverAfterMs / 5))): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .catch(() => undefined)
        .finally(() => (this.running = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One sweep: the messages it ended (sent again or failed). */
  async sweep(): Promise<number> {
    const { db, log, worker } = this.deps;
    let orphans: q.MessageRow[];
    try {
      orphans = await overdueSending(db, this.takeOverAfterMs, SWEEP_BATCH);
    } catch (err) {
      this.lastFailureAt = Date.now();
      throw err;
    }
    const connectedFor = Date.now() - Math.max(this.lastFailureAt, worker.lastDatabaseFailureAt());
    if (orphans.length === 0 || connectedFor < SWEEP_GRACE_MS) return 0;
    let ended = 0;
    for (const message of orphans) {
      if (worker.isPending(message.id)) continue;
      try {
        if (await this.end(message)) ended++;
      } catch (err) {
        this.lastFailureAt = Date.now();
        log.warn(
          { messageId: message.id, err: { message: (err as Error).message } },
          'could not take over an orphaned send; the next sweep tries again',
        );
        break;
      }
    }
    return ended;
  }

  private async end(message: q.MessageRow): Promise<boolean> {
    const { db, outbox, policy, metrics, log } = this.deps;
    const spent = message.attempts >= policy.maxAttempts;
    const reason = spent
      ? `${OUTCOME_UNKNOWN}: attempt ${message.attempts} was in flight when its worker stopped, and no attempts are left`
      : `${OUTCOME_UNKNOWN}: attempt ${message.attempts} was in flight when its worker stopped; sending again (the provider may receive it twice)`;
    const ended = await db.transaction(async (tx) => {
      const row = await endOverdueSend(
        tx,
        message.id,
        this.takeOverAfterMs,
        spent ? { status: 'FAILED', errorCode: 'OUTCOME_UNKNOWN', errorMessage: OUTCOME_UNKNOWN } : { status: 'QUEUED' },
      );
      if (!row) return undefined;
      await q.insertLogs(tx, [deliveryLogOf(message, { outcome: 'FAILURE', reason, providerCode: 'OUTCOME_UNKNOWN' })]);
      if (!spent) await outbox.enqueue(tx, [{ messageId: message.id, attempt: message.attempts + 1 }]);
      return row;
    });
    if (!ended) return false;
    metrics.messages.inc({ channel: message.channel, status: ended.status });
    metrics.orphanedSends.inc({ outcome: spent ? 'failed' : 'sent_again' });
    log.warn({ messageId: message.id, attempts: message.attempts, outcome: spent ? 'FAILED' : 'QUEUED' }, `orphaned send: ${reason}`);
    return true;
  }
}
