// Bench stage "latency": how fast one worker with Herald's default settings sends when the
// provider takes as long to answer as a real one does, against its own rate when the
// provider answers at once, in the same run.
//   1. for each provider latency (0, then BENCH_PROVIDER_LATENCY_MS): a fresh database, a
//      `--role api` child, a backlog of BENCH_LATENCY_BACKLOG sendSms, then one `--role
//      worker` child draining it; the rate is taken between the first and the last sent_at
//   2. with the slow provider: sendSms open-loop at BENCH_LATENCY_SUSTAIN_LOAD (0.7) × that
//      rate for BENCH_LATENCY_SUSTAIN_SECONDS (300), created → SENT p95 of the messages
//      accepted after the first 10 s
// Neither worker is given HERALD_WORKER_CONCURRENCY unless the bench's environment sets it:
// the figure is what a deployment gets without tuning.
import {
  createClientRecipients,
  fmt,
  graphqlClient,
  ms,
  numEnv,
  payloadOf,
  queueLatency,
  runLoad,
  smsBody,
  stopChild,
  verdict,
  waitForStatus,
} from './lib.mjs';

/** The slow provider's rate against the instant one's. */
const TARGET_RATIO = 0.8;
/** created → SENT p95 under the sustained load, ms. */
const TARGET_SENT_P95_MS = 1000;
const SUSTAIN_WARMUP_SECONDS = 10;

const SEND_SMS = `mutation Bench($input: SendSmsInput!) {
  sendSms(input: $input) { message { id status } userErrors { code message field } }
}`;

export function latencySettings() {
  return {
    latencyMs: numEnv('BENCH_PROVIDER_LATENCY_MS', 200),
    backlog: numEnv('BENCH_LATENCY_BACKLOG', 6000),
    sustainLoad: numEnv('BENCH_LATENCY_SUSTAIN_LOAD', 0.7, 0.01),
    sustainSeconds: numEnv('BENCH_LATENCY_SUSTAIN_SECONDS', 300),
  };
}

export function latencyBudgetSeconds() {
  const cfg = latencySettings();
  // Two backlogs written and drained (at 20/s at worst), the sustained load and its drain.
  return 2 * (120 + cfg.backlog / 20) + cfg.sustainSeconds + 180;
}

export async function latencyStage({ s, pg, createDb, urlOf, dbPrefix, startRole, fakes }) {
  const cfg = latencySettings();
  const runs = [];
  for (const latencyMs of [0, cfg.latencyMs]) {
    const db = `${dbPrefix}${latencyMs}`;
    await createDb(db);
    runs.push(await drainOnce({ s, pg, url: urlOf(db), db, startRole, fakes, latencyMs, cfg, sustain: latencyMs > 0 }));
  }
  await fakes.setLatency(0);
  const [instant, slow] = runs;
  const ratio = slow.rate / instant.rate;
  const concurrency = s.workerConcurrency === undefined ? 'default settings' : `HERALD_WORKER_CONCURRENCY=${s.workerConcurrency}`;
  const failed = runs.reduce((n, r) => n + r.failed + (r.sustained?.failed ?? 0), 0);
  const errors = runs.reduce((n, r) => n + r.enqueueErrors + (r.sustained?.errors ?? 0), 0);
  const sus = slow.sustained;
  return {
    title: `one worker against a slow provider (${concurrency})`,
    rows: [
      [
        'drain, zero-latency Twilio fake',
        `${fmt(instant.rate)} /s`,
        `${fmt(cfg.backlog)} queued; first to last SENT; provider calls in flight: max ${instant.maxInFlight}`,
        'baseline',
        '',
      ],
      [
        `drain, Twilio fake answering in ${cfg.latencyMs} ms`,
        `${fmt(slow.rate)} /s`,
        `${fmt(cfg.backlog)} queued; provider calls in flight: max ${slow.maxInFlight}`,
        '',
        '',
      ],
      [`${cfg.latencyMs} ms / zero latency`, ratio.toFixed(2), '', `≥ ${TARGET_RATIO}`, verdict(ratio >= TARGET_RATIO)],
      [
        `created → SENT p95 at ${fmt(sus.rate)} /s offered for ${cfg.sustainSeconds} s`,
        ms(sus.sentP95),
        `${cfg.sustainLoad} × the ${cfg.latencyMs} ms drain rate, open loop, 1 API + 1 worker; p50 ${ms(sus.sentP50)}; backlog at the end of the load ${sus.backlogAtEnd}`,
        `< ${TARGET_SENT_P95_MS} ms`,
        verdict(sus.sentP95 !== null && sus.sentP95 < TARGET_SENT_P95_MS),
      ],
      [
        'sendSms accepted during it',
        `${fmt(sus.accepted)} /s`,
        `${fmt(sus.shed)} requests shed while ${4 * s.concurrency} were out (the API behind the offered rate)`,
        `≥ 0.95 × ${fmt(sus.rate)} /s`,
        verdict(sus.accepted >= 0.95 * sus.rate),
      ],
      [
        'errors',
        String(errors + failed),
        `${errors} refused sends, ${failed} FAILED messages; every message SENT exactly once: ${runs.every((r) => r.exactlyOnce) ? 'yes' : 'NO'}`,
        '0',
        verdict(errors + failed === 0 && runs.every((r) => r.exactlyOnce)),
      ],
    ],
  };
}

