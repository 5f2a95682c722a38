// `npm run bench`: Herald's throughput measured against raw baselines taken in the same
// run, on PostgreSQL, over loopback only. Bounded in time; cleans up after itself.
//
//   1. a fresh database (DATABASE_URL is the admin connection, else postgres@127.0.0.1)
//   2. raw single-row autocommit INSERTs of a message-like row over 32 connections
//   3. sendSms through a `--role api` child over 32 keep-alive connections
//   4. raw POST rate of the twilio SDK to a zero-latency Twilio fake, then a backlog
//      drained by a `--role worker` child against the same fake, then queue latency
//      under a steady load below the dispatch rate
//   5. the figures printed and written to docs/performance.md
//
// Settings (environment): BENCH_SECONDS (20), BENCH_CONCURRENCY (32),
// HERALD_WORKER_CONCURRENCY (32), BENCH_DISPATCH_MESSAGES (5000), BENCH_WARMUP_SECONDS (2),
// BENCH_POST_SECONDS (10), BENCH_LATENCY_SECONDS (10), BENCH_LATENCY_LOAD (0.7 × dispatch rate),
// BENCH_KEEP_DB=1 keeps the databases for inspection.
import { fork, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), '..');
const SECRET_KEY = randomBytes(32).toString('hex');
const ADMIN_KEY = `bench_${randomBytes(24).toString('hex')}`;


// ---------------------------------------------------------------------------------------
// settings

