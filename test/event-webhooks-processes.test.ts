// Event webhooks across real processes: `node dist/main.js --role api` and `--role worker`
// on one PostgreSQL, a worker killed with SIGKILL while its POST hangs at the receiver, and
// events written while no worker runs. Messages go through the default tenant's SANDBOX
// gateways; the receiver is local (HERALD_WEBHOOK_ALLOW_PRIVATE) and every signature is
// checked with the `standardwebhooks` library. The compiled JS comes from test/global-setup.ts.
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.js';
import type { TestDatabase } from './helpers/database.js';
import { scrapeMetric } from './helpers/metrics.js';
import { createPostgresDatabase, type HeraldProcess, killAll, spawnHerald as spawnProcess } from './helpers/process.js';
import { pause, waitUntil } from './helpers/wait.js';

// A killed worker's job comes back once its heartbeat (15 s) is stale and a supervisor
// (every 10 s) fails it for a retry: up to ~30 s on top of three processes starting.
const TEST_TIMEOUT_MS = 180_000;
const RECOVERY_TIMEOUT_MS = 120_000;

const running = new Set<HeraldProcess>();
const receivers: WebhookReceiver[] = [];
const databases: TestDatabase[] = [];

afterEach(async () => {
  await killAll(running);
  running.clear();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await Promise.all(databases.splice(0).map((db) => db.drop().catch(() => undefined)));
});

function spawnHerald(name: string, env: Record<string, string>, role: 'api' | 'worker'): HeraldProcess {
  const p = spawnProcess(env, { name, args: ['--role', role] });
  running.add(p);
  return p;
}

async function receiver(): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver();
  receivers.push(r);
  return r;
}

/** A fresh PostgreSQL database and what every process on it shares. */
async function setup(extraEnv: Record<string, string> = {}): Promise<{ env: Record<string, string>; adminKey: string }> {
  const db = await createPostgresDatabase('an API and worker processes');
  databases.push(db);
  const adminKey = `test-admin-${randomBytes(16).toString('hex')}`;
  const env = {
    ...db.env,
    HERALD_BOOTSTRAP_ADMIN_KEY: adminKey,
    // Every process must open the endpoints' signing secrets with the same key.
    HERALD_SECRET_KEY: randomBytes(32).toString('hex'),
    HERALD_WEBHOOK_ALLOW_PRIVATE: 'true',
    ...extraEnv,
  };
  return { env, adminKey };
}

const outputOf = (...processes: HeraldProcess[]) => processes.map((p) => p.output()).join('');

// ---------------------------------------------------------------------------------------
// GraphQL

const USER_ERRORS = 'userErrors { field code message }';

