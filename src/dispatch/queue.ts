// The dispatch queue: pg-boss in Herald's own database, so a message row and the job
// that sends it commit together (outbox without an outbox table).
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { PgBoss, fromDrizzle, fromPglite } from 'pg-boss';
import { insertJobs } from 'pg-boss/dist/plans.js';
import type { Logger } from 'pino';
import type { DatabaseHandle, Executor } from '../db/client.js';
import { type ColumnArrays, fromJsonRow, jsonValue, toColumnArrays, toJsonRows } from '../db/json-rows.js';
import { naturalBatches } from '../lib/batching.js';
import { deliveryLogs, messages } from '../db/schema/index.js';
import * as q from '../modules/messages/messages.queries.js';
import type { BulkWritten, NewMessages, Outbox, WrittenMessages } from '../modules/messages/messages.service.js';
import { MAX_SEND_TIMEOUT_MS } from '../config.js';
import { type Dispatcher, longestSendMs } from './dispatcher.js';

export const DISPATCH_QUEUE = 'herald-dispatch';

/**
 * Shared accept statements out at once. One is best measured (sendSms over 32
 * connections: 1 → 1,932/s, 2 → 1,443/s, 4 → 708/s): the writes arriving during a
 * statement leave together as the next one.
 */
const SHARED_ACCEPTS_IN_FLIGHT = 1;
/** Jobs a worker's poller takes at once. */
const JOBS_PER_POLL = 16;
/** Rows (messages + logs) in one shared accept statement at most. */
const SHARED_ACCEPT_MAX_ROWS = 500;
/**
 * Messages per job in a bulk write (a billing cycle): one job names up to this many, and
 * the worker turns it into their own jobs (FanOutJob). pg-boss's job insert was ≈ 25 % of
 * a 10,000-invoice statement; 100 ids per job makes it ≈ 2 %.
 */
const MESSAGES_PER_FAN_OUT_JOB = 100;

export interface DispatchJob {
  messageId: string;
  /** 1-based attempt within the current round (a retryMessage starts a new round). */
  attempt: number;
  /** A send slot already reserved under the gateway's rate cap (ISO time). */
  slotAt?: string;
  /** Times this message waited out a provider rate limit (bounded, not counted as attempts). */
  rateLimited?: number;
}

/**
 * A bulk write's job: the worker gives each message its own DispatchJob, whose job id is
 * the message's id. Run again after a crash, it adds nothing (pg-boss inserts jobs with
 * on conflict do nothing), so no message waiting out a retry is tried early.
 */
export interface FanOutJob {
  messageIds: string[];
}

type QueueJob = DispatchJob | FanOutJob;

/** A bulk write's part as sent: the messages' columns and the logs' JSON rows. */
interface Built {
  columns: ColumnArrays;
  logs: string;
}

/** PostgreSQL's SQLSTATE for a row a unique index refuses. */
const UNIQUE_VIOLATION = '23505';

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

function newBoss(handle: DatabaseHandle, log: Logger, databaseUrl: string | undefined, options: { useListenNotify: boolean; supervise: boolean; max: number }): PgBoss {
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
 * pg-boss's schema, created or upgraded, and the dispatch queue, by a short-lived instance
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
    return (await boss.schemaVersion()) ?? 0;
  } finally {
    await boss.stop({ graceful: false, close: handle.kind === 'postgres' });
  }
}

/** The serving queue; migrateQueue has created its schema and the dispatch queue. */
export async function startQueue(handle: DatabaseHandle, log: Logger, databaseUrl?: string): Promise<PgBoss> {
  // LISTEN/NOTIFY wakes idle workers the moment a job is created (polling stays as a floor).
  const boss = newBoss(handle, log, databaseUrl, { useListenNotify: true, supervise: true, max: 10 });
  await boss.start();
  return boss;
}

/**
 * Writes dispatch jobs inside the caller's transaction: the message and its job commit
 * together or not at all. Attached to the queue once it has started.
 */
