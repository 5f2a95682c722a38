// The accept path. A message row, the delivery logs written with it and the job that will
// send it commit in one transaction: drizzle writes the rows, and pg-boss writes the job
// through its public `insert` with that transaction as its database. So a message is never
// stored without its job, nor a job queued for a message that was rolled back.
import { sql } from 'drizzle-orm';
import { type PgBoss, fromDrizzle } from 'pg-boss';
import { sqlState } from '../db/availability.js';
import type { Database, Executor } from '../db/client.js';
import { deliveryLogs, messages } from '../db/schema/index.js';
import { naturalBatches } from '../lib/batching.js';
import {
  type DeliveryLogRow,
  type MessageRow,
  type NewDeliveryLogRow,
  type NewMessageRow,
  insertBulkMessages,
} from '../modules/messages/messages.queries.js';
import { DISPATCH_QUEUE, type DispatchJob, type FanOutJob } from './jobs.js';

/** New messages to accept, with the delivery logs written alongside them. */
export interface NewMessages {
  messages: readonly NewMessageRow[];
  logs?: readonly NewDeliveryLogRow[];
}

export interface WrittenMessages {
  /** The messages inserted (those the unique indexes refused are not among them). */
  messages: MessageRow[];
  logs: DeliveryLogRow[];
  inserted: number;
}

export interface BulkWritten {
  inserted: number;
  /** Of those inserted, the messages SCHEDULED for later. */
  scheduled: number;
  /** The write met messages already there (an invoice queued before), left them out and was written again. */
  rewritten: boolean;
}

/** A job for a message that is already stored (a retry, a requeue after a rate limit, a sweep). */
export type JobRequest = { messageId: string; startAfter?: Date } & Partial<DispatchJob>;

/** The dispatch queue as the services that write messages see it. */
export interface Outbox {
  /** Messages + their jobs (due at scheduledAt, else now) + logs, atomically. */
  write(batch: NewMessages): Promise<WrittenMessages>;
  /** A bulk write given in parts; every part commits or none does. */
  writeParts(parts: Iterable<NewMessages>): Promise<BulkWritten>;
  /** Jobs for existing messages, inside the caller's transaction. */
  enqueue(tx: Executor, jobs: JobRequest[]): Promise<void>;
}

/** Writes arriving while a shared write is out leave together, up to this many rows. */
const SHARED_WRITE_MAX_ROWS = 500;
/** Rows per INSERT of a bulk write (a billing part is 2,500), so no one statement holds the transaction long. */
const BULK_ROWS_PER_INSERT = 5_000;
/**
 * Messages per job in a bulk write: one FanOutJob names up to this many and the worker
 * gives each its own DispatchJob, so a billing cycle writes a hundredth of the jobs while
 * the caller waits.
 */
export const MESSAGES_PER_FAN_OUT_JOB = 100;

type Written = Pick<BulkWritten, 'inserted' | 'scheduled'>;

/** PostgreSQL's SQLSTATE for a row a unique index refuses. */
const UNIQUE_VIOLATION = '23505';

export class QueueOutbox implements Outbox {
  private boss?: PgBoss;

  constructor(
    private readonly db: Database,
    private readonly options: { bulkStatementTimeoutMs: number },
  ) {}

  /** Jobs can be written once the queue has started. */
  attach(boss: PgBoss): void {
    this.boss = boss;
  }

  /**
   * Single sends and order notifications. Callers arriving while a write is out share the
   * next transaction (lib/batching.ts), which is where a busy database saves its time; a
   * shared write that fails is run again caller by caller, so a bad row fails its own
   * caller only.
   */
  write(batch: NewMessages): Promise<WrittenMessages> {
    return this.shared(batch);
  }

  private readonly shared = naturalBatches((batches: NewMessages[]) => this.writeTogether(batches), {
    maxInFlight: 1,
    maxWeight: SHARED_WRITE_MAX_ROWS,
    weight: (b) => b.messages.length + (b.logs?.length ?? 0),
  });

  private async writeTogether(batches: NewMessages[]): Promise<WrittenMessages[]> {
    const rows = batches.flatMap((b) => b.messages);
    const logs = batches.flatMap((b) => b.logs ?? []);
    // Only a message with an idempotency key can meet an existing row (ids are new).
    const mayExist = rows.some((m) => m.idempotencyKey);
    const { inserted, logged } = await this.db.transaction(async (tx) => {
      const inserted = rows.length
        ? await (mayExist ? tx.insert(messages).values(rows).onConflictDoNothing() : tx.insert(messages).values(rows)).returning()
        : [];
      const logged = logs.length ? await tx.insert(deliveryLogs).values(logs).returning() : [];
      await this.insertJobs(
        tx,
        inserted.map((m) => ({ data: { messageId: m.id, attempt: 1 }, startAfter: m.scheduledAt ?? undefined })),
      );
      return { inserted, logged };
    });
    // Back to their callers, each in the order it gave.
    const byId = <T extends { id: string }>(written: T[]) => new Map(written.map((r) => [r.id, r]));
    const messagesById = byId(inserted);
    const logsById = byId(logged);
    return batches.map((b) => {
      const mine = b.messages.flatMap((m) => messagesById.get(m.id) ?? []);
      return { messages: mine, logs: (b.logs ?? []).flatMap((l) => logsById.get(l.id) ?? []), inserted: mine.length };
    });
  }

