// The scale stage: `--role api` and `--role worker` processes on one PostgreSQL database,
// sendSms driven over keep-alive connections (closed loop) while the workers send to the
// zero-latency Twilio fake, and what it all costs PostgreSQL, end to end.
//
// First, with no Herald process running, the raw baseline: single-row autocommit INSERTs of
// a message-like row (the accept stage's table shape) over BENCH_CONCURRENCY (32) connections,
// opened beforehand, for BENCH_SECONDS after BENCH_WARMUP_SECONDS, after a CHECKPOINT; the
// CPU of every PostgreSQL process on the machine over the window (postgresCpu: backends, WAL
// writer, checkpointer…, exited ones too) ÷ inserts.
//
// Then the layouts, one after another (BENCH_SCALE_LAYOUTS, default "e2e,2,api2:2"):
//   - "e2e": 1 API + 1 worker, sendSms until BENCH_E2E_MESSAGES (20,000) have been answered,
//     then the load stops and the run waits until every message is SENT and every job of
//     the dispatch queue completed. PostgreSQL's CPU (every process, as above, from a
//     CHECKPOINT on) from the load's first request to the last job completed, plus the
//     completed jobs' removal (pg-boss's deleteStoredJobs: the walk its retention sweep makes
//     once deleteAfterSeconds has passed), ÷ messages SENT: the issue's "accepted → SENT,
//     its DeliveryLog and the job's whole life", against 3 × the raw INSERT. Reported beside
//     it, not in it: the VACUUM of the dead rows the run left (autovacuum's later work).
//     Where the CPU goes, per message: pg_stat_database, pg_stat_user_tables and
//     pg_statio_user_tables deltas, WAL (pg_current_wal_insert_lsn, pg_stat_wal), and
//     pg_stat_statements when the server preloads it (the statistics are read 11 s after the
//     drain: an idle backend reports its counts up to 10 s late).
//   - "N" or "NxC": 1 API + N workers; "apiA:N[xC]": A API processes + N workers, the
//     sendSms requests shared round-robin between the APIs' ports (as a load balancer
//     would); "e2exC" names the e2e worker's concurrency. "e2e,1,2,1,2" repeats layouts, and
//     the comparisons take the means.
//   - a worker runs with Herald's default HERALD_WORKER_CONCURRENCY (read from dist/config.js)
//     unless BENCH_SCALE_WORKER_CONCURRENCY or the layout's "xC" sets it; the first API
//     process runs through every layout, the others and the workers only through theirs
//   - sendSms over BENCH_CONCURRENCY (32) keep-alive connections, closed loop, BENCH_SECONDS
//     after BENCH_WARMUP_SECONDS ("e2e": until its count)
//   - over that window: accepted/s (answers), sent/s (messages whose sent_at falls in the
//     window; the fake's POSTs too), each worker's share of the sends (its own
//     herald_messages_total{status="SENT"} on /metrics), the backlog (QUEUED/SENDING) when
//     the load stops, CPU (/proc) of the APIs, each worker, and the PostgreSQL backends
//     serving each of them (backend → process through pg_stat_activity.client_port and the
//     processes' sockets), and the machine's CPU (/proc/stat)
//   - from the load's start (warm-up included) to the drain's end: every PostgreSQL process's
//     CPU ÷ the messages SENT (each layout's "PostgreSQL CPU per message, load + drain"); the
//     drain is watched on the fake's POST count, not by polling the database
//   - then every message of the layout must have been sent exactly once: the fake's POSTs =
//     SENT messages = messages accepted = answers, one SUCCESS log each, nothing FAILED, the
//     workers' counters add up (messages that took more than one attempt are counted and
//     shown)
//   - before a layout starts, it waits (up to 2 min) until PostgreSQL has the connections
//     the layout will open: a shared server's max_connections (100) is easily taken by
//     another run
// PostgreSQL's CPU is the whole server's: another database's work on a shared server lands
// in it too (the notes say how much CPU other databases' live backends took).
//
// Settings (environment): BENCH_SCALE_LAYOUTS (e2e,2,api2:2), BENCH_E2E_MESSAGES (20000),
// BENCH_SCALE_WORKER_CONCURRENCY (Herald's default), BENCH_SCALE_RECIPIENTS (8), and the
// bench's BENCH_SECONDS (20), BENCH_WARMUP_SECONDS (2), BENCH_CONCURRENCY (32).
//
// As a stage of scripts/bench.mjs: `scaleStage({ s, pg, admin, db, url, startRole, fakes })`
// returns { key: 'scale', title, rows, results, raw, summary }; scaleBudgetSeconds(s) bounds
// it. Alone: `node scripts/bench/scale.mjs` makes its own database (DATABASE_URL is the
// admin connection, else postgres://postgres@127.0.0.1:5432/postgres), starts the fakes and
// Herald and prints the table.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startFakeChild } from './fakes.mjs';
import {
  backendOwners,
  buildIfStale,
  countWarnings,
  createClientRecipients,
  fmt,
  graphqlClient,
  heraldEnv,
  machineCpu,
  ms,
  nproc,
  numEnv,
  openBenchRun,
  payloadOf,
  postgresCpu,
  postgresPids,
  procCpuMs,
  RAW_MESSAGES_DDL,
  rawMessageInserter,
  renderTable,
  root,
  runLoad,
  sleep,
  smsBody,
  startHerald,
  stopChild,
  verdict,
  waitForFreeConnections,
} from './lib.mjs';

const SEND_SMS = `mutation Bench($input: SendSmsInput!) {
  sendSms(input: $input) { message { id status } userErrors { code message field } }
}`;
/** The drain after the load is bounded: a layout that cannot finish in this long is reported as such. */
const DRAIN_TIMEOUT_MS = 180_000;
/** The end-to-end run stops its load at a count, with a backlog as long as the API outran the worker. */
const drainTimeoutMs = (layout, cfg) => (layout.e2e ? Math.max(DRAIN_TIMEOUT_MS, cfg.e2eMessages * 15) : DRAIN_TIMEOUT_MS);
/** Herald's dispatch queue (src/dispatch/jobs.ts). */
const DISPATCH_QUEUE = 'herald-dispatch';
/** The issue's target: PostgreSQL CPU per message end to end ≤ this × one raw INSERT's. */
const E2E_TARGET_RATIO = 3;
/** An idle backend reports its statistics up to 10 s late (PGSTAT_IDLE_INTERVAL). */
const STATS_SETTLE_MS = 11_000;

export function scaleSettings() {
  // Unset: Herald's own default, whatever it is now.
  const perWorker = numEnv('BENCH_SCALE_WORKER_CONCURRENCY', undefined);
  const raw = (process.env.BENCH_SCALE_LAYOUTS || 'e2e,2,api2:2')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const layouts = raw.map((entry) => {
    const m = /^(?:(e2e)|(?:api(\d+):)?(\d+))(?:x(\d+))?$/.exec(entry);
    const bad = !m || [m[2], m[3], m[4]].some((n) => n !== undefined && Number(n) < 1);
    if (bad) {
      console.error(
        `bench: BENCH_SCALE_LAYOUTS takes "e2e" and worker counts, optionally with API processes and a concurrency ("e2e,2,api2:2" or "e2ex16,1x32,api2:2x16"), got "${entry}"`,
      );
      process.exit(2);
    }
    return {
      e2e: m[1] !== undefined,
      apis: m[2] ? Number(m[2]) : 1,
      workers: m[3] ? Number(m[3]) : 1,
      concurrency: m[4] ? Number(m[4]) : perWorker,
    };
  });
  return { perWorker, layouts, recipients: numEnv('BENCH_SCALE_RECIPIENTS', 8), e2eMessages: numEnv('BENCH_E2E_MESSAGES', 20_000) };
}

