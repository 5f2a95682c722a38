// The scale stage: 1 `--role api` + M `--role worker` processes on one PostgreSQL
// database, sendSms driven over keep-alive connections (closed loop) while the workers send
// to the zero-latency Twilio fake, and the combined rates measured over the same window.
// The same run measures 1 API + 1 worker first, so the table shows whether the second
// worker adds throughput or the machine (PostgreSQL, CPU) is the limit.
//
// Per layout (BENCH_SCALE_LAYOUTS, default "1,2": 1 worker, then 2 workers; "1x32,2x16" names
// each layout's concurrency; "1,2,1,2" repeats them, and the comparison takes the means):
//   - the workers start (HERALD_WORKER_CONCURRENCY = BENCH_SCALE_WORKER_CONCURRENCY, default
//     HERALD_WORKER_CONCURRENCY / 2 = 16 each); the API process runs through every layout
//   - sendSms over BENCH_CONCURRENCY (32) keep-alive connections, closed loop, BENCH_SECONDS
//     after BENCH_WARMUP_SECONDS
//   - over that window: accepted/s (answers), sent/s (messages whose sent_at falls in the
//     window; the fake's POSTs too), each worker's share of the sends (its own
//     herald_messages_total{status="SENT"} on /metrics), the backlog (QUEUED/SENDING) when
//     the load stops, CPU (/proc) of the API, each worker, and the PostgreSQL backends
//     serving each of them (backend → process through pg_stat_activity.client_port and the
//     processes' sockets), and the machine's CPU (/proc/stat)
//   - then the backlog drains, and every message of the layout must have been sent exactly
//     once: the fake's POSTs = SENT messages = messages accepted = answers, one SUCCESS log
//     each, nothing FAILED, the workers' counters add up (messages that took more than one
//     attempt are counted and shown)
//   - before a layout starts, it waits (up to 2 min) until PostgreSQL has the connections
//     the layout will open (~28 for the API, ~20 per worker): a shared server's
//     max_connections (100) is easily taken by another run
//
// As a stage of scripts/bench.mjs: `scaleStage({ s, pg, admin, db, url, startRole, fakes })`
// returns { key: 'scale', title, rows, results }. Alone: `node scripts/bench/scale.mjs`
// makes its own database (DATABASE_URL is the admin connection, else
// postgres://postgres@127.0.0.1:5432/postgres), starts the fakes and Herald and prints the
// table.
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
  postgresPids,
  procCpuMs,
  renderTable,
  runLoad,
  sleep,
  smsBody,
  startHerald,
  stopChild,
  verdict,
} from './lib.mjs';

const SEND_SMS = `mutation Bench($input: SendSmsInput!) {
  sendSms(input: $input) { message { id status } userErrors { code message field } }
}`;
/** The drain after the load is bounded: a layout that cannot finish in this long is reported as such. */
const DRAIN_TIMEOUT_MS = 180_000;

export function scaleSettings(s) {
  const perWorker = numEnv('BENCH_SCALE_WORKER_CONCURRENCY', Math.max(1, Math.floor(s.workerConcurrency / 2)));
  const raw = (process.env.BENCH_SCALE_LAYOUTS || '1,2')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const layouts = raw.map((entry) => {
    const m = /^(\d+)(?:x(\d+))?$/.exec(entry);
    if (!m || Number(m[1]) < 1 || (m[2] !== undefined && Number(m[2]) < 1)) {
      console.error(`bench: BENCH_SCALE_LAYOUTS takes worker counts, optionally with a concurrency ("1,2" or "1x32,2x16"), got "${entry}"`);
      process.exit(2);
    }
    return { workers: Number(m[1]), concurrency: m[2] ? Number(m[2]) : perWorker };
  });
  return { perWorker, layouts, recipients: numEnv('BENCH_SCALE_RECIPIENTS', 8) };
}

export async function scaleStage({ s, pg, admin, db, url, startRole, fakes }) {
  const cfg = scaleSettings(s);
  const cores = nproc();
  // Two connections kept open all stage long: on a shared server a reconnect can find
  // max_connections used up by someone else's run.
  const pool = new pg.Pool({ connectionString: url, max: 2, idleTimeoutMillis: 0 });
  // An interrupted run drops the database under this pool: an idle client's error is not news.
  pool.on('error', () => undefined);
  const workers = [];
  let api;
  try {
    console.log(`bench: scale: starting Herald --role api…`);
    await Promise.all([pool.connect(), pool.connect()]).then((clients) => clients.forEach((c) => c.release()));
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
      results.push(await runLayout({ s, pool, admin, db, startRole, fakes, api, recipients, layout, workers, cores }));
    }
    const maxConnections = Number((await admin.query('show max_connections')).rows[0].max_connections);
    const { rows } = tableOf(results, s, cfg, cores, maxConnections);
    return { key: 'scale', title: 'scale (1 API + workers as separate processes)', rows, results };
  } finally {
    for (const w of workers) await stopChild(w.child).catch(() => undefined);
    if (api) await stopChild(api.child).catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}

