// Stage `queries` of `npm run bench`: `messages(first: 50, filter…)` with 1,000,000 messages
// in one tenant. For every filter MessageFilter offers (and a few combinations, deep
// cursors, a second tenant) it measures client-side p50/p99 over HTTP, EXPLAINs (ANALYZE,
// BUFFERS) the exact SQL Herald's compiled query builders produce, states what
// `totalCount` costs when selected, and checks that it is not computed when not selected.
//
//   node scripts/bench/queries.mjs      runs it alone: its own database (DATABASE_URL is the
//                                       admin connection, else postgres@127.0.0.1), its own
//                                       Herald `--role api`; prints the tables.
//   scripts/bench.mjs                   calls queriesStage() and prints its table.
//
// Settings (environment): BENCH_QUERY_MESSAGES (1,000,000: messages of the default tenant),
// BENCH_QUERY_OTHER_MESSAGES (50,000: messages of a second tenant), BENCH_QUERY_RECIPIENTS
// (1,000), BENCH_QUERY_ORDERS (50,000), BENCH_QUERY_REQUESTS (200 per filter, after
// BENCH_QUERY_WARMUP = 20), BENCH_QUERY_COUNT_REQUESTS (20 per totalCount filter),
// BENCH_QUERY_CONCURRENCY (4: the mixed run), BENCH_QUERY_CASE_SECONDS (10: a filter whose requests
// have taken this long in all is measured no further, and the mixed run stops after it), BENCH_QUERY_SETUP_SQL (SQL run on the bench
// database after seeding, before ANALYZE: to try an index, e.g. "create index …"),
// BENCH_PG_LOG (PostgreSQL's log file, for the lazy-count check; default: the newest
// /var/log/postgresql/postgresql-*.log), BENCH_KEEP_DB=1 (standalone: keep the database).
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  buildIfStale,
  fmt,
  graphqlClient,
  heraldEnv,
  nproc,
  numEnv,
  openBenchRun,
  renderTable,
  root,
  runLoad,
  sleep,
  startHerald,
  stopChild,
  verdict,
} from './lib.mjs';

const DEFAULT_TENANT_ID = '00000000-0000-7000-8000-000000000001';
const TARGET_P99_MS = 20;
const PAGE = 50;
/** A plan that sorts more rows than this, or reads more than PLAN_MAX_ROWS_READ rows to return 51, does not scale. */
const PLAN_MAX_SORTED = 1_000;
const PLAN_MAX_ROWS_READ = 10_000;
const DAY_MS = 86_400_000;
const SPAN_DAYS = 90;

const STATUSES = ['DELIVERED', 'SENT', 'FAILED', 'QUEUED', 'SCHEDULED', 'CANCELLED', 'SENDING'];
const CHANNELS = ['SMS', 'EMAIL', 'WHATSAPP', 'TWITTER_DM'];

const PAGE_QUERY = `query BenchMessages($first: Int, $after: String, $filter: MessageFilter) {
  messages(first: $first, after: $after, filter: $filter) { edges { node { id status channel } } pageInfo { hasNextPage endCursor } }
}`;
const VIEWER_QUERY = `query BenchViewer { viewer { id } }`;
const COUNT_QUERY = `query BenchMessagesCount($first: Int, $after: String, $filter: MessageFilter) {
  messages(first: $first, after: $after, filter: $filter) { totalCount edges { node { id status channel } } pageInfo { hasNextPage endCursor } }
}`;

export function querySettings() {
  return {
    messages: numEnv('BENCH_QUERY_MESSAGES', 1_000_000),
    otherMessages: numEnv('BENCH_QUERY_OTHER_MESSAGES', 50_000),
    recipients: numEnv('BENCH_QUERY_RECIPIENTS', 1_000),
    orders: numEnv('BENCH_QUERY_ORDERS', 50_000),
    requests: numEnv('BENCH_QUERY_REQUESTS', 200),
    warmup: numEnv('BENCH_QUERY_WARMUP', 20, 0),
    countRequests: numEnv('BENCH_QUERY_COUNT_REQUESTS', 20),
    concurrency: numEnv('BENCH_QUERY_CONCURRENCY', 4),
    caseSeconds: numEnv('BENCH_QUERY_CASE_SECONDS', 10),
    setupSql: process.env.BENCH_QUERY_SETUP_SQL || '',
    pgLog: process.env.BENCH_PG_LOG || newestPgLog(),
  };
}

/** Herald's rate limit (500/s by default) would throttle the mixed run; the figures are about the query. */
export const QUERIES_HERALD_ENV = { HERALD_RATE_LIMIT_PER_SECOND: '0' };

// ---------------------------------------------------------------------------------------
// the stage