function intEnv(name, fallback, min = 1) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    console.error(`bench: ${name} must be a number ≥ ${min}, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

function settings() {
  return {
    seconds: intEnv('BENCH_SECONDS', 20),
    concurrency: intEnv('BENCH_CONCURRENCY', 32),
    workerConcurrency: intEnv('HERALD_WORKER_CONCURRENCY', 32),
    dispatchMessages: intEnv('BENCH_DISPATCH_MESSAGES', 5000),
    warmupSeconds: intEnv('BENCH_WARMUP_SECONDS', 2, 0),
    postSeconds: intEnv('BENCH_POST_SECONDS', 10),
    latencySeconds: intEnv('BENCH_LATENCY_SECONDS', 10),
    latencyLoad: intEnv('BENCH_LATENCY_LOAD', 0.7, 0.01),
    keepDb: process.env.BENCH_KEEP_DB === '1',
    // For profiling: run one half only (no docs written), extra node flags for Herald.
    only: process.env.BENCH_ONLY || '',
    heraldNodeArgs: (process.env.BENCH_HERALD_NODE_ARGS || '').split(/\s+/).filter(Boolean),
  };
}

const TARGETS = { acceptRatio: 0.6, p99Ms: 50, dispatchRatio: 0.9, queueP95Ms: 1000 };

// ---------------------------------------------------------------------------------------
// main

async function main() {
  const s = settings();
  const started = new Date();
  buildIfStale();

  const pg = (await import('pg')).default;
  const adminUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const stamp = `${Date.now().toString(36)}_${process.pid}`;
  const acceptDb = `herald_bench_${stamp}`;
  const dispatchDb = `herald_bench_${stamp}_d`;
  const urlOf = (db) => {
    const u = new URL(adminUrl);
    u.pathname = `/${db}`;
    return u.toString();
  };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-bench-'));
  const children = new Set();
  const logFile = path.join(tmp, 'herald.log');
  const logStream = fs.createWriteStream(logFile);

  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const pgVersion = (await admin.query('show server_version')).rows[0].server_version;
  const pgMaxConnections = (await admin.query('show max_connections')).rows[0].max_connections;
  await admin.query(`create database ${acceptDb}`);
  await admin.query(`create database ${dispatchDb}`);

  let twilioFake;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const child of children) await stopChild(child).catch(() => undefined);
    twilioFake?.child.kill('SIGTERM');
    if (!s.keepDb) {
      for (const db of [acceptDb, dispatchDb]) await admin.query(`drop database if exists ${db} with (force)`).catch((e) => console.error(`bench: could not drop ${db}: ${e.message}`));
    } else console.log(`bench: kept databases ${acceptDb}, ${dispatchDb}`);
    await admin.end().catch(() => undefined);
  };
  const abort = async (why) => {
    console.error(`bench: ${why}`);
    await cleanup();
    console.error(`bench: Herald's output is in ${logFile}`);
    process.exit(1);
  };
  process.on('SIGINT', () => void abort('interrupted'));
  process.on('SIGTERM', () => void abort('terminated'));
  // Bounded whatever happens: the phases below add up to a few minutes at most.
  const budgetMs = (s.seconds * 2 + s.postSeconds + s.latencySeconds + 240 + s.dispatchMessages / 20) * 1000;
  setTimeout(() => void abort(`took longer than ${Math.round(budgetMs / 1000)} s; stopped`), budgetMs).unref();

  try {
    const account = { accountSid: `AC${randomBytes(16).toString('hex')}`, authToken: randomBytes(16).toString('hex'), from: '+15005550006' };
    twilioFake = await startFakeChild();
    const heraldEnv = (db) => ({
      DATABASE_URL: urlOf(db),
      HOST: '127.0.0.1',
      PORT: '0',
      // info: the ready line carries the port; request logging is off in Herald, so the
      // hot paths log nothing at this level.
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'info',
      HERALD_DATA_DIR: tmp,
      HERALD_SECRET_KEY: SECRET_KEY,
      HERALD_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
      HERALD_WORKER_CONCURRENCY: String(s.workerConcurrency),
      TWILIO_ACCOUNT_SID: account.accountSid,
      TWILIO_AUTH_TOKEN: account.authToken,
      TWILIO_SMS_FROM: account.from,
      TWILIO_API_BASE_URL: twilioFake.url,
    });
    const startRole = (role, db) => startHerald(role, heraldEnv(db), children, logStream, s.heraldNodeArgs);
    let raw = { rate: NaN, p50: NaN, p99: NaN };
    let accept = { rate: NaN, p50: NaN, p99: NaN, done: 0, errors: 0 };
    let acceptRatio = NaN;
    if (s.only !== 'dispatch') {
      // ---- 2. raw INSERT baseline ------------------------------------------------------
      console.log(`bench: raw INSERT baseline, ${s.concurrency} connections, ${s.seconds} s…`);
      raw = await rawInsertBaseline(pg, urlOf(acceptDb), s);
      console.log(`  ${fmt(raw.rate)} inserts/s (p50 ${raw.p50.toFixed(2)} ms, p99 ${raw.p99.toFixed(2)} ms); CPU per insert: ${perOp(raw.cpuMs, raw.done)}`);

      // ---- 3. sendSms accept rate --------------------------------------------------------
      console.log(`bench: starting Herald --role api…`);
      const api = await startRole('api', acceptDb);
      const recipients = await createRecipients(api.port, 8);
      console.log(`bench: sendSms, ${s.concurrency} connections, ${s.seconds} s…`);
      accept = await driveSendSms(api.port, recipients, {
        concurrency: s.concurrency,
        seconds: s.seconds,
        warmupSeconds: s.warmupSeconds,
        cpu: cpuMeter(admin, acceptDb, () => [api.child.pid]),
      });
      acceptRatio = accept.rate / raw.rate;
      console.log(
        `  ${fmt(accept.rate)} accepted/s, p50 ${accept.p50.toFixed(2)} ms, p99 ${accept.p99.toFixed(2)} ms, errors ${accept.errors}, ratio ${acceptRatio.toFixed(2)}; ` +
          `CPU per request: ${perOp(accept.cpuMs, accept.done)}`,
      );
      if (accept.errorSamples.length) console.log(`  first errors: ${accept.errorSamples.join(' | ')}`);
      await stopChild(api.child);
    }
    if (s.only === 'accept') {
      await cleanup();
      process.exit(0);
    }

    // ---- 4a. raw POST rate of the SDK against the fake -----------------------------------
    console.log(`bench: twilio SDK → fake, ${s.workerConcurrency} concurrent, ${s.postSeconds} s…`);
    const post = await rawPostRate(twilioFake.url, account, s, cpuMeter(admin, dispatchDb, () => [process.pid, twilioFake.child.pid]));
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
    const fakeBefore = await twilioFake.count();
    console.log(`bench: starting Herald --role worker (concurrency ${s.workerConcurrency}) and draining…`);
    const workerStarted = performance.now();
    const worker = await startRole('worker', dispatchDb);
    // CPU from the ready line on (start-up excluded), per message sent since then.
    const workerCpu = cpuMeter(admin, dispatchDb, () => [worker.child.pid, twilioFake.child.pid]);
    const cpuAtReady = workerCpu.snapshot();
    const sentAtReady = (await dpool.query(`select count(*)::int as n from messages where status = 'SENT'`)).rows[0].n;
    const drainTimeoutMs = Math.max(120_000, s.dispatchMessages * 50);
    const drained = await waitForStatus(dpool, s.dispatchMessages, drainTimeoutMs);
    const wallSeconds = (performance.now() - workerStarted) / 1000;
    const drainCpu = await workerCpu.since(cpuAtReady);
    const span = (
      await dpool.query(
        `select count(*)::int as n, extract(epoch from max(sent_at) - min(sent_at)) as span,
                count(*) filter (where status = 'SENT')::int as sent, count(*) filter (where status = 'FAILED')::int as failed
           from messages`,
      )
    ).rows[0];
    const dispatchRate = span.sent > 1 && Number(span.span) > 0 ? (span.sent - 1) / Number(span.span) : 0;
    const dispatchRatio = dispatchRate / post.rate;
    const fakeReceived = (await twilioFake.count()) - fakeBefore;
    console.log(
      `  ${fmt(dispatchRate)} messages/s (first to last SENT), ${span.sent} SENT, ${span.failed} FAILED, fake got ${fakeReceived} POSTs; ` +
        `${wallSeconds.toFixed(1)} s from worker spawn to all done; ratio ${dispatchRatio.toFixed(2)}${drained ? '' : ' (TIMED OUT)'}; ` +
        `CPU per message (worker + fake): ${perOp(drainCpu, span.sent - sentAtReady)}`,
    );

    // ---- 4c. queue latency under a steady load below the dispatch rate -------------------
    const load = Math.max(1, Math.round((Number.isFinite(accept.rate) ? Math.min(dispatchRate, accept.rate) : dispatchRate) * s.latencyLoad));
    console.log(`bench: queue latency at ${load} sendSms/s for ${s.latencySeconds} s with the worker running…`);
    const since = (await dpool.query('select now() as t')).rows[0].t;
    const steady = await driveSendSms(api.port, recipients, { concurrency: s.concurrency, seconds: s.latencySeconds, ratePerSecond: load });
    await waitForStatus(dpool, s.dispatchMessages + steady.done, 60_000);
    const queue = await queueLatency(dpool, since);
    console.log(
      `  ${steady.done} sent at ${fmt(steady.rate)}/s, errors ${steady.errors}; QUEUED→SENDING (job created→started) p50 ${ms(queue.jobP50)}, p95 ${ms(queue.jobP95)}, p99 ${ms(queue.jobP99)}; ` +
        `created→SENT p50 ${ms(queue.sentP50)}, p95 ${ms(queue.sentP95)}`,
    );
    await dpool.end();
    await stopChild(worker.child);
    await stopChild(api.child);

    // ---- 5. report ----------------------------------------------------------------------------
    const warnings = countWarnings(logFile);
    const machine = {
      cpus: os.cpus().length,
      nproc: nproc(),
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGb: (os.totalmem() / 1024 ** 3).toFixed(1),
      node: process.version,
      postgres: pgVersion,
      pgMaxConnections,
      date: started.toISOString(),
      load: os.loadavg().map((l) => l.toFixed(2)).join(' '),
    };
    const rows = [
      ['raw single-row INSERT (pg, autocommit)', `${fmt(raw.rate)} /s`, `${s.concurrency} connections; p50 ${raw.p50.toFixed(2)} ms, p99 ${raw.p99.toFixed(2)} ms; CPU/insert ${perOp(raw.cpuMs, raw.done)}`, 'baseline', ''],
      ['sendSms accepted', `${fmt(accept.rate)} /s`, `${s.concurrency} keep-alive connections, ${s.seconds} s; CPU/request ${perOp(accept.cpuMs, accept.done)}`, '', ''],
      ['sendSms / raw INSERT', acceptRatio.toFixed(2), '', `≥ ${TARGETS.acceptRatio}`, verdict(acceptRatio >= TARGETS.acceptRatio)],
      ['sendSms p50', `${accept.p50.toFixed(2)} ms`, '', '', ''],
      ['sendSms p99', `${accept.p99.toFixed(2)} ms`, '', `< ${TARGETS.p99Ms} ms`, verdict(accept.p99 < TARGETS.p99Ms)],
      ['sendSms errors', String(accept.errors), `of ${accept.done + accept.errors} requests (non-2xx, GraphQL errors, userErrors)`, '0', verdict(accept.errors === 0)],
      ['twilio SDK raw POST to zero-latency fake', `${fmt(post.rate)} /s`, `one process, ${s.workerConcurrency} concurrent; errors ${post.errors}; CPU/POST (client + fake) ${perOp(post.cpuMs, post.done)}`, 'baseline', ''],
      ['dispatch (worker → fake)', `${fmt(dispatchRate)} /s`, `${s.dispatchMessages} queued, HERALD_WORKER_CONCURRENCY=${s.workerConcurrency}; ${span.sent} SENT, ${span.failed} FAILED; CPU/message (worker + fake) ${perOp(drainCpu, span.sent - sentAtReady)}`, '', ''],
      ['dispatch / raw POST', dispatchRatio.toFixed(2), '', `≥ ${TARGETS.dispatchRatio}`, verdict(dispatchRatio >= TARGETS.dispatchRatio && span.sent === s.dispatchMessages)],
      ['queue latency QUEUED→SENDING p50', ms(queue.jobP50), `pg-boss job created→started, steady ${load} msg/s`, '', ''],
      ['queue latency QUEUED→SENDING p95', ms(queue.jobP95), '', `< ${TARGETS.queueP95Ms} ms`, verdict(queue.jobP95 !== null && queue.jobP95 < TARGETS.queueP95Ms)],
      ['created → SENT p95', ms(queue.sentP95), 'includes the provider call and the SENT transaction', '', ''],
    ];
    if (!s.only) {
      fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
      fs.writeFileSync(path.join(root, 'docs', 'performance.md'), renderMarkdown(machine, s, rows, warnings));
    }
    console.log('\n' + renderTable(rows));
    console.log(
      `\nmachine: ${machine.nproc} CPUs (${machine.cpuModel}), ${machine.memoryGb} GB, Node ${machine.node}, PostgreSQL ${machine.postgres}, load ${machine.load}`,
    );
    if (warnings) console.log(`Herald logged ${warnings} warning/error lines: see ${logFile}`);
    if (!s.only) console.log('written to docs/performance.md');
  } catch (err) {
    await abort(err instanceof Error ? err.stack ?? err.message : String(err));
  }
  await cleanup();
  process.exit(0);
}