/** Seconds after which the stage is surely stuck: start-up, the raw baseline, and each layout's load, drain and waits. */
export function scaleBudgetSeconds(s) {
  const cfg = scaleSettings();
  const perLayout = (l) =>
    s.warmupSeconds + (l.e2e ? cfg.e2eMessages / 50 + STATS_SETTLE_MS / 1000 + 60 : s.seconds) + drainTimeoutMs(l, cfg) / 1000 + 210;
  return 90 + s.seconds + s.warmupSeconds + 30 + cfg.layouts.reduce((a, l) => a + perLayout(l), 0);
}

/** HERALD_WORKER_CONCURRENCY's default in the build the bench runs (undefined if it cannot be read). */
async function heraldDefaultConcurrency() {
  try {
    const { loadConfig } = await import(pathToFileURL(path.join(root, 'dist', 'config.js')).href);
    return loadConfig({}).workerConcurrency;
  } catch {
    return undefined;
  }
}

export async function scaleStage({ s, pg, admin, db, url, startRole, fakes }) {
  const cfg = scaleSettings();
  const cores = nproc();
  const heraldDefault = await heraldDefaultConcurrency();
  // Two connections kept open all stage long: on a shared server a reconnect can find
  // max_connections used up by someone else's run.
  const pool = new pg.Pool({ connectionString: url, max: 2, idleTimeoutMillis: 0 });
  // An interrupted run drops the database under this pool: an idle client's error is not news.
  pool.on('error', () => undefined);
  const children = []; // the layouts' own processes, stopped whatever happens
  let api;
  try {
    await Promise.all([pool.connect(), pool.connect()]).then((clients) => clients.forEach((c) => c.release()));
    const server = await serverTraits(pool);
    let raw;
    if (cfg.layouts.some((l) => l.e2e)) {
      await waitForFreeConnections(admin, s.concurrency + 5, `the raw INSERT baseline's ${s.concurrency} connections`);
      console.log(`bench: scale: raw single-row INSERTs, ${s.concurrency} connections, ${s.seconds} s (+${s.warmupSeconds} s warm-up)…`);
      raw = await rawInsertBaseline(pg, url, s, pool);
      console.log(
        `  ${fmt(raw.rate)} inserts/s (p50 ${raw.p50.toFixed(2)} ms, p99 ${raw.p99.toFixed(2)} ms, errors ${raw.errors}); PostgreSQL CPU (all processes) ${fmt(raw.pgPerInsert)} µs per insert, ` +
          `WAL ${fmt(raw.walPerInsert)} B per insert; other databases' live backends ${fmt(raw.cpuMs.otherDbMs)} ms of the window's ${fmt(raw.cpuMs.pgMs)} ms`,
      );
    }
    console.log(`bench: scale: starting Herald --role api…`);
    api = await startRole('api', db);
    const recipients = await createClientRecipients(api.port, {
      n: cfg.recipients,
      concurrency: Math.min(8, s.concurrency),
      operation: 'Bench',
      label: 'Scale client',
      phonePrefix: '+1415556',
    });
    const results = [];
    for (const layout of cfg.layouts) {
      const ctx = { s, cfg, pool, admin, db, url, startRole, fakes, api, recipients, children, server, heraldDefault };
      results.push(await runLayout(ctx, layout));
    }
    const maxConnections = Number((await admin.query('show max_connections')).rows[0].max_connections);
    const { rows, summary } = tableOf(results, { s, cfg, cores, maxConnections, raw, server });
    return { key: 'scale', title: 'scale (API and worker processes on one PostgreSQL)', rows, results, raw, summary };
  } finally {
    for (const c of children) await stopChild(c.child).catch(() => undefined);
    if (api) await stopChild(api.child).catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}

/** What the server does by itself that the figures depend on. */
async function serverTraits(pool) {
  const setting = async (name) => (await pool.query(`select current_setting($1) as v`, [name])).rows[0].v;
  const preload = await setting('shared_preload_libraries');
  let statements = false;
  if (/\bpg_stat_statements\b/.test(preload)) {
    try {
      await pool.query('create extension if not exists pg_stat_statements');
      statements = true;
    } catch {
      // not allowed here: the breakdown goes without it
    }
  }
  return { autovacuum: await setting('autovacuum'), statements };
}

// ---------------------------------------------------------------------------------------
// the raw baseline: a row like a message, with the id order and two of the indexes Herald's
// messages table has (the accept stage's baseline, scripts/bench.mjs), one autocommit
// statement at a time

async function rawInsertBaseline(pg, url, s, statPool) {
  const pool = new pg.Pool({ connectionString: url, max: s.concurrency, idleTimeoutMillis: 0 });
  pool.on('error', () => undefined);
  try {
    await pool.query(RAW_MESSAGES_DDL);
    // Every connection open before the clock starts: a backend's start-up is no insert's cost.
    const clients = await Promise.all(Array.from({ length: s.concurrency }, () => pool.connect()));
    clients.forEach((c) => c.release());
    await checkpoint(statPool);
    const result = await runLoad({
      concurrency: s.concurrency,
      seconds: s.seconds,
      warmupSeconds: s.warmupSeconds,
      cpu: serverMeter(statPool),
      once: rawMessageInserter(pool),
    });
    return {
      ...result,
      pgPerInsert: (result.cpuMs.pgMs / result.done) * 1000,
      walPerInsert: result.cpuMs.walBytes / result.done,
    };
  } finally {
    await pool.query('drop table if exists bench_raw_messages').catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}

/** A CHECKPOINT, so that runs compared with each other all start with no full-page image written yet. */
async function checkpoint(pool) {
  try {
    await pool.query('checkpoint');
    return true;
  } catch {
    return false; // not a superuser: the figures carry whatever a checkpoint adds
  }
}

/**
 * A runLoad `cpu` meter for the whole PostgreSQL server: snapshot() and since() answer its
 * CPU (every process, postgresCpu), the WAL written (cluster-wide, like the CPU), and the CPU
 * of the live backends of other databases (what a shared server adds that is not ours).
 */
function serverMeter(pool) {
  const lsn = () => {
    const p = pool.query('select pg_current_wal_insert_lsn()::text as lsn').then((r) => r.rows[0].lsn);
    p.catch(() => undefined);
    return p;
  };
  return {
    snapshot: () => ({ cpu: postgresCpu(), perf: performance.now(), lsn: lsn() }),
    async since(start) {
      const end = { cpu: postgresCpu(), perf: performance.now(), lsn: lsn() };
      const [from, to] = await Promise.all([start.lsn, end.lsn]);
      const walBytes = Number((await pool.query('select pg_wal_lsn_diff($1, $2)::bigint as n', [to, from])).rows[0].n);
      const others = (
        await pool.query(`select pid from pg_stat_activity where datname is not null and datname <> current_database()`)
      ).rows.map((r) => r.pid);
      const otherDbMs = others.reduce((a, pid) => a + ownDelta(start.cpu, end.cpu, pid), 0);
      return { pgMs: end.cpu.total - start.cpu.total, seconds: (end.perf - start.perf) / 1000, walBytes, otherDbMs };
    },
  };
}

/** A process's own CPU between two postgresCpu readings (whole if it started in between). */
function ownDelta(start, end, pid) {
  const now = end.byPid.get(pid);
  if (now === undefined) return 0;
  return now - (start.byPid.get(pid) ?? 0);
}

// ---------------------------------------------------------------------------------------
// one layout

function layoutName(layout, heraldDefault) {
  const c = layout.concurrency ?? heraldDefault ?? 'default';
  const apis = `${layout.apis} API${layout.apis > 1 ? 's' : ''}`;
  return `${apis} + ${layout.workers} worker${layout.workers > 1 ? 's' : ''} × ${c}`;
}

async function runLayout(ctx, layout) {
  const { s, cfg, pool, admin, db, startRole, fakes, api, recipients, children, server, heraldDefault } = ctx;
  const name = layoutName(layout, heraldDefault);
  const concurrency = layout.concurrency ?? heraldDefault ?? 8;
  const freeAtStart = await waitForConnections(admin, db, layout, concurrency);
  const mine = [];
  const track = (list) => {
    mine.push(...list);
    children.push(...list);
    return list;
  };
  try {
    if (layout.apis > 1) console.log(`bench: scale: ${name}: starting ${layout.apis - 1} more --role api…`);
    const apis = [api, ...track(await Promise.all(Array.from({ length: layout.apis - 1 }, () => startRole('api', db))))];
    console.log(
      `bench: scale: ${name}: starting ${layout.workers} --role worker (HERALD_WORKER_CONCURRENCY=${layout.concurrency ?? `Herald's default${heraldDefault ? `, ${heraldDefault}` : ''}`} each)…`,
    );
    // undefined takes the variable out of the child's environment: Herald's default applies.
    const workerEnv = { HERALD_WORKER_CONCURRENCY: layout.concurrency === undefined ? undefined : String(layout.concurrency) };
    const started = track(await Promise.all(Array.from({ length: layout.workers }, () => startRole('worker', db, workerEnv))));

    const checkpointed = layout.e2e ? await checkpoint(pool) : false;
    const statsBefore = layout.e2e ? await databaseStats(pool, server) : undefined;
    // Everything before this layout is settled (the previous one drained): its counts start here.
    const phaseStart = (await pool.query('select now() as t')).rows[0].t;
    const fakeBefore = await fakes.count();
    const heraldPids = [...apis, ...started].map((x) => x.child.pid);
    const phase = serverMeter(pool);
    const phaseCpu = phase.snapshot();
    const heraldCpu = new Map(heraldPids.map((pid) => [pid, procCpuMs(pid)]));
    const meter = windowMeter({ pool, db, fakes, apis, workers: started });
    const connections = connectionSampler(admin, db);
    const ports = apis.map((a) => a.port);
    console.log(
      `bench: scale: ${name}: sendSms over ${s.concurrency} connections${apis.length > 1 ? ` shared by ${apis.length} API processes` : ''}, ` +
        `${layout.e2e ? `until ${fmt(cfg.e2eMessages)} are accepted` : `${s.seconds} s`} (+${s.warmupSeconds} s warm-up), workers sending…`,
    );
    const load = await driveSendSms(ports, recipients, {
      concurrency: s.concurrency,
      ...(layout.e2e ? { count: cfg.e2eMessages } : { seconds: s.seconds }),
      warmupSeconds: s.warmupSeconds,
      cpu: meter,
    });
    const peakConnections = await connections.stop();
    const w = load.cpuMs; // the window's figures (windowMeter.since)
    const backlog = (
      await pool.query(
        `select count(*) filter (where status = 'QUEUED')::int as queued, count(*) filter (where status = 'SENDING')::int as sending from messages where created_at >= $1`,
        [phaseStart],
      )
    ).rows[0];
    const inWindow = (
      await pool.query(`select count(*)::int as n from messages where sent_at >= $1 and sent_at < $2`, [
        new Date(w.startWall),
        new Date(w.endWall),
      ])
    ).rows[0].n;
    console.log(
      `  ${fmt(load.rate)} accepted/s (p50 ${load.p50.toFixed(1)} ms, p99 ${load.p99.toFixed(1)} ms, errors ${load.errors}), ${fmt(inWindow / w.seconds)} sent/s in the same ${w.seconds.toFixed(1)} s; ` +
        `backlog at the end ${fmt(backlog.queued)} QUEUED + ${backlog.sending} SENDING; draining…`,
    );
    if (load.errorSamples.length) console.log(`  first errors: ${load.errorSamples.join(' | ')}`);

    // ---- drain: every message SENT, every job completed; PostgreSQL's CPU up to here ----
    const drainStarted = performance.now();
    const deadline = drainStarted + drainTimeoutMs(layout, cfg);
    const drained =
      (await waitForDrain(pool, phaseStart, deadline, { fakes, fakeBefore, expected: load.answered })) &&
      (await waitForJobs(pool, deadline));
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const serverCpu = await phase.since(phaseCpu);
    const heraldMs = heraldPids.reduce((a, pid) => a + ((procCpuMs(pid) ?? 0) - (heraldCpu.get(pid) ?? 0)), 0);
    // The end-to-end run's after-work, before the checks' own queries touch the statistics.
    const after = layout.e2e ? await endToEndAfter(ctx, performance.now()) : undefined;

    await sleep(200); // the last SENT transactions' metrics
    const fakeAfter = await fakes.count();
    const workerSentAfter = await Promise.all(started.map((x) => sentCounter(x.port)));
    const check = (
      await pool.query(
        `select count(*)::int as created,
                count(*) filter (where status = 'SENT')::int as sent,
                count(*) filter (where status = 'FAILED')::int as failed,
                count(*) filter (where status not in ('SENT', 'FAILED'))::int as unsettled,
                count(*) filter (where attempts > 1)::int as retried
           from messages where created_at >= $1`,
        [phaseStart],
      )
    ).rows[0];
    const duplicateLogs = (
      await pool.query(
        `select count(*)::int as n from (select l.message_id from delivery_logs l join messages m on m.id = l.message_id
           where m.created_at >= $1 and l.outcome = 'SUCCESS' group by l.message_id having count(*) > 1) d`,
        [phaseStart],
      )
    ).rows[0].n;
    const successLogs = (
      await pool.query(
        `select count(*)::int as n from delivery_logs l join messages m on m.id = l.message_id where m.created_at >= $1 and l.outcome = 'SUCCESS'`,
        [phaseStart],
      )
    ).rows[0].n;
    const latency = (
      await pool.query(
        `select percentile_cont(0.5) within group (order by extract(epoch from sent_at - created_at) * 1000) as p50,
                percentile_cont(0.95) within group (order by extract(epoch from sent_at - created_at) * 1000) as p95,
                count(*)::int as n
           from messages where created_at >= $1 and created_at < $2 and sent_at is not null`,
        [new Date(w.startWall), new Date(w.endWall)],
      )
    ).rows[0];
    const posts = fakeAfter - fakeBefore;
    const workerTotal = workerSentAfter.reduce((a, b) => a + b, 0);
    const once = {
      posts,
      ...check,
      duplicateLogs,
      successLogs,
      workerTotal,
      drained,
      drainSeconds,
      answered: load.answered,
      // A request that failed client-side may still have committed: then only the database counts.
      ok:
        drained &&
        posts === check.sent &&
        check.sent === check.created &&
        (load.failed > 0 || check.created === load.answered) &&
        check.failed === 0 &&
        duplicateLogs === 0 &&
        successLogs === check.sent &&
        workerTotal === check.sent,
    };
    console.log(
      `  drained in ${drainSeconds.toFixed(1)} s${drained ? '' : ' (TIMED OUT)'}; ${fmt(load.answered)} answered (warm-up included), ${fmt(check.created)} in the database, ${fmt(check.sent)} SENT, ${check.failed} FAILED, ${check.unsettled} unsettled, ` +
        `fake got ${fmt(posts)} POSTs, workers counted ${fmt(workerTotal)}, ${duplicateLogs} messages with more than one SUCCESS log, ${check.retried} with more than one attempt: exactly once ${verdict(once.ok)}`,
    );
    const perMessage = (msTotal) => (check.sent ? (msTotal / check.sent) * 1000 : NaN);
    const result = {
      layout,
      name,
      load,
      w,
      sentInWindow: inWindow,
      sentRate: inWindow / w.seconds,
      backlog,
      latency: { p50: num(latency.p50), p95: num(latency.p95), n: latency.n },
      once,
      peakConnections,
      freeAtStart,
      phase: {
        ...serverCpu,
        pgPerMessage: perMessage(serverCpu.pgMs),
        heraldPerMessage: perMessage(heraldMs),
        walPerMessage: check.sent ? serverCpu.walBytes / check.sent : NaN,
      },
    };
    printCpu(result);
    console.log(
      `  from the load's start to the drain's end (${serverCpu.seconds.toFixed(1)} s): PostgreSQL (all processes) ${fmt(result.phase.pgPerMessage)} µs per message SENT, ` +
        `Herald's processes ${fmt(result.phase.heraldPerMessage)} µs; WAL ${fmt(result.phase.walPerMessage)} B per message; other databases' live backends ${fmt(serverCpu.otherDbMs)} ms of PostgreSQL's ${fmt(serverCpu.pgMs)} ms`,
    );
    if (layout.e2e) result.e2e = endToEnd({ server: ctx.server, result, statsBefore, after, checkpointed });
    return result;
  } finally {
    for (const x of mine) {
      await stopChild(x.child).catch(() => undefined);
      children.splice(children.indexOf(x), 1);
    }
  }
}

// ---------------------------------------------------------------------------------------
// end to end: the jobs' removal, the statistics, the VACUUM

/**
 * After the drain: the completed jobs' removal, the statistics once the backends have
 * reported them, then the VACUUM (each with the whole server's CPU).
 */
async function endToEndAfter({ pool, url, server }, drainEnded) {
  const removal = await removeCompletedJobs(url, pool);
  await sleep(Math.max(0, drainEnded + STATS_SETTLE_MS - performance.now()));
  const stats = await databaseStats(pool, server);
  const vacuum = await vacuumDeadRows(pool);
  return { removal, stats, vacuum };
}

/** The end-to-end figures per message SENT, printed. */
function endToEnd({ server, result, statsBefore, after, checkpointed }) {
  const sent = result.once.sent;
  const us = (msTotal) => (sent ? (msTotal / sent) * 1000 : NaN);
  const removal = { ...after.removal, perMessage: us(after.removal.pgMs) };
  const vacuum = { ...after.vacuum, perMessage: us(after.vacuum.pgMs) };
  console.log(
    `  the completed jobs' removal (${removal.how}): ${fmt(removal.deleted)} of ${fmt(removal.jobs)} completed jobs deleted in ${ms(removal.seconds * 1000)}, ` +
      `PostgreSQL ${fmt(removal.pgMs)} ms = ${fmt(removal.perMessage)} µs per message`,
  );
  const breakdown = statsBreakdown(statsBefore, after.stats, sent);
  for (const line of breakdown.lines) console.log(`  ${line}`);
  console.log(
    `  VACUUM of the ${vacuum.tables.length} tables with dead rows (${fmt(vacuum.deadRows)} dead rows; autovacuum is ${server.autovacuum} on this server): ` +
      `PostgreSQL ${fmt(vacuum.pgMs)} ms = ${fmt(vacuum.perMessage)} µs per message (not in the end-to-end figure)`,
  );
  const total = result.phase.pgPerMessage + removal.perMessage;
  console.log(
    `  end to end: ${fmt(result.phase.pgPerMessage)} µs (load + drain) + ${fmt(removal.perMessage)} µs (job removal) = ${fmt(total)} µs of PostgreSQL CPU per message`,
  );
  return { removal, vacuum, breakdown, checkpointed, pgPerMessage: total };
}

/**
 * Deletes the dispatch queue's finished jobs as pg-boss's retention sweep does once
 * deleteAfterSeconds has passed (a walk over the queue's keys, a batch at a time), through
 * pg-boss itself; the whole server's CPU over the call. A plain DELETE if pg-boss will not.
 */
async function removeCompletedJobs(url, pool) {
  const jobs = (await pool.query(`select count(*)::int as n from pgboss.job where name = $1 and state = 'completed'`, [DISPATCH_QUEUE]))
    .rows[0].n;
  let boss;
  let remove;
  let how = "pg-boss's deleteStoredJobs";
  try {
    const { PgBoss } = await import('pg-boss');
    boss = new PgBoss({ connectionString: url, schema: 'pgboss', supervise: false, schedule: false, migrate: false, max: 1 });
    boss.on('error', () => undefined);
    await boss.start();
    remove = async () => Number(await boss.deleteStoredJobs(DISPATCH_QUEUE));
  } catch (err) {
    how = `DELETE … WHERE state = 'completed' (pg-boss would not start: ${err instanceof Error ? err.message : String(err)})`;
    remove = async () => (await pool.query(`delete from pgboss.job where name = $1 and state = 'completed'`, [DISPATCH_QUEUE])).rowCount;
  }
  try {
    const meter = serverMeter(pool);
    const start = meter.snapshot();
    const deleted = await remove();
    const { pgMs, seconds } = await meter.since(start);
    return { jobs, deleted, pgMs, seconds, how };
  } finally {
    await boss?.stop({ graceful: false, close: true }).catch(() => undefined);
  }
}

/** VACUUM of every table of the database with dead rows; the whole server's CPU over it. */
async function vacuumDeadRows(pool) {
  const tables = (
    await pool.query(
      `select format('%I.%I', schemaname, relname) as name, n_dead_tup::bigint as dead from pg_stat_user_tables where n_dead_tup > 0 order by 1`,
    )
  ).rows;
  const meter = serverMeter(pool);
  const start = meter.snapshot();
  for (const t of tables) await pool.query(`vacuum ${t.name}`);
  const { pgMs } = await meter.since(start);
  return { tables: tables.map((t) => t.name), deadRows: tables.reduce((a, t) => a + Number(t.dead), 0), pgMs };
}

/** The database's and its tables' statistics, WAL and checkpoints, and pg_stat_statements when preloaded. */
async function databaseStats(pool, server) {
  const db = (
    await pool.query(
      `select xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted, blks_hit, blks_read, temp_bytes
         from pg_stat_database where datname = current_database()`,
    )
  ).rows[0];
  const tables = (
    await pool.query(
      `select case when s.schemaname = 'public' then s.relname else s.schemaname || '.' || s.relname end as name,
              s.seq_scan, s.seq_tup_read, coalesce(s.idx_scan, 0) as idx_scan, coalesce(s.idx_tup_fetch, 0) as idx_tup_fetch,
              s.n_tup_ins, s.n_tup_upd, s.n_tup_hot_upd, s.n_tup_del,
              coalesce(io.heap_blks_hit, 0) + coalesce(io.heap_blks_read, 0) as heap_blks,
              coalesce(io.idx_blks_hit, 0) + coalesce(io.idx_blks_read, 0) as idx_blks
         from pg_stat_user_tables s join pg_statio_user_tables io using (relid)`,
    )
  ).rows;
  const wal = (await pool.query(`select pg_current_wal_insert_lsn()::text as lsn, wal_records, wal_fpi from pg_stat_wal`)).rows[0];
  const bg = (await pool.query(`select checkpoints_timed + checkpoints_req as checkpoints from pg_stat_bgwriter`)).rows[0];
  let statements;
  if (server.statements) {
    try {
      statements = (
        await pool.query(
          `select queryid::text as id, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) as query, calls, total_exec_time as ms
             from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())`,
        )
      ).rows;
    } catch {
      statements = undefined;
    }
  }
  const numbers = (row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, k === 'name' || k === 'lsn' ? v : Number(v)]));
  return { db: numbers(db), tables: tables.map(numbers), wal: numbers(wal), checkpoints: Number(bg.checkpoints), statements };
}