export class QueueOutbox implements Outbox {
  private boss?: PgBoss;
  private rowsStatement?: (existing: q.OnExisting) => string;
  private bulkStatement?: (columns: ColumnArrays, existing: q.OnExisting) => string;

  constructor(private readonly handle: DatabaseHandle) {}

  async attach(boss: PgBoss): Promise<void> {
    const queue = await boss.getQueue(DISPATCH_QUEUE);
    if (!queue) throw new Error(`the ${DISPATCH_QUEUE} queue does not exist`);
    const { ctes, forced } = jobInsertFromMessages(queue.table, !!queue.notify);
    // A job is due at its message's scheduledAt (now when null): pg-boss reads an ISO
    // timestamp as a time, anything else as an interval.
    const oneJobEach = `select coalesce(json_agg(json_build_object('data', json_build_object('messageId', m.id, 'attempt', 1), 'startAfter', m.scheduled_at)), '[]'::json) as list from msg m`;
    const fanOutJobs = `select coalesce(json_agg(json_build_object('data', json_build_object('messageIds', g.ids), 'startAfter', g.at)), '[]'::json) as list
           from (select array_agg(id) as ids, scheduled_at as at
                   from (select id, scheduled_at, (row_number() over (partition by scheduled_at) - 1) / ${MESSAGES_PER_FAN_OUT_JOB} as part from msg) m
                  group by scheduled_at, part) g`;
    // write (single sends, orders): $1 messages and $2 logs as JSON, a job per message,
    // every row back. writeParts (bulk): $1 logs as JSON, the messages' columns from $2 on
    // (so the text depends on the columns given), a FanOutJob per MESSAGES_PER_FAN_OUT_JOB
    // messages due at the same time, only the count back.
    this.rowsStatement = (existing) => `
      with msg as (${q.insertMessagesText(1, existing)}),
      logs as (${q.insertLogsText(2)}),
      jobs as (${oneJobEach}),
      ${ctes}
      select (select coalesce(json_agg(r), '[]'::json) from msg r) as messages, (select coalesce(json_agg(r), '[]'::json) from logs r) as logs
       where ${forced}`;
    const bulkInsert = (columns: ColumnArrays, existing: q.OnExisting) =>
      columns.names.length === 0
        ? `select null::uuid as id, null::timestamptz as scheduled_at where false` // only refusals to log
        : `insert into messages (${columns.names.join(', ')})
        select ${columns.types.map((type, i) => (columns.same[i] ? `$${i + 2}::${type}` : `c${i}`)).join(', ')}
          from unnest(${columns.types.flatMap((type, i) => (columns.same[i] ? [] : [`$${i + 2}::${type}[]`])).join(', ')})
            as c(${columns.types.flatMap((_, i) => (columns.same[i] ? [] : [`c${i}`])).join(', ')})
        ${q.onExistingClause(existing)} returning id, scheduled_at`;
    this.bulkStatement = (columns, existing) => `
      with msg as (${bulkInsert(columns, existing)}),
      logs as (${q.insertLogsText(1)}),
      jobs as (${fanOutJobs}),
      ${ctes}
      select (select count(*) from msg)::int as inserted where ${forced}`;
    this.boss = boss;
  }

  /**
   * New messages, their jobs and any delivery logs in ONE prepared statement (CTEs:
   * messages insert → pg-boss's own job insert fed from the inserted rows → NOTIFY), so
   * accepting is one round trip, atomic without BEGIN/COMMIT, parsed and planned once
   * per connection. A message the unique indexes refuse gets no job.
   *
   * Callers that want their rows back (single sends, order notifications) share
   * statements: while a few are out, the writes that arrive meanwhile leave together as
   * one (lib/batching.ts). A shared statement that fails is run again caller by caller.
   */
  write(batch: NewMessages): Promise<WrittenMessages> {
    return this.together(batch);
  }

