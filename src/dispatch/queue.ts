// The dispatch queue: pg-boss in Herald's own database, so a message row and the job
// that sends it commit together (outbox without an outbox table).
import { sql } from 'drizzle-orm';
import { PgBoss, fromDrizzle, fromPglite } from 'pg-boss';
import type { Logger } from 'pino';
import type { DatabaseHandle, Executor } from '../db/client.js';
import type { Outbox } from '../modules/messages/messages.service.js';
import type { Dispatcher } from './dispatcher.js';

export const DISPATCH_QUEUE = 'herald-dispatch';

export interface DispatchJob {
  messageId: string;
  /** 1-based attempt within the current round (a retryMessage starts a new round). */
  attempt: number;
  /** A send slot already reserved under the gateway's rate cap (ISO time). */
  slotAt?: string;
  /** Times this message waited out a provider rate limit (bounded, not counted as attempts). */
  rateLimited?: number;
}

export async function startQueue(handle: DatabaseHandle, log: Logger, databaseUrl?: string): Promise<PgBoss> {
  const common = {
    schema: 'pgboss',
    // A crashed worker's job is noticed by its missing heartbeat and taken again.
    monitorIntervalSeconds: 10,
    superviseIntervalSeconds: 10,
  };
  // LISTEN/NOTIFY wakes idle workers the moment a job is created (polling stays as a floor).
  const boss =
    handle.kind === 'pglite'
      ? new PgBoss({ ...common, db: fromPglite(handle.pglite!), backend: 'pglite', useListenNotify: true })
      : new PgBoss({ ...common, connectionString: databaseUrl, max: 10, useListenNotify: true });
  boss.on('error', (err: Error) => log.error({ err: { message: err.message } }, 'queue error'));
  await boss.start();
  await boss.createQueue(DISPATCH_QUEUE, {
    // Provider retries are Herald's own (dispatch/retry-policy.ts): a job is one attempt.
    // pg-boss retries only a job whose worker died or threw (crash recovery).
    retryLimit: 20,
    retryDelay: 1,
    retryBackoff: true,
    retryDelayMax: 30,
    expireInSeconds: 120,
    heartbeatSeconds: 15,
    deleteAfterSeconds: 24 * 3600,
    notify: true,
  });
  return boss;
}

/**
 * Writes dispatch jobs inside the caller's transaction: the message and its job commit
 * together or not at all. Attached to the queue once it has started.
 */
export class QueueOutbox implements Outbox {
  private boss?: PgBoss;

  attach(boss: PgBoss): void {
    this.boss = boss;
  }

  async enqueue(tx: Executor, jobs: ({ messageId: string; startAfter?: Date; attempt?: number } & Partial<DispatchJob>)[]): Promise<void> {
    if (!this.boss) throw new Error('the dispatch queue is not running yet');
    if (jobs.length === 0) return;
    const db = fromDrizzle(tx as never, sql as never);
    const toJob = ({ startAfter, ...data }: (typeof jobs)[number]) => ({ data: { ...data, attempt: data.attempt ?? 1 } satisfies DispatchJob, startAfter });
    if (jobs.length === 1) {
      const { data, startAfter } = toJob(jobs[0]);
      await this.boss.send(DISPATCH_QUEUE, data, { db, ...(startAfter ? { startAfter } : {}) });
      return;
    }
    await this.boss.insert(
      DISPATCH_QUEUE,
      jobs.map(toJob).map(({ data, startAfter }) => ({ data, ...(startAfter ? { startAfter } : {}) })),
      { db },
    );
  }
}

/**
 * Runs `concurrency` sends at once. Slots are spread over a few pollers taking small
 * batches; a poller keeps fetching while batches come back full, so a backlog drains at
 * provider speed, not poll speed.
 */
export async function startWorker(boss: PgBoss, dispatcher: Dispatcher, concurrency: number, log: Logger): Promise<void> {
  const pollers = Math.max(1, Math.ceil(concurrency / 4));
  const options = {
    localConcurrency: pollers,
    batchSize: Math.ceil(concurrency / pollers),
    perJobResults: true,
    burstWhenBatchFull: true,
    // NOTIFY wakes pollers for new jobs; retries and scheduled sends become due without
    // one, so polling stays at 1 s rather than the notify-mode default of 30 s.
    pollingIntervalSeconds: 1,
    notifyPollingIntervalSeconds: 1,
  } as const;
  await boss.work<DispatchJob, unknown, typeof options>(DISPATCH_QUEUE, options, async (jobs) =>
    Promise.all(
      jobs.map(async (job) => {
        try {
          // retryCount > 0: the queue hands the job out again after its holder died.
          await dispatcher.dispatch(job.data, job.retryCount > 0);
          return { id: job.id, status: 'completed' as const };
        } catch (err) {
          // The queue retries it (crash-recovery path); the message row says where it got.
          log.error({ err, messageId: job.data.messageId }, 'dispatch failed unexpectedly');
          return { id: job.id, status: 'failed' as const };
        }
      }),
    ),
  );
}