export async function queriesStage({ pg, admin, db, url, startRole }) {
  const q = querySettings();
  const stageStarted = performance.now();
  console.log(`bench: queries: starting Herald --role api…`);
  let api = await startRole('api', db, QUERIES_HERALD_ENV);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    // ---- the second tenant, through the API (it gets its own ADMIN key and SANDBOX gateways)
    const t1 = graphqlClient(api.port, 1);
    const created = await gql(
      t1,
      `mutation { createTenant(input: { name: "Bench other tenant" }) { tenant { id } adminKey userErrors { code message } } }`,
    );
    const other = created.createTenant;
    if (!other?.adminKey) throw new Error(`createTenant: ${JSON.stringify(created).slice(0, 300)}`);
    const otherTenantId = uuidOfGlobalId(other.tenant.id);

    // ---- seeding ------------------------------------------------------------------------------
    const now = Date.now();
    const spanStart = now - SPAN_DAYS * DAY_MS;
    const seedStarted = performance.now();
    await seedRecipients(pool, DEFAULT_TENANT_ID, q.recipients, spanStart - DAY_MS, 'c');
    await seedRecipients(pool, otherTenantId, Math.max(10, Math.round(q.recipients / 10)), spanStart - DAY_MS, 'o');
    const recipientsSeconds = (performance.now() - seedStarted) / 1000;
    console.log(
      `bench: queries: seeding ${fmt(q.messages)} messages (+ ${fmt(q.otherMessages)} in a second tenant) with INSERT … SELECT … generate_series…`,
    );
    // Herald's secondary indexes on messages are dropped for the INSERTs and rebuilt from their
    // own definitions (pg_get_indexdef) after: one sorted build each instead of 10 index
    // insertions per row. The foreign keys are not checked row by row (session_replication_role
    // = replica) but verified once, set-based, after.
    const indexDefs = (
      await pool.query(
        `select c.relname as name, pg_get_indexdef(i.indexrelid) as def from pg_index i join pg_class c on c.oid = i.indexrelid
          where i.indrelid = 'messages'::regclass and not i.indisprimary order by c.relname`,
      )
    ).rows;
    for (const { name } of indexDefs) await pool.query(`drop index ${name}`);
    let t = performance.now();
    await seedMessages(pool, {
      tenantId: DEFAULT_TENANT_ID,
      n: q.messages,
      orders: q.orders,
      spanStart,
      spanMs: now - spanStart,
      salt: 'a',
    });
    const insertSeconds = (performance.now() - t) / 1000;
    await seedMessages(pool, {
      tenantId: otherTenantId,
      n: q.otherMessages,
      orders: Math.max(10, Math.round((q.orders * q.otherMessages) / q.messages)),
      spanStart,
      spanMs: now - spanStart,
      salt: 'b',
    });
    t = performance.now();
    {
      const client = await pool.connect();
      try {
        await client.query(`set maintenance_work_mem = '256MB'`);
        for (const { def } of indexDefs) await client.query(def);
      } finally {
        client.release();
      }
    }
    const indexSeconds = (performance.now() - t) / 1000;
    const orphans = (
      await pool.query(
        `select count(*)::int as n from messages m
          where not exists (select 1 from recipients r where r.id = m.recipient_id and r.tenant_id = m.tenant_id)
             or (m.gateway_id is not null and not exists (select 1 from gateways g where g.id = m.gateway_id and g.tenant_id = m.tenant_id and g.channel = m.channel))`,
      )
    ).rows[0].n;
    if (orphans) throw new Error(`seeding: ${orphans} messages name a recipient or gateway that is not theirs`);
    if (q.setupSql) {
      console.log(`  BENCH_QUERY_SETUP_SQL: ${q.setupSql}`);
      t = performance.now();
      await pool.query(q.setupSql);
      console.log(`  (${((performance.now() - t) / 1000).toFixed(1)} s)`);
    }
    t = performance.now();
    // What autovacuum would have done on a table this old: statistics and the visibility map
    // (index-only scans for COUNT), hint bits set.
    await pool.query('vacuum (analyze) messages');
    await pool.query('vacuum (analyze) recipients');
    const vacuumSeconds = (performance.now() - t) / 1000;
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const sizes = (
      await pool.query(
        `select pg_total_relation_size('messages') as total, pg_relation_size('messages') as heap,
                (select count(*)::int from messages where tenant_id = $1) as t1, (select count(*)::int from messages where tenant_id = $2) as t2`,
        [DEFAULT_TENANT_ID, otherTenantId],
      )
    ).rows[0];
    console.log(
      `  seeded in ${seedSeconds.toFixed(1)} s (recipients ${recipientsSeconds.toFixed(1)} s, ${fmt(q.messages)}-row INSERT ${insertSeconds.toFixed(1)} s, ${indexDefs.length} indexes rebuilt ${indexSeconds.toFixed(1)} s, VACUUM ANALYZE ${vacuumSeconds.toFixed(1)} s); ` +
        `messages ${mib(sizes.heap)} heap, ${mib(sizes.total)} with indexes; ${fmt(sizes.t1)} + ${fmt(sizes.t2)} rows`,
    );
    const mix = (
      await pool.query(
        `select count(*) filter (where order_id is not null)::int as orders, count(distinct order_id)::int as distinct_orders,
                count(*) filter (where invoice_number is not null)::int as invoices,
                (select json_object_agg(status, n) from (select status, count(*)::int as n from messages where tenant_id = $1 group by status) x) as statuses
           from messages where tenant_id = $1`,
        [DEFAULT_TENANT_ID],
      )
    ).rows[0];
    console.log(
      `  statuses ${statusMix(mix.statuses, sizes.t1)}; ${pct(mix.orders, sizes.t1)} with one of ${fmt(mix.distinct_orders)} order ids, ` +
        `${pct(mix.invoices, sizes.t1)} invoice DMs`,
    );

    // ---- the values the requests cycle through --------------------------------------------------
    const data = await sampleValues(pool, otherTenantId, spanStart, now);
    const cases = buildCases(data, spanStart, now);
    const clients = { t1, t2: graphqlClient(api.port, 1, other.adminKey) };

    // ---- 1. one at a time, per filter ----------------------------------------------------------
    console.log(
      `bench: queries: ${cases.length} filters, ${q.warmup} warm-up + ${q.requests} requests each, one at a time, the filters in turn…`,
    );
    const floorCase = { name: 'floor: { viewer { id } }', query: VIEWER_QUERY, variants: [{}] };
    const [floor, ...results] = await measureInterleaved(clients, [floorCase, ...cases], PAGE_QUERY, q.warmup, q.requests, q.caseSeconds);
    for (const r of [floor, ...results]) {
      console.log(
        `  ${r.name.padEnd(44)} p50 ${r.p50.toFixed(2).padStart(6)} ms  p99 ${r.p99.toFixed(2).padStart(6)} ms  max ${r.max.toFixed(2).padStart(6)} ms  errors ${r.errors}${r.errorSamples.length ? ` (${r.errorSamples[0]})` : ''}`,
      );
    }

    // ---- 2. all filters mixed, several at a time ---------------------------------------------------
    const mixed = await measureMixed(api.port, other.adminKey, cases, q);
    console.log(
      `  mixed, ${q.concurrency} at a time: ${fmt(mixed.rate)} queries/s, p50 ${mixed.p50.toFixed(2)} ms, p99 ${mixed.p99.toFixed(2)} ms, errors ${mixed.errors}`,
    );

    // ---- 3. totalCount, when selected ------------------------------------------------------------
    console.log(`bench: queries: totalCount selected, ${q.countRequests} requests per filter…`);
    const countCases = buildCountCases(cases);
    const countResults = (
      await measureInterleaved(clients, countCases, COUNT_QUERY, Math.min(3, q.warmup), q.countRequests, q.caseSeconds)
    ).map((r) => ({
      ...r,
      without: results.find((x) => x.name === countCases.find((c) => c.name === r.name).base),
    }));
    for (const r of countResults) {
      console.log(
        `  ${r.name.padEnd(44)} p50 ${r.p50.toFixed(2).padStart(7)} ms  p99 ${r.p99.toFixed(2).padStart(7)} ms  (without totalCount p50 ${r.without.p50.toFixed(2)} ms) counts ${r.countRange}`,
      );
    }

    // ---- 4. tenant scoping ---------------------------------------------------------------------
    const scoping = await checkScoping(clients, data, q, otherTenantId);
    console.log(
      `  scoping: totalCount ${fmt(scoping.t1Count)} (tenant 1), ${fmt(scoping.t2Count)} (tenant 2); another tenant's recipient → ${scoping.foreignEdges} edges`,
    );

    // ---- 5. EXPLAIN (ANALYZE, BUFFERS) of the SQL Herald runs -----------------------------------------
    console.log(`bench: queries: EXPLAIN (ANALYZE, BUFFERS) of each filter's SQL…`);
    const sqlOf = await heraldSql(pool);
    const plans = [];
    for (const c of cases) {
      const tenantId = c.client === 't2' ? otherTenantId : DEFAULT_TENANT_ID;
      const variants = c.variants.slice(0, 8);
      const explained = [];
      for (const vars of variants) {
        const { sql, params } = await sqlOf.page(tenantId, vars);
        explained.push(await explain(pool, sql, params));
      }
      const plan = summarizePlans(explained);
      plan.sql = (await sqlOf.page(tenantId, variants[0])).sql;
      plans.push({ name: c.name, ...plan, variants: variants.length });
      console.log(
        `  ${c.name.padEnd(44)} ${plan.indexes.join(', ') || '(no index)'}; worst ${plan.worstMs.toFixed(2)} ms, ${fmt(plan.rowsRead)} rows read${plan.problems.length ? `; ${plan.problems.join('; ')}` : ''}`,
      );
    }
    const countPlans = [];
    for (const c of countCases) {
      const { sql, params } = await sqlOf.count(DEFAULT_TENANT_ID, c.variants[0]);
      const p = summarizePlans([await explain(pool, sql, params)], { page: false });
      p.sql = sql;
      countPlans.push({ name: c.name, ...p });
      console.log(
        `  count: ${c.name.padEnd(37)} ${p.indexes.join(', ') || '(no index)'}${p.seqScan ? ' + Seq Scan' : ''}; ${p.worstMs.toFixed(2)} ms, ${p.heapFetches} heap fetches`,
      );
    }

    // ---- 6. totalCount not selected → no COUNT statement (server log, log_statement = all) ---------------
    await stopChild(api.child);
    const lazy = await checkLazyCount({ admin, db, q, cases, countCases, sqlOf, start: () => startRole('api', db, QUERIES_HERALD_ENV) });
    console.log(`  lazy totalCount: ${lazy.note}`);

    // ---- figures ---------------------------------------------------------------------------------
    const rows = [];
    rows.push([
      'seeding',
      `${seedSeconds.toFixed(1)} s`,
      `${fmt(sizes.t1)} messages (+ ${fmt(sizes.t2)} in a second tenant) by one INSERT … SELECT … generate_series each (${insertSeconds.toFixed(1)} s for the big one), ${indexDefs.length} indexes rebuilt ${indexSeconds.toFixed(1)} s, VACUUM ANALYZE ${vacuumSeconds.toFixed(1)} s; messages ${mib(sizes.heap)} heap, ${mib(sizes.total)} with indexes`,
      '',
      '',
    ]);
    rows.push([
      'floor: `{ viewer { id } }` p99',
      `${floor.p99.toFixed(2)} ms`,
      `p50 ${floor.p50.toFixed(2)} ms, max ${floor.max.toFixed(2)} ms; the same HTTP + GraphQL + auth path with no messages query, in the same rounds: what every figure below carries`,
      '',
      '',
    ]);
    for (const r of results) {
      const plan = plans.find((p) => p.name === r.name);
      rows.push([
        `${r.name} p99`,
        `${r.p99.toFixed(2)} ms`,
        `p50 ${r.p50.toFixed(2)} ms, max ${r.max.toFixed(2)} ms; ${r.done} requests${r.capped ? ` (stopped after ${q.caseSeconds} s)` : ''}, ${r.variantCount} distinct values; errors ${r.errors}${r.bad ? ` (${r.bad} with a node outside the filter)` : ''}; SQL ${plan.worstMs.toFixed(2)} ms (worst of ${plan.variants} EXPLAIN ANALYZE)`,
        `< ${TARGET_P99_MS} ms`,
        verdict(r.p99 < TARGET_P99_MS && r.errors === 0 && !r.bad),
      ]);
      rows.push([
        `${r.name} plan`,
        plan.indexes.join(', ') || '(no index)',
        plan.problems.length ? plan.problems.join('; ') : `${planShape(plan)}; ≤ ${fmt(plan.rowsRead)} rows read for ${PAGE + 1}`,
        `index, no Seq Scan, no Sort > ${fmt(PLAN_MAX_SORTED)} rows, ≤ ${fmt(PLAN_MAX_ROWS_READ)} rows read`,
        verdict(plan.problems.length === 0),
      ]);
    }
    rows.push([
      `all filters mixed, ${q.concurrency} at a time`,
      `${fmt(mixed.rate)} /s`,
      `p50 ${mixed.p50.toFixed(2)} ms, p99 ${mixed.p99.toFixed(2)} ms over ${mixed.done} requests on ${nproc()} CPUs (client, Herald and PostgreSQL share them); errors ${mixed.errors}`,
      '',
      '',
    ]);
    for (const r of countResults) {
      const p = countPlans.find((x) => x.name === r.name);
      rows.push([
        `${r.name} p50 / p99`,
        `${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} ms`,
        `totalCount ${r.countRange}; +${Math.max(0, r.p50 - r.without.p50).toFixed(1)} ms p50 over the same page without totalCount; COUNT SQL ${p.worstMs.toFixed(1)} ms (${p.indexes.join(', ') || 'no index'}${p.seqScan ? ', Seq Scan' : ''}, ${fmt(p.heapFetches)} heap fetches)`,
        'stated',
        '',
      ]);
    }
    rows.push([
      'COUNT statements for queries without totalCount',
      lazy.without === null ? 'n/a' : String(lazy.without),
      lazy.note,
      '0',
      lazy.without === null ? 'n/a' : verdict(lazy.without === 0 && lazy.withCount === lazy.expectedWith),
    ]);
    rows.push([
      'tenant scoping',
      `${fmt(scoping.t1Count)} / ${fmt(scoping.t2Count)}`,
      `totalCount without filter for each tenant's key; tenant 1 filtering on a tenant-2 recipient got ${scoping.foreignEdges} edges`,
      `${fmt(sizes.t1)} / ${fmt(sizes.t2)}, 0 edges`,
      verdict(scoping.t1Count === sizes.t1 && scoping.t2Count === sizes.t2 && scoping.foreignEdges === 0),
    ]);
    const stageSeconds = (performance.now() - stageStarted) / 1000;

    const planRows = plans.map((p) => [
      p.name,
      p.indexes.join(', ') || '—',
      planShape(p),
      `${p.worstMs.toFixed(2)} ms`,
      fmt(p.rowsRead),
      fmt(p.buffers),
      p.problems.join('; ') || 'ok',
    ]);
    console.log(
      `\nqueries: plans (worst of each filter's EXPLAIN ANALYZE), the stage took ${stageSeconds.toFixed(0)} s\n${renderPlans(planRows)}`,
    );
    return { key: 'queries', title: `queries (messages(first: 50, filter…), ${fmt(sizes.t1)} messages)`, rows };
  } finally {
    await pool.end().catch(() => undefined);
    if (api?.child) await stopChild(api.child).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------
// seeding

/** UUIDv7 made in SQL: 48-bit millisecond prefix `ms`, version 7, variant 10, the rest from md5(seed). */
function uuidv7Sql(ms, seed) {
  return `(lpad(to_hex((${ms})::bigint), 12, '0') || '7' || substr(md5(${seed}), 1, 3) || translate(substr(md5(${seed}), 4, 1), '0123456789abcdef', '89ab89ab89ab89ab') || substr(md5(${seed}), 5, 15))::uuid`;
}

async function seedRecipients(pool, tenantId, n, atMs, tag) {
  await pool.query(
    `insert into recipients (id, tenant_id, kind, display_name, external_ref, phone, email, whatsapp, twitter_handle, created_at, updated_at)
     select ${uuidv7Sql(`$3::bigint + g`, `'${tag}' || g`)}, $1, (array['CUSTOMER', 'CUSTOMER', 'CLIENT', 'STAFF']::recipient_kind[])[1 + g % 4],
            'Bench ${tag} ' || g, '${tag}-' || g, '+1415' || lpad((5550000 + g)::text, 7, '0'), '${tag}' || g || '@example.com',
            '+1415' || lpad((5550000 + g)::text, 7, '0'), 'bench_${tag}' || g,
            timestamptz 'epoch' + ($3::bigint + g) * interval '1 millisecond', now()
       from generate_series(0, $2 - 1) g`,
    [tenantId, n, atMs],
  );
}

/**
 * n messages of one tenant in one INSERT … SELECT: ids UUIDv7 of created_at, in time order over
 * the span; ~10 % invoice DMs, ~30 % order messages (SMS/EMAIL/WHATSAPP), the rest mixed.
 */
async function seedMessages(pool, { tenantId, n, orders, spanStart, spanMs, salt }) {
  const step = spanMs / n;
  const client = await pool.connect();
  try {
    await client.query(`set synchronous_commit = off`);
    // Foreign keys verified set-based by the caller; no per-row RI trigger.
    await client.query(`set session_replication_role = replica`);
    await client.query(
      `with cfg as (
         select (select array_agg(id order by id) from recipients where tenant_id = $1) as rs,
                (select count(*)::int from recipients where tenant_id = $1) as nr,
                ${CHANNELS.map(
                  (c) =>
                    `(select id from gateways where tenant_id = $1 and channel = '${c}' order by is_default desc, enabled desc, id limit 1) as gw_${c.toLowerCase()}`,
                ).join(',\n                ')}
       ),
       src as (
         select g, floor($3::float8 + (g - 1 + random()) * $4::float8)::bigint as ms,
                random() as r_status, random() as r_channel, random() as r_kind, random() as r_recipient, random() as r_order
           from generate_series(1, $2::int) g
       ),
       shaped as (
         select g, ms, timestamptz 'epoch' + ms * interval '1 millisecond' as created, floor(r_recipient * cfg.nr)::int as ri, cfg.*,
                case when r_kind < 0.10 then 'invoice' when r_kind < 0.40 then 'order' else 'plain' end as kind,
                case when r_kind < 0.10 then 'TWITTER_DM'
                     when r_kind < 0.40 then (case when r_channel < 0.5 then 'SMS' when r_channel < 0.8 then 'EMAIL' else 'WHATSAPP' end)
                     else (case when r_channel < 0.45 then 'SMS' when r_channel < 0.75 then 'EMAIL' when r_channel < 0.92 then 'WHATSAPP' else 'TWITTER_DM' end)
                end::channel as channel,
                -- The last day holds the backlog (QUEUED, SCHEDULED, SENDING); older messages are final.
                case when ms >= $6::bigint then
                       case when r_status < 0.40 then 'DELIVERED' when r_status < 0.62 then 'SENT' when r_status < 0.67 then 'FAILED'
                            when r_status < 0.69 then 'CANCELLED' when r_status < 0.84 then 'QUEUED' when r_status < 0.98 then 'SCHEDULED' else 'SENDING' end
                     else
                       case when r_status < 0.58 then 'DELIVERED' when r_status < 0.90 then 'SENT' when r_status < 0.975 then 'FAILED' else 'CANCELLED' end
                end::message_status as status,
                'ORD-' || (1000000 + least($5::int - 1, floor((g::float8 / $2::float8) * $5::float8 + r_order * 20)::int)) as order_no
           from src, cfg
       )
       insert into messages (id, tenant_id, recipient_id, gateway_id, channel, status, body, subject, destination, scheduled_at, sent_at, delivered_at,
                             attempts, provider_message_id, error_code, error_message, order_id, order_status, invoice, invoice_number, billing_cycle_id,
                             created_at, updated_at)
       select ${uuidv7Sql('ms', `'${salt}' || g`)}, $1, rs[1 + ri],
              case channel when 'SMS' then gw_sms when 'EMAIL' then gw_email when 'WHATSAPP' then gw_whatsapp else gw_twitter_dm end,
              channel, status,
              case kind when 'invoice' then 'Invoice INV-' || lpad(g::text, 8, '0') || ' of $' || (100 + g % 4900) || '.00 is due on ' || to_char(created + interval '30 days', 'YYYY-MM-DD') || '.'
                        when 'order' then 'Your order ' || order_no || ' is ' || (array['confirmed', 'packed', 'shipped', 'out for delivery', 'delivered'])[1 + g % 5] || '. Thank you for your order.'
                        else 'Your repayment of 125.00 USD for loan ' || (100000 + g % 900000) || ' is due on ' || to_char(created + interval '14 days', 'YYYY-MM-DD') || '.' end,
              case when channel = 'EMAIL' then 'Herald notification' end,
              case channel when 'EMAIL' then 'c' || ri || '@example.com' when 'TWITTER_DM' then '@bench_c' || ri else '+1415' || lpad((5550000 + ri)::text, 7, '0') end,
              case when status = 'SCHEDULED' then created + interval '2 days' end,
              case when status in ('SENT', 'DELIVERED') then created + interval '2 seconds' end,
              case when status = 'DELIVERED' then created + interval '9 seconds' end,
              case when status in ('SENT', 'DELIVERED', 'SENDING') then 1 when status = 'FAILED' then 3 else 0 end,
              case when status in ('SENT', 'DELIVERED') then 'SM' || md5('p' || '${salt}' || g) end,
              case when status = 'FAILED' then '30003' end,
              case when status = 'FAILED' then 'Unreachable destination handset' end,
              case when kind = 'order' then order_no end,
              case when kind = 'order' then (array['CONFIRMED', 'PACKED', 'SHIPPED', 'OUT_FOR_DELIVERY', 'DELIVERED'])[1 + g % 5] end,
              case when kind = 'invoice' then jsonb_build_object('number', 'INV-' || lpad(g::text, 8, '0'), 'amountDue', (100 + g % 4900) || '.00', 'currency', 'USD',
                                                                 'dueDate', to_char(created + interval '30 days', 'YYYY-MM-DD')) end,
              case when kind = 'invoice' then 'INV-' || lpad(g::text, 8, '0') end,
              case when kind = 'invoice' then 'cycle-' || to_char(created, 'YYYY-MM') end,
              created, created + interval '10 seconds'
         from shaped`,
      [tenantId, n, spanStart, step, orders, spanStart + spanMs - DAY_MS],
    );
  } finally {
    await client.query(`reset session_replication_role`).catch(() => undefined);
    client.release();
  }
}

// ---------------------------------------------------------------------------------------
// the filters

async function sampleValues(pool, otherTenantId, spanStart, now) {
  const one = async (sql, params = []) => (await pool.query(sql, params)).rows;
  const recipients = (await one(`select id from recipients where tenant_id = $1 order by random()`, [DEFAULT_TENANT_ID])).map((r) => r.id);
  const otherRecipients = (await one(`select id from recipients where tenant_id = $1 order by random() limit 50`, [otherTenantId])).map(
    (r) => r.id,
  );
  const orders = (
    await one(
      `select order_id from (select distinct order_id from messages where tenant_id = $1 and order_id is not null) x order by random() limit 500`,
      [DEFAULT_TENANT_ID],
    )
  ).map((r) => r.order_id);
  const invoices = (
    await one(
      `select invoice_number from messages tablesample system (2) where tenant_id = $1 and invoice_number is not null order by random() limit 500`,
      [DEFAULT_TENANT_ID],
    )
  ).map((r) => r.invoice_number);
  const cursors = (
    await one(`select id from messages tablesample system (1) where tenant_id = $1 order by random() limit 500`, [DEFAULT_TENANT_ID])
  ).map((r) => r.id);
  // Page 2 exactly as a client gets there: the 50th newest message of the recipient is page 1's endCursor.
  const page2 = (
    await one(
      `select r.id as recipient, p.id as cursor from (select id from recipients where tenant_id = $1 order by random() limit 100) r,
              lateral (select id from messages m where m.tenant_id = $1 and m.recipient_id = r.id order by id desc offset ${PAGE - 1} limit 1) p`,
      [DEFAULT_TENANT_ID],
    )
  ).map((r) => ({ recipient: r.recipient, cursor: r.cursor }));
  // The last page of a backlog listing: after it, 19 older messages of those statuses, then none.
  const lastPages = [];
  for (const status of [
    ['QUEUED', 'SCHEDULED'],
    ['QUEUED', 'SENDING'],
    ['SCHEDULED', 'SENDING'],
  ]) {
    const [row] = await one(
      `select id from messages where tenant_id = $1 and status = any($2::message_status[]) order by id offset 19 limit 1`,
      [DEFAULT_TENANT_ID, status],
    );
    if (row) lastPages.push({ status, cursor: row.id });
  }
  return { recipients, otherRecipients, orders, invoices, cursors, page2, lastPages, spanStart, now };
}

/** A deterministic sequence in [0, 1): the same values every run. */
function* unit(seed) {
  let x = seed >>> 0 || 1;
  for (;;) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    yield x / 2 ** 32;
  }
}

