// The dispatch queue: pg-boss in Herald's own database, so a message row and the job
// that sends it commit together (dispatch/outbox.ts). Here: the queue's schema and
// settings, and the worker that takes its jobs.
import { PgBoss, fromPglite } from 'pg-boss';
import type { Logger } from 'pino';
import type { DatabaseHandle } from '../db/client.js';
import { MAX_SEND_TIMEOUT_MS, MAX_WEBHOOK_TIMEOUT_MS } from '../config.js';
import { type Dispatcher, longestSendMs } from './dispatcher.js';
import { DISPATCH_QUEUE, type DispatchJob, type FanOutJob } from './jobs.js';
import { WEBHOOK_QUEUE } from './webhooks/jobs.js';

/** Jobs a worker's poller takes at once. */
const JOBS_PER_POLL = 32;

type QueueJob = DispatchJob | FanOutJob;

const DISPATCH_QUEUE_OPTIONS = {
  // Provider retries are Herald's own (dispatch/retry-policy.ts): a job is one attempt.
  // pg-boss retries only a job whose worker died or threw (crash recovery).
  retryLimit: 20,
  retryDelay: 1,
  retryBackoff: true,
  retryDelayMax: 30,
  // Longer than any live send with the largest send timeout allowed, so the queue never
  // expires a job whose send may still be under way. (Were it to, the job handed out
  // again would find its message SENDING and leave it: only the sweep takes one over.)
  expireInSeconds: Math.ceil(longestSendMs(MAX_SEND_TIMEOUT_MS) / 1000) + 60,
  heartbeatSeconds: 15,
  deleteAfterSeconds: 24 * 3600,
  notify: true,
};

const WEBHOOK_QUEUE_OPTIONS = {
  // Retries of a delivery are Herald's own (dispatch/webhooks/retry.ts), each a new job:
  // pg-boss retries only a job whose worker died or threw before recording its attempt.
  retryLimit: 20,
  retryDelay: 1,
  retryBackoff: true,
  retryDelayMax: 30,
  // Longer than any attempt with the largest timeout allowed.
  expireInSeconds: Math.ceil(MAX_WEBHOOK_TIMEOUT_MS / 1000) + 60,
  heartbeatSeconds: 15,
  // A delivery's record is in webhook_deliveries; the finished job is not needed for long.
  deleteAfterSeconds: 3600,
  notify: true,
};

function newBoss(
  handle: DatabaseHandle,
  log: Logger,
  databaseUrl: string | undefined,
  options: { useListenNotify: boolean; supervise: boolean; max: number },
): PgBoss {
  const common = {
    schema: 'pgboss',
    // A crashed worker's job is noticed by its missing heartbeat and taken again.
    monitorIntervalSeconds: 10,
    superviseIntervalSeconds: 10,
    supervise: options.supervise,
    schedule: options.supervise,
    useListenNotify: options.useListenNotify,
  };
  const boss =
    handle.kind === 'pglite'
      ? new PgBoss({ ...common, db: fromPglite(handle.pglite!), backend: 'pglite' })
      : new PgBoss({ ...common, connectionString: databaseUrl, max: options.max });
  boss.on('error', (err: Error) => log.error({ err: { message: err.message } }, 'queue error'));
  return boss;
}

/**
 * pg-boss's schema, created or upgraded, and the dispatch and webhook queues, by a short-lived instance
 * that runs nothing else: Herald calls it under its migration lock (src/migrate.ts), so
 * startQueue finds both in place. Returns pg-boss's schema version.
 */
export async function migrateQueue(handle: DatabaseHandle, log: Logger, databaseUrl?: string): Promise<number> {
  const boss = newBoss(handle, log, databaseUrl, { useListenNotify: false, supervise: false, max: 2 });
  try {
    await boss.start();
    await boss.createQueue(DISPATCH_QUEUE, DISPATCH_QUEUE_OPTIONS);
    // createQueue leaves an existing queue as it was: a database made by an older Herald
    // gets this one's expiry too.
    await boss.updateQueue(DISPATCH_QUEUE, { expireInSeconds: DISPATCH_QUEUE_OPTIONS.expireInSeconds });
    await boss.createQueue(WEBHOOK_QUEUE, WEBHOOK_QUEUE_OPTIONS);
    return (await boss.schemaVersion()) ?? 0;
  } finally {
    await boss.stop({ graceful: false, close: handle.kind === 'postgres' });
  }
}

/**
 * The serving queue; migrateQueue has created its schema and the dispatch queue. A process
 * that dispatches passes its worker concurrency: each of its pollers fetches and completes
 * on pg-boss's pool, which must not make the webhook deliveries' fetches wait behind them.
 */
export async function startQueue(handle: DatabaseHandle, log: Logger, databaseUrl?: string, workerConcurrency = 0): Promise<PgBoss> {
  // LISTEN/NOTIFY wakes idle workers the moment a job is created (polling stays as a floor).
  const max = 10 + (workerConcurrency > 0 ? pollersFor(workerConcurrency) : 0);
  const boss = newBoss(handle, log, databaseUrl, { useListenNotify: true, supervise: true, max });
  await boss.start();
  return boss;
}

/**
 * Runs `concurrency` sends at once, over pollers taking batches of up to 32 jobs (a
 * batch's sends claim and record together, see Dispatcher); a poller keeps fetching
 * while batches come back full, so a backlog drains at provider speed, not poll speed.
 * A poller waits for the slowest send of its batch before it fetches again, so several
 * pollers keep the sends in flight near `concurrency` while providers take their time.
 */
export async function startWorker(boss: PgBoss, dispatcher: Dispatcher, concurrency: number, log: Logger): Promise<void> {
  const pollers = pollersFor(concurrency);
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
  await boss.work<QueueJob, unknown, typeof options>(DISPATCH_QUEUE, options, async (jobs) =>
    Promise.all(
      jobs.map(async (job) => {
        try {
          if ('messageIds' in job.data) await fanOut(boss, job.data);
          else await dispatcher.dispatch(job.data);
          return { id: job.id, status: 'completed' as const };
        } catch (err) {
          // The queue retries it (crash-recovery path); the message row says where it got.
          log.error(
            { err, job: job.id, messageId: 'messageId' in job.data ? job.data.messageId : undefined },
            'dispatch failed unexpectedly',
          );
          return { id: job.id, status: 'failed' as const };
        }
      }),
    ),
  );
}

function pollersFor(concurrency: number): number {
  return Math.max(1, Math.ceil(concurrency / JOBS_PER_POLL));
}

/** Each message of a bulk write's job gets its own job, due now, with the message's id as its id (one statement). */
async function fanOut(boss: PgBoss, job: FanOutJob): Promise<void> {
  await boss.insert(
    DISPATCH_QUEUE,
    job.messageIds.map((messageId) => ({ id: messageId, data: { messageId, attempt: 1 } satisfies DispatchJob })),
  );
}