  /**
   * Bulk writes (a billing cycle): each part is one statement (columns as arrays, a
   * FanOutJob per MESSAGES_PER_FAN_OUT_JOB messages), all in one transaction. A part is
   * sent as soon as it is built, so PostgreSQL writes it while the next one is built.
   *
   * A message the unique indexes refuse (an invoice queued by an earlier call of the
   * cycle, by one running at the same time, or twice in this one) is left out. The first
   * attempt writes without `on conflict` (measured, 10,000 invoices: PostgreSQL per call
   * 416 / 434 → 260 / 295 ms); only when it meets an existing row is it rolled back and the
   * parts, kept as built, written again with the conflicting rows left out.
   */
  async writeParts(parts: Iterable<NewMessages>): Promise<BulkWritten> {
    const built: Built[] = [];
    function* building(): Generator<Built> {
      for (const part of parts) {
        const next = { columns: toColumnArrays(messages, part.messages), logs: toJsonRows(deliveryLogs, part.logs ?? []) };
        built.push(next);
        yield next;
      }
    }
    try {
      return { ...(await this.writeBuilt('fail', building())), rewritten: false };
    } catch (error) {
      if ((error as { code?: string }).code !== UNIQUE_VIOLATION) throw error;
      return { ...(await this.writeBuilt('skip', built)), rewritten: true };
    }
  }