function buildCases(d, spanStart, now) {
  const N = 200;
  const rnd = unit(42);
  const r = () => rnd.next().value;
  const pick = (list) => list[Math.floor(r() * list.length)];
  const at = (ms) => new Date(Math.round(ms)).toISOString();
  const span = now - spanStart;
  const list = (f) => Array.from({ length: N }, (_, i) => f(i));
  const rcp = (uuid) => `rcp_${uuid.replace(/-/g, '')}`;
  const cursor = (uuid) => Buffer.from(`c2:Message:${uuid}`, 'utf8').toString('base64url');
  const statusPairs = [
    ['SENT', 'DELIVERED'],
    ['FAILED', 'CANCELLED'],
    ['QUEUED', 'SCHEDULED'],
    ['DELIVERED', 'FAILED'],
    ['QUEUED', 'SENDING'],
  ];
  // "What is still waiting" (the backlog of the last day) and "what failed".
  const activePairs = [
    ['QUEUED', 'SENDING'],
    ['QUEUED', 'SCHEDULED'],
    ['FAILED', 'CANCELLED'],
  ];
  const channelPairs = [
    ['SMS', 'WHATSAPP'],
    ['EMAIL', 'TWITTER_DM'],
    ['WHATSAPP', 'TWITTER_DM'],
    ['SMS', 'EMAIL'],
  ];
  const inFilter = (field) => (node, vars) => !vars.filter?.[field] || vars.filter[field].includes(node[field]);
  const statusOk = inFilter('status');
  const channelOk = inFilter('channel');
  const both = (node, vars) => statusOk(node, vars) && channelOk(node, vars);
  const cases = [
    { name: 'no filter', variants: [{}] },
    { name: 'status (one value)', variants: list((i) => ({ filter: { status: [STATUSES[i % STATUSES.length]] } })), check: statusOk },
    { name: 'status (two values)', variants: list((i) => ({ filter: { status: statusPairs[i % statusPairs.length] } })), check: statusOk },
    { name: 'channel (one value)', variants: list((i) => ({ filter: { channel: [CHANNELS[i % CHANNELS.length]] } })), check: channelOk },
    {
      name: 'channel (two values)',
      variants: list((i) => ({ filter: { channel: channelPairs[i % channelPairs.length] } })),
      check: channelOk,
    },
    { name: 'recipientId', variants: list(() => ({ filter: { recipientId: rcp(pick(d.recipients)) } })) },
    { name: 'orderId', variants: list(() => ({ filter: { orderId: pick(d.orders) } })) },
    { name: 'invoiceNumber', variants: list(() => ({ filter: { invoiceNumber: pick(d.invoices) } })) },
    { name: 'createdAfter', variants: list(() => ({ filter: { createdAfter: at(spanStart + r() * span) } })) },
    { name: 'createdBefore', variants: list(() => ({ filter: { createdBefore: at(spanStart + r() * span) } })) },
    {
      name: 'createdAfter + createdBefore (1 day)',
      variants: list(() => {
        const from = spanStart + r() * (span - DAY_MS);
        return { filter: { createdAfter: at(from), createdBefore: at(from + DAY_MS) } };
      }),
    },
    {
      name: 'status + channel',
      variants: list((i) => ({
        filter: { status: [STATUSES[i % STATUSES.length]], channel: [CHANNELS[Math.floor(i / STATUSES.length) % CHANNELS.length]] },
      })),
      check: both,
    },
    {
      name: 'status (two values) + createdBefore',
      variants: list((i) => ({
        filter: { status: activePairs[i % activePairs.length], createdBefore: at(now - 3_600_000 - r() * 3 * DAY_MS) },
      })),
      check: statusOk,
    },
    {
      name: 'status (two values), last page',
      variants: d.lastPages.map((x) => ({ after: cursor(x.cursor), filter: { status: x.status } })),
      check: statusOk,
    },
    {
      name: 'status + createdBefore',
      variants: list((i) => ({ filter: { status: [STATUSES[i % 6]], createdBefore: at(spanStart + r() * span) } })),
      check: statusOk,
    },
    {
      name: 'recipientId + createdAfter',
      variants: list(() => ({ filter: { recipientId: rcp(pick(d.recipients)), createdAfter: at(now - r() * 30 * DAY_MS) } })),
    },
    {
      name: 'recipientId + status',
      variants: list((i) => ({ filter: { recipientId: rcp(pick(d.recipients)), status: [STATUSES[i % STATUSES.length]] } })),
      check: statusOk,
    },
    {
      name: 'page 2 (after endCursor), recipientId',
      variants: d.page2.map((p) => ({ after: cursor(p.cursor), filter: { recipientId: rcp(p.recipient) } })),
    },
    { name: 'after cursor (random depth), no filter', variants: list(() => ({ after: cursor(pick(d.cursors)) })) },
    {
      name: 'after cursor (random depth) + status',
      variants: list((i) => ({ after: cursor(pick(d.cursors)), filter: { status: [STATUSES[i % 6]] } })),
      check: statusOk,
    },
    { name: 'second tenant: no filter', client: 't2', variants: [{}] },
    { name: 'second tenant: recipientId', client: 't2', variants: list(() => ({ filter: { recipientId: rcp(pick(d.otherRecipients)) } })) },
  ];
  return cases;
}

