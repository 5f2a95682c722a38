// `npm run bench`: Herald's throughput measured against raw baselines taken in the same
// run, on PostgreSQL, over loopback only. Bounded in time; cleans up after itself.
//
//   1. a fresh database (DATABASE_URL is the admin connection, else postgres@127.0.0.1)
//   2. raw single-row autocommit INSERTs of a message-like row over 32 connections (information,
//      and the orders stage's baseline)
//   3. sendSms through a `--role api` child against the framework floor: a minimal server on
//      Herald's own stack and installed versions (Fastify, @apollo/server, type-graphql with
//      class-validator validation, pg pool of 20) in a child of its own, one mutation of
//      sendSms's shape doing one autocommit INSERT (scripts/bench/floor.mjs). Both over 32
//      keep-alive connections, alternating floor, Herald, floor, Herald (BENCH_FLOOR_ROUNDS
//      rounds each of BENCH_SECONDS / rounds); rates over the summed time, p99 of the worst round
//   3b. templates: sendNotification rendering an SMS template against sendSms with free text,
//       alternating in rounds on one `--role api` child (scripts/bench/templates.mjs)
//   4. raw POST rate of the twilio SDK to a zero-latency Twilio fake, then a backlog
//      drained by a `--role worker` child against the same fake, then queue latency
//      under a steady load below the dispatch rate
//   4d. latency: one worker with Herald's default settings draining a backlog against the
//      zero-latency fake, then against one answering in BENCH_PROVIDER_LATENCY_MS (200), each
//      on a fresh database, then 0.7 × the slow rate open-loop for 5 minutes: created→SENT
//      p95 (scripts/bench/latency.mjs)
//   5. orders: CUSTOMER recipients subscribed to SMS, EMAIL and WHATSAPP, then
//      updateOrderStatus over 32 keep-alive connections (3 messages + 3 jobs a call)
//   6. billing: 2,000+ CUSTOMERs with X handles, notifyBillingCycle of 100,000 invoices
//      as 10 calls of 10,000, one at a time and then 2 at a time (time, API RSS, each on
//      its own cycle id); the one-at-a-time round against a raw INSERT … SELECT FROM unnest
//      of the same rows (new ids, a cycle id of its own) into the same messages table
//      afterwards, 10 autocommit statements of 10,000 one at a time; then a worker sending
//      the DMs to a zero-latency X fake, against twitter-api-v2's raw POST rate to the same fake
//   6b. scale: PostgreSQL's CPU per message end to end (1 API + 1 worker, BENCH_E2E_MESSAGES
//       accepted and all SENT) against a raw single-row INSERT's, every PostgreSQL process
//       counted; then 1 API + 2 workers and 2 APIs + 2 workers as separate processes:
//       accepted/s, sent/s, CPU per message, exactly-once check (scripts/bench/scale.mjs)
//   6c. webhooks: sendSms open-loop at a fixed rate through 1 `--role api` + 1 `--role worker`,
//       runs (each on a fresh database) alternating between no webhook endpoint and one endpoint
//       subscribed to every event on a zero-latency receiver: sent/s, status change → delivered,
//       CPU and database writes per message (scripts/bench/webhooks.mjs)
//   7. queries: messages(first: 50, filter…) for every filter over 1,000,000 messages in one
//      tenant, with EXPLAIN of each and what totalCount costs (scripts/bench/queries.mjs)
//   7b. soak: scripts/soak.mjs as a child process (its own database, fakes and Herald
//       processes): SOAK_MINUTES (30) at half the rate Herald sustains against a Twilio fake
//       answering in SOAK_PROVIDER_LATENCY_MS (200) ms; RSS trend, backlog, errors, exactly once
//   8. the figures printed (docs/performance.md keeps the current ones, updated by hand)
//
// Settings (environment): BENCH_SECONDS (20), BENCH_CONCURRENCY (32),
// HERALD_WORKER_CONCURRENCY (Herald's default unless set), BENCH_POST_CONCURRENCY (32: the raw SDK
// baselines), BENCH_DISPATCH_MESSAGES (5000), BENCH_WARMUP_SECONDS (2),
// BENCH_POST_SECONDS (10), BENCH_LATENCY_SECONDS (10), BENCH_LATENCY_LOAD (0.7 × dispatch rate),
// BENCH_ORDER_CUSTOMERS (200), BENCH_BILLING_CUSTOMERS (2000), BENCH_BILLING_CALLS (10),
// BENCH_BILLING_INVOICES_PER_CALL (10000), BENCH_BILLING_PARALLEL (2: the second round's calls
// at a time; the first round is always one after another), BENCH_DM_LIMIT (20000: stop the DM drain once this many are SENT),
// BENCH_FLOOR_ROUNDS (2: rounds per side of the floor/sendSms alternation), BENCH_KEEP_DB=1 keeps the databases for inspection.
// BENCH_SCALE_LAYOUTS (e2e,2,api2:2), BENCH_E2E_MESSAGES (20000), BENCH_SCALE_WORKER_CONCURRENCY (Herald's default).
// BENCH_WEBHOOK_RATE (150 sendSms/s), BENCH_WEBHOOK_SECONDS (20), BENCH_WEBHOOK_ROUNDS (2 runs per configuration).
// The soak stage takes the SOAK_* settings of `npm run soak` (scripts/soak.mjs's header), e.g.
// SOAK_MINUTES (30), SOAK_PROVIDER_LATENCY_MS (200), SOAK_RATE, SOAK_WORKER_CONCURRENCY
// (Herald's default; not HERALD_WORKER_CONCURRENCY).
// BENCH_PROVIDER_LATENCY_MS (200), BENCH_LATENCY_BACKLOG (6000), BENCH_LATENCY_SUSTAIN_LOAD (0.7),
// BENCH_LATENCY_SUSTAIN_SECONDS (300).
// BENCH_ONLY=accept|templates|dispatch|latency|orders|billing|scale|webhooks|queries|soak (comma-separated for several) runs those stages
// only. BENCH_HERALD_NODE_ARGS passes node flags to the Herald processes (e.g.
// "--cpu-prof --cpu-prof-dir=/tmp/prof"). The bench writes no file: it prints its tables.
//
// The vendor fakes (Twilio Messages, SendGrid mail/send, X users/by/username and DMs) run in
// one child process of their own, on one port, so no measurement shares their event loop.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startFakeChild } from './bench/fakes.mjs';
import { combineRounds, floorSettings, startFloor } from './bench/floor.mjs';
import { latencyBudgetSeconds, latencyStage } from './bench/latency.mjs';
import { queriesStage, querySettings } from './bench/queries.mjs';
import { scaleBudgetSeconds, scaleStage } from './bench/scale.mjs';
import { templatesStage } from './bench/templates.mjs';
import { webhooksBudgetSeconds, webhooksStage } from './bench/webhooks.mjs';
import { soakBudgetSeconds, soakStage } from './soak.mjs';
import {
  buildIfStale,
  countWarnings,
  cpuMeter,
  fmt,
  graphqlClient,
  heraldEnv,
  machineInfo,
  mb,
  ms,
  numEnv,
  openBenchRun,
  parallel,
  payloadOf,
  perOp,
  queueLatency,
  RAW_MESSAGES_DDL,
  rawMessageInserter,
  renderTable,
  root,
  runLoad,
  sleep,
  smsBody,
  startHerald,
  stopChild,
  uuidv4,
  uuidv7,
  verdict,
  vmStatus,
  waitForStatus,
} from './bench/lib.mjs';

// ---------------------------------------------------------------------------------------
// settings

