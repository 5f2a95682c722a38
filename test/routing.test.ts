// Routing through the real API, worker and twilio SDK against a Twilio fake with two
// accounts (two gateways): failover on an outage of the first, the shared circuit breaker
// opening and closing again (GraphQL and /metrics), weights over 1,000 sends, pinned
// subscriptions, and what does not fail over. Backoff retries are set a minute apart, so a
// message SENT within seconds went through failover, not through a retry on the same gateway.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromGlobalId } from '../src/lib/ids.js';
import type { UserError } from './helpers/api-types.js';
import { rowsOf } from './helpers/database.js';
import { buildRecipient, buildTenant } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { metric, metricsText } from './helpers/metrics.js';
import { pause, waitUntil } from './helpers/wait.js';
import { fakeTwilioAccount, INVALID_NUMBER, startTwilioFake, type TwilioFake, type TwilioFakeAccount } from './fakes/twilio-fake.js';

const USER_ERRORS = 'userErrors { field message code }';
const ADD_GATEWAY = `mutation($input: AddChannelGatewayInput!) { addChannelGateway(input: $input) { gateway { id name } ${USER_ERRORS} } }`;
const SET_ROUTING = `mutation($input: SetChannelRoutingInput!) { setChannelRouting(input: $input) {
  channel { channel strategy failoverPinned routes { gateway { id name } priority weight } } ${USER_ERRORS} } }`;
