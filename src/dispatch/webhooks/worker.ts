// Delivers webhook jobs: signs the event's payload as Standard Webhooks says (the
// `standardwebhooks` package, with every secret the endpoint signs with), posts it
// (poster.ts), and records the attempt. A failure worth retrying gets its next job in the
// same transaction as its record; an endpoint failing for 24 hours without a success is
// disabled. A job run again after its worker died posts again (receivers dedupe on
// webhook-id) but is recorded once.
import type { PgBoss } from 'pg-boss';
import type { Logger } from 'pino';
import { Webhook } from 'standardwebhooks';
import type { Database } from '../../db/client.js';
import { naturalBatches } from '../../lib/batching.js';
import { toGlobalId, uuidv7 } from '../../lib/ids.js';
import type { Metrics } from '../../metrics.js';
import type { EndpointRow } from '../../modules/webhooks/webhook-endpoints.queries.js';
import * as q from '../../modules/webhooks/webhook-events.queries.js';
import { FAILING_TIER, WEBHOOK_QUEUE, type WebhookJob, type WebhookQueue } from './jobs.js';
import type { PostResult, WebhookPoster } from './poster.js';
import { DAY_MS } from '../../domain/limits.js';
import { type WebhookRetryPolicy, nextAttemptAt, worthRetrying } from './retry.js';

/**
 * Deliveries at once to one endpoint that is failing (its last attempt failed: down, or
 * too slow to answer), across every worker process: the queue's limit for the group tier
 * its jobs are put in (jobs.ts). A healthy endpoint may use every slot: a limit there makes
 * the queue's fetch read past the endpoint's whole backlog each time it is reached, which
 * cost more database time than the deliveries themselves (scripts/bench/webhooks.mjs).
 */
export const FAILING_ENDPOINT_CONCURRENCY = 4;
/** The group limit of a healthy endpoint's jobs: none in effect. */
const UNBOUNDED = 1_000_000;
/** Jobs a poller takes at once. */
const JOBS_PER_POLL = 4;

export interface WebhookWorkerDeps {
  db: Database;
  /** The secrets an endpoint signs with at a time (WebhookEndpointsService). */
  secrets: { signingSecrets(row: EndpointRow, at: Date): string[] };
  queue: WebhookQueue;
  poster: WebhookPoster;
  retry: WebhookRetryPolicy;
  metrics: Metrics;
  log: Logger;
}

export class WebhookWorker {
  // Successes (the common case) arriving while one is being written are written together.
  private readonly recordSuccess = naturalBatches(
    async (rows: { row: q.NewDeliveryRow; wasFailing: boolean }[]) => {
      await this.deps.db.transaction(async (tx) => {
        await q.recordDeliveries(
          tx,
          rows.map((r) => r.row),
        );
        await q.clearFailing(tx, [...new Set(rows.filter((r) => r.wasFailing).map((r) => r.row.endpointId))]);
      });
      return rows.map(() => undefined);
    },
    { maxInFlight: 1, maxWeight: 256 },
  );

  constructor(private readonly deps: WebhookWorkerDeps) {}

  /**
   * Takes the queue's jobs: `concurrency` at once over pollers of JOBS_PER_POLL, never more
   * than FAILING_ENDPOINT_CONCURRENCY for a failing endpoint. A poller waits for its whole
   * batch, so there are always more pollers than that limit: an endpoint that has started
   * timing out holds at most that many while the others go on. A poller whose batch came
   * back full fetches again at once.
   */
  async start(boss: PgBoss, concurrency: number): Promise<void> {
    const pollers = Math.max(FAILING_ENDPOINT_CONCURRENCY + 1, Math.ceil(concurrency / JOBS_PER_POLL));
    const options = {
      localConcurrency: pollers,
      batchSize: JOBS_PER_POLL,
      perJobResults: true,
      groupConcurrency: { default: UNBOUNDED, tiers: { [FAILING_TIER]: FAILING_ENDPOINT_CONCURRENCY } },
      burstWhenBatchFull: true,
      pollingIntervalSeconds: 1,
      notifyPollingIntervalSeconds: 1,
    } as const;
    await boss.work<WebhookJob, unknown, typeof options>(WEBHOOK_QUEUE, options, (jobs) => this.deliverAll(jobs));
  }