function buildCountCases(cases) {
  const by = (name) => cases.find((c) => c.name === name);
  const one = (name, pickVariant, label) => ({
    name: `totalCount: ${label ?? name}`,
    base: name,
    variants: pickVariant(by(name).variants),
    check: by(name).check,
  });
  return [
    one('no filter', (v) => v, 'no filter'),
    one('status (one value)', (v) => v.filter((x) => x.filter.status[0] === 'FAILED'), 'status FAILED'),
    one('channel (one value)', (v) => v.filter((x) => x.filter.channel[0] === 'TWITTER_DM'), 'channel TWITTER_DM'),
    one(
      'status + channel',
      (v) => v.filter((x) => x.filter.status[0] === 'SENT' && x.filter.channel[0] === 'EMAIL'),
      'status SENT + channel EMAIL',
    ),
    one('createdAfter + createdBefore (1 day)', (v) => v),
    one('recipientId', (v) => v),
    one('orderId', (v) => v),
  ];
}

// ---------------------------------------------------------------------------------------
// HTTP

async function gql(client, query, variables) {
  const res = await client.post(query, variables);
  const json = JSON.parse(res.text);
  if (res.status !== 200 || json.errors?.length) throw new Error(`HTTP ${res.status}: ${res.text.slice(0, 300)}`);
  return json.data;
}

