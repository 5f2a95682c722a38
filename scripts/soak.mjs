// `npm run soak`: a memory and backlog soak. Herald runs for SOAK_MINUTES (30) under an
// open-loop sendSms load at half the rate it sustains end to end against a provider that
// answers in SOAK_PROVIDER_LATENCY_MS (200) ms: its RSS must show no growth trend, its
// backlog must stay bounded, nothing may fail, and every accepted message must be sent
// exactly once. Bounded in time; cleans up after itself (also on Ctrl-C).
//
//   1. a fresh database (DATABASE_URL is the admin connection, else postgres@127.0.0.1),
//      the vendor fakes in a child process holding every answer SOAK_PROVIDER_LATENCY_MS,
//      and Herald as two processes, `--role api` and `--role worker` (SOAK_ROLES=all: one
//      `--role all` process instead), with Twilio pointed at the fakes. The worker runs with
//      Herald's default HERALD_WORKER_CONCURRENCY (SOAK_WORKER_CONCURRENCY sets it; a
//      HERALD_WORKER_CONCURRENCY in the soak's own environment is ignored). Herald's rate
//      limit and send budgets are off, as in the bench: one API key drives the whole load.
//      On a shared server short of connections, it first waits (up to 2 minutes) for those
//      Herald will open.
//   2. the sustained rate (skipped when SOAK_RATE is given): sendSms over SOAK_CONCURRENCY
//      (32) keep-alive connections, closed loop, SOAK_PROBE_SECONDS (10) after 2 s of
//      warm-up, with the worker not yet started (accept rate); then the worker starts on
//      that backlog and its drain rate is taken from first to last sent_at over at most
//      SOAK_DRAIN_SECONDS (30). The sustained rate is the lower of the two, and the soak
//      runs at half of it. What the worker has not sent by then is drained with the fakes
//      answering at once, and the latency is set back before the soak starts.
//   3. SOAK_MINUTES of sendSms at that rate (open loop) plus read queries at a tenth of it
//      (messages(first: 50) with recipients and logs, and message(id) of a recent send);
//      every minute one line: RSS (VmRSS, /proc/<pid>/status) and V8 heap used (the
//      process's own /metrics) of each Herald process, messages accepted and sent in the
//      minute, the backlog (QUEUED + SENDING, on the tenant/status index), the errors so
//      far, sendSms p99, and created→SENT p95 of the minute's messages
//   4. after the load, the backlog drains; then a table:
//      - RSS growth per process: a least-squares line through the RSS samples (every
//        SOAK_SAMPLE_SECONDS, 10) after the warm-up (SOAK_WARMUP_MINUTES, 5; at most half the
//        run), and the growth it implies over the fitted span: < SOAK_MAX_GROWTH_MB (20)
//      - backlog bounded: the backlog is sampled with the RSS; after the warm-up, the second
//        half's maximum, and the last sample under load, must not exceed twice the first
//        half's maximum (or, when that is smaller, one second at twice the soak's rate, the
//        sustained rate unless SOAK_RATE is given: a few messages in flight are not a
//        trend); the fitted slope is printed with it
//      - created→SENT p95 of the messages created in the load's last 5 minutes (the last
//        half of a shorter run): < 1 s, the provider's own latency included
//      - errors: 0 API errors (non-2xx, GraphQL errors, userErrors; calibration included),
//        0 FAILED messages, 0 warn/error lines and 0 stderr output in Herald's logs; what a
//        process warns of before its ready line with no error attached (its configuration,
//        the server's autovacuum setting, for which the soak vacuums, below) is shown apart
//      - exactly once: every accepted message SENT, one Twilio POST and one SUCCESS log each
//   5. the verdict (docs/performance.md keeps the current figures, updated by hand)
//
// Other settings: SOAK_LOG_LEVEL (info), SOAK_KEEP_DB=1 keeps the database,
// SOAK_HERALD_NODE_ARGS passes node flags to Herald. `--report-json=<file>` also writes the
// table there ({ title, rows, pass }): scripts/bench.mjs's soak stage reads it.
// Exit code 0 when every figure with a target PASSes; 1 otherwise, or when a Herald process
// (or the fakes) dies mid-run, which stops the soak at once with Herald's last lines.
// PostgreSQL's tables grow through the run (every message stays); that is disk and shared
// buffers, not Herald's RSS, and is reported separately.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startFakeChild } from './bench/fakes.mjs';
import {
  buildIfStale,
  createClientRecipients,
  fmt,
  graphqlClient,
  heraldEnv,
  ms,
  numEnv,
  openBenchRun,
  payloadOf,
  renderTable,
  root,
  runLoad,
  sleep,
  smsBody,
  startHerald,
  verdict,
  vmStatus,
  waitForFreeConnections,
} from './bench/lib.mjs';