  /** A fetched batch: its events and endpoints read together, then each job's attempt on its own. */
  async deliverAll(jobs: { id: string; data: WebhookJob }[]): Promise<{ id: string; status: 'completed' | 'failed' }[]> {
    let targets: Awaited<ReturnType<typeof q.deliveryTargets>>;
    try {
      targets = await q.deliveryTargets(
        this.deps.db,
        jobs.map((j) => j.data.eventId),
        jobs.map((j) => j.data.endpointId),
      );
    } catch (err) {
      this.deps.log.warn({ err: { message: (err as Error).message } }, 'could not read webhook jobs; the queue runs them again');
      return jobs.map((job) => ({ id: job.id, status: 'failed' as const }));
    }
    return Promise.all(
      jobs.map(async (job) => {
        try {
          await this.deliver(job.id, job.data, targets.events.get(job.data.eventId), targets.endpoints.get(job.data.endpointId));
          return { id: job.id, status: 'completed' as const };
        } catch (err) {
          // The queue runs it again (its record did not commit).
          this.deps.log.error({ err, job: job.id, eventId: job.data.eventId }, 'webhook delivery failed unexpectedly');
          return { id: job.id, status: 'failed' as const };
        }
      }),
    );
  }

  /** One attempt of one job. */
  async deliver(jobId: string, job: WebhookJob, event: q.EventRow | undefined, endpoint: EndpointRow | undefined): Promise<void> {
    const { metrics } = this.deps;
    // Deleted or disabled since the job was made: nothing to tell.
    if (!event || event.payload === null || !endpoint || !endpoint.enabled) return;
    const started = new Date();
    const result = await this.post(endpoint, event.id, event.payload, started);
    const at = new Date();
    const succeeded = result.answered && result.statusCode >= 200 && result.statusCode < 300;
    const row: q.NewDeliveryRow = {
      id: uuidv7(at.getTime()),
      tenantId: event.tenantId,
      endpointId: endpoint.id,
      eventId: event.id,
      messageId: event.messageId,
      jobId,
      attempt: job.attempt,
      outcome: succeeded ? 'SUCCEEDED' : 'FAILED',
      statusCode: result.answered ? result.statusCode : null,
      error: result.answered ? (succeeded ? null : `the endpoint answered ${result.statusCode}`) : result.error,
      durationMs: result.durationMs,
      responseExcerpt: result.answered ? result.excerpt : null,
      at,
      nextAttemptAt: null,
    };
    metrics.webhookDeliveries.inc({ outcome: row.outcome });
    if (succeeded) {
      await this.recordSuccess({ row, wasFailing: endpoint.failingSince !== null });
      if (event.messageId) metrics.webhookLatency.observe((at.getTime() - event.occurredAt.getTime()) / 1000);
      return;
    }
    const firstAttemptAt = job.firstAttemptAt ? new Date(job.firstAttemptAt) : started;
    const next = worthRetrying(result.answered ? result.statusCode : undefined)
      ? nextAttemptAt(job.attempt, firstAttemptAt, at, this.deps.retry)
      : null;
    await this.recordFailure(row, { ...job, attempt: job.attempt + 1, firstAttemptAt: firstAttemptAt.toISOString() }, next);
  }

  private async post(endpoint: EndpointRow, eventId: string, payload: string, at: Date): Promise<PostResult> {
    let secrets: string[];
    try {
      secrets = this.deps.secrets.signingSecrets(endpoint, at);
    } catch {
      return { answered: false, error: 'the signing secret cannot be read: rotate it (rotateWebhookSecret)', durationMs: 0 };
    }
    const id = toGlobalId('WebhookEvent', eventId);
    // Several secrets (during a rotation's overlap): one signature each, space-separated.
    const signature = secrets.map((secret) => new Webhook(secret).sign(id, at, payload)).join(' ');
    return this.deps.poster.post(
      endpoint.url,
      {
        'content-type': 'application/json',
        'user-agent': 'Herald-Webhooks/1',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signature,
      },
      payload,
    );
  }

  /** The failed attempt, its retry if any, and the endpoint's failing streak, together. */
  private async recordFailure(row: q.NewDeliveryRow, retry: WebhookJob, next: Date | null): Promise<void> {
    const { db, queue, metrics, log } = this.deps;
    const disabled = await db.transaction(async (tx) => {
      const since = await q.markFailing(tx, row.endpointId, row.at);
      const failingFor = since ? row.at.getTime() - since.getTime() : 0;
      const reason = `failing continuously for 24 hours (since ${since?.toISOString()}); last attempt: ${row.error}`;
      const disabled = failingFor >= DAY_MS && (await q.disableEndpoint(tx, row.endpointId, reason, row.at));
      const retryAt = disabled ? null : next;
      const written = await q.recordDeliveries(tx, [{ ...row, nextAttemptAt: retryAt }]);
      if (written.has(row.jobId) && retryAt) await queue.enqueue(tx, [{ job: retry, startAfter: retryAt, failing: true }]);
      return disabled ? reason : undefined;
    });
    if (disabled) {
      metrics.webhookEndpointsDisabled.inc();
      log.warn({ webhookEndpointId: row.endpointId, tenantId: row.tenantId, reason: disabled }, 'webhook endpoint disabled');
    }
  }
}