/** The problem with an answer to a messages query, or null. */
function answerProblem(res, vars, check, expectCount) {
  if (res.status !== 200) return `HTTP ${res.status}: ${res.text.slice(0, 200)}`;
  const json = JSON.parse(res.text);
  if (json.errors?.length) return `GraphQL: ${json.errors[0].message}`;
  const conn = json.data?.messages;
  if (!conn) return 'no messages in the answer';
  if (conn.edges.length > PAGE) return `${conn.edges.length} edges`;
  if (typeof conn.pageInfo?.hasNextPage !== 'boolean') return 'no pageInfo';
  if (expectCount && typeof conn.totalCount !== 'number') return 'no totalCount';
  if (check && conn.edges.some((e) => !check(e.node, vars))) return 'a node outside the filter';
  return null;
}

/**
 * One request at a time, the cases in turn (round k sends each case's k-th value), so a burst
 * of load from something else on the machine lands on every case alike, not on one.
 */
async function measureInterleaved(clients, cases, query, warmup, count, capSeconds = Infinity) {
  const state = cases.map((c) => ({
    c,
    latencies: [],
    errors: 0,
    bad: 0,
    errorSamples: [],
    counts: [],
    warmMs: 0,
    spentMs: 0,
    capped: false,
  }));
  for (let round = 0; round < warmup + count; round++) {
    for (const st of state) {
      const { c } = st;
      // A filter this slow has made its point: the rest of the run goes on without it (its
      // warm-up is cut short after 2 s, its measurement after capSeconds).
      if (round < warmup ? st.warmMs > 2_000 : st.spentMs > capSeconds * 1000) {
        if (round >= warmup) st.capped = true;
        continue;
      }
      const vars = c.query ? {} : { first: PAGE, ...c.variants[round % c.variants.length] };
      const started = performance.now();
      let res;
      let problem = null;
      try {
        res = await clients[c.client ?? 't1'].post(c.query ?? query, vars);
      } catch (err) {
        problem = err instanceof Error ? err.message : String(err);
      }
      const elapsed = performance.now() - started;
      if (round < warmup) st.warmMs += elapsed;
      else st.spentMs += elapsed;
      if (!problem)
        problem = c.query
          ? res.status === 200 && !JSON.parse(res.text).errors
            ? null
            : `HTTP ${res.status}: ${res.text.slice(0, 200)}`
          : answerProblem(res, vars, c.check, query === COUNT_QUERY);
      if (round < warmup) continue;
      if (problem) {
        st.errors++;
        if (problem === 'a node outside the filter') st.bad++;
        if (st.errorSamples.length < 3) st.errorSamples.push(problem);
      } else {
        st.latencies.push(elapsed);
        if (query === COUNT_QUERY && !c.query) st.counts.push(JSON.parse(res.text).data.messages.totalCount);
      }
    }
  }
  return state.map((st) => {
    const l = st.latencies.sort((a, b) => a - b);
    const at = (p) => (l.length ? l[Math.min(l.length - 1, Math.floor(p * l.length))] : NaN);
    const counts = st.counts.sort((a, b) => a - b);
    const countRange = counts.length ? (counts[0] === counts.at(-1) ? fmt(counts[0]) : `${fmt(counts[0])}–${fmt(counts.at(-1))}`) : 'n/a';
    return {
      name: st.c.name,
      done: l.length,
      errors: st.errors,
      bad: st.bad,
      errorSamples: st.errorSamples,
      p50: at(0.5),
      p99: at(0.99),
      max: l.length ? l[l.length - 1] : NaN,
      capped: st.capped,
      countRange,
      variantCount: new Set(st.c.variants.map((v) => JSON.stringify(v))).size,
    };
  });
}