/** Per-message deltas between two databaseStats readings, as lines to print and figures. */
function statsBreakdown(before, after, n) {
  const per = (x) => (n ? x / n : NaN);
  const f = (x) => (Math.abs(x) >= 100 ? fmt(x) : x.toFixed(Math.abs(x) >= 10 ? 1 : 2));
  const d = Object.fromEntries(Object.keys(after.db).map((k) => [k, per(after.db[k] - before.db[k])]));
  const lines = [
    `per message SENT (load, drain and job removal, the bench's few queries among them; the database's statistics): ${f(d.xact_commit)} commits, ${f(d.xact_rollback)} rollbacks; ` +
      `rows ${f(d.tup_inserted)} inserted, ${f(d.tup_updated)} updated, ${f(d.tup_deleted)} deleted, ${f(d.tup_returned)} returned, ${f(d.tup_fetched)} fetched; ` +
      `${f(d.blks_hit)} buffer hits, ${f(d.blks_read)} reads, ${f(d.temp_bytes)} B temp files`,
  ];
  const walRecords = per(after.wal.wal_records - before.wal.wal_records);
  const walFpi = per(after.wal.wal_fpi - before.wal.wal_fpi);
  const checkpoints = after.checkpoints - before.checkpoints;
  lines.push(
    `per message SENT (the whole server): ${f(walRecords)} WAL records, ${f(walFpi)} full-page images; ${checkpoints} checkpoint${checkpoints === 1 ? '' : 's'} in between`,
  );
  const tables = [];
  const was = new Map(before.tables.map((t) => [t.name, t]));
  for (const t of after.tables) {
    const b = was.get(t.name) ?? {};
    const delta = (k) => per(t[k] - (b[k] ?? 0));
    const row = {
      name: t.name,
      ins: delta('n_tup_ins'),
      upd: delta('n_tup_upd'),
      hot: delta('n_tup_hot_upd'),
      del: delta('n_tup_del'),
      seq: delta('seq_scan'),
      seqRows: delta('seq_tup_read'),
      idx: delta('idx_scan'),
      blks: delta('heap_blks') + delta('idx_blks'),
      idxBlks: delta('idx_blks'),
    };
    if (row.ins + row.upd + row.del + row.seq + row.idx + row.blks > 0.005) tables.push(row);
  }
  tables.sort((a, b) => b.blks - a.blks);
  lines.push(
    'per message SENT, per table (rows inserted / updated (HOT) / deleted; scans: sequential (rows read) / index; buffers: all (index)):',
  );
  for (const t of tables)
    lines.push(
      `  ${t.name}: rows ${f(t.ins)} / ${f(t.upd)} (${f(t.hot)}) / ${f(t.del)}; scans ${f(t.seq)} (${f(t.seqRows)}) / ${f(t.idx)}; buffers ${f(t.blks)} (${f(t.idxBlks)})`,
    );
  let statements;
  if (before.statements && after.statements) {
    const old = new Map(before.statements.map((q) => [q.id, q]));
    statements = after.statements
      .map((q) => ({ query: q.query, calls: q.calls - (old.get(q.id)?.calls ?? 0), ms: q.ms - (old.get(q.id)?.ms ?? 0) }))
      .filter((q) => q.calls > 0)
      .sort((a, b) => b.ms - a.ms)
      .slice(0, 12);
    lines.push('pg_stat_statements, the 12 statements that took longest (calls per message, execution µs per message, the statement):');
    for (const q of statements) lines.push(`  ${f(per(q.calls))}  ${fmt(per(q.ms) * 1000)} µs  ${q.query}`);
  } else lines.push('(pg_stat_statements is not preloaded on this server: no per-statement figures)');
  return { lines, db: d, walRecords, walFpi, checkpoints, tables, statements };
}

