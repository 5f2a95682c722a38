// `npm run soak`: a memory soak. Herald runs for SOAK_MINUTES (30) under an open-loop
// sendSms load at half the rate it accepts, with a few read queries mixed in, and its RSS
// must show no growth trend. Bounded in time; cleans up after itself (also on Ctrl-C).
//
//   1. a fresh database (DATABASE_URL is the admin connection, else postgres@127.0.0.1),
//      the zero-latency vendor fakes in a child process, and Herald as two processes,
//      `--role api` and `--role worker` (SOAK_ROLES=all: one `--role all` process instead),
//      with Twilio pointed at the fake, so every accepted message is also sent
//   2. the accept rate: sendSms over 32 keep-alive connections, closed loop, 10 s, with the
//      worker sending (skipped when SOAK_RATE is given); the soak runs at half of it
//   3. SOAK_MINUTES of sendSms at SOAK_RATE (open loop) plus read queries at a tenth of that
//      rate (messages(first: 50) with recipients and logs, and message(id) of a recent send);
//      every minute one line: RSS (VmRSS, /proc/<pid>/status) and V8 heap used (the
//      process's own /metrics) of each Herald process, messages accepted and sent so far,
//      the backlog, the minute's errors and sendSms p99
//   4. a least-squares line through the RSS samples (every SOAK_SAMPLE_SECONDS, 10) after
//      the warm-up (SOAK_WARMUP_MINUTES, 5; at most half the run): its slope in MB/hour and
//      the growth it implies over the fitted span. PASS when that growth is under
//      SOAK_MAX_GROWTH_MB (20) for every process.
//   5. the verdict and the figures, printed (docs/performance.md keeps the current ones,
//      updated by hand)
//
// Other settings: SOAK_CONCURRENCY (32: connections, for the rate probe and as the open
// loop's socket bound), HERALD_WORKER_CONCURRENCY (16), SOAK_KEEP_DB=1 keeps the database.
// Exit code 0 when every process PASSes and no request failed; 1 otherwise, or when a Herald
// process (or the fakes) dies mid-run, which stops the soak at once with Herald's last lines.
// PostgreSQL's tables grow through the run (every message stays); that is disk and shared
// buffers, not Herald's RSS, and is reported separately.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import { startFakeChild } from './bench/fakes.mjs';
import {
  buildIfStale,
  countWarnings,
  createClientRecipients,
  fmt,
  graphqlClient,
  heraldEnv,
  numEnv,
  openBenchRun,
  payloadOf,
  runLoad,
  sleep,
  smsBody,
  startHerald,
  verdict,
  vmStatus,
} from './bench/lib.mjs';

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

function settings() {
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
    concurrency: numEnv('SOAK_CONCURRENCY', 32),
    workerConcurrency: numEnv('HERALD_WORKER_CONCURRENCY', 16),
    probeSeconds: numEnv('SOAK_PROBE_SECONDS', 10),
    warmupMinutes: Math.min(numEnv('SOAK_WARMUP_MINUTES', 5, 0), Math.floor(minutes / 2)),
    sampleSeconds: numEnv('SOAK_SAMPLE_SECONDS', 10),
    maxGrowthMb: numEnv('SOAK_MAX_GROWTH_MB', 20),
    keepDb: process.env.SOAK_KEEP_DB === '1',
    heraldNodeArgs: (process.env.SOAK_HERALD_NODE_ARGS || '').split(/\s+/).filter(Boolean),
  };
}