async function measureMixed(port, otherKey, cases, q) {
  const t1 = graphqlClient(port, q.concurrency);
  const t2 = graphqlClient(port, q.concurrency, otherKey);
  const flat = [];
  for (let k = 0; k < 50; k++) for (const c of cases) flat.push({ c, vars: c.variants[k % c.variants.length] });
  let i = 0;
  const once = async () => {
    const { c, vars } = flat[i++ % flat.length];
    const all = { first: PAGE, ...vars };
    return answerProblem(await (c.client === 't2' ? t2 : t1).post(PAGE_QUERY, all), all, c.check, false);
  };
  await runLoad({ concurrency: q.concurrency, count: Math.max(q.concurrency, q.warmup), once });
  const r = await runLoad({ concurrency: q.concurrency, count: Math.max(q.requests * 2, 100), seconds: q.caseSeconds, once });
  t1.agent.destroy();
  t2.agent.destroy();
  return r;
}

async function checkScoping(clients, d, q, otherTenantId) {
  const total = async (client, filter) =>
    (await gql(client, `query($filter: MessageFilter) { messages(first: 1, filter: $filter) { totalCount } }`, { filter })).messages
      .totalCount;
  const t1Count = await total(clients.t1);
  const t2Count = await total(clients.t2);
  const foreign = await gql(
    clients.t1,
    `query($filter: MessageFilter) { messages(first: 50, filter: $filter) { edges { node { id } } } }`,
    {
      filter: { recipientId: `rcp_${d.otherRecipients[0].replace(/-/g, '')}` },
    },
  );
  return { t1Count, t2Count, foreignEdges: foreign.messages.edges.length, otherTenantId };
}