// ---------------------------------------------------------------------------------------
// load, drain, connections

/** sendSms closed loop; the requests go round-robin to `ports` (one API process's or several). */
async function driveSendSms(ports, recipients, { concurrency, seconds, count, warmupSeconds, cpu }) {
  const clients = ports.map((port) => graphqlClient(port, concurrency));
  let n = 0;
  // Every answer, the warm-up's included (runLoad counts the measured window only).
  let answered = 0;
  let failed = 0;
  const result = await runLoad({
    concurrency,
    seconds,
    count,
    warmupSeconds,
    cpu,
    async once() {
      const i = n++;
      const { problem, payload } = payloadOf(
        await clients[i % clients.length].post(SEND_SMS, { input: { clientId: recipients[i % recipients.length], message: smsBody(i) } }),
        'sendSms',
      );
      const outcome = problem ?? (payload.message?.id ? null : 'no message in the answer');
      if (outcome) failed++;
      else answered++;
      return outcome;
    },
  });
  for (const c of clients) c.agent.destroy();
  return { ...result, answered, failed };
}

/**
 * Until every message created since `since` is settled, or `deadline`. The fake's POST count
 * is watched first (the database is left alone while it does the work being measured); the
 * database is asked once the fake has had `expected` POSTs, or no new one for 2 s.
 */