// ---------------------------------------------------------------------------------------
// build (same rule as scripts/start.mjs: dist older than src or package.json → build)

function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

function buildIfStale() {
  const stampFile = path.join(root, 'dist', '.build-stamp');
  const built = fs.existsSync(stampFile) ? fs.statSync(stampFile).mtimeMs : 0;
  const sources = Math.max(newestSource(path.join(root, 'src')), fs.statSync(path.join(root, 'package.json')).mtimeMs);
  if (built >= sources) return;
  console.error('bench: building (npm run build)…');
  const result = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('bench: the build failed');
    process.exit(result.status ?? 1);
  }
}

// ---------------------------------------------------------------------------------------
// 2. raw INSERT baseline: a row like a message, with the id order and two of the indexes
// Herald's messages table has, written one autocommit statement at a time.

async function rawInsertBaseline(pg, url, s) {
  const pool = new pg.Pool({ connectionString: url, max: s.concurrency });
  await pool.query(`
    create table bench_raw_messages (
      id uuid primary key,
      tenant_id uuid not null,
      recipient_id uuid not null,
      channel text not null,
      status text not null,
      body text not null,
      destination text not null,
      scheduled_at timestamptz,
      sent_at timestamptz,
      attempts integer not null default 0,
      provider_message_id text,
      error_code text,
      error_message text,
      order_id text,
      created_at timestamptz not null,
      updated_at timestamptz not null default now()
    );
    create index bench_raw_tenant_id on bench_raw_messages (tenant_id, id);
    create index bench_raw_tenant_status_id on bench_raw_messages (tenant_id, status, id);
  `);
  const tenant = uuidv4();
  const recipients = Array.from({ length: 8 }, () => uuidv4());
  const sql =
    'insert into bench_raw_messages (id, tenant_id, recipient_id, channel, status, body, destination, scheduled_at, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)';
  let i = 0;
  const dbName = new URL(url).pathname.slice(1);
  const result = await runLoad({
    concurrency: s.concurrency,
    seconds: s.seconds,
    warmupSeconds: s.warmupSeconds,
    cpu: cpuMeter(pool, dbName, () => [process.pid]),
    async once() {
      const n = i++;
      const now = new Date();
      await pool.query(sql, [uuidv7(now.getTime()), tenant, recipients[n % recipients.length], 'SMS', 'QUEUED', smsBody(n), '+14155550123', null, now]);
      return null;
    },
  });
  await pool.end();
  return result;
}