// ---------------------------------------------------------------------------------------
// SQL and plans

/** Herald's compiled query builders over a drizzle instance whose logger captures the SQL and its parameters. */
async function heraldSql(pool) {
  const { drizzle } = await import(pathToFileURL(path.join(root, 'node_modules', 'drizzle-orm', 'node-postgres', 'index.js')).href);
  const schema = await import(pathToFileURL(path.join(root, 'dist', 'db', 'schema', 'index.js')).href);
  const queries = await import(pathToFileURL(path.join(root, 'dist', 'modules', 'messages', 'messages.queries.js')).href);
  let captured = [];
  const db = drizzle(pool, { schema, logger: { logQuery: (sql, params) => captured.push({ sql, params }) } });
  const capture = async (run) => {
    captured = [];
    await run();
    if (captured.length !== 1) throw new Error(`expected one statement, captured ${captured.length}`);
    return captured[0];
  };
  return {
    page: (tenantId, vars) => {
      const { query, afterId } = messageQueryOf(vars);
      return capture(() =>
        queries.pageMessages(db, tenantId, query, { limit: vars.first ?? PAGE, direction: 'forward', cursorId: afterId }),
      );
    },
    count: (tenantId, vars) => capture(() => queries.countMessages(db, tenantId, messageQueryOf(vars).query)),
  };
}

