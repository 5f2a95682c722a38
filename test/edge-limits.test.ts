// The edges of the HTTP API, seen by a client: request budgets by key or by address
// (HERALD_RATE_LIMIT_*, HERALD_TRUST_PROXY), /metrics behind a token and its database
// gauges at bounded cost (HERALD_METRICS_TOKEN, HERALD_METRICS_GAUGE_SECONDS), and CORS
// for browser frontends (HERALD_CORS_ORIGINS).
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApiKey, buildRecipient } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { metric } from './helpers/metrics.js';
import { createPostgresDatabase } from './helpers/process.js';

const SECRET = { HERALD_SECRET_KEY: randomBytes(32).toString('hex') };
const heralds: TestHerald[] = [];
afterAll(async () => {
  for (const herald of heralds) await herald.stop();
});

/** POST { viewer { id } } from `address` (X-Forwarded-For) with `key` (null: none). */
async function viewer(herald: TestHerald, key: string | null, address?: string): Promise<Response> {
  return fetch(`${herald.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(address ? { 'x-forwarded-for': address } : {}),
    },
    body: JSON.stringify({ query: '{ viewer { id } }' }),
  });
}

const guess = () => `hrld_guess${randomBytes(12).toString('hex')}`;

async function expectRateLimited(response: Response): Promise<void> {
  expect(response.status).toBe(429);
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(5);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await response.json()).toEqual({
    errors: [
      { message: `Too many requests: try again in ${retryAfter} s`, extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter } },
    ],
  });
}

// 5 requests per 5 s window: every test's requests fit well inside one window.
const LIMITS = { ...SECRET, HERALD_RATE_LIMIT_PER_SECOND: '1', HERALD_RATE_LIMIT_BURST: '5' };

describe('request budgets on /graphql: a valid key by its key, everything else by its address', () => {
  let herald: TestHerald;
  let reader: string;
  let sender: string;
  let roaming: string;
  beforeAll(async () => {
    const first = await startTestHerald({ env: SECRET });
    reader = await buildApiKey(first, 'READER');
    sender = await buildApiKey(first, 'SENDER');
    roaming = await buildApiKey(first, 'READER');
    herald = await first.restart({ ...LIMITS, HERALD_TRUST_PROXY: '1' });
    heralds.push(herald);
  });

  it('a keyless flood empties its address’s budget (429); a request with a valid key from that address is still served', async () => {
    const address = '203.0.113.1';
    for (let i = 0; i < 5; i++) expect((await viewer(herald, null, address)).status).toBe(401);
    await expectRateLimited(await viewer(herald, null, address));
    // Every client behind the same load balancer: their keys have budgets of their own.
    const keyed = await viewer(herald, reader, address);
    expect(keyed.status).toBe(200);
    expect(await keyed.json()).toEqual({ data: { viewer: { id: expect.any(String) } } });
    expect((await viewer(herald, sender, address)).status).toBe(200);
    await expectRateLimited(await viewer(herald, null, address));
  });

  it('requests with unknown keys spend their address’s budget, like keyless ones', async () => {
    const address = '203.0.113.2';
    expect((await viewer(herald, null, address)).status).toBe(401);
    for (let i = 0; i < 4; i++) expect((await viewer(herald, guess(), address)).status).toBe(401);
    await expectRateLimited(await viewer(herald, guess(), address));
    await expectRateLimited(await viewer(herald, null, address));
  });

  it('a valid key has one budget wherever its requests come from, and spends no other key’s', async () => {
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await viewer(herald, roaming, `198.51.100.${i + 1}`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    await expectRateLimited(await viewer(herald, roaming, '198.51.100.9'));
    // Neither another key nor the addresses it came from paid for it.
    expect((await viewer(herald, reader, '198.51.100.1')).status).toBe(200);
    expect((await viewer(herald, null, '198.51.100.1')).status).toBe(401);
  });

  it('with HERALD_TRUST_PROXY=1, two X-Forwarded-For addresses behind the same proxy have separate budgets', async () => {
    for (let i = 0; i < 5; i++) expect((await viewer(herald, null, '192.0.2.10')).status).toBe(401);
    await expectRateLimited(await viewer(herald, null, '192.0.2.10'));
    expect((await viewer(herald, null, '192.0.2.11')).status).toBe(401);
    // The client address is the proxy's nearest hop, not whatever a client writes first.
    await expectRateLimited(await viewer(herald, null, '192.0.2.11, 192.0.2.10'));
  });

  it('without HERALD_TRUST_PROXY, X-Forwarded-For is ignored: every request counts for the connection’s address', async () => {
    const direct = await herald.restart(LIMITS);
    heralds.splice(heralds.indexOf(herald), 1, direct);
    herald = direct;
    for (let i = 0; i < 5; i++) expect((await viewer(direct, null, `192.0.2.${20 + i}`)).status).toBe(401);
    await expectRateLimited(await viewer(direct, null, '192.0.2.99'));
    expect((await viewer(direct, reader, '192.0.2.99')).status).toBe(200);
  });
});

describe('/metrics', () => {
  const TOKEN = `metrics-${randomBytes(12).toString('hex')}`;
  const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { status } userErrors { code } } }`;
  let herald: TestHerald;
  beforeAll(async () => {
    // API only: what it accepts stays QUEUED, so herald_queue_depth has something to count.
    // PostgreSQL (DATABASE_URL, else the machine's own): the last test locks a table from a
    // second connection.
    herald = await startTestHerald({
      role: 'api',
      database: await createPostgresDatabase('a /metrics gauge behind a lock'),
      env: { ...SECRET, HERALD_METRICS_TOKEN: TOKEN, HERALD_METRICS_GAUGE_SECONDS: '1' },
    });
    heralds.push(herald);
  });

  const scrape = (authorization?: string) => fetch(`${herald.url}/metrics`, { headers: authorization ? { authorization } : {} });
  const queueDepth = async () => {
    const response = await scrape(`Bearer ${TOKEN}`);
    expect(response.status).toBe(200);
    return metric(await response.text(), 'herald_queue_depth');
  };

  it('answers 401 without the bearer token or with another one, and the series with it', async () => {
    for (const authorization of [undefined, TOKEN, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`]) {
      const response = await scrape(authorization);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(await response.text()).not.toMatch(/herald_|process_/);
    }
    const response = await scrape(`Bearer ${TOKEN}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toMatch(/^herald_queue_depth \d+$/m);
  });

  it('reads a database gauge at most once per HERALD_METRICS_GAUGE_SECONDS: scrapes in between show the last count', async () => {
    const before = await queueDepth();
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550101' });
    const sent = ok(await herald.gql(SEND, { input: { clientId: client.id, message: 'Your statement is ready' } })).sendSms;
    expect(sent.message.status).toBe('QUEUED');
    // Read moments ago: these scrapes cost no count, and do not see the new message yet.
    const quick = await Promise.all([queueDepth(), queueDepth(), queueDepth()]);
    const started = performance.now();
    expect(quick).toEqual([before, before, before]);
    await vi.waitFor(async () => expect(await queueDepth()).toBe(before + 1), { timeout: 5_000, interval: 100 });
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('a count stuck behind a lock is cancelled after 2 s: the scrape answers with NaN, logged once per gauge, and recovers', async () => {
    const uncached = await herald.restart({ ...SECRET, HERALD_METRICS_TOKEN: TOKEN, HERALD_METRICS_GAUGE_SECONDS: '0' });
    heralds.splice(heralds.indexOf(herald), 1, uncached);
    herald = uncached;
    const depth = await queueDepth();
    expect(depth).toBeGreaterThan(0);

    const locker = new pg.Client({ connectionString: herald.database.env.DATABASE_URL });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table messages in access exclusive mode');
      for (let i = 0; i < 2; i++) {
        const started = performance.now();
        const response = await scrape(`Bearer ${TOKEN}`);
        const text = await response.text();
        const elapsed = performance.now() - started;
        expect(response.status).toBe(200);
        expect(text).toMatch(/^herald_queue_depth Nan$/im);
        expect(text).toMatch(/^herald_sending_overdue Nan$/im);
        expect(elapsed).toBeGreaterThanOrEqual(1_900);
        expect(elapsed).toBeLessThan(4_000);
      }
      await locker.query('rollback');
    } finally {
      await locker.end();
    }
    const logged = herald.logs.filter((line) => line.includes('a /metrics gauge could not be read'));
    expect(logged.map((line) => JSON.parse(line).gauge).sort()).toEqual(['herald_queue_depth', 'herald_sending_overdue']);
    expect(JSON.parse(logged[0]).err).toMatchObject({ code: '57014', message: expect.stringMatching(/statement timeout/) });
    expect(await queueDepth()).toBe(depth);
  }, 20_000);
});

describe('CORS on /graphql (HERALD_CORS_ORIGINS)', () => {
  const APP = 'https://app.example.com';
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startTestHerald({ env: { ...SECRET, HERALD_CORS_ORIGINS: `${APP}, http://localhost:5173` } });
    heralds.push(herald);
  });

  const preflight = (h: TestHerald, origin: string, path = '/graphql') =>
    fetch(`${h.url}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
  const corsHeaders = (response: Response) => [...response.headers.keys()].filter((name) => name.startsWith('access-control-'));

  it('answers a preflight from an allowed origin with that origin, the methods and the headers a client sends', async () => {
    const response = await preflight(herald, APP);
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(response.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(response.headers.get('access-control-allow-headers')).toMatch(/content-type/);
    expect(response.headers.get('vary')).toMatch(/origin/i);

    const query = await fetch(`${herald.url}/graphql`, {
      method: 'POST',
      headers: { origin: APP, 'content-type': 'application/json', authorization: `Bearer ${herald.adminKey}` },
      body: JSON.stringify({ query: '{ viewer { name } }' }),
    });
    expect(query.status).toBe(200);
    expect(query.headers.get('access-control-allow-origin')).toBe(APP);
    expect(await query.json()).toEqual({ data: { viewer: { name: 'default' } } });
  });

  it('gives another origin, and every other route, no CORS headers at all', async () => {
    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.example', 'http://app.example.com']) {
      expect(corsHeaders(await preflight(herald, origin))).toEqual([]);
    }
    expect(corsHeaders(await preflight(herald, APP, '/healthz'))).toEqual([]);
    expect(corsHeaders(await preflight(herald, APP, '/metrics'))).toEqual([]);
    const health = await fetch(`${herald.url}/healthz`, { headers: { origin: APP } });
    expect(health.status).toBe(200);
    expect(corsHeaders(health)).toEqual([]);
  });

  it('unset (the default), no request gets CORS headers', async () => {
    const plain = await herald.restart(SECRET);
    heralds.splice(heralds.indexOf(herald), 1, plain);
    herald = plain;
    expect(corsHeaders(await preflight(plain, APP))).toEqual([]);
    const query = await fetch(`${plain.url}/graphql`, {
      method: 'POST',
      headers: { origin: APP, 'content-type': 'application/json', authorization: `Bearer ${plain.adminKey}` },
      body: JSON.stringify({ query: '{ viewer { name } }' }),
    });
    expect(query.status).toBe(200);
    expect(corsHeaders(query)).toEqual([]);
  });
});
