// What the webhook queue carries, and how services put jobs on it.
import { sql } from 'drizzle-orm';
import { type PgBoss, fromDrizzle } from 'pg-boss';
import type { Executor } from '../../db/client.js';

export const WEBHOOK_QUEUE = 'herald-webhooks';

/** The group tier of jobs for an endpoint whose last attempts failed (slow or down). */
export const FAILING_TIER = 'failing';

/** One attempt to deliver one event to one endpoint (database ids). */
export interface WebhookJob {
  eventId: string;
  endpointId: string;
  /** 1-based, counted per event and endpoint across redeliveries. */
  attempt: number;
  /** When this run of attempts began (ISO): retries go on for 24 hours from it. */
  firstAttemptAt?: string;
}

/** Webhook jobs written in the caller's transaction (the relay, redeliveries, test events, retries). */
export class WebhookQueue {
  private boss?: PgBoss;

  attach(boss: PgBoss): void {
    this.boss = boss;
  }

  /**
   * pg-boss's own insert with the endpoint as the job's group, so the queue's per-group
   * limits bound how many deliveries to one endpoint run at once (dispatch/webhooks/worker.ts):
   * a job for an endpoint that is failing (`failing`) is in the FAILING_TIER, whose limit is low.
   */
  async enqueue(tx: Executor, jobs: { job: WebhookJob; startAfter?: Date; failing?: boolean }[]): Promise<void> {
    if (!this.boss) throw new Error('the webhook queue is not running yet');
    if (jobs.length === 0) return;
    await this.boss.insert(
      WEBHOOK_QUEUE,
      jobs.map(({ job, startAfter, failing }) => ({
        data: job,
        group: failing ? { id: job.endpointId, tier: FAILING_TIER } : { id: job.endpointId },
        ...(startAfter ? { startAfter } : {}),
      })),
      { db: fromDrizzle(tx as never, sql as never) },
    );
  }
}