async function main() {
  const s = settings();
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
  budget(s.minutes * 70 + s.probeSeconds + 420);

  try {
    await createDb(db);
    pool = new pg.Pool({ connectionString: url, max: 2, idleTimeoutMillis: 0 });
    pool.on('error', () => undefined); // an idle client losing its server: the next query says so
    fakes = await startFakeChild();
    fakes.child.once('exit', (code, signal) => {
      if (!closing()) void abort(`the vendor fakes exited (${code ?? signal}) during minute ${minute}`);
    });
    const account = {
      accountSid: `AC${randomBytes(16).toString('hex')}`,
      authToken: randomBytes(16).toString('hex'),
      from: '+15005550006',
    };
    const env = heraldEnv({
      url,
      dataDir: tmp,
      logLevel: process.env.SOAK_LOG_LEVEL || 'info',
      workerConcurrency: s.workerConcurrency,
      twilio: { account, fakesUrl: fakes.url },
    });
    const roleNames = s.roles === 'split' ? ['api', 'worker'] : ['all'];
    console.log(
      `soak: starting Herald ${roleNames.map((r) => `--role ${r}`).join(' + ')} (HERALD_WORKER_CONCURRENCY=${s.workerConcurrency}) on ${db}…`,
    );
    const procs = [];
    for (const role of roleNames) {
      const h = await startHerald(role, env, children, logStream, s.heraldNodeArgs);
      h.role = role;
      procs.push(h);
      h.child.once('exit', (code, signal) => {
        if (!closing())
          void abort(
            `Herald --role ${role} (pid ${h.child.pid}) exited with ${code ?? signal} during minute ${minute}\n${tail(logFile, 15)}`,
          );
      });
    }
    const front = procs[0]; // api, or all
    const senders = procs.filter((p) => p.role !== 'api');
    const label = (p) => (p.role === 'all' ? 'herald' : p.role);
    const recipients = await createClientRecipients(front.port, {
      n: 8,
      concurrency: 4,
      operation: 'Soak',
      label: 'Soak client',
      phonePrefix: '+1415557',
    });
    const dbSizeStart = await dbSize(pool);

    // ---- 2. the rate ----
    const client = graphqlClient(front.port, s.concurrency);
    const recent = [];
    let n = 0;
    const sendOnce = async () => {
      const i = n++;
      const { problem, payload } = payloadOf(
        await client.post(SEND_SMS, { input: { clientId: recipients[i % recipients.length], message: smsBody(i) } }),
        'sendSms',
      );
      if (problem) return problem;
      if (!payload.message?.id) return 'no message in the answer';
      recent[i % 1000] = payload.message.id;
      return null;
    };
    let rate = s.rate;
    let probe;
    if (!rate) {
      console.log(`soak: accept rate: sendSms over ${s.concurrency} connections, closed loop, ${s.probeSeconds} s (the worker sending)…`);
      probe = await runLoad({ concurrency: s.concurrency, seconds: s.probeSeconds, warmupSeconds: 2, once: sendOnce });
      if (probe.done === 0) throw new Error(`the rate probe accepted nothing: ${probe.errorSamples.join(' | ')}`);
      rate = Math.max(1, Math.round(probe.rate / 2));
      console.log(
        `  ${fmt(probe.rate)} accepted/s (p99 ${probe.p99.toFixed(1)} ms, errors ${probe.errors}): the soak runs at ${rate} sendSms/s (SOAK_RATE)`,
      );
      await waitForDrain(pool, 120_000);
    }
    const readRate = Math.max(0.2, rate / 10);
    let reads = 0;
    const readOnce = async () => {
      const k = reads++;
      const id = recent[(k * 37) % Math.max(1, recent.length)];
      if (k % 2 === 0 || !id) {
        const { problem, payload } = payloadOf(await client.post(MESSAGES, { first: 50 }), 'messages');
        if (problem) return problem;
        return payload.edges.length ? null : 'messages(first: 50) came back empty';
      }
      const { problem, payload } = payloadOf(await client.post(MESSAGE, { id }), 'message');
      if (problem) return problem;
      return payload.id === id ? null : `message(${id}) answered ${payload.id}`;
    };

    // ---- 3. the soak ----
    console.log(
      `soak: ${s.minutes} min of sendSms at ${rate}/s (open loop) + reads at ${readRate.toFixed(1)}/s; RSS sampled every ${s.sampleSeconds} s, fitted from minute ${s.warmupMinutes} on`,
    );
    const samples = []; // { t (min), [role]: { rss, heap } }
    const sampleNow = async (t) => {
      const point = { t };
      await Promise.all(
        procs.map(async (p) => {
          const m = await scrape(p.port).catch(() => ({}));
          point[p.role] = { rss: vmStatus(p.child.pid).rssMb, heap: m.heapUsed / 1024 / 1024, sent: m.sent };
        }),
      );
      return point;
    };
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
    const minutes = [];
    let accepted = (await pool.query('select count(*)::int as n from messages')).rows[0].n; // the probe's
    const header = `${'min'.padStart(3)}  ${procs.map((p) => `${label(p)} RSS / heap`.padEnd(22)).join('')}${'accepted'.padStart(10)}${'sent'.padStart(10)}${'backlog'.padStart(9)}${'reads'.padStart(7)}${'errors'.padStart(8)}${'p99'.padStart(10)}`;
    console.log(header);
    for (minute = 1; minute <= s.minutes; minute++) {
      const [sends, readsResult] = await Promise.all([
        runLoad({ ratePerSecond: rate, seconds: 60, once: sendOnce }),
        runLoad({ ratePerSecond: readRate, seconds: 60, once: readOnce }),
      ]);
      accepted += sends.done;
      const point = await sampleNow(elapsedMin());
      const backlog = (await pool.query(`select count(*) filter (where status in ('QUEUED', 'SENDING'))::int as n from messages`)).rows[0]
        .n;
      const sent = senders.reduce((a, p) => a + (point[p.role].sent ?? 0), 0);
      const row = {
        minute,
        point,
        accepted,
        minuteAccepted: sends.done,
        sent,
        backlog,
        reads: readsResult.done,
        errors: sends.errors + readsResult.errors,
        p99: sends.p99,
        readP99: readsResult.p99,
      };
      minutes.push(row);
      console.log(
        `${String(minute).padStart(3)}  ${procs.map((p) => `${point[p.role].rss.toFixed(1)} / ${Number.isFinite(point[p.role].heap) ? point[p.role].heap.toFixed(1) : 'n/a'} MB`.padEnd(22)).join('')}` +
          `${fmt(accepted).padStart(10)}${fmt(sent).padStart(10)}${fmt(backlog).padStart(9)}${fmt(readsResult.done).padStart(7)}${String(row.errors).padStart(8)}${`${sends.p99.toFixed(1)} ms`.padStart(10)}`,
      );
      const errorSamples = [...sends.errorSamples, ...readsResult.errorSamples];
      if (errorSamples.length) console.log(`     first errors: ${errorSamples.slice(0, 3).join(' | ')}`);
    }
    sampling = false;
    await sampler;
    await upkeep;
    client.agent.destroy();

    // ---- 4. the verdict ----
    const drained = await waitForDrain(pool, 120_000);
    const totals = (
      await pool.query(
        `select count(*)::int as n, count(*) filter (where status = 'SENT')::int as sent, count(*) filter (where status = 'FAILED')::int as failed from messages`,
      )
    ).rows[0];
    const posts = await fakes.count();
    const dbSizeEnd = await dbSize(pool);
    const fitFrom = s.warmupMinutes;
    const fitted = samples.filter((p) => p.t >= fitFrom);
    const span = fitted.length ? fitted.at(-1).t - fitted[0].t : 0;
    const acceptedInFit = minutes.filter((m) => m.minute > fitFrom).reduce((a, m) => a + m.minuteAccepted, 0);
    const analysis = procs.map((p) => {
      const rss = samples.map((x) => x[p.role].rss);
      const after = fitted.map((x) => x[p.role].rss);
      const line = leastSquares(
        fitted.map((x) => x.t),
        after,
      );
      const heapLine = leastSquares(
        fitted.map((x) => x.t),
        fitted.map((x) => x[p.role].heap),
      );
      const growth = line.slope * span;
      return {
        role: p.role,
        label: label(p),
        pid: p.child.pid,
        first: rss[0],
        last: rss.at(-1),
        max: Math.max(...rss),
        meanAfter: after.reduce((a, b) => a + b, 0) / Math.max(1, after.length),
        slopePerHour: line.slope * 60,
        sePerHour: line.se * 60,
        growth,
        heapSlopePerHour: heapLine.slope * 60,
        bytesPerMessage: acceptedInFit ? (growth * 1024 * 1024) / acceptedInFit : NaN,
        ok: Number.isFinite(growth) && growth < s.maxGrowthMb,
      };
    });
    const errors = minutes.reduce((a, m) => a + m.errors, 0);
    const pass = analysis.every((a) => a.ok);
    const short = s.minutes < 10;
    console.log(
      `\nsoak: ${s.minutes} min at ${rate} sendSms/s; RSS fitted over minutes ${fitFrom}–${s.minutes} (${fitted.length} samples, ${fmt(acceptedInFit)} messages accepted in that span):`,
    );
    for (const a of analysis) {
      console.log(
        `  ${a.label} (pid ${a.pid}): RSS first ${a.first.toFixed(1)} MB, last ${a.last.toFixed(1)} MB, max ${a.max.toFixed(1)} MB; slope ${signed(a.slopePerHour)} MB/hour (± ${a.sePerHour.toFixed(1)}), ` +
          `${signed(a.growth)} MB over the fitted ${span.toFixed(1)} min (${Number.isFinite(a.bytesPerMessage) ? `${signed(a.bytesPerMessage, 0)} bytes/message` : 'n/a'}); heap slope ${signed(a.heapSlopePerHour)} MB/hour: ` +
          `${verdict(a.ok)} (growth < ${s.maxGrowthMb} MB)`,
      );
    }
    console.log(
      `  ${fmt(accepted)} accepted, ${fmt(totals.sent)} SENT, ${totals.failed} FAILED, fake got ${fmt(posts)} POSTs${drained ? '' : ' (backlog NOT drained in 120 s)'}; ${errors} errors; ` +
        `database ${mbOf(dbSizeStart)} → ${mbOf(dbSizeEnd)} (PostgreSQL's growth, not Herald's RSS)`,
    );
    const upkeepNote =
      autovacuum === 'on'
        ? "autovacuum on (the server's own)"
        : `autovacuum off on this server: the soak ran VACUUM (ANALYZE) of messages, delivery_logs and pgboss.job ${vacuums} times, once a minute`;
    console.log(`  ${upkeepNote}`);
    console.log(`soak: ${verdict(pass)}${short ? ` (a ${s.minutes}-minute run: indicative only; the issue asks for 30)` : ''}`);

    const warnings = countWarnings(logFile);
    if (warnings) console.log(`soak: Herald logged ${warnings} warning/error lines: see ${logFile}`);
    await cleanup({ keepLogs: warnings > 0 });
    process.exit(pass && errors === 0 ? 0 : 1);
  } catch (err) {
    await abort(err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
}

async function waitForDrain(pool, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const { n } = (await pool.query(`select count(*)::int as n from messages where status in ('QUEUED', 'SENDING')`)).rows[0];
    if (n === 0) return true;
    await sleep(500);
  }
  return false;
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

await main();
