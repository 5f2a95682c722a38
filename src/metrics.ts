import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Database } from './db/client.js';

/** A database-read gauge's statements are cancelled after this long: a scrape never waits on a slow count. */
export const GAUGE_STATEMENT_TIMEOUT_MS = 2_000;

/** Gauges read from the database at scrape time. */
export interface ScrapedGauges {
  queueDepth?: () => Promise<number>;
  sendingOverdue?: () => Promise<number>;
  /** Each gateway's breaker state (API ids), read at every scrape. */
  gatewayHealth?: () => Promise<{ gateway: string; state: string }[]>;
  /** Each gauge reads the database at most once per this many ms; scrapes in between get its last value (0: every scrape). */
  maxAgeMs?: number;
  /** Where a failed read is reported (once, until a read succeeds again). */
  log?: Pick<Logger, 'warn'>;
  now?: () => number;
}

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/** `read` in a transaction of its own whose statements PostgreSQL cancels after `timeoutMs`. */
export function boundedRead(
  db: Database,
  read: (tx: Tx) => Promise<number>,
  timeoutMs = GAUGE_STATEMENT_TIMEOUT_MS,
): () => Promise<number> {
  return () =>
    db.transaction(async (tx) => {
      await tx.execute(sql`select set_config('statement_timeout', ${String(timeoutMs)}, true)`);
      return read(tx);
    });
}

/**
 * `read` at most once per `maxAgeMs`, one at a time: however many scrapers (or callers of an
 * open /metrics) there are, the database does one count per window. A failed read is NaN,
 * kept for the window like any value, so a count timing out is not retried at every scrape.
 */