// ---------------------------------------------------------------------------------------
// 3. sendSms through HTTP

const SEND_SMS = `mutation Bench($input: SendSmsInput!) {
  sendSms(input: $input) { message { id status } userErrors { code message field } }
}`;

function graphqlClient(port, maxSockets) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  return {
    agent,
    post(query, variables) {
      const body = JSON.stringify({ query, variables });
      return new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path: '/graphql',
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${ADMIN_KEY}` },
          },
          (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
  };
}

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
        else if (json.data?.sendSms?.userErrors?.length) problem = `userError ${json.data.sendSms.userErrors[0].code}: ${json.data.sendSms.userErrors[0].message}`;
        else if (!json.data?.sendSms?.message?.id) problem = 'no message in the answer';
      }
      return problem;
    },
  });
  client.agent.destroy();
  return result;
}

// ---------------------------------------------------------------------------------------
// 4a. the twilio SDK, as the worker uses it (Herald's compiled RequestClient), to the fake

async function rawPostRate(fakeUrl, account, s, cpu) {
  const { twilioClient } = await import(pathToFileURL(path.join(root, 'dist', 'providers', 'twilio', 'twilio-api.js')).href);
  const client = twilioClient({ accountSid: account.accountSid, authToken: account.authToken, baseUrl: fakeUrl, timeoutMs: 10_000 });
  let n = 0;
  return runLoad({
    concurrency: s.workerConcurrency,
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

// ---------------------------------------------------------------------------------------
// 4b/4c. the database tells when the worker is done and how long jobs waited

async function waitForStatus(pool, total, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  let lastPrint = 0;
  while (performance.now() < deadline) {
    const { rows } = await pool.query(`select status, count(*)::int as n from messages group by status`);
    const by = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    const done = (by.SENT ?? 0) + (by.FAILED ?? 0) + (by.DELIVERED ?? 0) + (by.CANCELLED ?? 0);
    last = JSON.stringify(by);
    if (done >= total) return true;
    if (performance.now() - lastPrint > 5000) {
      lastPrint = performance.now();
      process.stdout.write(`  … ${last}\n`);
    }
    await sleep(100);
  }
  console.log(`  gave up waiting: ${last}`);
  return false;
}

async function queueLatency(pool, since) {
  const pct = (col) =>
    `percentile_cont(0.5) within group (order by ${col}) as p50, percentile_cont(0.95) within group (order by ${col}) as p95, percentile_cont(0.99) within group (order by ${col}) as p99`;
  let job = { p50: null, p95: null, p99: null };
  try {
    job = (
      await pool.query(
        `select ${pct('extract(epoch from started_on - created_on) * 1000')} from pgboss.job where name = 'herald-dispatch' and created_on >= $1 and started_on is not null`,
        [since],
      )
    ).rows[0];
  } catch (err) {
    console.log(`  (pg-boss job timings unavailable: ${err.message})`);
  }
  const sent = (
    await pool.query(`select ${pct('extract(epoch from sent_at - created_at) * 1000')} from messages where created_at >= $1 and sent_at is not null`, [since])
  ).rows[0];
  const num = (v) => (v === null || v === undefined ? null : Number(v));
  return { jobP50: num(job.p50), jobP95: num(job.p95), jobP99: num(job.p99), sentP50: num(sent.p50), sentP95: num(sent.p95) };
}

// ---------------------------------------------------------------------------------------
// load generator: closed loop over `concurrency` lanes, or open loop at a fixed rate

async function runLoad({ concurrency, seconds, warmupSeconds = 0, count, ratePerSecond, once, cpu }) {
  const latencies = [];
  let done = 0;
  let errors = 0;
  let measuring = warmupSeconds === 0;
  let measureStart = performance.now();
  let cpuStart = cpu?.snapshot();
  const stopAt = seconds ? performance.now() + (warmupSeconds + seconds) * 1000 : Infinity;
  if (!measuring) {
    setTimeout(() => {
      measuring = true;
      measureStart = performance.now();
      cpuStart = cpu?.snapshot();
    }, warmupSeconds * 1000);
  }
  let issued = 0;
  const errorSamples = [];
  const more = () => performance.now() < stopAt && (count === undefined || issued < count);

  const one = async () => {
    issued++;
    const t0 = performance.now();
    let problem;
    try {
      problem = await once();
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
    const t1 = performance.now();
    if (!measuring) return;
    if (problem) {
      errors++;
      if (errorSamples.length < 3) errorSamples.push(problem);
    }
    else {
      done++;
      latencies.push(t1 - t0);
    }
  };

  if (ratePerSecond) {
    // Open loop: requests leave on schedule whatever the answers' speed (the agent bounds sockets).
    const inflight = new Set();
    const begin = performance.now();
    while (more()) {
      const due = Math.floor(((performance.now() - begin) / 1000) * ratePerSecond);
      while (issued < due && more()) {
        const p = one();
        inflight.add(p);
        p.finally(() => inflight.delete(p));
      }
      await sleep(5);
    }
    await Promise.all(inflight);
  } else {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (more()) await one();
      }),
    );
  }
  const elapsed = (performance.now() - measureStart) / 1000;
  const cpuMs = cpu ? await cpu.since(cpuStart) : undefined;
  latencies.sort((a, b) => a - b);
  const q = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : NaN);
  return { rate: done / elapsed, done, errors, errorSamples, p50: q(0.5), p99: q(0.99), seconds: elapsed, cpuMs };
}

// ---------------------------------------------------------------------------------------
// Herald child processes

function startHerald(role, env, children, logStream, nodeArgs = []) {
  const child = spawn(process.execPath, [...nodeArgs, path.join(root, 'dist', 'main.js'), '--role', role], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`Herald --role ${role} did not become ready in 60 s`)), 60_000);
    const onLine = (line) => {
      if (!line.includes('graphiql')) return;
      try {
        const json = JSON.parse(line);
        const port = Number(new URL(json.graphiql).port);
        clearTimeout(timer);
        resolve({ child, port });
      } catch {
        // not the JSON ready line (e.g. the first-key banner)
      }
    };
    child.stdout.on('data', (chunk) => {
      logStream.write(`[${role} ${child.pid}] ${chunk}`);
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        onLine(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    });
    child.stderr.on('data', (chunk) => {
      logStream.write(`[${role} ${child.pid} stderr] ${chunk}`);
      process.stderr.write(`[herald ${role}] ${chunk}`);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Herald --role ${role} exited with ${code} before it was ready`));
    });
  });
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function countWarnings(file) {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => /"level":(40|50|60)/.test(l)).length;
  } catch {
    return 0;
  }
}