  /** One transaction of bulk statements, each part sent as soon as the iterable gives it. */
  private async writeBuilt(existing: q.OnExisting, parts: Iterable<Built>): Promise<{ inserted: number }> {
    const statement = this.bulkStatement;
    if (!statement) throw new Error('the dispatch queue is not running yet');
    return this.handle.inTransaction(async (run) => {
      const writes: Promise<{ inserted: number }[]>[] = [];
      let unbuilt: { error: unknown } | undefined;
      try {
        for (const { columns, logs } of parts) {
          const text = statement(columns, existing);
          const name = `herald_bulk_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
          writes.push(run<{ inserted: number }>(name, text, [logs, ...columns.values]));
          // A turn of the event loop: the statement goes out on the socket before the next part is built.
          await new Promise((resolve) => setImmediate(resolve));
        }
      } catch (error) {
        unbuilt = { error };
      }
      // Every statement sent is waited for, even when building a later part failed.
      const results = await Promise.allSettled(writes);
      if (unbuilt) throw unbuilt.error;
      let inserted = 0;
      for (const write of results) {
        if (write.status === 'rejected') throw write.reason;
        inserted += Number(write.value[0].inserted);
      }
      return { inserted };
    }, { bulk: true });
  }

  private readonly together = naturalBatches((batches: NewMessages[]) => this.run(batches), {
    maxInFlight: SHARED_ACCEPTS_IN_FLIGHT,
    maxWeight: SHARED_ACCEPT_MAX_ROWS,
    weight: (b) => b.messages.length + (b.logs?.length ?? 0),
  });

  private async run(batches: NewMessages[]): Promise<WrittenMessages[]> {
    if (!this.rowsStatement) throw new Error('the dispatch queue is not running yet');
    // Only a message with an idempotency key can meet an existing row (ids are new, and a
    // single invoice DM has no cycle): without one, no on conflict clause.
    const existing: q.OnExisting = batches.some((b) => b.messages.some((m) => m.idempotencyKey)) ? 'skip' : 'fail';
    const [row] = await this.handle.prepared<{ messages: unknown; logs: unknown }>(`herald_accept_rows_${existing}`, this.rowsStatement(existing), [
      toJsonRows(messages, batches.flatMap((b) => b.messages)),
      toJsonRows(deliveryLogs, batches.flatMap((b) => b.logs ?? [])),
    ]);
    // Back to their callers, in the order each gave (json_agg's order is the scan's).
    const owner = new Map<string, { batch: number; at: number }>();
    batches.forEach((b, batch) => {
      b.messages.forEach((m, at) => owner.set(m.id, { batch, at }));
      b.logs?.forEach((l, at) => owner.set(l.id, { batch, at }));
    });
    const written = batches.map((): WrittenMessages => ({ messages: [], logs: [], inserted: 0 }));
    for (const r of jsonValue<Record<string, unknown>[]>(row.messages)) {
      const m = fromJsonRow<q.MessageRow>(messages, r);
      written[owner.get(m.id)!.batch].messages.push(m);
    }
    for (const r of jsonValue<Record<string, unknown>[]>(row.logs)) {
      const l = fromJsonRow<q.DeliveryLogRow>(deliveryLogs, r);
      written[owner.get(l.id)!.batch].logs.push(l);
    }
    const byGivenOrder = (a: { id: string }, b: { id: string }) => owner.get(a.id)!.at - owner.get(b.id)!.at;
    for (const w of written) {
      w.messages.sort(byGivenOrder);
      w.logs.sort(byGivenOrder);
      w.inserted = w.messages.length;
    }
    return written;
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

interface JobInsert {
  /** pg-boss's own CTEs (`ins`, and `notified` when the queue notifies), reading the `jobs` CTE. */
  ctes: string;
  /** The condition that makes PostgreSQL evaluate the NOTIFY CTE. */
  forced: string;
}

/**
 * pg-boss's job INSERT for the dispatch queue (its own SQL: queue defaults, retention,
 * NOTIFY), fed from the `jobs` CTE instead of its JSON parameter. Checked against the
 * shape this was written for, so a pg-boss upgrade that changes it fails at start-up,
 * not at the first message.
 */
export function jobInsertFromMessages(table: string, notify: boolean): JobInsert {
  const text = insertJobs('pgboss', { table, name: DISPATCH_QUEUE, returnId: true, notify }).trim();
  const source = 'json_to_recordset($1::text::json)';
  const unexpected = () => new Error("pg-boss's job insert changed shape; Herald's one-statement accept (dispatch/queue.ts) needs updating");
  if (text.split(source).length !== 2 || /\$[2-9]/.test(text)) throw unexpected();
  const fed = text.replace(source, 'json_to_recordset((select list from jobs))');
  if (!notify) return { ctes: `ins as (${fed})`, forced: 'true' };
  const final = /\bSELECT id FROM ins WHERE (\(SELECT count\(\*\) FROM notified\) >= 0)\s*$/.exec(fed);
  if (!fed.startsWith('WITH ins AS (') || !final) throw unexpected();
  return { ctes: fed.slice('WITH '.length, final.index).trim(), forced: final[1] };
}

/**
 * Runs `concurrency` sends at once, over pollers taking batches of up to 16 jobs (a
 * batch's sends claim and record together, see Dispatcher); a poller keeps fetching
 * while batches come back full, so a backlog drains at provider speed, not poll speed.
 * Measured with 32 sends at once: 8 pollers × 4 → 529 msg/s, 4 × 8 → 529, 2 × 16 →
 * 724–870, 1 × 32 → 838 (but a single poller idles while its slowest send finishes).
 * With 16 sends at once, 1 × 16 → 435 and 422 msg/s, 2 × 8 → 428 and 398 (back to back,
 * zero-latency fake): no gain from a second poller there, so it is not forced.
 */
export async function startWorker(boss: PgBoss, dispatcher: Dispatcher, concurrency: number, log: Logger): Promise<void> {
  const pollers = Math.max(1, Math.ceil(concurrency / JOBS_PER_POLL));
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
          log.error({ err, job: job.id, messageId: 'messageId' in job.data ? job.data.messageId : undefined }, 'dispatch failed unexpectedly');
          return { id: job.id, status: 'failed' as const };
        }
      }),
    ),
  );
}

/** Each message of a bulk write's job gets its own job, due now, with the message's id as its id (one statement). */
async function fanOut(boss: PgBoss, job: FanOutJob): Promise<void> {
  await boss.insert(
    DISPATCH_QUEUE,
    job.messageIds.map((messageId) => ({ id: messageId, data: { messageId, attempt: 1 } satisfies DispatchJob })),
  );
}
