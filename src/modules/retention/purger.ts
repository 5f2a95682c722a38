// The retention purge. Every dispatching process runs it at start and then every
// HERALD_PURGE_INTERVAL_SECONDS: for each tenant, what is older than its retentionDays goes
// (messages with their delivery logs, webhook events and their attempts; delivery logs and
// test events that name no message; spent idempotency keys), then the provider receipts
// and queue jobs left naming nothing.
//
// Work is cut into short transactions of at most a batch each, so no lock is held for
// long and a purge can stop between any two. A batch locks its messages with SKIP LOCKED:
// two processes purging at once take disjoint batches, and a message a worker or a
// receipt is writing is left for the next run. The daily counts of a batch's messages are
// added in the transaction that deletes them, so every message is counted exactly once,
// in `messages` until that commit and in message_daily_stats after it.
import type { PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import type { Database } from '../../db/client.js';
import { DISPATCH_QUEUE } from '../../dispatch/jobs.js';
import { WEBHOOK_QUEUE } from '../../dispatch/webhooks/jobs.js';
import { every, type Repeating } from '../../lib/every.js';
import { uuidv7Floor } from '../../lib/ids.js';
import type { Metrics } from '../../metrics.js';
import { DAY_MS } from '../../domain/limits.js';
import * as q from './retention.queries.js';

/** Rows per transaction: a few milliseconds of locks each. */
export const PURGE_BATCH = 500;
/** Jobs read per page of the queue. */
const JOB_PAGE = 1_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface PurgeCounts {
  messages: number;
  deliveryLogs: number;
  webhookEvents: number;
  webhookDeliveries: number;
  jobs: number;
  providerReceipts: number;
  idempotencyKeys: number;
}

/** The `kind` label of herald_purged_rows_total. */
const KIND: Record<keyof PurgeCounts, string> = {
  messages: 'messages',
  deliveryLogs: 'delivery_logs',
  webhookEvents: 'webhook_events',
  webhookDeliveries: 'webhook_deliveries',
  jobs: 'jobs',
  providerReceipts: 'provider_receipts',
  idempotencyKeys: 'idempotency_keys',
};

/** The queue as the purge uses it: pg-boss's public findJobs and deleteJob. */
export type PurgeQueue = Pick<PgBoss, 'findJobs' | 'deleteJob'>;

export interface PurgerDeps {
  db: Database;
  queue: PurgeQueue;
  metrics: Metrics;
  log: Logger;
  /** Rows per transaction (default PURGE_BATCH). */
  batchSize?: number;
}

/** A queue's jobs and what each one names: the ids it is about, or undefined for a job of another shape. */
interface JobSweep {
  queue: string;
  refs(data: Record<string, unknown>): string[] | undefined;
  stored(ids: string[]): Promise<Set<string>>;
}

export class Purger {
  private readonly batchSize: number;
  private repeating?: Repeating;
  private stopping = false;

  constructor(private readonly deps: PurgerDeps) {
    this.batchSize = deps.batchSize ?? PURGE_BATCH;
  }

  /** Purges now, then every `intervalMs`; a run still going when the next is due is not doubled. */
  start(intervalMs: number): void {
    // A failed run is logged by purge(), with what it removed before; the next goes on from there.
    const run = () => this.purge().catch(() => undefined);
    this.repeating = every(intervalMs, run, this.deps.log, 'retention purge failed', { atStart: true });
  }

  /** Stops between two batches and waits for the run under way. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.repeating?.stop();
  }

  /** One run, with `now` as the time retention is counted back from; what it removed. */
  async purge(now = new Date()): Promise<PurgeCounts> {
    const { db, log } = this.deps;
    const counts: PurgeCounts = {
      messages: 0,
      deliveryLogs: 0,
      webhookEvents: 0,
      webhookDeliveries: 0,
      jobs: 0,
      providerReceipts: 0,
      idempotencyKeys: 0,
    };
    const started = performance.now();
    try {
      const tenants = await q.retentionOfTenants(db);
      for (const tenant of tenants) {
        await this.purgeTenant(tenant.id, new Date(now.getTime() - tenant.retentionDays * DAY_MS), counts);
      }
      if (tenants.length > 0) {
        const days = tenants.map((t) => t.retentionDays);
        // Receipts name no tenant: one is kept while any tenant may still keep its message.
        const receiptsBefore = new Date(now.getTime() - Math.max(...days) * DAY_MS);
        await this.repeat(counts, 'providerReceipts', () => q.deleteExpiredReceipts(db, receiptsBefore, this.batchSize));
        // Jobs are read oldest first up to the latest cutoff of any tenant: in steady state
        // those are few (pg-boss deletes a finished job a day after it finished). A later job
        // of a purged message (a retry) goes by that clean-up too, or is read by a later run.
        const jobsBefore = new Date(now.getTime() - Math.min(...days) * DAY_MS);
        await this.sweepJobs(counts, jobsBefore, {
          queue: DISPATCH_QUEUE,
          refs: (data) =>
            typeof data.messageId === 'string'
              ? [data.messageId]
              : Array.isArray(data.messageIds)
                ? data.messageIds.filter((id): id is string => typeof id === 'string')
                : undefined,
          stored: (ids) => q.storedMessageIds(db, ids),
        });
        await this.sweepJobs(counts, jobsBefore, {
          queue: WEBHOOK_QUEUE,
          refs: (data) => (typeof data.eventId === 'string' ? [data.eventId] : undefined),
          stored: (ids) => q.storedEventIds(db, ids),
        });
      }
    } catch (err) {
      log.warn({ purged: counts, err: { message: (err as Error).message } }, 'retention purge stopped early; the next run goes on');
      throw err;
    }
    log.info({ purged: counts, durationMs: Math.round(performance.now() - started) }, 'retention purge');
    return counts;
  }

  private async purgeTenant(tenantId: string, cutoff: Date, counts: PurgeCounts): Promise<void> {
    const { db } = this.deps;
    const beforeId = uuidv7Floor(cutoff.getTime());
    while (!this.stopping) {
      const deleted = await db.transaction(async (tx) => {
        const ids = await q.takeExpiredMessages(tx, tenantId, beforeId, this.batchSize);
        if (ids.length === 0) return undefined;
        await q.addToDailyStats(tx, ids);
        return { taken: ids.length, ...(await q.deleteMessagesAndTheirRows(tx, tenantId, ids)) };
      });
      if (!deleted) break;
      const { taken, ...rows } = deleted;
      for (const [kind, n] of Object.entries(rows)) this.count(counts, kind as keyof PurgeCounts, n);
      if (taken < this.batchSize) break;
    }
    await this.repeat(counts, 'deliveryLogs', () => q.deleteExpiredLooseLogs(db, tenantId, beforeId, this.batchSize));
    while (!this.stopping) {
      const deleted = await db.transaction((tx) => q.deleteExpiredTestEvents(tx, tenantId, beforeId, this.batchSize));
      this.count(counts, 'webhookEvents', deleted.webhookEvents);
      this.count(counts, 'webhookDeliveries', deleted.webhookDeliveries);
      if (deleted.webhookEvents < this.batchSize) break;
    }
    await this.repeat(counts, 'idempotencyKeys', () => q.deleteExpiredIdempotencyKeys(db, tenantId, cutoff, this.batchSize));
  }

  /** Runs a batch delete until it comes back short of a batch, counting what it removed. */
  private async repeat(counts: PurgeCounts, kind: keyof PurgeCounts, batch: () => Promise<number>): Promise<void> {
    while (!this.stopping) {
      const n = await batch();
      this.count(counts, kind, n);
      if (n < this.batchSize) return;
    }
  }

  /**
   * Deletes the queue's jobs created before `before` whose every message (or event) is no
   * longer stored, through pg-boss's findJobs and deleteJob. A job is written in the
   * transaction of its message, so a job that can be read names a message that was
   * committed: if that message cannot be found, it was purged.
   */
  private async sweepJobs(counts: PurgeCounts, before: Date, sweep: JobSweep): Promise<void> {
    const { queue } = this.deps;
    // The last job kept: the next page starts after it.
    let after: string | undefined;
    let restarts = 0;
    while (!this.stopping) {
      let page;
      try {
        page = await queue.findJobs<Record<string, unknown>>(sweep.queue, { limit: JOB_PAGE, ...(after ? { after } : {}) });
      } catch (err) {
        // The job kept last was removed meanwhile (pg-boss's own clean-up): start over.
        if (after === undefined || restarts++ >= 3) throw err;
        after = undefined;
        continue;
      }
      const old = page.filter((job) => job.createdOn < before);
      const refs = new Map(old.map((job) => [job.id, sweep.refs(job.data ?? {})?.filter((id) => UUID.test(id))]));
      const stored = await sweep.stored([...new Set([...refs.values()].flatMap((ids) => ids ?? []))]);
      // A job a worker holds is left to finish: it finds nothing to do.
      const orphans = old.filter((job) => {
        const ids = refs.get(job.id);
        return job.state !== 'active' && ids !== undefined && ids.length > 0 && ids.every((id) => !stored.has(id));
      });
      let removed = 0;
      if (orphans.length > 0) {
        // The command response says how many it deleted (another purge may have been first).
        const response = (await queue.deleteJob(
          sweep.queue,
          orphans.map((job) => job.id),
        )) as { affected?: number };
        removed = response.affected ?? orphans.length;
        this.count(counts, 'jobs', removed);
      }
      const kept = old.filter((job) => !orphans.includes(job));
      if (kept.length > 0) after = kept[kept.length - 1].id;
      else if (removed === 0) return;
      if (page.length < JOB_PAGE || old.length < page.length) return;
    }
  }

  private count(counts: PurgeCounts, kind: keyof PurgeCounts, n: number): void {
    if (n === 0) return;
    counts[kind] += n;
    this.deps.metrics.purgedRows.inc({ kind: KIND[kind] }, n);
  }
}