const self = fileURLToPath(import.meta.url);
const TARGETS = { sentP95Ms: 1000 };
/** The calibration's leftover backlog, drained with the fakes answering at once. */
const LEFTOVER_DRAIN_MS = 300_000;
const FINAL_DRAIN_MS = 120_000;

const SEND_SMS = `mutation Soak($input: SendSmsInput!) {
  sendSms(input: $input) { message { id status } userErrors { code message field } }
}`;
// No totalCount: counting a table that grows all run long would make the reads ever dearer.
const MESSAGES = `query Soak($first: Int) {
  messages(first: $first) {
    edges { node { id status channel destination createdAt sentAt recipient { id displayName } logs { id outcome at } } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const MESSAGE = `query Soak($id: ID!) {
  message(id: $id) { id status attempts body sentAt providerMessageId recipient { id displayName } logs { id outcome reason at } }
}`;

export function soakSettings() {
  const minutes = numEnv('SOAK_MINUTES', 30);
  const roles = process.env.SOAK_ROLES || 'split';
  if (roles !== 'split' && roles !== 'all') {
    console.error(`soak: SOAK_ROLES must be split (--role api + --role worker) or all (one --role all), got "${roles}"`);
    process.exit(2);
  }
  return {
    minutes,
    rate: process.env.SOAK_RATE ? numEnv('SOAK_RATE', 1, 0.1) : undefined,
    roles,
    providerLatencyMs: numEnv('SOAK_PROVIDER_LATENCY_MS', 200, 0),
    concurrency: numEnv('SOAK_CONCURRENCY', 32),
    workerConcurrency: process.env.SOAK_WORKER_CONCURRENCY ? numEnv('SOAK_WORKER_CONCURRENCY', 1) : undefined,
    probeSeconds: numEnv('SOAK_PROBE_SECONDS', 10),
    drainSeconds: numEnv('SOAK_DRAIN_SECONDS', 30),
    warmupMinutes: Math.min(numEnv('SOAK_WARMUP_MINUTES', 5, 0), Math.floor(minutes / 2)),
    sampleSeconds: numEnv('SOAK_SAMPLE_SECONDS', 10),
    maxGrowthMb: numEnv('SOAK_MAX_GROWTH_MB', 20),
    keepDb: process.env.SOAK_KEEP_DB === '1',
    heraldNodeArgs: (process.env.SOAK_HERALD_NODE_ARGS || '').split(/\s+/).filter(Boolean),
    reportJson: process.argv.find((a) => a.startsWith('--report-json='))?.slice('--report-json='.length),
  };
}

/** The soak's longest run, in seconds: its own stop, and the bench's budget. */
export function soakBudgetSeconds(s = soakSettings()) {
  return s.minutes * 70 + 120 + s.probeSeconds + 2 + s.drainSeconds + (LEFTOVER_DRAIN_MS + FINAL_DRAIN_MS) / 1000 + 300;
}

/**
 * As a stage of scripts/bench.mjs: this script as a child process (its own database, fakes
 * and Herald processes; its output goes to the bench's), in `children` so the bench's
 * clean-up stops it. Returns { key: 'soak', title, rows }.
 */
export async function soakStage({ children, tmp }) {
  const report = path.join(tmp, 'soak-report.json');
  console.log(`bench: soak: node scripts/soak.mjs (SOAK_* settings as for npm run soak)…`);
  const child = spawn(process.execPath, [self, `--report-json=${report}`], { cwd: root, stdio: 'inherit' });
  children.add(child);
  const exit = await new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  children.delete(child);
  try {
    const { title, rows } = JSON.parse(fs.readFileSync(report, 'utf8'));
    return { key: 'soak', title, rows };
  } catch {
    return {
      key: 'soak',
      title: 'soak',
      rows: [['soak', 'did not finish', `scripts/soak.mjs exited with ${exit}: its reason is above`, 'a table', verdict(false)]],
    };
  }
}

async function main() {
  const s = soakSettings();
  buildIfStale();
  let minute = 0;
  const {
    pg,
    dbName: db,
    urlOf,
    createDb,
    tmp,
    logFile,
    logStream,
    children,
    onCleanup,
    closing,
    cleanup,
    abort,
    budget,
  } = await openBenchRun({
    name: 'soak',
    keepDb: s.keepDb,
    tag: 'soak',
    abortOnce: true,
    abortNewline: true,
    signalAbort: (why, code) => [`${why} during minute ${minute}; no verdict`, code],
  });
  const url = urlOf(db);
  let pool;
  let fakes;
  onCleanup(async () => {
    fakes?.child.kill('SIGTERM');
    await pool?.end().catch(() => undefined);
  });
  budget(soakBudgetSeconds(s));

  try {
    await createDb(db);
    pool = new pg.Pool({ connectionString: url, max: 2, idleTimeoutMillis: 0 });
    pool.on('error', () => undefined); // an idle client losing its server: the next query says so
    fakes = await startFakeChild({ latencyMs: s.providerLatencyMs });
    fakes.child.once('exit', (code, signal) => {
      if (!closing()) void abort(`the vendor fakes exited (${code ?? signal}) during minute ${minute}`);
    });
    const account = {
      accountSid: `AC${randomBytes(16).toString('hex')}`,
      authToken: randomBytes(16).toString('hex'),
      from: '+15005550006',
    };
    const env = heraldEnv(
      {
        url,
        dataDir: tmp,
        logLevel: process.env.SOAK_LOG_LEVEL || 'info',
        workerConcurrency: s.workerConcurrency,
        twilio: { account, fakesUrl: fakes.url },
      },
      // Herald's own default unless SOAK_WORKER_CONCURRENCY: not one inherited from the shell or the bench.
      s.workerConcurrency === undefined ? { HERALD_WORKER_CONCURRENCY: undefined } : {},
    );
    const workerConcurrency = await effectiveWorkerConcurrency(env);
    const free = await waitForConnections(pool, typeof workerConcurrency === 'number' ? workerConcurrency : 8);
    const concurrencyNote = `HERALD_WORKER_CONCURRENCY=${workerConcurrency}${s.workerConcurrency === undefined ? " (Herald's default)" : ' (SOAK_WORKER_CONCURRENCY)'}`;
    const roleNames = s.roles === 'split' ? ['api', 'worker'] : ['all'];
    console.log(
      `soak: Herald ${roleNames.map((r) => `--role ${r}`).join(' + ')} on ${db}; ${concurrencyNote}; the Twilio fake answers in ${s.providerLatencyMs} ms; ` +
        `PostgreSQL has ${free} connections free`,
    );
    const procs = [];
    const startRole = async (role) => {
      const h = await startHerald(role, env, children, logStream, s.heraldNodeArgs);
      h.role = role;
      procs.push(h);
      h.child.once('exit', (code, signal) => {
        if (!closing())
          void abort(
            `Herald --role ${role} (pid ${h.child.pid}) exited with ${code ?? signal} during minute ${minute}\n${tail(logFile, 15)}`,
          );
      });
      return h;
    };
    const front = await startRole(roleNames[0]); // api, or all
    const label = (p) => (p.role === 'all' ? 'herald' : p.role);
    const recipients = await createClientRecipients(front.port, {
      n: 8,
      concurrency: 4,
      operation: 'Soak',
      label: 'Soak client',
      phonePrefix: '+1415557',
    });
    const tenantId = (await pool.query('select tenant_id from recipients limit 1')).rows[0].tenant_id;
    // Both on messages_tenant_status_id: cheap however large the table grows.
    const countStatus = async (statuses) =>
      (await pool.query('select count(*)::int as n from messages where tenant_id = $1 and status = any($2)', [tenantId, statuses])).rows[0]
        .n;
    const backlogNow = () => countStatus(['QUEUED', 'SENDING']);
    const dbSizeStart = await dbSize(pool);

    // Every answer counts, warm-ups included: the exactly-once check compares them with the database.
    const api = { sent: 0, sendErrors: 0, readErrors: 0, samples: [] };
    const noteError = (problem) => {
      if (api.samples.length < 5) api.samples.push(problem);
    };
    const client = graphqlClient(front.port, s.concurrency);
    const recent = [];
    let n = 0;
    const sendOnce = async () => {
      const i = n++;
      let problem;
      try {
        const answer = payloadOf(
          await client.post(SEND_SMS, { input: { clientId: recipients[i % recipients.length], message: smsBody(i) } }),
          'sendSms',
        );
        problem = answer.problem ?? (answer.payload.message?.id ? null : 'no message in the answer');
        if (!problem) recent[i % 1000] = answer.payload.message.id;
      } catch (err) {
        problem = err instanceof Error ? err.message : String(err);
      }
      if (problem) {
        api.sendErrors++;
        noteError(`sendSms: ${problem}`);
      } else api.sent++;
      return problem;
    };

    // ---- 2. the sustained rate ----
    let rate = s.rate;
    let calibration;
    if (!rate) {
      console.log(
        `soak: accept rate: sendSms over ${s.concurrency} connections, closed loop, ${s.probeSeconds} s after 2 s of warm-up${s.roles === 'split' ? ', no worker running' : ''}…`,
      );
      const probe = await runLoad({ concurrency: s.concurrency, seconds: s.probeSeconds, warmupSeconds: 2, once: sendOnce });
      if (probe.done === 0) throw new Error(`the rate probe accepted nothing: ${probe.errorSamples.join(' | ')}`);
      console.log(
        `  ${fmt(probe.rate)} accepted/s (p99 ${probe.p99.toFixed(1)} ms, errors ${probe.errors}); ${fmt(api.sent)} messages queued`,
      );
      const probeEnd = (await pool.query('select now() as t')).rows[0].t;
      if (s.roles === 'split') await startRole('worker');
      console.log(
        `soak: drain rate: the worker sends that backlog to the ${s.providerLatencyMs} ms fake, for at most ${s.drainSeconds} s…`,
      );
      const drainStart = performance.now();
      let left = await backlogNow();
      while (left > 0 && performance.now() - drainStart < s.drainSeconds * 1000) {
        await sleep(500);
        left = await backlogNow();
      }
      const drained = (
        await pool.query(
          `select count(*)::int as n, extract(epoch from max(sent_at) - min(sent_at)) as span
             from messages where status = 'SENT' and sent_at >= $1`,
          [probeEnd],
        )
      ).rows[0];
      const span = Number(drained.span);
      if (drained.n < 2 || !(span > 0)) throw new Error(`the worker sent ${drained.n} messages in ${s.drainSeconds} s: no drain rate`);
      const drainRate = (drained.n - 1) / span;
      console.log(
        `  ${fmt(drainRate)} sent/s (${fmt(drained.n)} SENT over ${span.toFixed(1)} s, first to last sent_at; ${concurrencyNote})`,
      );
      let leftover;
      if (left > 0) {
        const t = performance.now();
        await fakes.setLatency(0);
        const ok = await waitForDrain(backlogNow, LEFTOVER_DRAIN_MS);
        await fakes.setLatency(s.providerLatencyMs);
        if (!ok) throw new Error(`the calibration's backlog did not drain in ${LEFTOVER_DRAIN_MS / 1000} s`);
        leftover = { messages: left, seconds: (performance.now() - t) / 1000 };
        console.log(
          `  the ${fmt(left)} messages left drained with the fake answering at once, in ${leftover.seconds.toFixed(1)} s; latency back to ${s.providerLatencyMs} ms`,
        );
      }
      const sustained = Math.min(probe.rate, drainRate);
      rate = Math.max(0.1, Math.round(sustained * 5) / 10);
      calibration = { probe, drainRate, drained, span, sustained, leftover };
      console.log(
        `soak: sustained rate min(${fmt(probe.rate)} accepted/s, ${fmt(drainRate)} sent/s) = ${fmt(sustained)} /s: the soak runs at ${rate} sendSms/s`,
      );
    } else if (s.roles === 'split') await startRole('worker');
    const senders = procs.filter((p) => p.role !== 'api');

    const readRate = Math.max(0.2, rate / 10);
    let reads = 0;
    const readOnce = async () => {
      const k = reads++;
      const id = recent[(k * 37) % Math.max(1, recent.length)];
      let problem = null;
      try {
        if (k % 2 === 0 || !id) {
          const { problem: p, payload } = payloadOf(await client.post(MESSAGES, { first: 50 }), 'messages');
          problem = p ?? (payload.edges.length ? null : 'messages(first: 50) came back empty');
        } else {
          const { problem: p, payload } = payloadOf(await client.post(MESSAGE, { id }), 'message');
          problem = p ?? (payload.id === id ? null : `message(${id}) answered ${payload.id}`);
        }
      } catch (err) {
        problem = err instanceof Error ? err.message : String(err);
      }
      if (problem) {
        api.readErrors++;
        noteError(`read: ${problem}`);
      }
      return problem;
    };

    // ---- 3. the soak ----
    console.log(
      `soak: ${s.minutes} min of sendSms at ${rate}/s (open loop) + reads at ${readRate.toFixed(1)}/s; RSS and backlog sampled every ${s.sampleSeconds} s, fitted from minute ${s.warmupMinutes} on`,
    );
    const samples = []; // { t (min), backlog, [role]: { rss, heap, sent } }
    const sampleNow = async (t) => {
      const point = { t, backlog: await backlogNow() };
      await Promise.all(
        procs.map(async (p) => {
          const m = await scrape(p.port).catch(() => ({}));
          point[p.role] = { rss: vmStatus(p.child.pid).rssMb, heap: m.heapUsed / 1024 / 1024, sent: m.sent };
        }),
      );
      return point;
    };
    const sentOf = (point) => senders.reduce((a, p) => a + (point[p.role].sent ?? 0), 0);
    const t0 = performance.now();
    const elapsedMin = () => (performance.now() - t0) / 60_000;
    samples.push(await sampleNow(0));
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const next = samples.length * s.sampleSeconds * 1000 - (performance.now() - t0);
        await sleep(Math.max(0, next));
        if (!sampling) break;
        samples.push(await sampleNow(elapsedMin()));
      }
    })();
    // A server with autovacuum off (this machine's CI cluster has it so) lets every status
    // change's dead rows pile up in messages and the job table, and the worker's send rate
    // fell by the minute: the soak then vacuums them itself once a minute, as autovacuum would.
    const autovacuum = (await pool.query('show autovacuum')).rows[0].autovacuum;
    let vacuums = 0;
    const upkeep =
      autovacuum === 'on'
        ? Promise.resolve()
        : (async () => {
            console.log('soak: PostgreSQL has autovacuum off: VACUUM (ANALYZE) of messages, delivery_logs and pgboss.job once a minute');
            while (sampling) {
              for (let waited = 0; sampling && waited < 60; waited++) await sleep(1000);
              if (!sampling) break;
              await pool.query('vacuum (analyze) messages, delivery_logs, pgboss.job');
              vacuums++;
            }
          })();
    const errorsSoFar = async () => {
      const logs = logProblems(logFile);
      const failed = await countStatus(['FAILED']);
      return { failed, logs, total: api.sendErrors + api.readErrors + failed + logs.warnings + logs.stderr };
    };
    const minutes = [];
    let lastSent = sentOf(samples[0]);
    let shownErrors = 0;
    const col = (v, w) => String(v).padStart(w);
    console.log(
      `${'min'.padStart(3)}  ${procs.map((p) => `${label(p)} RSS / heap`.padEnd(22)).join('')}${col('acc/min', 9)}${col('sent/min', 10)}${col('backlog', 9)}${col('reads', 7)}${col('errors', 8)}${col('p99', 10)}${col('c→SENT p95', 12)}`,
    );
    for (minute = 1; minute <= s.minutes; minute++) {
      const minuteStartMs = Date.now();
      const [sends, readsResult] = await Promise.all([
        runLoad({ ratePerSecond: rate, seconds: 60, once: sendOnce }),
        runLoad({ ratePerSecond: readRate, seconds: 60, once: readOnce }),
      ]);
      const point = await sampleNow(elapsedMin());
      const sent = sentOf(point);
      const latency = await createdToSent(pool, minuteStartMs, Date.now());
      const errors = await errorsSoFar();
      const row = {
        minute,
        point,
        accepted: sends.done,
        sent: sent - lastSent,
        backlog: point.backlog,
        reads: readsResult.done,
        errors,
        p99: sends.p99,
      };
      lastSent = sent;
      minutes.push(row);
      console.log(
        `${String(minute).padStart(3)}  ${procs.map((p) => `${point[p.role].rss.toFixed(1)} / ${Number.isFinite(point[p.role].heap) ? point[p.role].heap.toFixed(1) : 'n/a'} MB`.padEnd(22)).join('')}` +
          `${col(fmt(row.accepted), 9)}${col(fmt(row.sent), 10)}${col(fmt(row.backlog), 9)}${col(fmt(row.reads), 7)}${col(errors.total, 8)}${col(`${sends.p99.toFixed(1)} ms`, 10)}${col(ms(latency.p95), 12)}`,
      );
      if (api.samples.length > shownErrors) {
        console.log(`     errors: ${api.samples.slice(shownErrors).join(' | ')}`);
        shownErrors = api.samples.length;
      }
    }
    const loadEndMs = Date.now();
    const drainStart = performance.now();
    sampling = false;
    client.agent.destroy();

    // ---- 4. drain, then the verdict ----
    const drained = await waitForDrain(backlogNow, FINAL_DRAIN_MS);
    const drainSeconds = (performance.now() - drainStart) / 1000;
    await sampler;
    await upkeep;
    await sleep(200); // the last SENT transactions' metrics
    const finalPoint = await sampleNow(elapsedMin());
    const totals = (
      await pool.query(
        `select count(*)::int as n, count(*) filter (where status = 'SENT')::int as sent,
                count(*) filter (where status = 'FAILED')::int as failed,
                count(*) filter (where status not in ('SENT', 'FAILED'))::int as unsettled,
                count(*) filter (where attempts > 1)::int as retried,
                count(distinct provider_message_id)::int as sids
           from messages`,
      )
    ).rows[0];
    const logs = (
      await pool.query(
        `select count(*)::int as success, count(*) filter (where n > 1)::int as duplicated
           from (select message_id, count(*) as n from delivery_logs where outcome = 'SUCCESS' group by message_id) l`,
      )
    ).rows[0];
    const posts = await fakes.count();
    const workerTotal = sentOf(finalPoint);
    const dbSizeEnd = await dbSize(pool);
    const errors = await errorsSoFar();

    // RSS: a line through the samples after the warm-up.
    const fitFrom = s.warmupMinutes;
    const fitted = samples.filter((p) => p.t >= fitFrom);
    const span = fitted.length ? fitted.at(-1).t - fitted[0].t : 0;
    const acceptedInFit = minutes.filter((m) => m.minute > fitFrom).reduce((a, m) => a + m.accepted, 0);
    const analysis = procs.map((p) => {
      const rss = samples.map((x) => x[p.role].rss);
      const line = leastSquares(
        fitted.map((x) => x.t),
        fitted.map((x) => x[p.role].rss),
      );
      const heapLine = leastSquares(
        fitted.map((x) => x.t),
        fitted.map((x) => x[p.role].heap),
      );
      const growth = line.slope * span;
      return {
        label: label(p),
        pid: p.child.pid,
        first: rss[0],
        last: rss.at(-1),
        max: Math.max(...rss),
        slopePerHour: line.slope * 60,
        sePerHour: line.se * 60,
        growth,
        heapSlopePerHour: heapLine.slope * 60,
        bytesPerMessage: acceptedInFit ? (growth * 1024 * 1024) / acceptedInFit : NaN,
        ok: Number.isFinite(growth) && growth < s.maxGrowthMb,
      };
    });

    // Backlog: the second half of the fitted span against the first.
    const underLoad = fitted;
    const mid = (fitFrom + (underLoad.at(-1)?.t ?? fitFrom)) / 2;
    const maxOf = (pts) => (pts.length ? Math.max(...pts.map((p) => p.backlog)) : NaN);
    const firstMax = maxOf(underLoad.filter((p) => p.t < mid));
    const secondMax = maxOf(underLoad.filter((p) => p.t >= mid));
    const lastUnderLoad = minutes.at(-1)?.backlog ?? NaN;
    const floor = Math.ceil(2 * rate); // one second at twice the soak's rate
    const bound = Math.max(2 * firstMax, floor);
    const backlogLine = leastSquares(
      underLoad.map((p) => p.t),
      underLoad.map((p) => p.backlog),
    );
    const backlogOk = secondMax <= bound && lastUnderLoad <= bound;

    const tailMinutes = Math.max(1, Math.min(5, Math.floor(s.minutes / 2)));
    const tailLatency = await createdToSent(pool, loadEndMs - tailMinutes * 60_000, loadEndMs);
    const latencyOk = tailLatency.p95 !== null && tailLatency.p95 < TARGETS.sentP95Ms;
    const apiErrors = api.sendErrors + api.readErrors;
    const errorsOk = errors.total === 0;
    const answered = api.sent;
    const once = {
      ok:
        drained &&
        totals.sent === totals.n &&
        (api.sendErrors > 0 || totals.n === answered) &&
        posts === totals.sent &&
        totals.sids === totals.sent &&
        logs.success === totals.sent &&
        logs.duplicated === 0 &&
        workerTotal === totals.sent,
    };
    const sentPerMinute = minutes.map((m) => m.sent);
    const upkeepNote =
      autovacuum === 'on'
        ? "autovacuum on (the server's own)"
        : `autovacuum off on this server: the soak ran VACUUM (ANALYZE) of messages, delivery_logs and pgboss.job ${vacuums === 1 ? 'once' : `${vacuums} times`}`;

    const rows = [];
    if (calibration) {
      const c = calibration;
      rows.push(
        [
          'calibration: sendSms accepted',
          `${fmt(c.probe.rate)} /s`,
          `${s.concurrency} connections, closed loop, ${s.probeSeconds} s${s.roles === 'split' ? ', no worker running' : ''}; p99 ${c.probe.p99.toFixed(1)} ms`,
          '',
          '',
        ],
        [
          'calibration: worker drain',
          `${fmt(c.drainRate)} /s`,
          `${fmt(c.drained.n)} SENT to the ${s.providerLatencyMs} ms fake in ${c.span.toFixed(1)} s (first to last sent_at); ${concurrencyNote}` +
            (c.leftover ? `; ${fmt(c.leftover.messages)} left drained at zero latency` : ''),
          '',
          '',
        ],
        ['sustained rate', `${fmt(c.sustained)} /s`, 'min(accepted, drain)', '', ''],
      );
    }
    rows.push(
      [
        'soak load',
        `${rate} sendSms/s`,
        `${calibration ? 'half the sustained rate' : 'SOAK_RATE'}, open loop, ${s.minutes} min; reads ${readRate.toFixed(1)}/s; provider ${s.providerLatencyMs} ms; ${s.roles === 'split' ? '--role api + --role worker' : '--role all'}, ${concurrencyNote}`,
        '',
        '',
      ],
      [
        'sent per minute',
        fmt(mean(sentPerMinute)),
        `min ${fmt(Math.min(...sentPerMinute))}, max ${fmt(Math.max(...sentPerMinute))}; offered ${fmt(rate * 60)}`,
        '',
        '',
      ],
      ...analysis.map((a) => [
        `${a.label} RSS growth`,
        `${signed(a.growth)} MB`,
        `fitted over minutes ${fitFrom}–${s.minutes} (${fitted.length} samples): ${signed(a.slopePerHour)} ± ${a.sePerHour.toFixed(1)} MB/hour, ` +
          `${Number.isFinite(a.bytesPerMessage) ? `${signed(a.bytesPerMessage, 0)} bytes/message` : 'n/a'}; RSS ${a.first.toFixed(0)} → ${a.last.toFixed(0)} MB, max ${a.max.toFixed(0)}; heap ${signed(a.heapSlopePerHour)} MB/hour`,
        `< ${s.maxGrowthMb} MB`,
        verdict(a.ok),
      ]),
      [
        'backlog (QUEUED + SENDING)',
        `max ${fmt(firstMax)} → ${fmt(secondMax)}`,
        `first → second half of minutes ${fitFrom}–${s.minutes}, every ${s.sampleSeconds} s; bound max(2 × ${fmt(firstMax)}, 1 s at ${fmt(2 * rate)}/s) = ${fmt(bound)}; ` +
          `last under load ${fmt(lastUnderLoad)}; slope ${signed(backlogLine.slope)}/min`,
        '2nd half, last ≤ bound',
        verdict(backlogOk),
      ],
      [
        'created → SENT p95',
        ms(tailLatency.p95),
        `messages created in the load's last ${tailMinutes} min (${fmt(tailLatency.n)}); p50 ${ms(tailLatency.p50)}; provider ${s.providerLatencyMs} ms`,
        `< ${TARGETS.sentP95Ms / 1000} s`,
        verdict(latencyOk),
      ],
      [
        'errors',
        String(errors.total),
        `API ${apiErrors} (sendSms ${api.sendErrors}, reads ${api.readErrors}), FAILED ${errors.failed}, Herald warn/error lines ${errors.logs.warnings}, stderr ${errors.logs.stderr}` +
          (errors.logs.top.length ? `; most: ${errors.logs.top[0]}` : '') +
          (errors.logs.startup.length ? `; start-up notices apart: ${errors.logs.startup.map((k) => k.slice(0, 50)).join('; ')}` : ''),
        '0',
        verdict(errorsOk),
      ],
      [
        'every accepted message SENT once',
        `${fmt(totals.sent)} / ${fmt(answered)}`,
        `SENT / accepted answers; ${fmt(totals.n)} in the database, ${totals.failed} FAILED, ${totals.unsettled} unsettled, ${fmt(posts)} Twilio POSTs, ` +
          `${fmt(totals.sids)} provider ids, ${fmt(logs.success)} SUCCESS logs (${logs.duplicated} doubled), workers counted ${fmt(workerTotal)}, ${totals.retried} retried; ` +
          `drained in ${drainSeconds.toFixed(1)} s${drained ? '' : ' (TIMED OUT)'}`,
        'all, once',
        verdict(once.ok),
      ],
      ['database size', `${mbOf(dbSizeStart)} → ${mbOf(dbSizeEnd)}`, `PostgreSQL's growth, not Herald's RSS; ${upkeepNote}`, '', ''],
    );
    const pass = analysis.every((a) => a.ok) && backlogOk && latencyOk && errorsOk && once.ok;
    const title = `soak (${s.minutes} min at ${rate} sendSms/s, provider ${s.providerLatencyMs} ms)`;
    console.log(`\n${title}\n${renderTable(rows)}`);
    const short = s.minutes < 10;
    console.log(`soak: ${verdict(pass)}${short ? ` (a ${s.minutes}-minute run: indicative only; the issue asks for 30)` : ''}`);
    if (errors.logs.warnings || errors.logs.stderr) {
      console.log(`soak: Herald's log: ${logFile}`);
      for (const kind of errors.logs.top.slice(0, 5)) console.log(`  ${kind}`);
    }
    for (const kind of errors.logs.startup) console.log(`soak: start-up notice, not counted: ${kind}`);
    if (s.reportJson) fs.writeFileSync(s.reportJson, JSON.stringify({ title, rows, pass }));
    await cleanup({ keepLogs: errors.logs.warnings + errors.logs.stderr > 0 });
    process.exit(pass ? 0 : 1);
  } catch (err) {
    await abort(err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
}

/** Herald's HERALD_WORKER_CONCURRENCY for this environment, as Herald itself reads it. */
async function effectiveWorkerConcurrency(env) {
  try {
    const { loadConfig } = await import(pathToFileURL(path.join(root, 'dist', 'config.js')).href);
    return loadConfig({ ...process.env, ...env }).workerConcurrency;
  } catch {
    return "Herald's default";
  }
}

/**
 * Waits (up to 2 minutes) until the server has the connections Herald is likely to open: about
 * 28 for the API under load (its pool of 20, LISTEN, some of pg-boss's) and its pool of 20
 * plus pg-boss's for the worker. Short of them, Herald's statements meet "too many clients",
 * which the soak counts as errors: on a shared server other runs may hold them. Answers the
 * free count when the soak starts.
 */
async function waitForConnections(pool, workerConcurrency) {
  return waitForFreeConnections(pool, 28 + 20 + Math.ceil(workerConcurrency / 32) + 10 + 5, 'Herald', 'soak: ');
}

async function waitForDrain(backlogNow, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if ((await backlogNow()) === 0) return true;
    await sleep(500);
  }
  return false;
}