async function drainOnce({ s, pg, url, db, startRole, fakes, latencyMs, cfg, sustain }) {
  await fakes.setLatency(latencyMs);
  console.log(`bench: latency: provider answering in ${latencyMs} ms; starting Herald --role api, ${fmt(cfg.backlog)} sendSms…`);
  const api = await startRole('api', db);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  let worker;
  try {
    const recipients = await createClientRecipients(api.port, {
      n: 8,
      concurrency: 4,
      operation: 'Bench',
      label: 'Latency client',
      phonePrefix: '+1415558',
    });
    const enqueue = await sendSms(api.port, recipients, { concurrency: s.concurrency, count: cfg.backlog });
    const fakeBefore = await fakes.count();
    worker = await startRole('worker', db);
    const inFlight = inFlightSampler(fakes);
    const drained = await waitForStatus(pool, cfg.backlog, Math.max(120_000, cfg.backlog * 50));
    const maxInFlight = inFlight.stop();
    const span = (
      await pool.query(
        `select extract(epoch from max(sent_at) - min(sent_at)) as span,
                count(*) filter (where status = 'SENT')::int as sent, count(*) filter (where status = 'FAILED')::int as failed
           from messages`,
      )
    ).rows[0];
    const rate = span.sent > 1 && Number(span.span) > 0 ? (span.sent - 1) / Number(span.span) : 0;
    console.log(
      `  drained ${span.sent} SENT, ${span.failed} FAILED at ${fmt(rate)} /s (first to last SENT)${drained ? '' : ' (TIMED OUT)'}; provider calls in flight: max ${maxInFlight}`,
    );
    let sustained;
    let posts = (await fakes.count()) - fakeBefore;
    let total = cfg.backlog;
    if (sustain) {
      const load = Math.max(1, Math.round(rate * cfg.sustainLoad));
      console.log(`bench: latency: ${load} sendSms/s open loop for ${cfg.sustainSeconds} s with the worker running…`);
      const startedAt = Date.now();
      let since;
      setTimeout(async () => {
        since = (await pool.query('select now() as t')).rows[0].t;
      }, SUSTAIN_WARMUP_SECONDS * 1000).unref();
      const steady = await sendSms(api.port, recipients, {
        concurrency: s.concurrency,
        seconds: cfg.sustainSeconds,
        ratePerSecond: load,
        // Requests beyond these would only wait in the load generator: shed and counted.
        maxInFlight: 4 * s.concurrency,
      });
      const backlogAtEnd = (await pool.query(`select count(*)::int as n from messages where status in ('QUEUED', 'SENDING')`)).rows[0].n;
      total += steady.done + steady.errors;
      await waitForStatus(pool, cfg.backlog + steady.done, 120_000);
      const latency = await queueLatency(pool, since ?? new Date(startedAt));
      const failed = (await pool.query(`select count(*)::int as n from messages where status = 'FAILED'`)).rows[0].n - span.failed;
      sustained = { rate: load, accepted: steady.rate, shed: steady.shed, errors: steady.errors, failed, backlogAtEnd, ...latency };
      console.log(
        `  ${steady.done} accepted at ${fmt(steady.rate)}/s of ${load}/s offered (${steady.shed} not sent: the API was behind), errors ${steady.errors}; created→SENT p50 ${ms(latency.sentP50)}, p95 ${ms(latency.sentP95)}; backlog when the load stopped ${backlogAtEnd}`,
      );
      posts = (await fakes.count()) - fakeBefore;
    }
    const sentRows = (await pool.query(`select count(*)::int as n from messages where status = 'SENT'`)).rows[0].n;
    return {
      latencyMs,
      rate,
      failed: span.failed,
      enqueueErrors: enqueue.errors,
      maxInFlight,
      sustained,
      exactlyOnce: posts === sentRows && sentRows <= total,
    };
  } finally {
    if (worker) await stopChild(worker.child);
    await stopChild(api.child);
    await pool.end();
  }
}

/** The most provider calls the fake held at once, sampled every 50 ms from its counters. */
function inFlightSampler(fakes) {
  let max = 0;
  const timer = setInterval(async () => {
    const c = await fakes.counts();
    if (c.inFlight !== undefined) max = Math.max(max, c.inFlight);
  }, 50);
  return {
    stop() {
      clearInterval(timer);
      return max;
    },
  };
}

async function sendSms(port, recipients, { concurrency, count, seconds, ratePerSecond, maxInFlight }) {
  const client = graphqlClient(port, concurrency);
  let n = 0;
  try {
    return await runLoad({
      concurrency,
      count,
      seconds,
      ratePerSecond,
      maxInFlight,
      once: async () => {
        const i = n++;
        return payloadOf(
          await client.post(SEND_SMS, { input: { clientId: recipients[i % recipients.length], message: smsBody(i) } }),
          'sendSms',
        ).problem;
      },
    });
  } finally {
    client.agent.destroy();
  }
}