async function waitForDrain(pool, since, deadline, { fakes, fakeBefore, expected }) {
  let lastPrint = performance.now();
  const progress = (n) => {
    if (performance.now() - lastPrint < 5000) return;
    lastPrint = performance.now();
    console.log(`  … ${fmt(n)} still to send`);
  };
  // A message that fails sends no POST: once the count stops moving, the database says why.
  let last = -1;
  let lastMoved = performance.now();
  while (performance.now() < deadline && performance.now() - lastMoved < 2000) {
    const posts = (await fakes.count()) - fakeBefore;
    if (posts >= expected) break;
    if (posts !== last) {
      last = posts;
      lastMoved = performance.now();
    }
    progress(expected - posts);
    await sleep(100);
  }
  while (performance.now() < deadline) {
    const { n } = (
      await pool.query(
        `select count(*)::int as n from messages where created_at >= $1 and status not in ('SENT', 'FAILED', 'CANCELLED', 'DELIVERED')`,
        [since],
      )
    ).rows[0];
    if (n === 0) return true;
    progress(n);
    await sleep(200);
  }
  return false;
}

/** Until no job of the dispatch queue is waiting or active (the last completions commit after the last SENT), or `deadline`. */
async function waitForJobs(pool, deadline) {
  while (performance.now() < deadline) {
    const { n } = (await pool.query(`select count(*)::int as n from pgboss.job where name = $1 and state < 'completed'`, [DISPATCH_QUEUE]))
      .rows[0];
    if (n === 0) return true;
    await sleep(100);
  }
  return false;
}

/**
 * Waits (up to 2 minutes) until the server has the connections a layout is likely to open:
 * measured, ~28 per API process under load (its pool of 20, LISTEN, a few of pg-boss's 10;
 * as many with half the load each), ~20 per worker (its pool of 20, whatever its
 * concurrency, and a few of pg-boss's); less what is
 * already open, plus a margin. Other runs on a shared server take them too; a layout
 * started short of connections sees "too many clients" in its workers (they fail the job and
 * pg-boss hands it out again). Answers the free count when the layout starts.
 */