// ---------------------------------------------------------------------------------------
// zero-latency Twilio fake, in its own process (so neither side of a measurement shares
// an event loop with it): POST /2010-04-01/Accounts/{sid}/Messages.json → 201 with a sid.

function startFakeChild() {
  const child = fork(self, ['--twilio-fake'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = [];
  child.on('message', (m) => {
    if (m && typeof m.count === 'number') pending.shift()?.(m.count);
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => {
      if (!m?.port) return reject(new Error('the Twilio fake did not start'));
      resolve({
        child,
        url: `http://127.0.0.1:${m.port}`,
        count: () =>
          new Promise((r) => {
            pending.push(r);
            child.send('count');
          }),
      });
    });
    child.once('exit', (code) => reject(new Error(`the Twilio fake exited with ${code}`)));
  });
}

function runTwilioFake() {
  const PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/;
  let count = 0;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const match = PATH.exec((req.url ?? '/').split('?')[0]);
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (!match || req.method !== 'POST' || !/^Basic /.test(req.headers.authorization ?? '')) {
        res.writeHead(match ? 401 : 404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: match ? 20003 : 20404, message: match ? 'Authenticate' : 'not found', status: match ? 401 : 404 }));
        return;
      }
      count++;
      const sid = `SM${randomBytes(16).toString('hex')}`;
      const accountSid = decodeURIComponent(match[1]);
      const date = new Date().toUTCString().replace('GMT', '+0000');
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          account_sid: accountSid,
          api_version: '2010-04-01',
          body: form.get('Body'),
          date_created: date,
          date_sent: null,
          date_updated: date,
          direction: 'outbound-api',
          error_code: null,
          error_message: null,
          from: form.get('From'),
          messaging_service_sid: null,
          num_media: '0',
          num_segments: '1',
          price: null,
          price_unit: 'USD',
          sid,
          status: 'queued',
          subresource_uris: { media: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}/Media.json` },
          to: form.get('To'),
          uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
        }),
      );
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (m) => {
    if (m === 'count') process.send({ count });
  });
  process.on('disconnect', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------
// output

function verdict(ok) {
  return ok ? 'PASS' : 'MISS';
}

function renderTable(rows) {
  const header = ['figure', 'value', 'notes', 'target', 'result'];
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  return all.map((r) => r.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

function renderMarkdown(m, s, rows, warnings) {
  const table = [
    '| figure | value | notes | target | result |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n');
  return `# Performance