function throttledRead(name: string, read: () => Promise<number>, options: ScrapedGauges): () => Promise<number> {
  const { maxAgeMs = 0, log, now = () => performance.now() } = options;
  let last: { value: number; at: number } | undefined;
  let pending: Promise<number> | undefined;
  let failing = false;
  return () => {
    if (pending) return pending;
    if (last && now() - last.at < maxAgeMs) return Promise.resolve(last.value);
    pending = read()
      .then(
        (value) => {
          failing = false;
          return value;
        },
        (err: Error) => {
          // drizzle wraps the driver's error (statement timeout: SQLSTATE 57014) as its cause.
          const cause = (err.cause ?? err) as Error & { code?: string };
          if (!failing)
            log?.warn(
              { gauge: name, err: { message: cause.message, code: cause.code } },
              'a /metrics gauge could not be read from the database: it shows NaN until a read succeeds',
            );
          failing = true;
          return Number.NaN;
        },
      )
      .then((value) => {
        last = { value, at: now() };
        return value;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

/**
 * One registry per process (or per app in tests): default process metrics plus Herald's
 * own series. The ScrapedGauges are read at scrape time, each at most once per maxAgeMs.
 */
export function createMetrics(gauges: ScrapedGauges = {}) {
  const queueDepth = gauges.queueDepth && throttledRead('herald_queue_depth', gauges.queueDepth, gauges);
  const sendingOverdue = gauges.sendingOverdue && throttledRead('herald_sending_overdue', gauges.sendingOverdue, gauges);
  const gatewayHealth = gauges.gatewayHealth;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    graphqlOperations: new Counter({
      name: 'herald_graphql_operations_total',
      help: 'GraphQL operations by type and outcome (ok, user_error, error)',
      labelNames: ['type', 'outcome'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'herald_http_request_duration_seconds',
      help: 'HTTP request duration by route and status code',
      labelNames: ['route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    billingWrites: new Counter({
      name: 'herald_billing_cycle_writes_total',
      help: 'notifyBillingCycle writes by attempts: 1, or 2 when invoices of the call were queued already (a re-sent or overlapping call of the cycle) and the write ran again leaving them out',
      labelNames: ['attempts'] as const,
      registers: [registry],
    }),
    messages: new Counter({
      name: 'herald_messages_total',
      help: 'Messages entering each status, by channel',
      labelNames: ['channel', 'status'] as const,
      registers: [registry],
    }),
    smsSegments: new Counter({
      name: 'herald_sms_segments_total',
      help: 'SMS and WhatsApp segments accepted, by tenant, channel and encoding (GSM7, UCS2)',
      labelNames: ['tenant', 'channel', 'encoding'] as const,
      registers: [registry],
    }),
    smsBillableUnits: new Counter({
      name: 'herald_sms_billable_units_total',
      help: "SMS and WhatsApp billable units accepted (segments × the gateway's price multiplier), by tenant and channel",
      labelNames: ['tenant', 'channel'] as const,
      registers: [registry],
    }),
    dispatchDuration: new Histogram({
      name: 'herald_dispatch_duration_seconds',
      help: 'Time of one provider send attempt, by channel, provider and outcome',
      labelNames: ['channel', 'provider', 'outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    receipts: new Counter({
      name: 'herald_receipts_total',
      help: 'Delivery receipts (webhooks) by provider and outcome',
      labelNames: ['provider', 'outcome'] as const,
      registers: [registry],
    }),
    deliveryLatency: new Histogram({
      name: 'herald_sent_to_delivered_seconds',
      help: 'Time from SENT to the DELIVERED receipt, by channel',
      labelNames: ['channel'] as const,
      buckets: [1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'herald_queue_depth',
      help: 'Messages QUEUED and waiting for a worker',
      registers: [registry],
      async collect() {
        if (queueDepth) this.set(await queueDepth());
      },
    }),
    gatewayHealth: new Gauge({
      name: 'herald_gateway_health',
      help: "Each gateway's circuit breaker, as every worker sees it: 1 for its state (CLOSED, OPEN or HALF_OPEN), 0 for the others; gateways never used are not listed",
      labelNames: ['gateway', 'state'] as const,
      registers: [registry],
      async collect() {
        if (!gatewayHealth) return;
        try {
          const rows = await gatewayHealth();
          this.reset();
          for (const row of rows) {
            for (const state of ['CLOSED', 'OPEN', 'HALF_OPEN']) this.set({ gateway: row.gateway, state }, state === row.state ? 1 : 0);
          }
        } catch (err) {
          gauges.log?.warn(
            { gauge: 'herald_gateway_health', err: { message: (err as Error).message } },
            'a /metrics gauge could not be read',
          );
        }
      },
    }),
    sendingOverdue: new Gauge({
      name: 'herald_sending_overdue',
      help: 'Messages SENDING for longer than the longest live send (2 × HERALD_SEND_TIMEOUT_MS plus a margin): orphaned sends, which the sweep takes over or fails',
      registers: [registry],
      async collect() {
        if (sendingOverdue) this.set(await sendingOverdue());
      },
    }),
    orphanedSends: new Counter({
      name: 'herald_orphaned_sends_total',
      help: 'Orphaned sends the sweep ended, by outcome: sent_again (QUEUED with a new job) or failed (attempts spent)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    fallbacks: new Counter({
      name: 'herald_fallbacks_total',
      help: 'Cross-channel fallbacks, by the channel tried and outcome: written (a message queued) or skipped (recipient unreachable there, or over budget)',
      labelNames: ['channel', 'outcome'] as const,
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'herald_webhook_deliveries_total',
      help: 'Event-webhook delivery attempts this process made, by outcome: SUCCEEDED (2xx) or FAILED',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    webhookLatency: new Histogram({
      name: 'herald_webhook_delivery_latency_seconds',
      help: "From a message's status change to its event's successful delivery to an endpoint (retries included)",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600, 86400],
      registers: [registry],
    }),
    purgedRows: new Counter({
      name: 'herald_purged_rows_total',
      help: 'Rows the retention purge removed, by kind: messages, delivery_logs, webhook_events, webhook_deliveries, jobs, provider_receipts, idempotency_keys',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    webhookEndpointsDisabled: new Counter({
      name: 'herald_webhook_endpoints_disabled_total',
      help: 'Event-webhook endpoints Herald disabled after 24 hours of failed deliveries',
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