async function waitForConnections(admin, db, layout, concurrency) {
  const open = (await admin.query('select count(*)::int as n from pg_stat_activity where datname = $1', [db])).rows[0].n;
  const perWorker = 20 + Math.ceil(concurrency / 32);
  const need = Math.max(0, 28 * layout.apis + perWorker * layout.workers - open) + 5;
  return waitForFreeConnections(admin, need, 'this layout');
}

/** Peak connections to `db` (pg_stat_activity), sampled every second until stop(). */
function connectionSampler(admin, db) {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        const { n } = (await admin.query('select count(*)::int as n from pg_stat_activity where datname = $1', [db])).rows[0];
        peak = Math.max(peak, n);
      } catch {
        // the admin connection is shared: a failed sample is skipped
      }
      await sleep(1000);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

// ---------------------------------------------------------------------------------------
// the window's figures: CPU per process and per backend owner, machine CPU, sends per worker

/**
 * A runLoad `cpu` meter: snapshot() when the measured window opens, since() when it closes.
 * since() answers everything measured over the window (not only CPU); the API processes'
 * figures are summed.
 */
function windowMeter({ pool, db, fakes, apis, workers }) {
  const heraldPids = () => [...apis.map((a) => a.child.pid), ...workers.map((w) => w.child.pid)];
  const take = () => {
    const counts = Promise.all([fakes.count(), ...workers.map((w) => sentCounter(w.port))]);
    counts.catch(() => undefined);
    const cpu = new Map();
    for (const pid of [...heraldPids(), process.pid, fakes.child.pid, ...postgresPids()]) cpu.set(pid, procCpuMs(pid));
    return {
      wall: Date.now(),
      perf: performance.now(),
      cpu,
      machine: machineCpu(),
      // Asynchronous reads, started at the snapshot's time (awaited, so failing, in since()).
      counts,
    };
  };
  return {
    snapshot: take,
    async since(start) {
      const end = take();
      const [startCounts, endCounts] = await Promise.all([start.counts, end.counts]);
      const delta = (pid) => {
        const now = end.cpu.get(pid);
        const then = start.cpu.get(pid);
        if (now === undefined) return 0;
        return then === undefined ? now : now - then; // a backend born inside the window counts whole
      };
      // Each backend of the database, attributed to the Herald process holding its socket.
      const backends = (await pool.query(`select pid, client_port, backend_type from pg_stat_activity where datname = $1`, [db])).rows;
      const owner = backendOwners(heraldPids());
      const pgBy = new Map(); // herald pid → backend CPU ms
      let pgOther = 0;
      for (const b of backends) {
        const ms = delta(b.pid);
        const who = owner.get(b.client_port);
        if (who) pgBy.set(who, (pgBy.get(who) ?? 0) + ms);
        else pgOther += ms;
      }
      const machine = {
        busyMs: end.machine.busy - start.machine.busy,
        totalMs: end.machine.total - start.machine.total,
      };
      // Every PostgreSQL process (WAL writer, checkpointer, other databases' backends…).
      const allPg = [...end.cpu.keys()]
        .filter((pid) => !heraldPids().includes(pid) && pid !== process.pid && pid !== fakes.child.pid)
        .reduce((sum, pid) => sum + delta(pid), 0);
      const sum = (list, fn) => list.reduce((a, x) => a + fn(x), 0);
      return {
        seconds: (end.perf - start.perf) / 1000,
        startWall: start.wall,
        endWall: end.wall,
        api: { node: sum(apis, (a) => delta(a.child.pid)), pg: sum(apis, (a) => pgBy.get(a.child.pid) ?? 0) },
        workers: workers.map((w, i) => ({
          pid: w.child.pid,
          node: delta(w.child.pid),
          pg: pgBy.get(w.child.pid) ?? 0,
          sent: endCounts[1 + i] - startCounts[1 + i],
        })),
        pgOther,
        allPg,
        bench: delta(process.pid),
        fake: delta(fakes.child.pid),
        posts: endCounts[0] - startCounts[0],
        machine,
      };
    },
  };
}

/** herald_messages_total{status="SENT"} of one process, summed over channels. */
function sentCounter(port) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let n = 0;
          for (const m of text.matchAll(/^herald_messages_total\{([^}]*)\}\s+(\S+)$/gm)) if (/status="SENT"/.test(m[1])) n += Number(m[2]);
          resolve(n);
        });
      })
      .on('error', reject);
  });
}

function printCpu(r) {
  const { w } = r;
  const acc = r.load.done;
  const sent = r.sentInWindow;
  const per = (msTotal, n) => (n ? `${((msTotal / n) * 1000).toFixed(0)} µs` : 'n/a');
  const workerNode = w.workers.reduce((a, x) => a + x.node, 0);
  const workerPg = w.workers.reduce((a, x) => a + x.pg, 0);
  console.log(
    `  CPU: API ${per(w.api.node, acc)}/accept + its PostgreSQL backends ${per(w.api.pg, acc)}/accept; workers ${per(workerNode, sent)}/send + their backends ${per(workerPg, sent)}/send; ` +
      `per worker: ${w.workers.map((x) => `${fmt(x.sent)} sent, ${pct(x.node, w.seconds * 1000)} of a core`).join('; ')}`,
  );
  console.log(
    `  machine: ${pct(w.machine.busyMs, w.machine.totalMs)} busy of ${fmt(w.machine.totalMs / 1000 / w.seconds)} cores; PostgreSQL backends of this database ${pct(w.api.pg + workerPg + w.pgOther, w.machine.totalMs)} of the machine ` +
      `(all PostgreSQL processes, other databases' included, ${pct(w.allPg, w.machine.totalMs)}; backends not attributed to a Herald process, the bench's own queries among them, ${fmt(w.pgOther)} ms); ` +
      `Herald node ${pct(w.api.node + workerNode, w.machine.totalMs)}; load generator + fake ${pct(w.bench + w.fake, w.machine.totalMs)}; other work ${pct(figures(r).elsewhereShare, 1)}; peak ${r.peakConnections} connections`,
  );
}

function pct(part, whole) {
  return whole > 0 ? `${((part / whole) * 100).toFixed(0)} %` : 'n/a';
}

function num(v) {
  return v === null || v === undefined ? null : Number(v);
}

// ---------------------------------------------------------------------------------------
// the table and the section

/** CPU figures of one layout's window, or pooled over its repeats (sums of CPU ÷ sums of messages). */
function figures(rs) {
  const list = Array.isArray(rs) ? rs : [rs];
  const sum = (fn) => list.reduce((a, r) => a + fn(r), 0);
  const acc = sum((r) => r.load.done);
  const sent = sum((r) => r.sentInWindow);
  const workerNode = sum((r) => r.w.workers.reduce((a, x) => a + x.node, 0));
  const workerPg = sum((r) => r.w.workers.reduce((a, x) => a + x.pg, 0));
  const apiNode = sum((r) => r.w.api.node);
  const apiPg = sum((r) => r.w.api.pg);
  const total = sum((r) => r.w.machine.totalMs);
  const us = (msTotal, n) => (n ? (msTotal / n) * 1000 : NaN);
  const f = {
    apiNode: us(apiNode, acc),
    apiPg: us(apiPg, acc),
    workerNode: us(workerNode, sent),
    workerPg: us(workerPg, sent),
    pgShare: (apiPg + workerPg + sum((r) => r.w.pgOther)) / total,
    allPgShare: sum((r) => r.w.allPg) / total,
    nodeShare: (apiNode + workerNode) / total,
    otherShare: sum((r) => r.w.bench + r.w.fake) / total,
    busy: sum((r) => r.w.machine.busyMs) / total,
  };
  f.pgPerMessage = f.apiPg + f.workerPg;
  f.nodePerMessage = f.apiNode + f.workerNode;
  // Busy time that is neither this run's Herald, its PostgreSQL backends nor the load generator and fake.
  f.elsewhereShare = Math.max(0, f.busy - f.nodeShare - f.pgShare - f.otherShare);
  return f;
}

