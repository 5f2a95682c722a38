// One Herald process: database, migrations, bootstrap, HTTP. main.ts runs it from the
// environment; the tests run the very same thing in-process.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { bootstrap } from './bootstrap.js';
import type { Config } from './config.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { type Upkeep, startUpkeep } from './db/upkeep.js';
import { buildHeraldSchema } from './graphql/schema.js';
import { createHttpApp } from './http/app.js';
import { DestinationKeys } from './lib/destination-keys.js';
import { SecretBox, loadOrCreateSecretKey } from './lib/secret-box.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { HealthTracker } from './dispatch/health.js';
import { Router } from './dispatch/router.js';
import { toGlobalId } from './lib/ids.js';
import { effectiveState } from './modules/routing/circuit-breaker.js';
import { allHealth } from './modules/routing/routing.queries.js';
import { QueueOutbox } from './dispatch/outbox.js';
import { startQueue, startWorker } from './dispatch/queue.js';
import { WebhookQueue } from './dispatch/webhooks/jobs.js';
import { WebhookPoster } from './dispatch/webhooks/poster.js';
import { WebhookRelay } from './dispatch/webhooks/relay.js';
import { WebhookWorker } from './dispatch/webhooks/worker.js';
import { DatabaseListener } from './realtime/listener.js';
import { DAY_MS } from './domain/limits.js';
import { boundedRead, createMetrics } from './metrics.js';
import { migrate } from './migrate.js';
import { countWaiting } from './modules/messages/messages.queries.js';
import { countOverdueSending } from './modules/messages/orphans.queries.js';
import { Sweeper, takeOverAfterMs } from './dispatch/sweeper.js';
import { every, type Repeating } from './lib/every.js';
import { FALLBACK_CHECK_INTERVAL_MS } from './modules/fallback/fallback.service.js';
import { Purger } from './modules/retention/purger.js';
import { createProviders } from './providers/index.js';
import { StatusHub } from './realtime/status-hub.js';
import { type Services, createServices } from './services.js';

export type Role = 'all' | 'api' | 'worker';

/** Opening a connection to a webhook endpoint (TCP and TLS) gets at most this much of the attempt's timeout. */
const WEBHOOK_CONNECT_TIMEOUT_MS = 5_000;

export interface RunningHerald {
  app: FastifyInstance;
  handle: DatabaseHandle;
  services: Services;
  /** Base URL the server answers on (the real port when PORT=0). */
  url: string;
  /** The first ADMIN key, when this start created it. */
  firstKey?: string;
  /** The dispatch queue (pg-boss). */
  queue: Awaited<ReturnType<typeof startQueue>>;
  /** The retention purge, in processes that dispatch (role all and worker). */
  purger?: Purger;
  close(): Promise<void>;
}