function settings() {
  return {
    seconds: numEnv('BENCH_SECONDS', 20),
    concurrency: numEnv('BENCH_CONCURRENCY', 32),
    // Unset: Herald's own default, as a deployment runs it.
    workerConcurrency: process.env.HERALD_WORKER_CONCURRENCY ? numEnv('HERALD_WORKER_CONCURRENCY', 32) : undefined,
    // The raw SDK baselines' requests at once.
    postConcurrency: numEnv('BENCH_POST_CONCURRENCY', 32),
    dispatchMessages: numEnv('BENCH_DISPATCH_MESSAGES', 5000),
    warmupSeconds: numEnv('BENCH_WARMUP_SECONDS', 2, 0),
    postSeconds: numEnv('BENCH_POST_SECONDS', 10),
    latencySeconds: numEnv('BENCH_LATENCY_SECONDS', 10),
    latencyLoad: numEnv('BENCH_LATENCY_LOAD', 0.7, 0.01),
    orderCustomers: numEnv('BENCH_ORDER_CUSTOMERS', 200),
    billingCustomers: numEnv('BENCH_BILLING_CUSTOMERS', 2000),
    billingCalls: numEnv('BENCH_BILLING_CALLS', 10),
    invoicesPerCall: numEnv('BENCH_BILLING_INVOICES_PER_CALL', 10_000),
    billingParallel: numEnv('BENCH_BILLING_PARALLEL', 2),
    dmLimit: numEnv('BENCH_DM_LIMIT', 20_000),
    keepDb: process.env.BENCH_KEEP_DB === '1',
    // For profiling: run some stages only, extra node flags for Herald.
    only: process.env.BENCH_ONLY || '',
    heraldNodeArgs: (process.env.BENCH_HERALD_NODE_ARGS || '').split(/\s+/).filter(Boolean),
  };
}

const TARGETS = {
  acceptFloorRatio: 0.9,
  p99Ms: 50,
  dispatchRatio: 0.9,
  queueP95Ms: 1000,
  orderP99Ms: 80,
  billingRawRatio: 3,
  billingRssGrowthMb: 200,
};
const STAGES = ['accept', 'templates', 'dispatch', 'latency', 'orders', 'billing', 'scale', 'webhooks', 'queries', 'soak'];
/** Each updateOrderStatus call writes 3 messages + 3 pg-boss jobs: counted as 4 raw rows' worth. */
const ORDER_ROW_EQUIVALENTS = 4;

// ---------------------------------------------------------------------------------------
// main