async function gql(url: string, key: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (response.status !== 200 || body.errors?.length) throw new Error(`GraphQL ${response.status}: ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

/** An endpoint at `url` for `eventTypes`; returns its signing secret. */
async function createEndpoint(apiUrl: string, key: string, url: string, eventTypes: string[]): Promise<string> {
  const data = await gql(
    apiUrl,
    key,
    `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id enabled } secret ${USER_ERRORS} } }`,
    { input: { url, eventTypes } },
  );
  expect(data.createWebhookEndpoint.userErrors).toEqual([]);
  expect(data.createWebhookEndpoint.endpoint.enabled).toBe(true);
  return data.createWebhookEndpoint.secret;
}

async function createClient(apiUrl: string, key: string): Promise<string> {
  const data = await gql(
    apiUrl,
    key,
    `mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } ${USER_ERRORS} } }`,
    { input: { kind: 'CLIENT', displayName: 'Webhook test client', phone: '+14155550123' } },
  );
  expect(data.createRecipient.userErrors).toEqual([]);
  return data.createRecipient.recipient.id;
}

async function sendSms(apiUrl: string, key: string, clientId: string, message: string): Promise<string> {
  const data = await gql(
    apiUrl,
    key,
    `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status } ${USER_ERRORS} } }`,
    { input: { clientId, message } },
  );
  expect(data.sendSms.userErrors).toEqual([]);
  return data.sendSms.message.id;
}

/** The status of each message, in the order of `ids` (the tests make fewer than a page of them). */
async function statuses(apiUrl: string, key: string, ids: string[]): Promise<string[]> {
  const data = await gql(apiUrl, key, '{ messages(first: 100) { edges { node { id status } } pageInfo { hasNextPage } } }');
  expect(data.messages.pageInfo.hasNextPage).toBe(false);
  const status = new Map(data.messages.edges.map((e: { node: { id: string; status: string } }) => [e.node.id, e.node.status]));
  return ids.map((id) => (status.get(id) as string | undefined) ?? 'missing');
}

interface Delivery {
  attempt: number;
  outcome: 'SUCCEEDED' | 'FAILED';
  statusCode: number | null;
  error: string | null;
  event: { id: string; type: string; payload: string; message: { id: string } | null };
}

/** Every delivery attempt the API lists (the tests make fewer than a page of them). */
async function deliveries(apiUrl: string, key: string): Promise<Delivery[]> {
  const data = await gql(
    apiUrl,
    key,
    `{ webhookDeliveries(first: 100) { edges { node { attempt outcome statusCode error event { id type payload message { id } } } }
       pageInfo { hasNextPage } totalCount } }`,
  );
  expect(data.webhookDeliveries.pageInfo.hasNextPage).toBe(false);
  return data.webhookDeliveries.edges.map((e: { node: Delivery }) => e.node);
}

// ---------------------------------------------------------------------------------------
// What the receiver got

interface EventBody {
  type: string;
  data: { id: string; status: string };
}

const webhookId = (request: ReceivedWebhook) => String(request.headers['webhook-id']);

/** Verifies as a receiver would; throws when no signature holds. */
function verify(secret: string, request: ReceivedWebhook): EventBody {
  return new Webhook(secret).verify(request.body, {
    'webhook-id': webhookId(request),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  }) as EventBody;
}

function requestsById(r: WebhookReceiver): Map<string, ReceivedWebhook[]> {
  const byId = new Map<string, ReceivedWebhook[]>();
  for (const request of r.received) byId.set(webhookId(request), [...(byId.get(webhookId(request)) ?? []), request]);
  return byId;
}

/** One line per delivery, for comparing lists whole. */
const describeDelivery = (d: Delivery) => `${d.event.id} ${d.event.type} attempt ${d.attempt} ${d.outcome} ${d.statusCode ?? d.error}`;

// ---------------------------------------------------------------------------------------

describe('event webhooks across processes on one PostgreSQL', () => {
  it(
    'delivers the events a worker killed mid-POST was sending, from the next worker, with the same ids, each recorded once',
    async () => {
      const SENDS = 3; // under the 4 deliveries to one endpoint at once: all in flight together
      const r = await receiver();
      r.answer(() => ({ hang: true }));
      // The first worker's attempts must still be waiting for an answer when it is killed.
      const { env, adminKey } = await setup({ HERALD_WEBHOOK_TIMEOUT_MS: '30000' });

      const api = spawnHerald('api', env, 'api');
      const apiUrl = await api.ready;
      const first = spawnHerald('worker-1', env, 'worker');
      await first.ready;
      const secret = await createEndpoint(apiUrl, adminKey, r.url, ['MESSAGE_SENT']);
      const clientId = await createClient(apiUrl, adminKey);
      const messageIds: string[] = [];
      for (let i = 0; i < SENDS; i++) messageIds.push(await sendSms(apiUrl, adminKey, clientId, `kill -9 #${i + 1}`));

      await waitUntil(
        () => `every sent event in flight at the receiver (${r.received.length} requests)${outputOf(api, first)}`,
        () => requestsById(r).size === SENDS,
        30_000,
      );
      const inFlight = [...requestsById(r).keys()];

      const killedAt = Date.now();
      first.child.kill('SIGKILL');
      expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });
      r.answer(() => ({ status: 200 }));
      const second = spawnHerald('worker-2', env, 'worker');
      const secondUrl = await second.ready;
      const secondReadyMs = Date.now() - killedAt;

      await waitUntil(
        () => `every event posted again (${r.received.length} requests)${outputOf(api, second)}`,
        () => inFlight.every((id) => requestsById(r).get(id)!.length >= 2),
        RECOVERY_TIMEOUT_MS,
        100,
      );
      const redeliveredMs = Math.max(...r.received.filter((req) => req.at > killedAt).map((req) => req.at)) - killedAt;
      await waitUntil(
        () => `the deliveries recorded${outputOf(api, second)}`,
        async () => (await deliveries(apiUrl, adminKey)).length >= SENDS,
        30_000,
      );
      const recordedMs = Date.now() - killedAt;
      // Nothing more comes: a duplicate would be a third request or a second record.
      await pause(2_000);

      // The receiver was told each event twice, as the same event: one webhook-id, one body,
      // signed each time with the endpoint's secret.
      const byId = requestsById(r);
      expect([...byId.keys()].sort()).toEqual([...inFlight].sort());
      const told = new Set<string>();
      for (const [id, requests] of byId) {
        expect(requests, `requests for ${id}`).toHaveLength(2);
        expect(requests[0].at, `first request for ${id}`).toBeLessThan(killedAt);
        expect(requests[1].at, `second request for ${id}`).toBeGreaterThan(killedAt);
        expect(requests[1].body).toBe(requests[0].body);
        const bodies = requests.map((req) => verify(secret, req));
        expect(bodies.map((b) => b.type)).toEqual(['message.sent', 'message.sent']);
        told.add(bodies[0].data.id);
      }
      expect([...told].sort()).toEqual([...messageIds].sort());

      // The API lists one attempt per event, the one that got an answer; the killed one
      // left no record.
      const listed = await deliveries(apiUrl, adminKey);
      expect(listed.map(describeDelivery).sort()).toEqual(inFlight.map((id) => `${id} MESSAGE_SENT attempt 1 SUCCEEDED 200`).sort());
      for (const d of listed) expect(d.event.payload).toBe(byId.get(d.event.id)![0].body);
      expect(listed.map((d) => d.event.message?.id).sort()).toEqual([...messageIds].sort());
      // The second worker made them, and the messages were sent once by the first.
      expect(await scrapeMetric(secondUrl, 'herald_webhook_deliveries_total', { outcome: 'SUCCEEDED' })).toBe(SENDS);
      expect(await scrapeMetric(secondUrl, 'herald_webhook_deliveries_total', { outcome: 'FAILED' })).toBe(0);
      expect(await statuses(apiUrl, adminKey, messageIds)).toEqual(messageIds.map(() => 'SENT'));

      console.log(
        `[kill -9 mid-POST] ${SENDS} events; second worker ready ${secondReadyMs} ms after SIGKILL, ` +
          `every event posted again by ${redeliveredMs} ms, recorded by ${recordedMs} ms`,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'delivers each event written while no worker ran exactly once, when a worker starts',
    async () => {
      const SENDS = 10;
      const r = await receiver();
      const { env, adminKey } = await setup();

      const api = spawnHerald('api', env, 'api');
      const apiUrl = await api.ready;
      const first = spawnHerald('worker-1', env, 'worker');
      await first.ready;
      const secret = await createEndpoint(apiUrl, adminKey, r.url, ['MESSAGE_QUEUED']);
      const clientId = await createClient(apiUrl, adminKey);
      first.child.kill('SIGKILL');
      expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

      // Accepted by the API alone: each writes its queued event, and none is relayed (only
      // workers relay), over several of the relay's 1 s polls.
      const messageIds: string[] = [];
      for (let i = 0; i < SENDS; i++) messageIds.push(await sendSms(apiUrl, adminKey, clientId, `no worker #${i + 1}`));
      await pause(3_000);
      expect(r.received).toEqual([]);
      expect(await deliveries(apiUrl, adminKey)).toEqual([]);
      expect(await statuses(apiUrl, adminKey, messageIds)).toEqual(messageIds.map(() => 'QUEUED'));

      const startedAt = Date.now();
      const second = spawnHerald('worker-2', env, 'worker');
      await second.ready;
      const readyMs = Date.now() - startedAt;
      await waitUntil(
        () => `every queued event delivered (${r.received.length} requests)${outputOf(api, second)}`,
        async () => (await deliveries(apiUrl, adminKey)).length >= SENDS,
        60_000,
      );
      const deliveredMs = Date.now() - startedAt;
      // The worker sends the messages too; their sent events go to no endpoint.
      await waitUntil(
        () => `the messages sent${outputOf(api, second)}`,
        async () => (await statuses(apiUrl, adminKey, messageIds)).every((s) => s === 'SENT'),
        60_000,
      );
      await pause(2_000);

      const byId = requestsById(r);
      expect(r.received).toHaveLength(SENDS);
      expect(byId.size).toBe(SENDS);
      const told = r.received.map((req) => verify(secret, req));
      expect(told.map((b) => `${b.type} ${b.data.status}`)).toEqual(messageIds.map(() => 'message.queued QUEUED'));
      expect(told.map((b) => b.data.id).sort()).toEqual([...messageIds].sort());

      const listed = await deliveries(apiUrl, adminKey);
      expect(listed.map(describeDelivery).sort()).toEqual(
        [...byId.keys()].map((id) => `${id} MESSAGE_QUEUED attempt 1 SUCCEEDED 200`).sort(),
      );
      expect(listed.map((d) => d.event.message?.id).sort()).toEqual([...messageIds].sort());

      console.log(
        `[no worker] ${SENDS} queued events; worker ready in ${readyMs} ms, all delivered ${deliveredMs} ms after it was started`,
      );
    },
    TEST_TIMEOUT_MS,
  );
});
