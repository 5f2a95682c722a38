// Shared by the benchmark scripts (scripts/bench.mjs, its stages, scripts/soak.mjs): a
// standalone run's set-up and clean-up, Herald child processes and their environment, a
// closed/open-loop load generator, CPU accounting from /proc, GraphQL over keep-alive HTTP,
// and the figures' rendering as a plain-text table. Nothing here writes into docs/.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const SECRET_KEY = randomBytes(32).toString('hex');

export const ADMIN_KEY = `bench_${randomBytes(24).toString('hex')}`;

export function numEnv(name, fallback, min = 1) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    console.error(`bench: ${name} must be a number ≥ ${min}, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

export function machineInfo(started, pgVersion, pgMaxConnections) {
  return {
    cpus: os.cpus().length,
    nproc: nproc(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: (os.totalmem() / 1024 ** 3).toFixed(1),
    node: process.version,
    postgres: pgVersion,
    pgMaxConnections,
    date: started.toISOString(),
    load: loadAverage(),
  };
}

export function loadAverage() {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

export function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

export function buildIfStale() {
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

/** GraphQL over keep-alive HTTP (at most `maxSockets` sockets), with `key` as the bearer (the bootstrap ADMIN key unless given). */
export function graphqlClient(port, maxSockets, key = ADMIN_KEY) {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  return {
    agent,
    post(query, variables) {
      return this.postBody(JSON.stringify({ query, variables }));
    },
    postBody(body) {
      return new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path: '/graphql',
            method: 'POST',
            agent,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${key}` },
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

/**
 * A standalone run's set-up (scripts/bench.mjs, scripts/soak.mjs, a stage run alone): the
 * admin connection (DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres), a
 * temp dir with herald.log, the Set of Herald children; SIGINT and SIGTERM abort the run.
 *   - dbName: herald_<name>_<base-36 time>_<pid>; createDb(db) creates a database and
 *     records it, urlOf(db) is its URL on the admin connection's server
 *   - cleanup({ keepLogs = true }): once; stops the children, runs the onCleanup(fn) hooks
 *     in turn (the fakes, pools…), drops the databases it created `with (force)` unless
 *     keepDb (then says which it kept), ends the admin connection and the log, and removes
 *     the temp dir unless keepLogs; closing() is true from then on (and once abort starts)
 *   - abort(why, code = 1): says why, cleans up, says where Herald's output is, exits
 *   - budget(seconds, why?): aborts the run once it has taken that long
 * Options: tag, the messages' prefix ('bench'); tmpPrefix (herald-<name>-); listKept: say
 * "kept databases <list>" even for one (bench.mjs, a database per stage); abortOnce: an
 * abort once cleanup has begun is ignored (else it says why and exits at once);
 * abortNewline: a blank line before the abort's reason (the soak prints a table);
 * signalAbort(why, code): the reason and exit code of an abort on a signal ('interrupted'
 * 130, 'terminated' 143), by default the reason with code 1.
 */