/** PostgreSQL CPU per message from the load's start to the drain's end, pooled over a layout's repeats. */
function phaseFigure(rs) {
  const list = Array.isArray(rs) ? rs : [rs];
  const sent = list.reduce((a, r) => a + r.once.sent, 0);
  return {
    pg: sent ? (list.reduce((a, r) => a + r.phase.pgMs, 0) / sent) * 1000 : NaN,
    herald: sent ? list.reduce((a, r) => a + r.phase.heraldPerMessage * r.once.sent, 0) / sent : NaN,
  };
}

function tableOf(results, { s, cfg, cores, maxConnections, raw, server }) {
  const rows = [];
  for (const r of results) {
    const f = figures(r);
    const n = r.name;
    const shares = r.w.workers.map((x) =>
      r.w.workers.reduce((a, y) => a + y.sent, 0)
        ? `${((x.sent / r.w.workers.reduce((a, y) => a + y.sent, 0)) * 100).toFixed(0)} %`
        : 'n/a',
    );
    rows.push(
      [
        `${n}: accepted`,
        `${fmt(r.load.rate)} /s`,
        `sendSms, ${s.concurrency} keep-alive connections${r.layout.apis > 1 ? ` round-robin over ${r.layout.apis} API processes` : ''}, closed loop, ` +
          `${r.layout.e2e ? `until ${fmt(cfg.e2eMessages)} answered, ` : ''}${r.w.seconds.toFixed(0)} s; p50 ${r.load.p50.toFixed(1)} ms, p99 ${r.load.p99.toFixed(1)} ms; errors ${r.load.errors}`,
        '',
        '',
      ],
      [
        `${n}: sent`,
        `${fmt(r.sentRate)} /s`,
        `sent_at in the same window (fake: ${fmt(r.w.posts / r.w.seconds)} POST/s); backlog when the load stopped ${fmt(r.backlog.queued)} QUEUED + ${r.backlog.sending} SENDING ` +
          `(accepted − sent ${fmt(r.load.rate - r.sentRate)} /s), drained in ${r.once.drainSeconds.toFixed(1)} s`,
        '',
        '',
      ],
    );
    if (r.w.workers.length > 1) {
      rows.push([
        `${n}: share of sends per worker`,
        shares.join(' / '),
        `each worker's herald_messages_total{status="SENT"} over the window (${r.w.workers.map((x) => fmt(x.sent)).join(' / ')}); node CPU ${r.w.workers.map((x) => pct(x.node, r.w.seconds * 1000)).join(' / ')} of a core`,
        '',
        '',
      ]);
    }
    rows.push(
      [
        `${n}: created → SENT`,
        `p50 ${ms(r.latency.p50)}`,
        `p95 ${ms(r.latency.p95)}; messages created in the window (${fmt(r.latency.n)}), backlog included`,
        '',
        '',
      ],
      [
        `${n}: CPU per message`,
        `${fmt(f.nodePerMessage)} µs node + ${fmt(f.pgPerMessage)} µs PostgreSQL`,
        `over the window: accept: API${r.layout.apis > 1 ? 's' : ''} ${fmt(f.apiNode)} µs + ${r.layout.apis > 1 ? 'their' : 'its'} backends ${fmt(f.apiPg)} µs; send: workers ${fmt(f.workerNode)} µs + their backends ${fmt(f.workerPg)} µs`,
        '',
        '',
      ],
      [
        `${n}: PostgreSQL CPU per message, load + drain`,
        `${fmt(r.phase.pgPerMessage)} µs`,
        `every PostgreSQL process from the load's start to the last job completed (${r.phase.seconds.toFixed(0)} s) ÷ ${fmt(r.once.sent)} SENT; ` +
          `≈ ${fmt(1e6 / r.phase.pgPerMessage)} messages/s per database core; WAL ${fmt(r.phase.walPerMessage)} B per message; other databases' live backends ${fmt(r.phase.otherDbMs)} ms of ${fmt(r.phase.pgMs)} ms`,
        '',
        '',
      ],
      [
        `${n}: PostgreSQL share of machine CPU`,
        pct(f.pgShare, 1),
        `backends of this database, of ${cores} cores × window (all PostgreSQL processes, other databases' included, ${pct(f.allPgShare, 1)}); machine busy ${pct(f.busy, 1)}: Herald node ${pct(f.nodeShare, 1)}, ` +
          `load generator + fake ${pct(f.otherShare, 1)}, other work on the machine ${pct(f.elsewhereShare, 1)}; peak ${r.peakConnections} connections of ${maxConnections} (${r.freeAtStart} free at the start)`,
        '',
        '',
      ],
      [
        `${n}: each message sent exactly once`,
        `${fmt(r.once.sent)} SENT, ${fmt(r.once.posts)} POSTs`,
        `${fmt(r.once.answered)} answered, ${fmt(r.once.created)} in the database, ${r.once.failed} FAILED, ${r.once.unsettled} unsettled, ${r.once.duplicateLogs} with 2+ SUCCESS logs, ${r.once.retried} with 2+ attempts; workers counted ${fmt(r.once.workerTotal)}${r.once.drained ? '' : '; drain TIMED OUT'}`,
        'POSTs = SENT = answered',
        verdict(r.once.ok),
      ],
    );
  }

  // Layouts named twice or more (BENCH_SCALE_LAYOUTS=e2e,1,2,1,2) are compared on their means.
  const groups = new Map();
  for (const r of results) groups.set(r.name, [...(groups.get(r.name) ?? []), r]);
  const mean = (list, fn) => list.reduce((a, r) => a + fn(r), 0) / list.length;
  const times = (g) => (g.length > 1 ? ` (mean of ${g.length})` : '');
  const compare = (label, a, b) => {
    const [sA, sB, aA, aB] = [
      mean(a, (r) => r.sentRate),
      mean(b, (r) => r.sentRate),
      mean(a, (r) => r.load.rate),
      mean(b, (r) => r.load.rate),
    ];
    const [fA, fB] = [figures(a), figures(b)];
    rows.push([
      label,
      `sent ×${(sB / sA).toFixed(2)}, accepted ×${(aB / aA).toFixed(2)}`,
      `sent ${fmt(sA)}${times(a)} → ${fmt(sB)}${times(b)} /s, accepted ${fmt(aA)} → ${fmt(aB)} /s (same run); ` +
        `Herald + its PostgreSQL got ${pct(fA.nodeShare + fA.pgShare, 1)} → ${pct(fB.nodeShare + fB.pgShare, 1)} of the machine; ` +
        `PostgreSQL CPU per message, load + drain ${fmt(phaseFigure(a).pg)} → ${fmt(phaseFigure(b).pg)} µs`,
      '',
      '',
    ]);
  };
  const list = [...groups.values()];
  const oneApi = list.filter((g) => g[0].layout.apis === 1);
  const one = oneApi.find((g) => g[0].layout.workers === 1);
  const most = oneApi.length ? oneApi.reduce((a, b) => (b[0].layout.workers > a[0].layout.workers ? b : a)) : undefined;
  if (one && most && most !== one) compare(`${most[0].layout.workers} workers ÷ 1 worker`, one, most);
  // More API processes against as many workers behind one.
  for (const g of list.filter((x) => x[0].layout.apis > 1)) {
    const base = oneApi.find((x) => x[0].layout.workers === g[0].layout.workers && x[0].layout.concurrency === g[0].layout.concurrency);
    if (base) compare(`${g[0].layout.apis} APIs ÷ 1 API (${g[0].layout.workers} worker${g[0].layout.workers > 1 ? 's' : ''})`, base, g);
  }

  // ---- the issue's target: PostgreSQL CPU per message end to end against the raw INSERT ----
  const e2e = results.filter((r) => r.e2e);
  if (raw) {
    rows.push([
      'raw single-row INSERT: PostgreSQL CPU per insert',
      `${fmt(raw.pgPerInsert)} µs`,
      `${fmt(raw.done)} autocommit INSERTs of a message-like row (3 indexes) over ${s.concurrency} connections, ${raw.cpuMs.seconds.toFixed(0)} s, ${fmt(raw.rate)} /s; ` +
        `every PostgreSQL process (backends, WAL writer, checkpointer…) after a CHECKPOINT, no Herald running; WAL ${fmt(raw.walPerInsert)} B per insert; other databases' live backends ${fmt(raw.cpuMs.otherDbMs)} ms of ${fmt(raw.cpuMs.pgMs)} ms`,
      '',
      '',
    ]);
  }
  const summary = {};
  if (e2e.length) {
    const sent = e2e.reduce((a, r) => a + r.once.sent, 0);
    const pooled = (fn) => (sent ? e2e.reduce((a, r) => a + fn(r) * r.once.sent, 0) / sent : NaN);
    const run = pooled((r) => r.phase.pgPerMessage);
    const removal = pooled((r) => r.e2e.removal.perMessage);
    const vacuum = pooled((r) => r.e2e.vacuum.perMessage);
    const herald = pooled((r) => r.phase.heraldPerMessage);
    // What a shared server adds that is visibly not ours (another database's exited backends are not visible).
    const others = pooled((r) => (r.phase.otherDbMs / r.once.sent) * 1000);
    const rawOthers = raw ? (raw.cpuMs.otherDbMs / raw.done) * 1000 : NaN;
    const cleanRatio = raw ? (run + removal - others) / (raw.pgPerInsert - rawOthers) : NaN;
    summary.pgPerMessage = run + removal;
    summary.ratio = raw ? summary.pgPerMessage / raw.pgPerInsert : NaN;
    const ok = e2e.every((r) => r.once.ok) && summary.ratio <= E2E_TARGET_RATIO;
    const first = e2e[0];
    rows.push([
      'end to end, accepted → SENT: PostgreSQL CPU per message',
      `${fmt(summary.pgPerMessage)} µs (ratio ${summary.ratio.toFixed(2)})`,
      `${first.name}, ${fmt(sent)} messages SENT${e2e.length > 1 ? ` over ${e2e.length} runs` : ''}; every PostgreSQL process, ${first.e2e.checkpointed ? 'after a CHECKPOINT, ' : ''}from the load's first request to the last job completed: ` +
        `sendSms, the job, the send, its DeliveryLog, the job's completion, pg-boss's and Herald's own upkeep meanwhile ${fmt(run)} µs + the completed jobs' removal (${first.e2e.removal.how}) ${fmt(removal)} µs; ` +
        `not included: VACUUM of the dead rows ${fmt(vacuum)} µs (autovacuum ${server.autovacuum} here); ratio = ÷ the raw INSERT's ${raw ? fmt(raw.pgPerInsert) : 'n/a'} µs ` +
        `(less what other databases' live backends took, ${fmt(others)} and ${fmt(rawOthers)} µs: ratio ${cleanRatio.toFixed(2)})`,
      `≤ ${E2E_TARGET_RATIO} ×`,
      verdict(ok),
    ]);
    summary.perPgCore = 1e6 / summary.pgPerMessage;
    rows.push([
      'messages/s per database core',
      `≈ ${fmt(summary.perPgCore)}`,
      `1 s ÷ ${fmt(summary.pgPerMessage)} µs of PostgreSQL CPU per message end to end; with Herald's processes too (${fmt(herald)} µs per message), ` +
        `${cores} cores ÷ ${fmt(summary.pgPerMessage + herald)} µs ≈ ${fmt((cores * 1e6) / (summary.pgPerMessage + herald))} messages/s on this machine`,
      '',
      '',
    ]);
  } else if (most) {
    // No end-to-end run: the ceiling from the layout with the most workers.
    const p = phaseFigure(most);
    summary.perPgCore = 1e6 / p.pg;
    rows.push([
      'messages/s per database core',
      `≈ ${fmt(summary.perPgCore)}`,
      `1 s ÷ ${fmt(p.pg)} µs of PostgreSQL CPU per message, load + drain (${most[0].name}; the completed jobs' removal not included); ` +
        `with Herald's processes too (${fmt(p.herald)} µs), ${cores} cores ÷ ${fmt(p.pg + p.herald)} µs ≈ ${fmt((cores * 1e6) / (p.pg + p.herald))} messages/s on this machine`,
      '',
      '',
    ]);
  }
  return { rows, summary };
}