const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } ${USER_ERRORS} } }`;
const MESSAGE = `query($id: ID!) { message(id: $id) { id status attempts gateway { id } logs { outcome reason gateway { id } } } }`;
const HEALTH = `{ gateways(channel: SMS) { id name health { state failureRate lastFailureAt openedAt } } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { ${USER_ERRORS} } }`;
const OUTAGE = { status: 503, code: 20500, message: 'Service unavailable' };

let fake: TwilioFake;
let herald: TestHerald;
const secretKey = randomBytes(32).toString('hex');

beforeAll(async () => {
  fake = await startTwilioFake();
  herald = await startTestHerald({
    env: {
      HERALD_SECRET_KEY: secretKey,
      TWILIO_API_BASE_URL: fake.url,
      PUBLIC_URL: 'https://herald.example.test',
      // A retry on the same gateway would come a minute later.
      HERALD_RETRY_BASE_MS: '60000',
      HERALD_RETRY_MAX_DELAY_MS: '60000',
      HERALD_BREAKER_MIN_SENDS: '3',
      HERALD_BREAKER_COOLDOWN_SECONDS: '2',
      HERALD_SEND_BUDGET_PER_MINUTE: '0',
      HERALD_SEND_BUDGET_PER_DAY: '0',
    },
  });
});
afterAll(async () => {
  await herald?.stop();
  await fake?.close();
});

interface Routed {
  adminKey: string;
  first: { id: string; account: TwilioFakeAccount };
  second: { id: string; account: TwilioFakeAccount };
  clientId: string;
}

/** A tenant with two Twilio SMS gateways on accounts of their own, routed PRIORITY first → second. */
async function twoGateways(options: { firstToken?: string; routing?: Record<string, unknown>; on?: TestHerald } = {}): Promise<Routed> {
  const on = options.on ?? herald;
  const { adminKey } = await buildTenant(on);
  const gateway = async (name: string, account: TwilioFakeAccount, token = account.authToken) => {
    fake.addAccount(account);
    const credentials = JSON.stringify({ accountSid: account.accountSid, authToken: token, from: '+15005550006' });
    const added = ok(
      await on.gql(ADD_GATEWAY, { input: { channel: 'SMS', provider: 'TWILIO', name, credentials } }, adminKey),
    ).addChannelGateway;
    expect(added.userErrors).toEqual([]);
    return { id: added.gateway.id as string, account };
  };
  const first = await gateway('first', fakeTwilioAccount(), options.firstToken);
  const second = await gateway('second', fakeTwilioAccount());
  const routed = ok(
    await on.gql(
      SET_ROUTING,
      {
        input: {
          channel: 'SMS',
          strategy: 'PRIORITY',
          routes: [
            { gatewayId: first.id, priority: 1 },
            { gatewayId: second.id, priority: 2 },
          ],
          ...options.routing,
        },
      },
      adminKey,
    ),
  ).setChannelRouting;
  expect(routed.userErrors).toEqual([]);
  const client = await buildRecipient(on, { kind: 'CLIENT', phone: '+14155550100' }, adminKey);
  return { adminKey, first, second, clientId: client.id };
}

async function send(adminKey: string, clientId: string, on = herald): Promise<string> {
  const sent = ok(await on.gql(SEND, { input: { clientId, message: 'Your code is 1234' } }, adminKey)).sendSms;
  expect(sent.userErrors).toEqual([]);
  return sent.message.id;
}

async function settled(adminKey: string, id: string, statuses = ['SENT', 'FAILED'], on = herald) {
  let message: any;
  await waitUntil(`message ${id} ${statuses.join(' or ')}`, async () => {
    message = ok(await on.gql(MESSAGE, { id }, adminKey)).message;
    return statuses.includes(message.status);
  });
  return message;
}

const requestsOf = (account: TwilioFakeAccount) => fake.requests.filter((r) => r.authAccountSid === account.accountSid).length;

async function healthOf(adminKey: string, gatewayId: string, on = herald) {
  const gateways = ok(await on.gql(HEALTH, undefined, adminKey)).gateways as { id: string; health: any }[];
  return gateways.find((g) => g.id === gatewayId)!.health;
}

describe('failover', () => {
  it('sends through the next gateway at once when the first is down, opens its breaker, and closes it once it is back', async () => {
    const t = await twoGateways();
    fake.failAccount(t.first.account.accountSid, OUTAGE);
    const started = Date.now();
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await send(t.adminKey, t.clientId));
    for (const id of ids) {
      const message = await settled(t.adminKey, id);
      expect(message.status).toBe('SENT');
      expect(message.gateway.id).toBe(t.second.id);
    }
    // Well before the minute a retry on the same gateway would have waited.
    expect(Date.now() - started).toBeLessThan(30_000);
    const [first] = ids;
    const logs = (await settled(t.adminKey, first)).logs;
    expect(logs.map((l: any) => [l.outcome, l.gateway.id])).toEqual([
      ['FAILURE', t.first.id],
      ['SUCCESS', t.second.id],
    ]);
    expect(logs[0].reason).toMatch(/through "first" failed: .*sending through "second" now/);

    // The breaker is open, for the API and for /metrics.
    await waitUntil('breaker open', async () => (await healthOf(t.adminKey, t.first.id)).state === 'OPEN');
    const health = await healthOf(t.adminKey, t.first.id);
    expect(health.failureRate).toBeGreaterThanOrEqual(0.5);
    expect(health.openedAt).not.toBeNull();
    expect(health.lastFailureAt).not.toBeNull();
    expect((await healthOf(t.adminKey, t.second.id)).state).toBe('CLOSED');
    const metrics = await metricsText(herald.url);
    expect(metric(metrics, 'herald_gateway_health', { gateway: t.first.id, state: 'OPEN' })).toBe(1);
    expect(metric(metrics, 'herald_gateway_health', { gateway: t.second.id, state: 'CLOSED' })).toBe(1);
    expect(herald.logs.some((l) => l.includes('gateway circuit opened') && l.includes(fromGlobalId(t.first.id)!.uuid))).toBe(true);

    // While it is open, nothing is tried on the first gateway.
    const triedFirst = requestsOf(t.first.account);
    const whileOpen = await send(t.adminKey, t.clientId);
    expect((await settled(t.adminKey, whileOpen)).logs.map((l: any) => l.gateway.id)).toEqual([t.second.id]);
    expect(requestsOf(t.first.account)).toBe(triedFirst);

    // Back: after the cool-down a trickle goes through it, and the first success closes it.
    fake.failAccount(t.first.account.accountSid, null);
    await waitUntil('half open', async () => (await healthOf(t.adminKey, t.first.id)).state === 'HALF_OPEN', 10_000);
    await waitUntil(
      'closed again',
      async () => {
        await settled(t.adminKey, await send(t.adminKey, t.clientId));
        return (await healthOf(t.adminKey, t.first.id)).state === 'CLOSED';
      },
      15_000,
      200,
    );
    const after = await settled(t.adminKey, await send(t.adminKey, t.clientId));
    expect(after.gateway.id).toBe(t.first.id);
    for (const transition of ['half-open', 'closed']) {
      expect(herald.logs.some((l) => l.includes(`gateway circuit ${transition}`) && l.includes(fromGlobalId(t.first.id)!.uuid))).toBe(true);
    }
  });

  it('moves messages off a gateway its provider paused with a long rate limit', async () => {
    const t = await twoGateways();
    fake.failAccount(t.first.account.accountSid, { status: 429, code: 20429, message: 'Too Many Requests', retryAfter: 60 });
    const limited = await settled(t.adminKey, await send(t.adminKey, t.clientId));
    expect(limited.logs.map((l: any) => [l.outcome, l.gateway.id])).toEqual([
      ['FAILURE', t.first.id],
      ['SUCCESS', t.second.id],
    ]);
    // The first gateway is paused for a minute: the next message does not wait for it.
    fake.failAccount(t.first.account.accountSid, null);
    const tried = requestsOf(t.first.account);
    const started = Date.now();
    const next = await settled(t.adminKey, await send(t.adminKey, t.clientId));
    expect(next.gateway.id).toBe(t.second.id);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(requestsOf(t.first.account)).toBe(tried);
  });

  it('does not fail over a refusal of the destination', async () => {
    const t = await twoGateways();
    const invalid = await buildRecipient(herald, { kind: 'CLIENT', phone: INVALID_NUMBER }, t.adminKey);
    const message = await settled(t.adminKey, await send(t.adminKey, invalid.id));
    expect(message.status).toBe('FAILED');
    expect(message.logs.map((l: any) => [l.outcome, l.gateway.id])).toEqual([['FAILURE', t.first.id]]);
    expect(requestsOf(t.second.account)).toBe(0);
    // The gateway answered: it is healthy.
    await pause(400);
    expect((await healthOf(t.adminKey, t.first.id)).state).toBe('CLOSED');
  });

  it('fails over on bad credentials, and opens that gateway at once', async () => {
    const t = await twoGateways({ firstToken: 'f'.repeat(32) });
    const message = await settled(t.adminKey, await send(t.adminKey, t.clientId));
    expect(message.status).toBe('SENT');
    expect(message.logs.map((l: any) => [l.outcome, l.gateway.id])).toEqual([
      ['FAILURE', t.first.id],
      ['SUCCESS', t.second.id],
    ]);
    await waitUntil('breaker open after one refusal', async () => (await healthOf(t.adminKey, t.first.id)).state === 'OPEN');
  });

  it('keeps a pinned subscription on its gateway unless the routing allows failover for pinned ones', async () => {
    const t = await twoGateways();
    ok(await herald.gql(SUBSCRIBE, { input: { recipientId: t.clientId, channel: 'SMS', gatewayId: t.first.id } }, t.adminKey));
    fake.failAccount(t.first.account.accountSid, OUTAGE);
    const pinned = await send(t.adminKey, t.clientId);
    await waitUntil(
      'the first attempt failed',
      async () => (await settled(t.adminKey, pinned, ['QUEUED', 'SENT', 'FAILED'])).logs.length > 0,
    );
    await pause(500);
    const stuck = ok(await herald.gql(MESSAGE, { id: pinned }, t.adminKey)).message;
    expect(stuck.status).toBe('QUEUED');
    expect(stuck.logs.map((l: any) => l.gateway.id)).toEqual([t.first.id]);
    expect(requestsOf(t.second.account)).toBe(0);

    const allowed = ok(
      await herald.gql(
        SET_ROUTING,
        {
          input: {
            channel: 'SMS',
            strategy: 'PRIORITY',
            failoverPinned: true,
            routes: [
              { gatewayId: t.first.id, priority: 1 },
              { gatewayId: t.second.id, priority: 2 },
            ],
          },
        },
        t.adminKey,
      ),
    ).setChannelRouting;
    expect(allowed.channel.failoverPinned).toBe(true);
    await pause(1_100); // routing is read at most once a second per worker
    const moved = await settled(t.adminKey, await send(t.adminKey, t.clientId));
    expect(moved.status).toBe('SENT');
    expect(moved.gateway.id).toBe(t.second.id);
  });
});

describe('two workers', () => {
  it('share the breaker: a worker that never saw a failure keeps off a gateway another opened', async () => {
    const env = {
      HERALD_SECRET_KEY: secretKey,
      TWILIO_API_BASE_URL: fake.url,
      PUBLIC_URL: 'https://herald.example.test',
      HERALD_RETRY_BASE_MS: '60000',
      HERALD_BREAKER_MIN_SENDS: '3',
      HERALD_BREAKER_COOLDOWN_SECONDS: '120',
    };
    const api = await startTestHerald({ role: 'api', env });
    const workers: TestHerald[] = [];
    try {
      // Started with the API's own bootstrap key, which would otherwise be replaced by theirs.
      const workerEnv = { ...env, HERALD_BOOTSTRAP_ADMIN_KEY: api.adminKey };
      workers.push(await startTestHerald({ database: api.database, role: 'worker', env: workerEnv }));
      const t = await twoGateways({ on: api });
      fake.failAccount(t.first.account.accountSid, OUTAGE);
      await waitUntil('the first worker opens the breaker', async () => {
        await settled(t.adminKey, await send(t.adminKey, t.clientId, api), ['SENT'], api);
        return (await healthOf(t.adminKey, t.first.id, api)).state === 'OPEN';
      });
      // A second worker, which has counted nothing itself.
      const second = await startTestHerald({ database: api.database, role: 'worker', env: workerEnv });
      workers.push(second);
      const tried = requestsOf(t.first.account);
      const sentBefore = async (w: TestHerald) => metric(await metricsText(w.url), 'herald_messages_total', { status: 'SENT' });
      await waitUntil(
        'the second worker sends some',
        async () => {
          await settled(t.adminKey, await send(t.adminKey, t.clientId, api), ['SENT'], api);
          return (await sentBefore(second)) >= 3;
        },
        30_000,
        0,
      );
      expect(requestsOf(t.first.account)).toBe(tried);
    } finally {
      for (const w of workers) await w.close();
      await api.stop();
    }
  });
});

describe('weights', () => {
  it('splits 1,000 sends in proportion to the weights', async () => {
    const t = await twoGateways();
    const routed = ok(
      await herald.gql(
        SET_ROUTING,
        {
          input: {
            channel: 'SMS',
            strategy: 'WEIGHTED',
            routes: [
              { gatewayId: t.first.id, weight: 3 },
              { gatewayId: t.second.id, weight: 1 },
            ],
          },
        },
        t.adminKey,
      ),
    ).setChannelRouting;
    expect(routed.channel.routes.map((r: any) => [r.gateway.name, r.weight])).toEqual([
      ['first', 3],
      ['second', 1],
    ]);
    await pause(1_100);
    const items = Array.from({ length: 1_000 }, () => ({ channel: 'SMS', recipientId: t.clientId, body: 'Weighted' }));
    const batch = ok(
      await herald.gql(
        `mutation($input: SendNotificationsInput!) { sendNotifications(input: $input) { queued results { userErrors { code } } userErrors { code } } }`,
        { input: { items } },
        t.adminKey,
      ),
    ).sendNotifications;
    expect(batch.queued).toBe(1_000);
    const tenant = fromGlobalId(t.first.id)!;
    await waitUntil(
      '1,000 SENT',
      async () => {
        const [row] = rowsOf(
          await herald.services.db.execute(
            sql`select count(*)::int as n from messages m join gateways g on g.id = m.gateway_id
                 where g.id in (${fromGlobalId(t.first.id)!.uuid}, ${fromGlobalId(t.second.id)!.uuid}) and m.status = 'SENT' and m.body = 'Weighted'`,
          ),
        );
        return row.n === 1_000;
      },
      60_000,
      250,
    );
    void tenant;
    const first = requestsOf(t.first.account);
    const second = requestsOf(t.second.account);
    expect(first + second).toBe(1_000);
    // 750 expected; the standard deviation of 1,000 draws at 3/4 is 13.7: ±60 is over 4 of them.
    expect(Math.abs(first - 750)).toBeLessThanOrEqual(60);
  });
});

describe('setChannelRouting', () => {
  it('refuses an empty list, another channel’s or tenant’s gateway, and missing priorities or weights', async () => {
    const t = await twoGateways();
    const other = await buildTenant(herald);
    const otherGateway = ok(await herald.gql(`{ gateways(channel: SMS) { id } }`, undefined, other.adminKey)).gateways[0].id;
    const emailGateway = ok(await herald.gql(`{ gateways(channel: EMAIL) { id } }`, undefined, t.adminKey)).gateways[0].id;
    const refusals = async (input: Record<string, unknown>) =>
      (
        ok(await herald.gql(SET_ROUTING, { input: { channel: 'SMS', strategy: 'PRIORITY', ...input } }, t.adminKey)).setChannelRouting
          .userErrors as UserError[]
      ).map((e) => [e.code, e.field?.join('.')]);
    expect(await refusals({ routes: [] })).toEqual([['INVALID_INPUT', 'input.routes']]);
    expect(await refusals({ routes: [{ gatewayId: otherGateway, priority: 1 }] })).toEqual([['NOT_FOUND', 'input.routes.0.gatewayId']]);
    expect(await refusals({ routes: [{ gatewayId: emailGateway, priority: 1 }] })).toEqual([['WRONG_CHANNEL', 'input.routes.0.gatewayId']]);
    expect(await refusals({ routes: [{ gatewayId: t.first.id }] })).toEqual([['INVALID_INPUT', 'input.routes.0.priority']]);
    expect(await refusals({ strategy: 'WEIGHTED', routes: [{ gatewayId: t.first.id, weight: 0 }] })).toEqual([
      ['INVALID_INPUT', 'input.routes.0.weight'],
    ]);
    // Nothing changed.
    const channels = ok(await herald.gql(`{ channels { channel strategy routes { gateway { id } priority } } }`, undefined, t.adminKey))
      .channels as any[];
    expect(channels.find((c) => c.channel === 'SMS').routes.map((r: any) => r.gateway.id)).toEqual([t.first.id, t.second.id]);
    // A channel never routed shows its default gateway alone.
    const email = channels.find((c) => c.channel === 'EMAIL');
    expect(email).toMatchObject({ strategy: 'PRIORITY', routes: [{ gateway: { id: emailGateway }, priority: 0 }] });
  });
});