export async function openBenchRun({
  name,
  tmpPrefix = `herald-${name}-`,
  keepDb = false,
  tag = 'bench',
  listKept = false,
  abortOnce = false,
  abortNewline = false,
  signalAbort = (why) => [why, 1],
}) {
  const pg = (await import('pg')).default;
  const adminUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `herald_${name}_${Date.now().toString(36)}_${process.pid}`;
  const urlOf = (db) => {
    const u = new URL(adminUrl);
    u.pathname = `/${db}`;
    return u.toString();
  };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
  const logFile = path.join(tmp, 'herald.log');
  const logStream = fs.createWriteStream(logFile);
  const children = new Set();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  const databases = [];
  const hooks = [];
  let closing = false;
  let cleaned = false;
  const createDb = async (db) => {
    await admin.query(`create database ${db}`);
    databases.push(db);
  };
  const cleanup = async ({ keepLogs = true } = {}) => {
    if (cleaned) return;
    cleaned = true;
    closing = true;
    for (const child of children) await stopChild(child).catch(() => undefined);
    for (const hook of hooks) await hook();
    if (!keepDb) {
      for (const db of databases)
        await admin
          .query(`drop database if exists ${db} with (force)`)
          .catch((e) => console.error(`${tag}: could not drop ${db}: ${e.message}`));
    } else if (listKept || databases.length) console.log(`${tag}: kept database${listKept ? 's' : ''} ${databases.join(', ')}`);
    await admin.end().catch(() => undefined);
    await new Promise((r) => logStream.end(r));
    if (!keepLogs) fs.rmSync(tmp, { recursive: true, force: true });
  };
  const abort = async (why, code = 1) => {
    if (abortOnce && cleaned) return;
    closing = true;
    console.error(`${abortNewline ? '\n' : ''}${tag}: ${why}`);
    await cleanup();
    console.error(`${tag}: Herald's output is in ${logFile}`);
    process.exit(code);
  };
  process.on('SIGINT', () => void abort(...signalAbort('interrupted', 130)));
  process.on('SIGTERM', () => void abort(...signalAbort('terminated', 143)));
  const budget = (seconds, why) => {
    const budgetMs = seconds * 1000;
    setTimeout(() => void abort(why ?? `took longer than ${Math.round(budgetMs / 1000)} s; stopped`), budgetMs).unref();
  };
  return {
    pg,
    admin,
    dbName,
    urlOf,
    createDb,
    tmp,
    logFile,
    logStream,
    children,
    onCleanup: (fn) => void hooks.push(fn),
    closing: () => closing,
    cleanup,
    abort,
    budget,
  };
}

/**
 * The environment of a Herald child process: its database, loopback on a port of its own,
 * the bench's secret and bootstrap ADMIN keys, HERALD_WORKER_CONCURRENCY when given, and
 * when `twilio` is given ({ account: { accountSid, authToken, from }, fakesUrl }) Twilio's
 * SMS pointed at the fakes; then `extra`. The callers' log level defaults to info: the ready
 * line carries the port (startHerald waits for it), and with request logging off in Herald
 * the hot paths log nothing at that level.
 */
export function heraldEnv({ url, dataDir, logLevel, workerConcurrency, twilio }, extra = {}) {
  return {
    DATABASE_URL: url,
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: logLevel,
    HERALD_DATA_DIR: dataDir,
    HERALD_SECRET_KEY: SECRET_KEY,
    HERALD_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    // The load generator is one API key: the per-key limit (500/s by default) would measure
    // the limiter, not Herald. Its own behaviour is tested in test/limits.test.ts.
    HERALD_RATE_LIMIT_PER_SECOND: '0',
    // Likewise the tenant's send budgets (default 1,000 a minute): tested in test/send-budgets.test.ts.
    HERALD_SEND_BUDGET_PER_MINUTE: '0',
    HERALD_SEND_BUDGET_PER_DAY: '0',
    HERALD_INTERNATIONAL_SENDS_PER_DAY: '0',
    ...(workerConcurrency === undefined ? {} : { HERALD_WORKER_CONCURRENCY: String(workerConcurrency) }),
    ...(twilio
      ? {
          TWILIO_ACCOUNT_SID: twilio.account.accountSid,
          TWILIO_AUTH_TOKEN: twilio.account.authToken,
          TWILIO_SMS_FROM: twilio.account.from,
          TWILIO_API_BASE_URL: twilio.fakesUrl,
        }
      : {}),
    ...extra,
  };
}

/**
 * `n` CLIENT recipients named `${label} ${i}` with phones `${phonePrefix}` + i in 4 digits,
 * created `concurrency` at a time by a createRecipient mutation named `operation`; their ids.
 * Throws on the first problem.
 */