Measured by \`npm run bench\` (scripts/bench.mjs). Every ratio compares Herald with a raw
baseline taken in the same run on the same machine, so the ratios matter more than the
absolute rates. All traffic is loopback; PostgreSQL, Herald, the load generator and the
Twilio fake share the machine's CPUs.

## Machine

| | |
| --- | --- |
| CPUs (nproc) | ${m.nproc} (${m.cpuModel}) |
| memory | ${m.memoryGb} GB |
| Node.js | ${m.node} |
| PostgreSQL | ${m.postgres} (max_connections ${m.pgMaxConnections}) |
| date | ${m.date} |
| load average after the run | ${m.load} |

## Results

${table}

Settings: BENCH_SECONDS=${s.seconds}, BENCH_CONCURRENCY=${s.concurrency}, HERALD_WORKER_CONCURRENCY=${s.workerConcurrency},
BENCH_DISPATCH_MESSAGES=${s.dispatchMessages}, BENCH_WARMUP_SECONDS=${s.warmupSeconds}, BENCH_POST_SECONDS=${s.postSeconds},
BENCH_LATENCY_SECONDS=${s.latencySeconds}, BENCH_LATENCY_LOAD=${s.latencyLoad}.${warnings ? `\nHerald logged ${warnings} warning/error lines during the run.` : ''}

## How each figure is taken

- **raw single-row INSERT**: a table shaped like \`messages\` (uuid v7 primary key, tenant and
  recipient uuids, a ~60-character body, status, timestamps, nullable columns) with two of its
  secondary indexes; one autocommit parameterised INSERT per round trip through \`pg\`, ${s.concurrency}
  connections, closed loop, ${s.seconds} s after a ${s.warmupSeconds} s warm-up.
- **sendSms**: \`node dist/main.js --role api\` on a fresh database, 8 CLIENT recipients with
  phones, the \`sendSms\` mutation over ${s.concurrency} keep-alive HTTP connections, closed loop, same
  duration. Latency is client-side, request written to answer read. An error is a non-2xx answer,
  a GraphQL error or a userError.
- **raw POST**: the twilio SDK with Herald's own RequestClient (dist/providers/twilio/twilio-api.js),
  ${s.workerConcurrency} concurrent \`messages.create\` calls from the bench process to a zero-latency fake
  of the Messages API running in its own process.
- **dispatch**: ${s.dispatchMessages} messages queued through the API, then one \`--role worker\` with
  HERALD_WORKER_CONCURRENCY=${s.workerConcurrency} sends them to the same fake; the rate is measured between the
  first and the last \`sent_at\`.
- **queue latency**: with the worker running, sendSms at ${s.latencyLoad} × min(dispatch rate, accept rate)
  (open loop) for ${s.latencySeconds} s; QUEUED→SENDING is the pg-boss job's \`started_on - created_on\`
  (the worker claims the message right after it takes the job).
`;
}