/** created→SENT of the messages created in [fromMs, toMs) and SENT by now: a range of the primary key (UUIDv7, created_at's own time). */
async function createdToSent(pool, fromMs, toMs) {
  const row = (
    await pool.query(
      `select percentile_cont(0.5) within group (order by extract(epoch from sent_at - created_at) * 1000) as p50,
              percentile_cont(0.95) within group (order by extract(epoch from sent_at - created_at) * 1000) as p95,
              count(*)::int as n
         from messages where id >= $1 and id < $2 and sent_at is not null`,
      [uuidFloor(fromMs), uuidFloor(toMs)],
    )
  ).rows[0];
  const num = (v) => (v === null || v === undefined ? null : Number(v));
  return { p50: num(row.p50), p95: num(row.p95), n: row.n };
}

/** The lowest UUIDv7 of a millisecond. */
function uuidFloor(msTime) {
  const h = Math.floor(msTime).toString(16).padStart(12, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-0000-0000-000000000000`;
}

/**
 * Herald's warn/error lines (pino level ≥ 40) and stderr output, the most frequent first.
 * What a process warned of before its ready line without an error attached (its
 * configuration, the server's autovacuum setting, which the soak vacuums for) is counted
 * apart as start-up notices. Each chunk in the log starts with its process's [role pid].
 */
function logProblems(file) {
  const none = { warnings: 0, stderr: 0, top: [], startup: [] };
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return none;
  }
  let warnings = 0;
  let stderr = 0;
  const kinds = new Map();
  const startup = new Map();
  const ready = new Set();
  let proc = '';
  for (let line of text.split('\n')) {
    const prefix = /^\[(\w+ \d+)( stderr)?\] /.exec(line);
    if (prefix) {
      proc = prefix[1];
      if (prefix[2]) stderr++;
      line = line.slice(prefix[0].length);
    }
    if (line.includes('"msg":"Herald is ready')) ready.add(proc);
    if (!/"level":(40|50|60)/.test(line)) continue;
    let kind = line.slice(0, 120);
    let failure = true;
    try {
      const json = JSON.parse(line);
      kind = `${String(json.msg).slice(0, 100)}${json.err?.message ? ` (${String(json.err.message).slice(0, 60)})` : ''}`;
      failure = json.err !== undefined;
    } catch {
      // a line split across two chunks: kept as it reads
    }
    const notice = !ready.has(proc) && !failure;
    const into = notice ? startup : kinds;
    into.set(kind, (into.get(kind) ?? 0) + 1);
    if (!notice) warnings++;
  }
  const sorted = (m) => [...m].sort((a, b) => b[1] - a[1]).map(([kind, count]) => `${count} × ${kind}`);
  return { warnings, stderr, top: sorted(kinds), startup: sorted(startup) };
}

async function dbSize(pool) {
  return Number((await pool.query('select pg_database_size(current_database()) as n')).rows[0].n);
}

/** V8 heap used and messages SENT from a Herald process's own /metrics (prom-client). */
function scrape(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => {
        const heapUsed = Number(/^nodejs_heap_size_used_bytes\s+(\S+)$/m.exec(text)?.[1] ?? NaN);
        let sent = 0;
        for (const m of text.matchAll(/^herald_messages_total\{([^}]*)\}\s+(\S+)$/gm)) if (/status="SENT"/.test(m[1])) sent += Number(m[2]);
        resolve({ heapUsed, sent });
      });
    });
    req.on('timeout', () => req.destroy(new Error('/metrics timed out')));
    req.on('error', reject);
  });
}

/** Least-squares line through (x, y): slope and its standard error. */
function leastSquares(xs, ys) {
  const pts = xs.map((x, i) => [x, ys[i]]).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const n = pts.length;
  if (n < 2) return { slope: NaN, se: NaN };
  const mx = pts.reduce((a, [x]) => a + x, 0) / n;
  const my = pts.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = pts.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const sxy = pts.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  if (sxx === 0) return { slope: NaN, se: NaN };
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const sse = pts.reduce((a, [x, y]) => a + (y - intercept - slope * x) ** 2, 0);
  return { slope, se: n > 2 ? Math.sqrt(sse / (n - 2) / sxx) : NaN };
}

function mean(xs) {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

function tail(file, lines) {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function signed(v, digits = 1) {
  return Number.isFinite(v) ? `${v >= 0 ? '+' : ''}${v.toFixed(digits)}` : 'n/a';
}

function mbOf(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === self) await main();