export async function createClientRecipients(port, { n, concurrency, operation, label, phonePrefix }) {
  const mutation = `mutation ${operation}($input: CreateRecipientInput!) {
  createRecipient(input: $input) { recipient { id } userErrors { code message field } }
}`;
  const client = graphqlClient(port, concurrency);
  const ids = await parallel(
    Array.from({ length: n }, (_, i) => i),
    concurrency,
    async (i) => {
      const res = await client.post(mutation, {
        input: { kind: 'CLIENT', displayName: `${label} ${i}`, phone: `${phonePrefix}${String(i).padStart(4, '0')}` },
      });
      const { problem, payload } = payloadOf(res, 'createRecipient');
      if (problem) throw new Error(`createRecipient: ${problem}`);
      return payload.recipient.id;
    },
  );
  client.agent.destroy();
  return ids;
}

/** The answer's problem (non-2xx, GraphQL error, userError), or its payload. */
export function payloadOf(res, field) {
  if (res.status < 200 || res.status >= 300) return { problem: `HTTP ${res.status}: ${res.text.slice(0, 300)}` };
  const json = JSON.parse(res.text);
  if (json.errors?.length) return { problem: `GraphQL: ${json.errors[0].message} (${json.errors[0].extensions?.code ?? 'no code'})` };
  const payload = json.data?.[field];
  if (!payload) return { problem: `no ${field} in the answer` };
  if (payload.userErrors?.length) return { problem: `userError ${payload.userErrors[0].code}: ${payload.userErrors[0].message}` };
  return { payload };
}