/** GraphQL variables → the MessageQuery and afterId Herald makes of them (messages.service.ts page(), connection.ts pageRequest()). */
function messageQueryOf(vars) {
  const f = vars.filter ?? {};
  const uuid = (h) => `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  const query = {
    status: f.status,
    channel: f.channel,
    recipientId: f.recipientId ? uuid(f.recipientId.slice(4)) : undefined,
    orderId: f.orderId,
    invoiceNumber: f.invoiceNumber,
    createdAfter: f.createdAfter ? new Date(f.createdAfter) : undefined,
    createdBefore: f.createdBefore ? new Date(f.createdBefore) : undefined,
  };
  const afterId = vars.after ? Buffer.from(vars.after, 'base64url').toString('utf8').split(':').pop() : undefined;
  return { query, afterId };
}

async function explain(pool, sql, params) {
  const { rows } = await pool.query(`explain (analyze, buffers, format json) ${sql}`, params);
  const top = rows[0]['QUERY PLAN'][0];
  return top;
}

/** Indexes used, bad nodes and worst figures over several EXPLAIN ANALYZE results of one filter. */
function summarizePlans(explained, { page = true } = {}) {
  const indexes = new Set();
  const nodes = new Set();
  const problems = new Set();
  let worstMs = 0;
  let rowsRead = 0;
  let buffers = 0;
  let heapFetches = 0;
  let seqScan = false;
  let maxSorted = 0;
  let sortMethod = '';
  for (const top of explained) {
    worstMs = Math.max(worstMs, top['Execution Time']);
    buffers = Math.max(buffers, (top.Plan['Shared Hit Blocks'] ?? 0) + (top.Plan['Shared Read Blocks'] ?? 0));
    let read = 0;
    let fetches = 0;
    const walk = (node) => {
      const type = node['Node Type'];
      const loops = node['Actual Loops'] ?? 1;
      if (type !== 'Limit') nodes.add(type);
      if (node['Index Name']) indexes.add(node['Index Name']);
      if (type === 'Seq Scan' && node['Relation Name'] === 'messages') {
        seqScan = true;
        problems.add('Seq Scan on messages');
      }
      // Rows a scan produced plus the rows its filters threw away (EXPLAIN gives both per loop);
      // a Bitmap Index Scan's rows are counted at its Bitmap Heap Scan.
      if (/Scan$/.test(type) && type !== 'Bitmap Index Scan') read += (node['Actual Rows'] ?? 0) * loops;
      read += ((node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) * loops;
      fetches += (node['Heap Fetches'] ?? 0) * loops;
      if (type === 'Sort' || type === 'Incremental Sort') {
        const input = (node.Plans ?? []).reduce((sum, child) => sum + (child['Actual Rows'] ?? 0) * (child['Actual Loops'] ?? 1), 0);
        if (input > maxSorted) {
          maxSorted = input;
          sortMethod = node['Sort Method'] ?? 'sort';
        }
      }
      for (const child of node.Plans ?? []) walk(child);
    };
    walk(top.Plan);
    rowsRead = Math.max(rowsRead, read);
    heapFetches = Math.max(heapFetches, fetches);
  }
  if (maxSorted > PLAN_MAX_SORTED) problems.add(`Sort of up to ${fmt(maxSorted)} rows (${sortMethod})`);
  if (page && rowsRead > PLAN_MAX_ROWS_READ) problems.add(`up to ${fmt(rowsRead)} rows read for ${PAGE + 1}`);
  return { indexes: [...indexes], nodes: [...nodes], problems: [...problems], worstMs, rowsRead, buffers, heapFetches, seqScan };
}

function planShape(p) {
  return p.nodes.join(' + ');
}

function renderPlans(planRows) {
  return renderTable(planRows, ['filter', 'indexes', 'plan', 'SQL (worst)', 'rows read', 'buffers', 'problems']);
}

/**
 * Herald restarted with `log_statement = all` on the bench database (new sessions only), then
 * queries without totalCount and with it; the server log tells which statements ran.
 */
async function checkLazyCount({ admin, db, q, cases, countCases, sqlOf, start }) {
  if (!q.pgLog || !canRead(q.pgLog))
    return { without: null, withCount: null, note: `not checked: PostgreSQL's log is not readable here (BENCH_PG_LOG)` };
  const probe = countCases.map((c) => c.variants[0]);
  const countSql = new Set();
  for (const vars of probe) countSql.add((await sqlOf.count(DEFAULT_TENANT_ID, vars)).sql);
  const without = cases.filter((c) => !c.client).map((c) => ({ c, vars: c.variants[0] }));
  await admin.query(`alter database ${db} set log_statement = 'all'`);
  let api;
  try {
    api = await start();
    const client = graphqlClient(api.port, 1);
    const readFrom = (offset) => {
      const size = fs.statSync(q.pgLog).size;
      if (size < offset) return ''; // rotated
      const fd = fs.openSync(q.pgLog, 'r');
      const buf = Buffer.alloc(size - offset);
      fs.readSync(fd, buf, 0, buf.length, offset);
      fs.closeSync(fd);
      return buf.toString('utf8');
    };
    const ours = (text) => text.split('\n').filter((l) => l.includes(`@${db} `) && /LOG: {2}(execute|statement)/.test(l));
    const tally = (lines) => ({
      counts: lines.filter(
        (l) =>
          [...countSql].some((sql) => l.includes(sql)) ||
          /select count\(\*\) from "messages" where "messages"\."tenant_id"/.test(l) ||
          /select count\(\*\) from "messages" where \("messages"\."tenant_id"/.test(l),
      ).length,
      pages: lines.filter((l) => l.includes('from "messages"') && l.includes('order by "messages"."id" desc')).length,
    });
    let offset = fs.statSync(q.pgLog).size;
    for (const { c, vars } of without) {
      const all = { first: PAGE, ...vars };
      const problem = answerProblem(await client.post(PAGE_QUERY, all), all, c.check, false);
      if (problem) throw new Error(`lazy-count check, ${c.name}: ${problem}`);
    }
    await sleep(300);
    const a = tally(ours(readFrom(offset)));
    offset = fs.statSync(q.pgLog).size;
    for (const vars of probe) {
      const all = { first: PAGE, ...vars };
      const problem = answerProblem(await client.post(COUNT_QUERY, all), all, null, true);
      if (problem) throw new Error(`lazy-count check (totalCount): ${problem}`);
    }
    await sleep(300);
    const b = tally(ours(readFrom(offset)));
    client.agent.destroy();
    const note =
      `server log, log_statement=all: ${without.length} queries without totalCount → ${a.pages} page statements, ${a.counts} COUNT; ` +
      `${probe.length} with totalCount → ${b.pages} page statements, ${b.counts} COUNT`;
    return {
      without: a.counts,
      withCount: b.counts,
      expectedWith: probe.length,
      pagesWithout: a.pages,
      note: a.pages === 0 ? `${note} (the log shows no page statements: check not conclusive)` : note,
    };
  } finally {
    if (api?.child) await stopChild(api.child);
    await admin.query(`alter database ${db} reset log_statement`).catch(() => undefined);
  }
}

function newestPgLog() {
  const dir = '/var/log/postgresql';
  try {
    const files = fs
      .readdirSync(dir)
      .filter((f) => /^postgresql.*\.log$/.test(f))
      .map((f) => ({ f: path.join(dir, f), m: fs.statSync(path.join(dir, f)).mtimeMs }))
      .sort((x, y) => y.m - x.m);
    return files[0]?.f;
  } catch {
    return undefined;
  }
}

function canRead(file) {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function uuidOfGlobalId(id) {
  const h = id.replace(/^[a-z]+_/, '');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function mib(bytes) {
  return `${(Number(bytes) / 1024 / 1024).toFixed(0)} MiB`;
}

function pct(n, total) {
  return `${((100 * n) / total).toFixed(0)} %`;
}

function statusMix(statuses, total) {
  return Object.entries(statuses ?? {})
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${((100 * v) / total).toFixed((100 * v) / total < 1 ? 2 : 1)} %`)
    .join(', ');
}

// ---------------------------------------------------------------------------------------
// standalone: node scripts/bench/queries.mjs

async function main() {
  buildIfStale();
  const { pg, admin, dbName, urlOf, createDb, tmp, logStream, children, cleanup, abort, budget } = await openBenchRun({
    name: 'bench',
    tmpPrefix: 'herald-bench-queries-',
    keepDb: process.env.BENCH_KEEP_DB === '1',
  });
  const db = `${dbName}_q`;
  const url = urlOf(db);
  await createDb(db);
  const q = querySettings();
  budget(300 + q.messages / 5_000, 'took longer than its budget; stopped');
  const env = { url, dataDir: tmp, logLevel: process.env.BENCH_LOG_LEVEL || 'info' };
  const nodeArgs = (process.env.BENCH_HERALD_NODE_ARGS || '').split(/\s+/).filter(Boolean);
  const startRole = (role, _db, extra) => startHerald(role, heraldEnv(env, extra), children, logStream, nodeArgs);
  try {
    const section = await queriesStage({ pg, admin, db, url, startRole });
    console.log(`\n${section.title}\n${renderTable(section.rows)}`);
    await cleanup();
  } catch (err) {
    await abort(err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
  process.exit(0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await main();