// ---------------------------------------------------------------------------------------
// alone: node scripts/bench/scale.mjs

async function main() {
  const s = {
    seconds: numEnv('BENCH_SECONDS', 20),
    concurrency: numEnv('BENCH_CONCURRENCY', 32),
    workerConcurrency: numEnv('HERALD_WORKER_CONCURRENCY', 32),
    warmupSeconds: numEnv('BENCH_WARMUP_SECONDS', 2, 0),
    keepDb: process.env.BENCH_KEEP_DB === '1',
    only: 'scale',
    heraldNodeArgs: (process.env.BENCH_HERALD_NODE_ARGS || '').split(/\s+/).filter(Boolean),
  };
  scaleSettings(); // a bad BENCH_SCALE_LAYOUTS stops here, before anything starts
  buildIfStale();
  const {
    pg,
    admin,
    dbName: db,
    urlOf,
    createDb,
    tmp,
    logFile,
    logStream,
    children,
    onCleanup,
    cleanup,
    abort,
    budget,
  } = await openBenchRun({
    name: 'scale',
    keepDb: s.keepDb,
  });
  const url = urlOf(db);
  let fakes;
  onCleanup(() => fakes?.child.kill('SIGTERM'));
  budget(scaleBudgetSeconds(s));
  try {
    await createDb(db);
    fakes = await startFakeChild();
    const account = {
      accountSid: `AC${randomBytes(16).toString('hex')}`,
      authToken: randomBytes(16).toString('hex'),
      from: '+15005550006',
    };
    const env = {
      url,
      dataDir: tmp,
      logLevel: process.env.BENCH_LOG_LEVEL || 'info',
      workerConcurrency: s.workerConcurrency,
      twilio: { account, fakesUrl: fakes.url },
    };
    const startRole = (role, _db, extra) => startHerald(role, heraldEnv(env, extra), children, logStream, s.heraldNodeArgs);
    const section = await scaleStage({ s, pg, admin, db, url, startRole, fakes });
    console.log(`\n${section.title}\n${renderTable(section.rows)}`);
    const warnings = countWarnings(logFile);
    if (warnings) console.log(`Herald logged ${warnings} warning/error lines: see ${logFile}`);
    await cleanup({ keepLogs: warnings > 0 });
    process.exit(section.results.every((r) => r.once.ok) ? 0 : 1);
  } catch (err) {
    await abort(err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) await main();