async function main() {
  const s = settings();
  const started = new Date();
  const run = stagesToRun(s.only);
  buildIfStale();

  const { pg, admin, dbName, urlOf, createDb, tmp, logFile, logStream, children, onCleanup, cleanup, abort, budget } = await openBenchRun({
    name: 'bench',
    keepDb: s.keepDb,
    listKept: true,
  });
  const acceptDb = dbName;
  const dispatchDb = `${dbName}_d`;
  const ordersDb = `${dbName}_o`;
  const billingDb = `${dbName}_b`;
  const scaleDb = `${dbName}_s`;
  // The webhooks stage makes a database per run: ${dbName}_w1, _w2…
  const webhooksDb = `${dbName}_w`;
  const queriesDb = `${dbName}_q`;
  const templatesDb = `${dbName}_t`;
  const pgVersion = (await admin.query('show server_version')).rows[0].server_version;
  const pgMaxConnections = (await admin.query('show max_connections')).rows[0].max_connections;
  if (run.has('accept') || run.has('orders')) await createDb(acceptDb);
  if (run.has('dispatch')) await createDb(dispatchDb);
  if (run.has('templates')) await createDb(templatesDb);
  if (run.has('orders')) await createDb(ordersDb);
  if (run.has('billing')) await createDb(billingDb);
  if (run.has('scale')) await createDb(scaleDb);
  if (run.has('queries')) await createDb(queriesDb);

  let fakes;
  onCleanup(() => fakes?.child.kill('SIGTERM'));
  // Bounded whatever happens: the stages below add up to a few minutes each at most.
  budget(
    (run.has('accept') || run.has('orders') ? s.seconds + 30 : 0) +
      (run.has('accept') ? s.seconds + 2 * floorSettings().rounds * s.warmupSeconds + 60 : 0) +
      (run.has('templates') ? 2 * (s.seconds + 2 * s.warmupSeconds) + 60 : 0) +
      (run.has('dispatch') ? s.postSeconds + s.latencySeconds + 180 + s.dispatchMessages / 20 : 0) +
      (run.has('orders') ? s.seconds + 180 + s.orderCustomers / 5 : 0) +
      (run.has('billing')
        ? s.postSeconds + 300 + s.billingCustomers / 100 + (2 * s.billingCalls * s.invoicesPerCall) / 1000 + s.dmLimit / 20
        : 0) +
      (run.has('latency') ? latencyBudgetSeconds() : 0) +
      (run.has('scale') ? scaleBudgetSeconds(s) : 0) +
      (run.has('webhooks') ? webhooksBudgetSeconds(s) : 0) +
      (run.has('queries') ? 300 + querySettings().messages / 5_000 : 0) +
      (run.has('soak') ? soakBudgetSeconds() + 60 : 0) +
      60,
  );

  try {
    const account = {
      accountSid: `AC${randomBytes(16).toString('hex')}`,
      authToken: randomBytes(16).toString('hex'),
      from: '+15005550006',
    };
    const xAccount = {
      appKey: `bench${randomBytes(8).toString('hex')}`,
      appSecret: randomBytes(16).toString('hex'),
      accessToken: `1-${randomBytes(12).toString('hex')}`,
      accessSecret: randomBytes(16).toString('hex'),
    };
    fakes = await startFakeChild();
    const envOf = (db, extra = {}) =>
      heraldEnv(
        {
          url: urlOf(db),
          dataDir: tmp,
          logLevel: process.env.BENCH_LOG_LEVEL || 'info',
          workerConcurrency: s.workerConcurrency,
          twilio: { account, fakesUrl: fakes.url },
        },
        {
          // Every vendor points at the fakes: SMS and WhatsApp (Twilio), e-mail (SendGrid), DMs (X).
          TWILIO_WHATSAPP_FROM: account.from,
          SENDGRID_API_KEY: `SG.${randomBytes(11).toString('base64url')}.${randomBytes(32).toString('base64url')}`,
          SENDGRID_FROM_EMAIL: 'herald-bench@example.com',
          SENDGRID_API_BASE_URL: fakes.url,
          TWITTER_APP_KEY: xAccount.appKey,
          TWITTER_APP_SECRET: xAccount.appSecret,
          TWITTER_ACCESS_TOKEN: xAccount.accessToken,
          TWITTER_ACCESS_SECRET: xAccount.accessSecret,
          TWITTER_API_BASE_URL: fakes.url,
          ...extra,
        },
      );
    const startRole = (role, db, extra) => startHerald(role, envOf(db, extra), children, logStream, s.heraldNodeArgs);
    let raw = { rate: NaN, p50: NaN, p99: NaN };
    let accept = { rate: NaN, p50: NaN, p99: NaN, done: 0, errors: 0 };
    let floorAccept = { rate: NaN, p50: NaN, p99: NaN, done: 0, errors: 0, rates: [] };
    let floorRatio = NaN;
    let acceptRatio = NaN;
    const sections = [];
    if (run.has('accept') || run.has('orders')) {
      // ---- 2. raw INSERT baseline ------------------------------------------------------
      console.log(`bench: raw INSERT baseline, ${s.concurrency} connections, ${s.seconds} s…`);
      raw = await rawInsertBaseline(pg, urlOf(acceptDb), s);
      console.log(
        `  ${fmt(raw.rate)} inserts/s (p50 ${raw.p50.toFixed(2)} ms, p99 ${raw.p99.toFixed(2)} ms); CPU per insert: ${perOp(raw.cpuMs, raw.done)}`,
      );
    }
    if (run.has('accept')) {
      // ---- 3. sendSms against the framework floor, alternating --------------------------
      console.log(`bench: starting the framework floor and Herald --role api…`);
      const floor = await startFloor({ url: urlOf(acceptDb), likeTable: 'bench_raw_messages', children, logStream });
      const api = await startRole('api', acceptDb);
      const recipients = await createRecipients(api.port, 8);
      const floorRecipients = Array.from({ length: 8 }, () => uuidv4());
      const { rounds } = floorSettings();
      const roundSeconds = s.seconds / rounds;
      const floorRuns = [];
      const heraldRuns = [];
      const drive = (port, ids, pid) =>
        driveSendSms(port, ids, {
          concurrency: s.concurrency,
          seconds: roundSeconds,
          warmupSeconds: s.warmupSeconds,
          cpu: cpuMeter(admin, acceptDb, () => [pid]),
        });
      for (let r = 1; r <= rounds; r++) {
        console.log(`bench: round ${r}/${rounds}: framework floor, sendSms, ${s.concurrency} connections, ${fmt(roundSeconds)} s each…`);
        floorRuns.push(await drive(floor.port, floorRecipients, floor.child.pid));
        heraldRuns.push(await drive(api.port, recipients, api.child.pid));
        console.log(`  floor ${fmt(floorRuns.at(-1).rate)} /s, sendSms ${fmt(heraldRuns.at(-1).rate)} accepted/s`);
      }
      floorAccept = combineRounds(floorRuns);
      accept = combineRounds(heraldRuns);
      floorRatio = accept.rate / floorAccept.rate;
      acceptRatio = accept.rate / raw.rate;
      console.log(
        `  framework floor: ${fmt(floorAccept.rate)} accepted/s, p50 ${floorAccept.p50.toFixed(2)} ms, p99 ${floorAccept.p99.toFixed(2)} ms, errors ${floorAccept.errors}; ` +
          `CPU per request: ${perOp(floorAccept.cpuMs, floorAccept.done)}`,
      );
      console.log(
        `  sendSms: ${fmt(accept.rate)} accepted/s, p50 ${accept.p50.toFixed(2)} ms, p99 ${accept.p99.toFixed(2)} ms, errors ${accept.errors}; ` +
          `CPU per request: ${perOp(accept.cpuMs, accept.done)}; ratio to the floor ${floorRatio.toFixed(2)}, to raw INSERT ${acceptRatio.toFixed(2)}`,
      );
      if (floorAccept.errorSamples.length) console.log(`  first floor errors: ${floorAccept.errorSamples.join(' | ')}`);
      if (accept.errorSamples.length) console.log(`  first sendSms errors: ${accept.errorSamples.join(' | ')}`);
      await stopChild(floor.child);
      await stopChild(api.child);
    }

    if (run.has('templates')) {
      // ---- 3b. sendNotification with a template against sendSms, alternating ---------------
      sections.push(await templatesStage({ s, startRole, db: templatesDb }));
    }

    let post = { rate: NaN, p50: NaN, p99: NaN, errors: 0, done: 0 };
    let dispatchRate = NaN;
    let dispatchRatio = NaN;
    let drainCpu;
    let sentAtReady = 0;
    let span = { sent: 0, failed: 0 };
    let load = NaN;
    let queue = { jobP50: null, jobP95: null, jobP99: null, sentP50: null, sentP95: null };
    if (run.has('dispatch')) {
      // ---- 4a. raw POST rate of the SDK against the fake -----------------------------------
      console.log(`bench: twilio SDK → fake, ${s.postConcurrency} concurrent, ${s.postSeconds} s…`);
      post = await rawPostRate(
        fakes.url,
        account,
        s,
        cpuMeter(admin, dispatchDb, () => [process.pid, fakes.child.pid]),
      );
      console.log(
        `  ${fmt(post.rate)} POST/s (p50 ${post.p50.toFixed(2)} ms, p99 ${post.p99.toFixed(2)} ms, errors ${post.errors}); CPU per POST (client + fake): ${perOp(post.cpuMs, post.done)}`,
      );

      // ---- 4b. dispatch: a backlog drained by one worker ------------------------------------
      console.log(`bench: enqueuing ${s.dispatchMessages} messages (dispatch database)…`);
      const api = await startRole('api', dispatchDb);
      const recipients = await createRecipients(api.port, 8);
      const enqueue = await driveSendSms(api.port, recipients, { concurrency: s.concurrency, count: s.dispatchMessages });
      if (enqueue.errors) throw new Error(`enqueue had ${enqueue.errors} errors: ${enqueue.errorSamples.join(' | ')}`);
      const dpool = new pg.Pool({ connectionString: urlOf(dispatchDb), max: 2 });
      const fakeBefore = await fakes.count();
      console.log(`bench: starting Herald --role worker (concurrency ${s.workerConcurrency ?? 'default'}) and draining…`);
      const workerStarted = performance.now();
      const worker = await startRole('worker', dispatchDb);
      // CPU from the ready line on (start-up excluded), per message sent since then.
      const workerCpu = cpuMeter(admin, dispatchDb, () => [worker.child.pid, fakes.child.pid]);
      const cpuAtReady = workerCpu.snapshot();
      sentAtReady = (await dpool.query(`select count(*)::int as n from messages where status = 'SENT'`)).rows[0].n;
      const drainTimeoutMs = Math.max(120_000, s.dispatchMessages * 50);
      const drained = await waitForStatus(dpool, s.dispatchMessages, drainTimeoutMs);
      const wallSeconds = (performance.now() - workerStarted) / 1000;
      drainCpu = await workerCpu.since(cpuAtReady);
      span = (
        await dpool.query(
          `select count(*)::int as n, extract(epoch from max(sent_at) - min(sent_at)) as span,
                  count(*) filter (where status = 'SENT')::int as sent, count(*) filter (where status = 'FAILED')::int as failed
             from messages`,
        )
      ).rows[0];
      dispatchRate = span.sent > 1 && Number(span.span) > 0 ? (span.sent - 1) / Number(span.span) : 0;
      dispatchRatio = dispatchRate / post.rate;
      const fakeReceived = (await fakes.count()) - fakeBefore;
      console.log(
        `  ${fmt(dispatchRate)} messages/s (first to last SENT), ${span.sent} SENT, ${span.failed} FAILED, fake got ${fakeReceived} POSTs; ` +
          `${wallSeconds.toFixed(1)} s from worker spawn to all done; ratio ${dispatchRatio.toFixed(2)}${drained ? '' : ' (TIMED OUT)'}; ` +
          `CPU per message (worker + fake): ${perOp(drainCpu, span.sent - sentAtReady)}`,
      );

      // ---- 4c. queue latency under a steady load below the dispatch rate -------------------
      load = Math.max(1, Math.round((Number.isFinite(accept.rate) ? Math.min(dispatchRate, accept.rate) : dispatchRate) * s.latencyLoad));
      console.log(`bench: queue latency at ${load} sendSms/s for ${s.latencySeconds} s with the worker running…`);
      const since = (await dpool.query('select now() as t')).rows[0].t;
      const steady = await driveSendSms(api.port, recipients, {
        concurrency: s.concurrency,
        seconds: s.latencySeconds,
        ratePerSecond: load,
      });
      await waitForStatus(dpool, s.dispatchMessages + steady.done, 60_000);
      queue = await queueLatency(dpool, since);
      console.log(
        `  ${steady.done} sent at ${fmt(steady.rate)}/s, errors ${steady.errors}; QUEUED→SENDING (job created→started) p50 ${ms(queue.jobP50)}, p95 ${ms(queue.jobP95)}, p99 ${ms(queue.jobP99)}; ` +
          `created→SENT p50 ${ms(queue.sentP50)}, p95 ${ms(queue.sentP95)}`,
      );
      await dpool.end();
      await stopChild(worker.child);
      await stopChild(api.child);
    }

    if (run.has('latency')) {
      // ---- 4d. one worker against a provider answering in 200 ms, against a zero-latency one --
      sections.push(await latencyStage({ s, pg, createDb, urlOf, dbPrefix: `${dbName}_l`, startRole, fakes }));
    }
    if (run.has('orders')) {
      // ---- 5. updateOrderStatus fan-out to SMS, EMAIL and WHATSAPP -----------------------------
      sections.push(await ordersStage({ s, raw, admin, pg, db: ordersDb, url: urlOf(ordersDb), startRole }));
    }
    if (run.has('billing')) {
      // ---- 6. notifyBillingCycle of 100,000 invoices, then the DMs -----------------------------
      sections.push(await billingStage({ s, pg, admin, db: billingDb, url: urlOf(billingDb), startRole, fakes, xAccount }));
    }
    if (run.has('scale')) {
      // ---- 6b. 1 API + 2 workers as separate processes: combined rates, against 1 + 1 ----------
      sections.push(await scaleStage({ s, pg, admin, db: scaleDb, url: urlOf(scaleDb), startRole, fakes }));
    }
    if (run.has('webhooks')) {
      // ---- 6c. event webhooks under a steady sendSms load, against no endpoint ----------------
      sections.push(await webhooksStage({ s, pg, createDb, urlOf, dbPrefix: webhooksDb, startRole, fakes }));
    }
    if (run.has('queries')) {
      // ---- 7. messages(first: 50, filter…) over 1,000,000 messages, with EXPLAIN ----------------
      sections.push(await queriesStage({ pg, admin, db: queriesDb, url: urlOf(queriesDb), startRole }));
    }
    if (run.has('soak')) {
      // ---- 7b. the soak, in a child process of its own ---------------------------------------
      sections.push(await soakStage({ children, tmp }));
    }

    // ---- 7. report ----------------------------------------------------------------------------
    const warnings = countWarnings(logFile);
    const machine = machineInfo(started, pgVersion, pgMaxConnections);
    const perSide = `${fmt(s.concurrency)} keep-alive connections, ${floorSettings().rounds} rounds of ${fmt(s.seconds / floorSettings().rounds)} s alternating`;
    const roundRates = (r) => (r.rates?.length ? `rounds ${r.rates.map(fmt).join(', ')} /s` : '');
    const rows = [
      [
        'raw single-row INSERT (pg, autocommit)',
        `${fmt(raw.rate)} /s`,
        `${s.concurrency} connections; p50 ${raw.p50.toFixed(2)} ms, p99 ${raw.p99.toFixed(2)} ms; CPU/insert ${perOp(raw.cpuMs, raw.done)}`,
        'baseline',
        '',
      ],
      [
        'framework floor (minimal Fastify+Apollo+type-graphql, one INSERT)',
        `${fmt(floorAccept.rate)} /s`,
        `${perSide}; ${roundRates(floorAccept)}; p50 ${floorAccept.p50.toFixed(2)} ms, p99 ${floorAccept.p99.toFixed(2)} ms (worst round); errors ${floorAccept.errors}; CPU/request ${perOp(floorAccept.cpuMs, floorAccept.done)}`,
        'baseline',
        '',
      ],
      [
        'sendSms accepted',
        `${fmt(accept.rate)} /s`,
        `${perSide}; ${roundRates(accept)}; CPU/request ${perOp(accept.cpuMs, accept.done)}`,
        '',
        '',
      ],
      [
        'sendSms / framework floor',
        floorRatio.toFixed(2),
        '',
        `≥ ${TARGETS.acceptFloorRatio}`,
        verdict(floorRatio >= TARGETS.acceptFloorRatio),
      ],
      ['sendSms / raw INSERT', acceptRatio.toFixed(2), 'information: one INSERT without HTTP or GraphQL', '', ''],
      ['sendSms p50', `${accept.p50.toFixed(2)} ms`, 'worst round', '', ''],
      ['sendSms p99', `${accept.p99.toFixed(2)} ms`, 'worst round', `< ${TARGETS.p99Ms} ms`, verdict(accept.p99 < TARGETS.p99Ms)],
      [
        'sendSms errors',
        String(accept.errors),
        `of ${accept.done + accept.errors} requests over ${s.concurrency} connections (non-2xx, GraphQL errors, userErrors)`,
        '0',
        verdict(accept.errors === 0),
      ],
      [
        'twilio SDK raw POST to zero-latency fake',
        `${fmt(post.rate)} /s`,
        `one process, ${s.postConcurrency} concurrent; errors ${post.errors}; CPU/POST (client + fake) ${perOp(post.cpuMs, post.done)}`,
        'baseline',
        '',
      ],
      [
        'dispatch (worker → fake)',
        `${fmt(dispatchRate)} /s`,
        `${s.dispatchMessages} queued, HERALD_WORKER_CONCURRENCY=${s.workerConcurrency ?? 'default'}; ${span.sent} SENT, ${span.failed} FAILED; CPU/message (worker + fake) ${perOp(drainCpu, span.sent - sentAtReady)}`,
        '',
        '',
      ],
      [
        'dispatch / raw POST',
        dispatchRatio.toFixed(2),
        '',
        `≥ ${TARGETS.dispatchRatio}`,
        verdict(dispatchRatio >= TARGETS.dispatchRatio && span.sent === s.dispatchMessages),
      ],
      ['queue latency QUEUED→SENDING p50', ms(queue.jobP50), `pg-boss job created→started, steady ${load} msg/s`, '', ''],
      [
        'queue latency QUEUED→SENDING p95',
        ms(queue.jobP95),
        '',
        `< ${TARGETS.queueP95Ms} ms`,
        verdict(queue.jobP95 !== null && queue.jobP95 < TARGETS.queueP95Ms),
      ],
      ['created → SENT p95', ms(queue.sentP95), 'includes the provider call and the SENT transaction', '', ''],
    ];
    if (run.has('accept') || run.has('dispatch')) console.log('\n' + renderTable(rows));
    for (const section of sections) console.log(`\n${section.title}\n${renderTable(section.rows)}`);
    console.log(
      `\nmachine: ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memoryGb} GB, Node ${machine.node}, PostgreSQL ${machine.postgres}, load ${machine.load}`,
    );
    if (warnings) console.log(`Herald logged ${warnings} warning/error lines: see ${logFile}`);
    await cleanup({ keepLogs: warnings > 0 });
  } catch (err) {
    await abort(err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
  process.exit(0);
}

function stagesToRun(only) {
  if (!only) return new Set(STAGES);
  const wanted = only
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const unknown = wanted.filter((x) => !STAGES.includes(x));
  if (unknown.length || wanted.length === 0) {
    console.error(`bench: BENCH_ONLY must name stages among ${STAGES.join(', ')} (comma-separated), got "${only}"`);
    process.exit(2);
  }
  return new Set(wanted);
}

// ---------------------------------------------------------------------------------------
// 2. raw INSERT baseline: a row like a message, with the id order and two of the indexes
// Herald's messages table has, written one autocommit statement at a time.

async function rawInsertBaseline(pg, url, s) {
  const pool = new pg.Pool({ connectionString: url, max: s.concurrency });
  await pool.query(RAW_MESSAGES_DDL);
  const dbName = new URL(url).pathname.slice(1);
  const result = await runLoad({
    concurrency: s.concurrency,
    seconds: s.seconds,
    warmupSeconds: s.warmupSeconds,
    cpu: cpuMeter(pool, dbName, () => [process.pid]),
    once: rawMessageInserter(pool),
  });
  await pool.end();
  return result;
}

// ---------------------------------------------------------------------------------------
// 3. sendSms through HTTP

const SEND_SMS = `mutation Bench($input: SendSmsInput!) {
  sendSms(input: $input) { message { id status } userErrors { code message field } }
}`;

async function createRecipients(port, n) {
  const client = graphqlClient(port, 4);
  const ids = [];
  for (let i = 0; i < n; i++) {
    const res = await client.post(
      `mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } userErrors { code message } } }`,
      { input: { kind: 'CLIENT', displayName: `Bench client ${i}`, phone: `+1415555${String(100 + i).padStart(4, '0')}` } },
    );
    const json = JSON.parse(res.text);
    const id = json.data?.createRecipient?.recipient?.id;
    if (res.status !== 200 || !id) throw new Error(`createRecipient failed: HTTP ${res.status} ${res.text.slice(0, 300)}`);
    ids.push(id);
  }
  client.agent.destroy();
  return ids;
}

/**
 * sendSms over `concurrency` keep-alive connections: for `seconds` (closed loop, or open
 * loop at `ratePerSecond`), or until `count` messages are accepted.
 */
async function driveSendSms(port, recipients, { concurrency, seconds, warmupSeconds = 0, count, ratePerSecond, cpu }) {
  const client = graphqlClient(port, concurrency);
  let n = 0;
  const result = await runLoad({
    concurrency,
    seconds,
    warmupSeconds,
    count,
    ratePerSecond,
    cpu,
    async once() {
      const i = n++;
      const res = await client.post(SEND_SMS, { input: { clientId: recipients[i % recipients.length], message: smsBody(i) } });
      let problem = null;
      if (res.status < 200 || res.status >= 300) problem = `HTTP ${res.status}: ${res.text.slice(0, 200)}`;
      else {
        const json = JSON.parse(res.text);
        if (json.errors?.length) problem = `GraphQL: ${json.errors[0].message}`;
        else if (json.data?.sendSms?.userErrors?.length)
          problem = `userError ${json.data.sendSms.userErrors[0].code}: ${json.data.sendSms.userErrors[0].message}`;
        else if (!json.data?.sendSms?.message?.id) problem = 'no message in the answer';
      }
      return problem;
    },
  });
  client.agent.destroy();
  return result;
}

// ---------------------------------------------------------------------------------------
// 5. orders: updateOrderStatus for customers on SMS, EMAIL and WHATSAPP

const CREATE_RECIPIENT = `mutation Bench($input: CreateRecipientInput!) {
  createRecipient(input: $input) { recipient { id } userErrors { code message field } }
}`;
const SUBSCRIBE = `mutation Bench($input: SubscribeInput!) {
  subscribe(input: $input) { recipient { id } userErrors { code message field } }
}`;
const UPDATE_ORDER_STATUS = `mutation Bench($input: UpdateOrderStatusInput!) {
  updateOrderStatus(input: $input) { messages { id channel status } failures { id reason } userErrors { code message field } }
}`;
const ORDER_CHANNELS = ['SMS', 'EMAIL', 'WHATSAPP'];
const ORDER_STATUSES = ['CONFIRMED', 'PACKED', 'SHIPPED', 'OUT_FOR_DELIVERY', 'DELIVERED'];

/** N CUSTOMERs with phone, e-mail and WhatsApp, each subscribed to SMS, EMAIL and WHATSAPP (default gateways). */
async function createOrderCustomers(port, n, concurrency) {
  const client = graphqlClient(port, concurrency);
  const indexes = Array.from({ length: n }, (_, i) => i);
  const ids = await parallel(indexes, concurrency, async (i) => {
    const phone = `+1415${String(5550000 + i).padStart(7, '0')}`;
    const res = await client.post(CREATE_RECIPIENT, {
      input: { kind: 'CUSTOMER', displayName: `Bench customer ${i}`, phone, whatsapp: phone, email: `customer${i}@example.com` },
    });
    const { problem, payload } = payloadOf(res, 'createRecipient');
    if (problem) throw new Error(`createRecipient: ${problem}`);
    return payload.recipient.id;
  });
  const pairs = ids.flatMap((id) => ORDER_CHANNELS.map((channel) => ({ id, channel })));
  await parallel(pairs, concurrency, async ({ id, channel }) => {
    const { problem } = payloadOf(await client.post(SUBSCRIBE, { input: { recipientId: id, channel } }), 'subscribe');
    if (problem) throw new Error(`subscribe ${channel}: ${problem}`);
  });
  client.agent.destroy();
  return ids;
}

async function ordersStage({ s, raw, admin, pg, db, url, startRole }) {
  console.log(`bench: orders: starting Herald --role api…`);
  const api = await startRole('api', db);
  const setupStarted = performance.now();
  const customers = await createOrderCustomers(api.port, s.orderCustomers, s.concurrency);
  const setupSeconds = (performance.now() - setupStarted) / 1000;
  console.log(`  ${customers.length} customers × 3 subscriptions set up over GraphQL in ${setupSeconds.toFixed(1)} s`);
  console.log(`bench: updateOrderStatus, ${s.concurrency} connections, ${s.seconds} s…`);
  const client = graphqlClient(api.port, s.concurrency);
  let n = 0;
  const result = await runLoad({
    concurrency: s.concurrency,
    seconds: s.seconds,
    warmupSeconds: s.warmupSeconds,
    cpu: cpuMeter(admin, db, () => [api.child.pid]),
    async once() {
      const i = n++;
      const res = await client.post(UPDATE_ORDER_STATUS, {
        input: {
          orderId: String(100_000 + i),
          customerId: customers[i % customers.length],
          status: ORDER_STATUSES[i % ORDER_STATUSES.length],
          note: 'Thank you for your order.',
        },
      });
      const { problem, payload } = payloadOf(res, 'updateOrderStatus');
      if (problem) return problem;
      if (payload.failures.length) return `failure: ${payload.failures[0].reason}`;
      if (payload.messages.length !== 3) return `${payload.messages.length} messages instead of 3`;
      return null;
    },
  });
  client.agent.destroy();
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const written = (
    await pool.query(
      `select (select count(*)::int from messages) as messages, (select count(*)::int from pgboss.job where name = 'herald-dispatch') as jobs`,
    )
  ).rows[0];
  await pool.end();
  await stopChild(api.child);
  const rowRate = raw.rate / ORDER_ROW_EQUIVALENTS;
  const ratio = result.rate / rowRate;
  console.log(
    `  ${fmt(result.rate)} calls/s (${fmt(result.rate * 3)} messages/s), p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms, errors ${result.errors}; ` +
      `ratio to raw INSERT/${ORDER_ROW_EQUIVALENTS} ${ratio.toFixed(2)}; CPU per call: ${perOp(result.cpuMs, result.done)}; ` +
      `${written.messages} messages and ${written.jobs} jobs in the database (warm-up included)`,
  );
  if (result.errorSamples.length) console.log(`  first errors: ${result.errorSamples.join(' | ')}`);
  const rows = [
    [
      'raw single-row INSERT (same run)',
      `${fmt(raw.rate)} /s`,
      `${s.concurrency} connections; p99 ${raw.p99.toFixed(2)} ms`,
      'baseline',
      '',
    ],
    [
      `raw INSERT ÷ ${ORDER_ROW_EQUIVALENTS}`,
      `${fmt(rowRate)} /s`,
      `a call writes 3 messages + 3 jobs, counted as ${ORDER_ROW_EQUIVALENTS} rows' worth`,
      'baseline',
      '',
    ],
    [
      'updateOrderStatus calls',
      `${fmt(result.rate)} /s`,
      `${s.concurrency} keep-alive connections, ${s.seconds} s; ${fmt(result.rate * 3)} messages/s; CPU/call ${perOp(result.cpuMs, result.done)}`,
      '',
      '',
    ],
    [`updateOrderStatus / (raw INSERT ÷ ${ORDER_ROW_EQUIVALENTS})`, ratio.toFixed(2), '', '', ''],
    ['updateOrderStatus p50', `${result.p50.toFixed(2)} ms`, '', '', ''],
    ['updateOrderStatus p99', `${result.p99.toFixed(2)} ms`, '', `< ${TARGETS.orderP99Ms} ms`, verdict(result.p99 < TARGETS.orderP99Ms)],
    [
      'updateOrderStatus errors',
      String(result.errors),
      `of ${result.done + result.errors} calls (non-2xx, GraphQL errors, userErrors, failures, ≠ 3 messages)`,
      '0',
      verdict(result.errors === 0),
    ],
  ];
  return { key: 'orders', title: 'orders (updateOrderStatus)', rows };
}

// ---------------------------------------------------------------------------------------
// 6. billing: notifyBillingCycle of 100,000 invoices, then the DMs

const NOTIFY_BILLING_CYCLE = `mutation Bench($input: NotifyBillingCycleInput!) {
  notifyBillingCycle(input: $input) { cycleId queued rejected userErrors { code message field } }
}`;
const DEFAULT_TENANT_ID = '00000000-0000-7000-8000-000000000001';

/** n CUSTOMERs with X handles, written straight into Herald's recipients table (drizzle/0000_foundation.sql). */
async function insertXCustomers(pool, n) {
  const ids = [];
  const base = Date.now();
  for (let start = 0; start < n; start += 1000) {
    const values = [];
    const params = [];
    for (let i = start; i < Math.min(n, start + 1000); i++) {
      const id = uuidv7(base + i);
      ids.push(id);
      params.push(id, DEFAULT_TENANT_ID, `Customer ${i}`, `bench_c${i}`);
      const p = params.length;
      values.push(`($${p - 3}, $${p - 2}, 'CUSTOMER', $${p - 1}, $${p})`);
    }
    await pool.query(`insert into recipients (id, tenant_id, kind, display_name, twitter_handle) values ${values.join(', ')}`, params);
  }
  return ids.map((uuid) => `rcp_${uuid.replace(/-/g, '')}`);
}

function cycleInvoices(customers, call, perCall) {
  return Array.from({ length: perCall }, (_, j) => {
    const k = call * perCall + j;
    const number = `INV-${String(k + 1).padStart(7, '0')}`;
    return {
      customerId: customers[k % customers.length],
      invoice: {
        number,
        amountDue: `${100 + (k % 4900)}.${String(k % 100).padStart(2, '0')}`,
        currency: 'USD',
        dueDate: '2026-12-15',
        url: `https://billing.example.com/invoices/${number}`,
      },
    };
  });
}

async function billingStage({ s, pg, admin, db, url, startRole, fakes, xAccount }) {
  const total = s.billingCalls * s.invoicesPerCall;
  console.log(`bench: billing: starting Herald --role api…`);
  const api = await startRole('api', db);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const setupStarted = performance.now();
  const customers = await insertXCustomers(pool, s.billingCustomers);
  console.log(
    `  ${customers.length} CUSTOMERs with X handles inserted with SQL in ${((performance.now() - setupStarted) / 1000).toFixed(1)} s`,
  );

  // The request bodies are built before timing: the client's JSON work is not Herald's.
  const cycleBase = `bench-cycle-${Date.now().toString(36)}`;
  const bodiesOf = (cycleId) =>
    Array.from({ length: s.billingCalls }, (_, call) =>
      JSON.stringify({
        query: NOTIFY_BILLING_CYCLE,
        variables: { input: { cycleId, invoices: cycleInvoices(customers, call, s.invoicesPerCall) } },
      }),
    );
  // The first round's bodies, built once: their sizes are the payload figure.
  const firstBodies = bodiesOf(`${cycleBase}-1`);
  const sizes = firstBodies.map((b) => Buffer.byteLength(b));
  const maxBody = Number(process.env.HERALD_MAX_BODY_BYTES || 8 * 1024 * 1024);
  console.log(
    `  payload per call: ${mb(Math.max(...sizes))} (${fmt(Math.max(...sizes))} bytes, ${fmt(Math.max(...sizes) / s.invoicesPerCall)} bytes/invoice); ` +
      `HERALD_MAX_BODY_BYTES ${mb(maxBody)}${Math.max(...sizes) > maxBody ? ' — TOO SMALL' : ''}`,
  );
  const client = graphqlClient(api.port, Math.max(1, s.billingParallel));
  // One small call first (its own cycle, 100 invoices): a long-running API has its code warm.
  const warmupInvoices = cycleInvoices(customers, 0, 100).map((x) => ({
    ...x,
    invoice: { ...x.invoice, number: `W-${x.invoice.number}` },
  }));
  const warm = payloadOf(
    await client.post(NOTIFY_BILLING_CYCLE, { input: { cycleId: `${cycleBase}-warmup`, invoices: warmupInvoices } }),
    'notifyBillingCycle',
  );
  if (warm.problem) throw new Error(`notifyBillingCycle warm-up: ${warm.problem}`);
  const warmupQueued = warm.payload.queued;
  await sleep(500);

  // One round: the whole cycle (its own cycle id) as s.billingCalls calls, `at` at a time.
  async function round(at, bodies = bodiesOf(`${cycleBase}-${at}`)) {
    const cycleId = `${cycleBase}-${at}`;
    const rssBefore = vmStatus(api.child.pid);
    const cpu = cpuMeter(admin, db, () => [api.child.pid]);
    const cpuStart = cpu.snapshot();
    console.log(`bench: notifyBillingCycle, ${s.billingCalls} calls of ${fmt(s.invoicesPerCall)} invoices, ${at} at a time…`);
    const callMs = [];
    const r = { at, queued: 0, rejected: 0, problems: [] };
    const t0 = performance.now();
    await parallel(bodies, at, async (body) => {
      const started = performance.now();
      const res = await client.postBody(body);
      callMs.push(performance.now() - started);
      const { problem, payload } = payloadOf(res, 'notifyBillingCycle');
      if (problem) r.problems.push(problem);
      else {
        r.queued += payload.queued;
        r.rejected += payload.rejected;
      }
    });
    r.totalMs = performance.now() - t0;
    r.callCpu = await cpu.since(cpuStart);
    r.rssBefore = rssBefore;
    r.rssAfter = vmStatus(api.child.pid);
    callMs.sort((a, b) => a - b);
    r.callMs = callMs;
    r.growthMb = r.rssAfter.rssMb - rssBefore.rssMb;
    const peakGrowthMb = r.rssAfter.hwmMb - rssBefore.rssMb;
    const inDb = (await pool.query(`select count(*)::int as n from messages where billing_cycle_id = $1 and status = 'QUEUED'`, [cycleId]))
      .rows[0].n;
    // V8 keeps a grown heap for a while: RSS once it has been idle says what was garbage.
    await sleep(10_000);
    r.rssIdle = vmStatus(api.child.pid);
    console.log(
      `  all ${s.billingCalls} answered in ${(r.totalMs / 1000).toFixed(2)} s (per call: min ${(callMs[0] / 1000).toFixed(2)} s, median ${(callMs[Math.floor(callMs.length / 2)] / 1000).toFixed(2)} s, max ${(callMs.at(-1) / 1000).toFixed(2)} s); ` +
        `queued ${fmt(r.queued)}, rejected ${r.rejected}, ${fmt(inDb)} QUEUED in the database; errors ${r.problems.length}${r.problems.length ? `: ${r.problems[0]}` : ''}`,
    );
    console.log(
      `  API RSS ${rssBefore.rssMb.toFixed(0)} MB before, ${r.rssAfter.rssMb.toFixed(0)} MB after (growth ${r.growthMb.toFixed(0)} MB; peak ${r.rssAfter.hwmMb.toFixed(0)} MB, ${peakGrowthMb.toFixed(0)} MB over before; ${r.rssIdle.rssMb.toFixed(0)} MB after 10 s idle); ` +
        `CPU per call: node ${(r.callCpu.node / s.billingCalls).toFixed(0)} ms + PostgreSQL ${(r.callCpu.postgres / s.billingCalls).toFixed(0)} ms`,
    );
    return r;
  }
  // One call at a time, then (BENCH_BILLING_PARALLEL, default 2) several: a billing system
  // with a 100,000-invoice cycle may send its calls either way.
  const rounds = [await round(1, firstBodies)];
  if (s.billingParallel > 1) rounds.push(await round(s.billingParallel));
  const queued = rounds.reduce((sum, r) => sum + r.queued, 0);
  client.agent.destroy();
  await stopChild(api.child);

  // ---- the baseline: the first round's rows written again with plain SQL ----
  console.log(`bench: raw INSERT … SELECT FROM unnest, ${s.billingCalls} statements of ${fmt(s.invoicesPerCall)} rows, one at a time…`);
  const unnest = await rawUnnestBaseline({
    pool,
    cpu: cpuMeter(admin, db, () => [process.pid]),
    fromCycle: `${cycleBase}-1`,
    toCycle: `${cycleBase}-raw`,
    perStatement: s.invoicesPerCall,
  });
  const rawRatio = rounds[0].totalMs / unnest.totalMs;
  console.log(
    `  ${fmt(unnest.rows)} rows in ${(unnest.totalMs / 1000).toFixed(2)} s (per statement: median ${(unnest.statementMs[Math.floor(unnest.statementMs.length / 2)] / 1000).toFixed(2)} s); ` +
      `CPU per statement: node ${(unnest.cpu.node / unnest.statements).toFixed(0)} ms + PostgreSQL ${(unnest.cpu.postgres / unnest.statements).toFixed(0)} ms; ` +
      `notifyBillingCycle 1 at a time took ${rawRatio.toFixed(2)} × as long`,
  );

  // ---- raw POST rate of twitter-api-v2 (Herald's client factory) to the X fake ----
  console.log(`bench: twitter-api-v2 → X fake, ${s.postConcurrency} concurrent, ${s.postSeconds} s…`);
  const { twitterClient } = await import(pathToFileURL(path.join(root, 'dist', 'providers', 'twitter', 'twitter-api.js')).href);
  const x = twitterClient({ ...xAccount, baseUrl: fakes.url, timeoutMs: 10_000 });
  let m = 0;
  const post = await runLoad({
    concurrency: s.postConcurrency,
    seconds: s.postSeconds,
    warmupSeconds: Math.min(1, s.warmupSeconds),
    cpu: cpuMeter(admin, db, () => [process.pid, fakes.child.pid]),
    async once() {
      const i = m++;
      const answer = await x.sendDmToParticipant(String(1_000_000 + (i % 2000)), {
        text: `Invoice INV-${i} of $1,250.00 is due on December 15, 2026.`,
      });
      return answer?.data?.dm_event_id || answer?.dm_event_id ? null : 'no dm_event_id';
    },
  });
  console.log(
    `  ${fmt(post.rate)} DM POST/s (p50 ${post.p50.toFixed(2)} ms, p99 ${post.p99.toFixed(2)} ms, errors ${post.errors}); CPU per POST (client + fake): ${perOp(post.cpuMs, post.done)}`,
  );

  // ---- the DMs: one worker against the X fake ----
  const target = Math.min(queued + warmupQueued, s.dmLimit);
  const before = await fakes.counts();
  console.log(
    `bench: starting Herald --role worker (concurrency ${s.workerConcurrency ?? 'default'}); waiting for ${fmt(target)} DMs SENT…`,
  );
  const workerStarted = performance.now();
  const worker = await startRole('worker', db);
  const workerCpu = cpuMeter(admin, db, () => [worker.child.pid, fakes.child.pid]);
  const cpuAtReady = workerCpu.snapshot();
  const sentAtReady = (await pool.query(`select count(*)::int as n from messages where status = 'SENT'`)).rows[0].n;
  const reached = await waitForSent(pool, target, Math.max(180_000, target * 50));
  const wallSeconds = (performance.now() - workerStarted) / 1000;
  const dmCpu = await workerCpu.since(cpuAtReady);
  const span = (
    await pool.query(
      `select extract(epoch from max(sent_at) - min(sent_at)) as span, count(*) filter (where status = 'SENT')::int as sent,
              count(*) filter (where status = 'FAILED')::int as failed from messages`,
    )
  ).rows[0];
  const after = await fakes.counts();
  await stopChild(worker.child);
  await pool.end();
  const dmRate = span.sent > 1 && Number(span.span) > 0 ? (span.sent - 1) / Number(span.span) : 0;
  const dmRatio = dmRate / post.rate;
  const lookups = after.lookup - before.lookup;
  const dms = after.dm - before.dm;
  console.log(
    `  ${fmt(dmRate)} DMs/s (first to last SENT), ${fmt(span.sent)} SENT, ${span.failed} FAILED; the fake got ${fmt(dms)} DMs and ${fmt(lookups)} user lookups; ` +
      `${wallSeconds.toFixed(1)} s from worker spawn; ratio to raw POST ${dmRatio.toFixed(2)}${reached ? '' : ' (TIMED OUT)'}; CPU per DM (worker + fake): ${perOp(dmCpu, span.sent - sentAtReady)}`,
  );

  const roundRows = rounds.flatMap((r) => {
    const ok = r.problems.length === 0 && r.queued === total;
    // One call at a time is the round measured against the baseline; the others are information.
    const first = r === rounds[0];
    return [
      [
        `notifyBillingCycle ${s.billingCalls} × ${fmt(s.invoicesPerCall)}, ${r.at} at a time`,
        `${(r.totalMs / 1000).toFixed(2)} s`,
        `all calls answered; ${(r.totalMs / unnest.totalMs).toFixed(2)} × raw unnest; queued ${fmt(r.queued)}, rejected ${r.rejected}, errors ${r.problems.length}`,
        first ? `≤ ${TARGETS.billingRawRatio} × raw unnest` : '',
        first ? verdict(ok && rawRatio <= TARGETS.billingRawRatio) : '',
      ],
      [
        `  per call (${r.at} at a time)`,
        `${(r.callMs[Math.floor(r.callMs.length / 2)] / 1000).toFixed(2)} s median`,
        `min ${(r.callMs[0] / 1000).toFixed(2)} s, max ${(r.callMs.at(-1) / 1000).toFixed(2)} s; ${fmt(total / (r.totalMs / 1000))} invoices/s`,
        '',
        '',
      ],
      [
        `  CPU per call (${r.at} at a time)`,
        `${(r.callCpu.node / s.billingCalls).toFixed(0)} ms node + ${(r.callCpu.postgres / s.billingCalls).toFixed(0)} ms PostgreSQL`,
        `${((r.callCpu.node / total) * 1000).toFixed(0)} µs node + ${((r.callCpu.postgres / total) * 1000).toFixed(0)} µs PostgreSQL per invoice`,
        '',
        '',
      ],
      [
        `  API RSS growth (${r.at} at a time)`,
        `${r.growthMb.toFixed(0)} MB`,
        `VmRSS ${r.rssBefore.rssMb.toFixed(0)} MB before, ${r.rssAfter.rssMb.toFixed(0)} MB after the last call, ${r.rssIdle.rssMb.toFixed(0)} MB 10 s later; peak (VmHWM) ${r.rssAfter.hwmMb.toFixed(0)} MB`,
        `< ${TARGETS.billingRssGrowthMb} MB`,
        verdict(r.growthMb < TARGETS.billingRssGrowthMb),
      ],
    ];
  });
  const rows = [
    [
      'payload per call',
      mb(Math.max(...sizes)),
      `${fmt(s.invoicesPerCall)} invoices as GraphQL variables, ${fmt(Math.max(...sizes) / s.invoicesPerCall)} bytes/invoice; HERALD_MAX_BODY_BYTES ${mb(maxBody)}`,
      `≤ ${mb(maxBody)}`,
      verdict(Math.max(...sizes) <= maxBody),
    ],
    [
      `raw INSERT … SELECT FROM unnest, ${s.billingCalls} × ${fmt(s.invoicesPerCall)} rows`,
      `${(unnest.totalMs / 1000).toFixed(2)} s`,
      `the 1-at-a-time round's ${fmt(unnest.rows)} rows again (new ids, own cycle id) into Herald's messages table, same database after Herald's rounds; autocommit statements one at a time; CPU/statement ${(unnest.cpu.node / unnest.statements).toFixed(0)} ms node + ${(unnest.cpu.postgres / unnest.statements).toFixed(0)} ms PostgreSQL`,
      'baseline',
      '',
    ],
    ...roundRows,
    [
      'twitter-api-v2 raw DM POST to zero-latency fake',
      `${fmt(post.rate)} /s`,
      `one process, ${s.postConcurrency} concurrent; errors ${post.errors}; CPU/POST (client + fake) ${perOp(post.cpuMs, post.done)}`,
      'baseline',
      '',
    ],
    [
      'DMs (worker → X fake)',
      `${fmt(dmRate)} /s`,
      `HERALD_WORKER_CONCURRENCY=${s.workerConcurrency ?? 'default'}, until ${fmt(target)} SENT; ${fmt(span.sent)} SENT, ${span.failed} FAILED, ${fmt(lookups)} user lookups; CPU/DM (worker + fake) ${perOp(dmCpu, span.sent - sentAtReady)}`,
      '',
      '',
    ],
    ['DMs / raw POST', dmRatio.toFixed(2), '', '', ''],
  ];
  return { key: 'billing', title: 'billing (notifyBillingCycle, X DMs)', rows };
}

/**
 * What notifyBillingCycle's write costs without Herald: the messages it wrote for
 * `fromCycle`, every column as it wrote them but with new ids (and created_at) and
 * `toCycle`, inserted again into the same messages table (its indexes and triggers) by
 * INSERT … SELECT FROM unnest, `perStatement` rows per autocommit statement, one after
 * another. The arrays are built before the clock starts; timed from the first to the last.
 */
async function rawUnnestBaseline({ pool, cpu, fromCycle, toCycle, perStatement }) {
  const { rows } = await pool.query(
    `select tenant_id, recipient_id, gateway_id, gateway_pinned, channel::text as channel, status::text as status, body, destination,
            scheduled_at, invoice::text as invoice, invoice_number, template_id, template_version, locale,
            fallback::text as fallback, fallback_after_seconds
       from messages where billing_cycle_id = $1 order by id`,
    [fromCycle],
  );
  const sql = `insert into messages (id, tenant_id, recipient_id, gateway_id, gateway_pinned, channel, status, body, destination, scheduled_at,
      invoice, invoice_number, billing_cycle_id, template_id, template_version, locale, created_at, fallback, fallback_after_seconds)
    select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::boolean[], $6::channel[], $7::message_status[], $8::text[],
      $9::text[], $10::timestamptz[], $11::json[], $12::text[], $13::text[], $14::uuid[], $15::integer[], $16::text[], $17::timestamptz[],
      $18::json[], $19::integer[])`;
  // Ordered UUIDv7s (uuid's v7, as Herald's ids), created_at the id's own time, as Herald writes them.
  const { v7 } = await import('uuid');
  const statements = [];
  for (let from = 0; from < rows.length; from += perStatement) {
    const part = rows.slice(from, from + perStatement);
    const ids = part.map(() => v7());
    const created = ids.map((id) => new Date(parseInt(id.slice(0, 8) + id.slice(9, 13), 16)));
    const column = (name) => part.map((r) => r[name]);
    statements.push([
      ids,
      column('tenant_id'),
      column('recipient_id'),
      column('gateway_id'),
      column('gateway_pinned'),
      column('channel'),
      column('status'),
      column('body'),
      column('destination'),
      column('scheduled_at'),
      column('invoice'),
      column('invoice_number'),
      part.map(() => toCycle),
      column('template_id'),
      column('template_version'),
      column('locale'),
      created,
      column('fallback'),
      column('fallback_after_seconds'),
    ]);
  }
  const statementMs = [];
  const cpuStart = cpu.snapshot();
  const t0 = performance.now();
  for (const params of statements) {
    const started = performance.now();
    await pool.query(sql, params);
    statementMs.push(performance.now() - started);
  }
  const totalMs = performance.now() - t0;
  statementMs.sort((a, b) => a - b);
  return { rows: rows.length, statements: statements.length, totalMs, statementMs, cpu: await cpu.since(cpuStart) };
}

async function waitForSent(pool, target, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  let lastPrint = performance.now();
  let done = 0;
  while (performance.now() < deadline) {
    done = (await pool.query(`select count(*)::int as n from messages where status in ('SENT', 'FAILED', 'DELIVERED')`)).rows[0].n;
    if (done >= target) return true;
    if (performance.now() - lastPrint > 5000) {
      lastPrint = performance.now();
      console.log(`  … ${fmt(done)} done`);
    }
    await sleep(250);
  }
  console.log(`  gave up waiting at ${fmt(done)}`);
  return false;
}

// ---------------------------------------------------------------------------------------
// 4a. the twilio SDK, as the worker uses it (Herald's compiled RequestClient), to the fake

async function rawPostRate(fakeUrl, account, s, cpu) {
  const { twilioClient } = await import(pathToFileURL(path.join(root, 'dist', 'providers', 'twilio', 'twilio-api.js')).href);
  const client = twilioClient({ accountSid: account.accountSid, authToken: account.authToken, baseUrl: fakeUrl, timeoutMs: 10_000 });
  let n = 0;
  return runLoad({
    concurrency: s.postConcurrency,
    seconds: s.postSeconds,
    warmupSeconds: Math.min(1, s.warmupSeconds),
    cpu,
    async once() {
      const i = n++;
      const sent = await client.messages.create({
        to: '+14155550123',
        from: account.from,
        body: smsBody(i),
        statusCallback: 'http://127.0.0.1:4000/webhooks/twilio/status',
      });
      return sent.sid ? null : 'no sid';
    },
  });
}

// Last, so every module-level constant above is initialised before main() runs.
await main();