/** Runs `fn` over `items`, `concurrency` at a time; throws the first failure. */
export async function parallel(items, concurrency, fn) {
  let next = 0;
  const out = new Array(items.length);
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

export function vmStatus(pid) {
  try {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return { rssMb: NaN, hwmMb: NaN };
  }
}

export function mb(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

export async function waitForStatus(pool, total, timeoutMs) {
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

export async function queueLatency(pool, since) {
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
    await pool.query(
      `select ${pct('extract(epoch from sent_at - created_at) * 1000')} from messages where created_at >= $1 and sent_at is not null`,
      [since],
    )
  ).rows[0];
  const num = (v) => (v === null || v === undefined ? null : Number(v));
  return { jobP50: num(job.p50), jobP95: num(job.p95), jobP99: num(job.p99), sentP50: num(sent.p50), sentP95: num(sent.p95) };
}

export async function runLoad({ concurrency, seconds, warmupSeconds = 0, count, ratePerSecond, maxInFlight = Infinity, once, cpu }) {
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
  // Open loop: requests due while maxInFlight are out are not sent (shed), so an overloaded
  // server shows as a shortfall instead of a queue in the load generator that outlives the run.
  let shed = 0;
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
    } else {
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
      while (issued + shed < due && more()) {
        if (inflight.size >= maxInFlight) {
          shed++;
          continue;
        }
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
  return { rate: done / elapsed, done, errors, errorSamples, shed, p50: q(0.5), p99: q(0.99), seconds: elapsed, cpuMs };
}

export function startHerald(role, env, children, logStream, nodeArgs = []) {
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

export function stopChild(child) {
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

export function countWarnings(file) {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => /"level":(40|50|60)/.test(l)).length;
  } catch {
    return 0;
  }
}

export function verdict(ok) {
  return ok ? 'PASS' : 'MISS';
}

export function renderTable(rows, header = ['figure', 'value', 'notes', 'target', 'result']) {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  return all
    .map((r) =>
      r
        .map((c, i) => String(c).padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export const CLK_TCK = 100;

export function procCpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

export function postgresPids() {
  try {
    return fs
      .readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d) && readComm(d) === 'postgres')
      .map(Number);
  } catch {
    return [];
  }
}

export function readComm(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Measures CPU ms of `pids()` (node processes) and of `db`'s backends over a load window. */
export function cpuMeter(pool, db, pids) {
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
        // A backend that started inside the window counts whole.
        if (now === undefined) return 0;
        return then === undefined ? now : now - then;
      };
      return { node: pids().reduce((sum, pid) => sum + delta(pid), 0), postgres: backends.reduce((sum, pid) => sum + delta(pid), 0) };
    },
  };
}

export function perOp(cpuMs, n) {
  if (!cpuMs || !n) return 'n/a';
  return `${((cpuMs.node / n) * 1000).toFixed(0)} µs node + ${((cpuMs.postgres / n) * 1000).toFixed(0)} µs PostgreSQL`;
}

export function smsBody(i) {
  return `Your repayment of 125.00 USD for loan ${String(100000 + (i % 900000))} is due on 2025-01-15.`;
}

export function uuidv4() {
  const b = randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return hex(b);
}

export function uuidv7(ms) {
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  return hex(b);
}

export function hex(b) {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function fmt(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

export function ms(v) {
  return v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(1)} ms`;
}

export function nproc() {
  try {
    return Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()) || os.cpus().length;
  } catch {
    return os.cpus().length;
  }
}

export function sleep(msDelay) {
  return new Promise((r) => setTimeout(r, msDelay));
}

/** /proc/stat's first line, in ms: all CPUs' busy and total time. */
export function machineCpu() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is inside user)
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = f[3] + (f[4] || 0);
  return { busy: ((total - idle) * 1000) / 100, total: (total * 1000) / 100 };
}

/** client port → Herald pid, from the processes' socket inodes and /proc/net/tcp{,6}. */
export function backendOwners(pids) {
  const inodeOwner = new Map();
  for (const pid of pids) {
    let fds = [];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodeOwner.set(m[1], pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  const byPort = new Map();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines = [];
    try {
      lines = fs.readFileSync(file, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const pid = inodeOwner.get(f[9]);
      if (pid) byPort.set(parseInt(f[1].split(':').pop(), 16), pid);
    }
  }
  return byPort;
}

/**
 * CPU ms of the whole PostgreSQL server on this machine: every postgres process's own time
 * (backends, WAL writer, checkpointer, background writer, autovacuum…) plus the children its
 * postmaster has reaped, so a backend that exits between two readings still counts. The
 * difference of two readings is all the server did in between, whoever asked for it.
 * Answers { total, byPid } (byPid: each live process's own time).
 */
export function postgresCpu() {
  const byPid = new Map();
  let total = 0;
  for (const pid of postgresPids()) {
    let f;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    } catch {
      continue; // exited meanwhile: its time is in its parent's reaped children now
    }
    const own = ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
    byPid.set(pid, own);
    total += own;
    // The postmaster is the one whose parent is not a postgres process.
    if (readComm(f[1]) !== 'postgres') total += ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK;
  }
  return { total, byPid };
}

/** The raw INSERT baselines' table: a row like a message, with the id order and two of `messages`' indexes. */
export const RAW_MESSAGES_DDL = `
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
`;

/** A runLoad `once` writing one message-like row into bench_raw_messages per call, autocommit. */
export function rawMessageInserter(pool) {
  const tenant = uuidv4();
  const recipients = Array.from({ length: 8 }, () => uuidv4());
  const sql =
    'insert into bench_raw_messages (id, tenant_id, recipient_id, channel, status, body, destination, scheduled_at, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)';
  let i = 0;
  return async () => {
    const n = i++;
    const now = new Date();
    await pool.query(sql, [
      uuidv7(now.getTime()),
      tenant,
      recipients[n % recipients.length],
      'SMS',
      'QUEUED',
      smsBody(n),
      '+14155550123',
      null,
      now,
    ]);
    return null;
  };
}

/**
 * Waits (up to 2 minutes) until `need` connections are free on the server; answers how many
 * were. Other runs on a shared server hold them; short of them, Herald meets "too many clients".
 */
export async function waitForFreeConnections(pool, need, who, prefix = '  ') {
  const free = async () =>
    (
      await pool.query(
        `select current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int - (select count(*)::int from pg_stat_activity where backend_type = 'client backend') as n`,
      )
    ).rows[0].n;
  const deadline = performance.now() + 120_000;
  let n = await free();
  if (n < need)
    console.log(`${prefix}PostgreSQL has ${n} connections free, ${who} wants ~${need}: waiting (other runs on the server hold them)…`);
  while (n < need && performance.now() < deadline) {
    await sleep(2000);
    n = await free();
  }
  if (n < need) console.log(`${prefix}still only ${n} connections free after 2 minutes: going on; expect "too many clients"`);
  return n;
}