export async function startHerald(config: Config, log: Logger, role: Role = 'all'): Promise<RunningHerald> {
  const { key, generated } = loadOrCreateSecretKey(config.secretKey, config.dataDir);
  if (generated) {
    log.warn(
      { file: generated },
      'HERALD_SECRET_KEY is not set: gateway credentials are encrypted with a key kept in the data directory; set HERALD_SECRET_KEY (64 hex characters) in production and on every process that shares the database',
    );
  }
  const handle = await openDatabase(
    {
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      statementTimeoutMs: config.statementTimeoutMs,
    },
    log,
  );
  const takeOverAfter = takeOverAfterMs(config.sendTimeoutMs);
  const metrics = createMetrics({
    queueDepth: boundedRead(handle.db, (tx) => countWaiting(tx)),
    sendingOverdue: boundedRead(handle.db, (tx) => countOverdueSending(tx, takeOverAfter)),
    gatewayHealth: async () => {
      const now = new Date();
      return (await allHealth(handle.db)).map((row) => ({
        gateway: toGlobalId('Gateway', row.gatewayId),
        state: effectiveState(row, now, config.breaker),
      }));
    },
    maxAgeMs: config.metricsGaugeMaxAgeMs,
    log,
  });
  const outbox = new QueueOutbox(handle.db, { bulkStatementTimeoutMs: config.bulkStatementTimeoutMs });
  const webhookQueue = new WebhookQueue();
  const statusHub = new StatusHub(log);
  const destinationKeys = new DestinationKeys(key, config.previousSecretKeys);
  const services = createServices(handle.db, new SecretBox(key, config.previousSecretKeys), outbox, webhookQueue, metrics, statusHub, {
    log,
    destinationKeys,
    unsubscribe: { publicUrl: config.publicUrl, mailto: config.unsubscribeMailto },
    sendgridWebhookPublicKey: config.sendgridWebhookPublicKey,
    sendBudget: config.sendBudget,
    webhookAllowPrivate: config.webhookAllowPrivate,
    breaker: config.breaker,
  });
  let started = false;
  let boss: Awaited<ReturnType<typeof startQueue>> | undefined;
  let upkeep: Upkeep | undefined;
  let dispatcher: Dispatcher | undefined;
  let sweeper: Sweeper | undefined;
  let purger: Purger | undefined;
  let health: HealthTracker | undefined;
  let fallbackCheck: Repeating | undefined;
  // Event webhooks, in dispatching processes. The relay hears the events trigger on the
  // process's one LISTEN connection: the status hub's where there is one (role all), else
  // one of its own (a worker has no use for every status change the hub's would bring).
  const relay = role === 'api' ? undefined : new WebhookRelay({ db: handle.db, queue: webhookQueue, log });
  const relayListener = role === 'worker' ? new DatabaseListener(log) : undefined;
  if (relay) relay.follow(relayListener ?? statusHub.listener);
  let poster: WebhookPoster | undefined;

  // Every role serves HTTP: a worker answers /healthz and /readyz for its orchestrator.
  // The server listens before migrating, so /readyz can say 503 meanwhile.
  const app = await createHttpApp({
    config,
    log,
    services,
    schema: await buildHeraldSchema(),
    metrics,
    serveApi: role !== 'worker',
    isStarted: () => started,
    ping: () => handle.ping(),
  });
  try {
    await app.listen({ host: config.host, port: config.port });
    // Processes started together migrate and bootstrap one at a time (src/migrate.ts).
    const { firstKey } = await migrate(handle, config.databaseUrl, log, () => bootstrap(handle.db, services, config, log));
    if (role !== 'worker') await statusHub.start(handle, config.databaseUrl);
    boss = await startQueue(handle, log, config.databaseUrl, role === 'api' ? 0 : config.workerConcurrency);
    outbox.attach(boss);
    webhookQueue.attach(boss);
    if (role !== 'api') {
      health = new HealthTracker({ db: handle.db, policy: config.breaker, log });
      health.start();
      dispatcher = new Dispatcher({
        db: handle.db,
        router: new Router({ db: handle.db, health }),
        health,
        gateways: services.gateways,
        providerFor: createProviders({ baseUrls: config.providerBaseUrls, publicUrl: config.publicUrl, timeoutMs: config.sendTimeoutMs }),
        outbox,
        suppressions: services.suppressions,
        policy: config.retry,
        metrics,
        log,
      });
      await startWorker(boss, dispatcher, config.workerConcurrency, log);
      sweeper = new Sweeper({
        db: handle.db,
        outbox,
        policy: config.retry,
        metrics,
        log,
        sendTimeoutMs: config.sendTimeoutMs,
        worker: dispatcher,
      });
      sweeper.start();
      fallbackCheck = every(
        FALLBACK_CHECK_INTERVAL_MS,
        () => services.fallbacks.runDue(),
        log,
        'fallback check failed; the next one tries again',
      );
      purger = new Purger({ db: handle.db, queue: boss, metrics, log });
      purger.start(config.purgeIntervalMs);
      poster = new WebhookPoster({
        timeoutMs: config.webhooks.timeoutMs,
        connectTimeoutMs: Math.min(config.webhooks.timeoutMs, WEBHOOK_CONNECT_TIMEOUT_MS),
        allowPrivate: config.webhookAllowPrivate,
      });
      await new WebhookWorker({
        db: handle.db,
        secrets: services.webhookEndpoints,
        queue: webhookQueue,
        poster,
        retry: { baseDelayMs: config.webhooks.retryBaseMs, maxDelayMs: config.webhooks.retryMaxDelayMs, retryForMs: DAY_MS },
        metrics,
        log,
      }).start(boss, config.webhooks.concurrency);
      await relayListener?.start(handle, config.databaseUrl);
      relay?.start();
    }
    upkeep = await startUpkeep(handle, log, config.pgliteVacuumMs);
    started = true;
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    return {
      app,
      handle,
      services,
      url,
      firstKey,
      queue: boss,
      purger,
      async close() {
        started = false;
        await upkeep?.stop();
        await sweeper?.stop();
        await fallbackCheck?.stop();
        await purger?.stop();
        await relay?.stop();
        await relayListener?.close();
        // Stop taking jobs and let sends in flight finish (bounded), then the rest. An
        // outcome still waiting for the database is given up on, logged as unknown.
        await boss?.stop({ graceful: true, timeout: 15_000, close: handle.kind === 'postgres' });
        dispatcher?.stop();
        await health?.stop();
        poster?.close();
        await app.close();
        await statusHub.close();
        await handle.close();
      },
    };
  } catch (err) {
    await health?.stop();
    await sweeper?.stop();
    await fallbackCheck?.stop();
    await purger?.stop();
    await relay?.stop();
    await relayListener?.close().catch(() => undefined);
    poster?.close();
    dispatcher?.stop();
    await boss?.stop({ graceful: false, close: handle.kind === 'postgres' }).catch(() => undefined);
    await app.close().catch(() => undefined);
    await statusHub.close().catch(() => undefined);
    await handle.close().catch(() => undefined);
    throw err;
  }
}