// ---------------------------------------------------------------------------------------
// CPU time (Linux /proc): of given processes, and of the PostgreSQL backends serving one
// database, so a figure says where the work went even when the machine is shared.

const CLK_TCK = 100;

function procCpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

function postgresPids() {
  try {
    return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d) && readComm(d) === 'postgres').map(Number);
  } catch {
    return [];
  }
}

function readComm(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Measures CPU ms of `pids()` (node processes) and of `db`'s backends over a load window. */
function cpuMeter(pool, db, pids) {
  return {
    snapshot() {
      const at = new Map();
      for (const pid of [...pids(), ...postgresPids()]) at.set(pid, procCpuMs(pid));
      return at;
    },
    async since(start) {
      const backends = (await pool.query('select pid from pg_stat_activity where datname = $1', [db])).rows.map((r) => r.pid);
      const delta = (pid) => {
        const now = procCpuMs(pid);
        const then = start.get(pid);
        return now === undefined || then === undefined ? 0 : now - then;
      };
      return { node: pids().reduce((sum, pid) => sum + delta(pid), 0), postgres: backends.reduce((sum, pid) => sum + delta(pid), 0) };
    },
  };
}

function perOp(cpuMs, n) {
  if (!cpuMs || !n) return 'n/a';
  return `${((cpuMs.node / n) * 1000).toFixed(0)} µs node + ${((cpuMs.postgres / n) * 1000).toFixed(0)} µs PostgreSQL`;
}

// ---------------------------------------------------------------------------------------
// small helpers

function smsBody(i) {
  return `Your repayment of 125.00 USD for loan ${String(100000 + (i % 900000))} is due on 2025-01-15.`;
}

function uuidv4() {
  const b = randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return hex(b);
}

function uuidv7(ms) {
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  return hex(b);
}

function hex(b) {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function fmt(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

function ms(v) {
  return v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(1)} ms`;
}

function nproc() {
  try {
    return Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()) || os.cpus().length;
  } catch {
    return os.cpus().length;
  }
}

function sleep(msDelay) {
  return new Promise((r) => setTimeout(r, msDelay));
}

// Last, so every module-level constant above is initialised before main() runs.
if (process.argv.includes('--twilio-fake')) runTwilioFake();
else await main();
