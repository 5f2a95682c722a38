// The edges of the HTTP API, seen by a client: request budgets by key or by address
// (HERALD_RATE_LIMIT_*, HERALD_TRUST_PROXY).
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApiKey } from './helpers/factories.js';
import { startTestHerald, type TestHerald } from './helpers/herald.js';

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
    errors: [{ message: `Too many requests: try again in ${retryAfter} s`, extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter } }],
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