  /**
   * Bulk writes (a billing cycle), every part in one transaction. The first try writes
   * without `on conflict` (cheaper: PostgreSQL checks no arbiter index); only when it meets
   * a message already there (an invoice queued by an earlier call of the cycle, by one
   * running at the same time, or twice in this one) is it rolled back and written again
   * from the parts kept, leaving the conflicting rows out.
   */
  async writeParts(parts: Iterable<NewMessages>): Promise<BulkWritten> {
    const source = parts[Symbol.iterator]();
    const kept: NewMessages[] = [];
    const keeping = function* (): Generator<NewMessages> {
      for (let next = source.next(); !next.done; next = source.next()) {
        kept.push(next.value);
        yield next.value;
      }
    };
    try {
      return { ...(await this.writeBulk(keeping(), false)), rewritten: false };
    } catch (error) {
      if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
      // The parts written so far, then those the first try did not reach.
      const again = function* (): Generator<NewMessages> {
        yield* kept;
        yield* keeping();
      };
      return { ...(await this.writeBulk(again(), true)), rewritten: true };
    }
  }

  private writeBulk(parts: Iterable<NewMessages>, skipExisting: boolean): Promise<Written> {
    return this.db.transaction(async (tx) => {
      // A bulk write's statements get the bulk statement timeout, not the pool's.
      await tx.execute(sql`select set_config('statement_timeout', ${String(this.options.bulkStatementTimeoutMs)}, true)`);
      // A part's statements are under way while the next part is built, so PostgreSQL
      // writes one while Node builds the other; on the connection they still run in order.
      let written: Promise<Written> = Promise.resolve({ inserted: 0, scheduled: 0 });
      try {
        for (const part of parts) {
          written = written.then(async (before) => {
            const now = await this.writePart(tx, part, skipExisting);
            return { inserted: before.inserted + now.inserted, scheduled: before.scheduled + now.scheduled };
          });
          written.catch(() => undefined); // awaited below; not unhandled meanwhile
          await new Promise((resolve) => setImmediate(resolve));
        }
      } catch (error) {
        // A part that could not be built: what was sent finishes before the rollback.
        await written.catch(() => undefined);
        throw error;
      }
      return written;
    });
  }

  private async writePart(tx: Executor, part: NewMessages, skipExisting: boolean): Promise<Written> {
    const count: Written = { inserted: 0, scheduled: 0 };
    for (const rows of chunks(part.messages, BULK_ROWS_PER_INSERT)) {
      const written = await insertBulkMessages(tx, rows, skipExisting);
      await this.insertJobs(tx, fanOutJobs(written));
      count.inserted += written.length;
      count.scheduled += written.filter((m) => m.scheduledAt).length;
    }
    for (const logs of chunks(part.logs ?? [], BULK_ROWS_PER_INSERT)) await tx.insert(deliveryLogs).values(logs);
    return count;
  }

  async enqueue(tx: Executor, jobs: JobRequest[]): Promise<void> {
    await this.insertJobs(
      tx,
      jobs.map(({ startAfter, ...data }) => ({ data: { ...data, attempt: data.attempt ?? 1 }, startAfter })),
    );
  }

  /** pg-boss's own insert, in the caller's transaction: the queue's settings hold for these jobs as for any. */
  private async insertJobs(tx: Executor, jobs: { data: DispatchJob | FanOutJob; startAfter?: Date }[]): Promise<void> {
    if (!this.boss) throw new Error('the dispatch queue is not running yet');
    if (jobs.length === 0) return;
    const db = fromDrizzle(tx as never, sql as never);
    await this.boss.insert(
      DISPATCH_QUEUE,
      jobs.map(({ data, startAfter }) => (startAfter ? { data, startAfter } : { data })),
      { db },
    );
  }
}

/** One FanOutJob per MESSAGES_PER_FAN_OUT_JOB messages due at the same time. */
function fanOutJobs(written: { id: string; scheduledAt: Date | null }[]): { data: FanOutJob; startAfter?: Date }[] {
  const byDue = new Map<number, { ids: string[]; at: Date | null }>();
  for (const m of written) {
    const due = m.scheduledAt?.getTime() ?? 0;
    const group = byDue.get(due) ?? byDue.set(due, { ids: [], at: m.scheduledAt }).get(due)!;
    group.ids.push(m.id);
  }
  return [...byDue.values()].flatMap(({ ids, at }) =>
    chunks(ids, MESSAGES_PER_FAN_OUT_JOB).map((messageIds) => (at ? { data: { messageIds }, startAfter: at } : { data: { messageIds } })),
  );
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let at = 0; at < items.length; at += size) out.push(items.slice(at, at + size));
  return out;
}