async function runLayout({ s, pool, admin, db, startRole, fakes, api, recipients, layout, workers, cores }) {
  const name = layoutName(layout);
  const freeAtStart = await waitForConnections(admin, db, layout);
  console.log(`bench: scale: ${name}: starting ${layout.workers} --role worker (HERALD_WORKER_CONCURRENCY=${layout.concurrency} each)…`);
  const started = await Promise.all(
    Array.from({ length: layout.workers }, () => startRole('worker', db, { HERALD_WORKER_CONCURRENCY: String(layout.concurrency) })),
  );
  workers.push(...started);
  try {
    // Everything before this layout is settled (the previous one drained): its counts start here.
    const phaseStart = (await pool.query('select now() as t')).rows[0].t;
    const fakeBefore = await fakes.count();
    const meter = windowMeter({ pool, db, fakes, api, workers: started });
    const connections = connectionSampler(admin, db);
    console.log(
      `bench: scale: ${name}: sendSms over ${s.concurrency} connections, ${s.seconds} s (+${s.warmupSeconds} s warm-up), workers sending…`,
    );
    const load = await driveSendSms(api.port, recipients, {
      concurrency: s.concurrency,
      seconds: s.seconds,
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

    // ---- drain, then: was every message sent exactly once? ----
    const drainStarted = performance.now();
    const drained = await waitForDrain(pool, phaseStart, DRAIN_TIMEOUT_MS);
    const drainSeconds = (performance.now() - drainStarted) / 1000;
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
    };
    printCpu(result);
    return result;
  } finally {
    for (const x of started) {
      await stopChild(x.child).catch(() => undefined);
      workers.splice(workers.indexOf(x), 1);
    }
  }
}

function layoutName(layout) {
  return `1 API + ${layout.workers} worker${layout.workers > 1 ? 's' : ''} × ${layout.concurrency}`;
}

async function driveSendSms(port, recipients, { concurrency, seconds, warmupSeconds, cpu }) {
  const client = graphqlClient(port, concurrency);
  let n = 0;
  // Every answer, the warm-up's included (runLoad counts the measured window only).
  let answered = 0;
  let failed = 0;
  const result = await runLoad({
    concurrency,
    seconds,
    warmupSeconds,
    cpu,
    async once() {
      const i = n++;
      const { problem, payload } = payloadOf(
        await client.post(SEND_SMS, { input: { clientId: recipients[i % recipients.length], message: smsBody(i) } }),
        'sendSms',
      );
      const outcome = problem ?? (payload.message?.id ? null : 'no message in the answer');
      if (outcome) failed++;
      else answered++;
      return outcome;
    },
  });
  client.agent.destroy();
  return { ...result, answered, failed };
}

async function waitForDrain(pool, since, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  let lastPrint = performance.now();
  while (performance.now() < deadline) {
    const { n } = (
      await pool.query(
        `select count(*)::int as n from messages where created_at >= $1 and status not in ('SENT', 'FAILED', 'CANCELLED', 'DELIVERED')`,
        [since],
      )
    ).rows[0];
    if (n === 0) return true;
    if (performance.now() - lastPrint > 5000) {
      lastPrint = performance.now();
      console.log(`  … ${fmt(n)} still to send`);
    }
    await sleep(200);
  }
  return false;
}

/**
 * Waits (up to 2 minutes) until the server has the connections a layout is likely to open:
 * measured, the database's peak is ~28 for the API under load (its pool of 20, LISTEN, a few
 * of pg-boss's 10) plus ~20 per worker (its pool; pg-boss opens few of its 10), less what is
 * already open, plus a margin. Other runs on a shared server take them too; a layout
 * started short of connections sees "too many clients" in its workers (they fail the job and
 * pg-boss hands it out again). Answers the free count when the layout starts.
 */
async function waitForConnections(admin, db, layout) {
  const open = (await admin.query('select count(*)::int as n from pg_stat_activity where datname = $1', [db])).rows[0].n;
  const need = Math.max(0, 28 + Math.max(20, layout.concurrency + 4) * layout.workers - open) + 5;
  const free = async () =>
    (
      await admin.query(
        `select current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int - (select count(*)::int from pg_stat_activity where backend_type = 'client backend') as n`,
      )
    ).rows[0].n;
  const deadline = performance.now() + 120_000;
  let n = await free();
  if (n < need)
    console.log(`  PostgreSQL has ${n} connections free, this layout wants ~${need}: waiting (other runs on the server hold them)…`);
  while (n < need && performance.now() < deadline) {
    await sleep(2000);
    n = await free();
  }
  if (n < need) console.log(`  still only ${n} connections free after 2 minutes: going on; expect "too many clients" in the workers' log`);
  return n;
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
 * since() answers everything measured over the window (not only CPU).
 */
function windowMeter({ pool, db, fakes, api, workers }) {
  const heraldPids = () => [api.child.pid, ...workers.map((w) => w.child.pid)];
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
      return {
        seconds: (end.perf - start.perf) / 1000,
        startWall: start.wall,
        endWall: end.wall,
        api: { node: delta(api.child.pid), pg: pgBy.get(api.child.pid) ?? 0 },
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

function tableOf(results, s, cfg, cores, maxConnections) {
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
        `sendSms, ${s.concurrency} keep-alive connections, closed loop, ${r.w.seconds.toFixed(0)} s; p50 ${r.load.p50.toFixed(1)} ms, p99 ${r.load.p99.toFixed(1)} ms; errors ${r.load.errors}`,
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
        `accept: API ${fmt(f.apiNode)} µs + its backends ${fmt(f.apiPg)} µs; send: workers ${fmt(f.workerNode)} µs + their backends ${fmt(f.workerPg)} µs`,
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
  // A layout named twice or more (BENCH_SCALE_LAYOUTS=1,2,1,2) is compared on its mean.
  const groups = new Map();
  for (const r of results) groups.set(r.name, [...(groups.get(r.name) ?? []), r]);
  const mean = (list, fn) => list.reduce((a, r) => a + fn(r), 0) / list.length;
  const one = [...groups.values()].find((g) => g[0].layout.workers === 1);
  const most = [...groups.values()].reduce((a, b) => (b[0].layout.workers > a[0].layout.workers ? b : a));
  const summary = {};
  if (one && most !== one) {
    const times = (g) => (g.length > 1 ? ` (mean of ${g.length})` : '');
    const [s1, sM, a1, aM] = [
      mean(one, (r) => r.sentRate),
      mean(most, (r) => r.sentRate),
      mean(one, (r) => r.load.rate),
      mean(most, (r) => r.load.rate),
    ];
    const [f1, fM] = [figures(one), figures(most)];
    summary.sentRatio = sM / s1;
    summary.acceptRatio = aM / a1;
    rows.push([
      `${most[0].layout.workers} workers ÷ 1 worker`,
      `sent ×${summary.sentRatio.toFixed(2)}, accepted ×${summary.acceptRatio.toFixed(2)}`,
      `sent ${fmt(s1)}${times(one)} → ${fmt(sM)}${times(most)} /s, accepted ${fmt(a1)} → ${fmt(aM)} /s (same run, same duration); ` +
        `Herald + its PostgreSQL got ${pct(f1.nodeShare + f1.pgShare, 1)} → ${pct(fM.nodeShare + fM.pgShare, 1)} of the machine; CPU per message ${fmt(f1.nodePerMessage + f1.pgPerMessage)} → ${fmt(fM.nodePerMessage + fM.pgPerMessage)} µs`,
      '',
      '',
    ]);
  }
  const f = figures(most);
  const mostName = most[0].name;
  summary.pgPerMessage = f.pgPerMessage;
  summary.nodePerMessage = f.nodePerMessage;
  summary.perPgCore = 1e6 / f.pgPerMessage;
  summary.perMachine = (cores * 1e6) / (f.pgPerMessage + f.nodePerMessage);
  rows.push([
    'PostgreSQL ceiling per database core',
    `≈ ${fmt(summary.perPgCore)} messages/s`,
    `1 s ÷ ${fmt(f.pgPerMessage)} µs of PostgreSQL CPU per message accepted and sent (${mostName}); all of it on ${cores} shared cores: ${cores} s ÷ ${fmt(f.pgPerMessage + f.nodePerMessage)} µs ≈ ${fmt(summary.perMachine)} /s`,
    '',
    '',
  ]);
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
  const cfg = scaleSettings(s);
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
  budget(60 + cfg.layouts.length * (s.seconds + s.warmupSeconds + DRAIN_TIMEOUT_MS / 1000 + 90));
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
