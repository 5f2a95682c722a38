// Event webhooks end to end: a real Herald (API, worker, queue, database) sends through its
// SANDBOX gateways and posts each status change to a local receiver, signed as Standard
// Webhooks says; the receiver verifies every signature with the `standardwebhooks` library.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_INVALID_NUMBER } from '../src/providers/sandbox/sandbox-provider.js';
import { fromGlobalId } from '../src/lib/ids.js';
import { FAILING_ENDPOINT_CONCURRENCY } from '../src/dispatch/webhooks/worker.js';
import type { UserError } from './helpers/api-types.js';
import { rowsOf } from './helpers/database.js';
import { buildApiKey, buildRecipient, buildTenant } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { metricsText, metric } from './helpers/metrics.js';
import { pause, waitUntil } from './helpers/wait.js';
import { type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.js';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake } from './fakes/twilio-fake.js';

const ALL_TYPES = ['MESSAGE_SCHEDULED', 'MESSAGE_QUEUED', 'MESSAGE_SENT', 'MESSAGE_DELIVERED', 'MESSAGE_FAILED', 'MESSAGE_CANCELLED'];
const USER_ERRORS = 'userErrors { field message code }';
const CREATE = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { id enabled } secret ${USER_ERRORS} } }`;
const UPDATE = `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { endpoint { id enabled disabledReason } ${USER_ERRORS} } }`;
const ROTATE = `mutation($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) { secret ${USER_ERRORS} } }`;
const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status } ${USER_ERRORS} } }`;
const CANCEL = `mutation($input: CancelMessageInput!) { cancelMessage(input: $input) { message { id status } ${USER_ERRORS} } }`;
const DELIVERY_FIELDS = `id attempt outcome statusCode error durationMs responseExcerpt at nextAttemptAt
  endpoint { id } event { id type payload createdAt message { id status } }`;
const DELIVERIES = `query($filter: WebhookDeliveryFilter, $first: Int, $after: String) {
  webhookDeliveries(filter: $filter, first: $first, after: $after) {
    edges { cursor node { ${DELIVERY_FIELDS} } } pageInfo { hasNextPage endCursor } totalCount } }`;
const REDELIVER = `mutation($input: RedeliverWebhookEventInput!) { redeliverWebhookEvent(input: $input) { event { id type } ${USER_ERRORS} } }`;
const SEND_TEST = `mutation($input: SendTestWebhookEventInput!) { sendTestWebhookEvent(input: $input) { event { id type payload message { id } } ${USER_ERRORS} } }`;

interface Delivery {
  id: string;
  attempt: number;
  outcome: 'SUCCEEDED' | 'FAILED';
  statusCode: number | null;
  error: string | null;
  durationMs: number | null;
  responseExcerpt: string | null;
  at: string;
  nextAttemptAt: string | null;
  endpoint: { id: string };
  event: { id: string; type: string; payload: string; createdAt: string; message: { id: string; status: string } | null };
}

interface EventBody {
  type: string;
  timestamp: string;
  test?: boolean;
  data: Record<string, unknown> & { id: string; status: string; destination: string };
}

let herald: TestHerald;
// The default tenant sends SMS through Twilio (a local fake), so that receipts can come back.
let twilioFake: TwilioFake;
const twilioAccount = fakeTwilioAccount();
const PUBLIC_URL = 'https://herald.example.test';

beforeAll(async () => {
  twilioFake = await startTwilioFake({ accounts: [twilioAccount] });
  herald = await startTestHerald({
    env: {
      TWILIO_ACCOUNT_SID: twilioAccount.accountSid,
      TWILIO_AUTH_TOKEN: twilioAccount.authToken,
      TWILIO_SMS_FROM: '+15005550006',
      TWILIO_API_BASE_URL: twilioFake.url,
      PUBLIC_URL,
      HERALD_WEBHOOK_ALLOW_PRIVATE: 'true',
      HERALD_WEBHOOK_RETRY_BASE_MS: '50',
      HERALD_WEBHOOK_RETRY_MAX_DELAY_MS: '200',
      HERALD_WEBHOOK_TIMEOUT_MS: '1000',
    },
  });
});
afterAll(async () => {
  await herald?.stop();
  await twilioFake?.close();
});

const receivers: WebhookReceiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver();
  receivers.push(r);
  return r;
}

/** A tenant of its own (SANDBOX gateways), a client with a phone, and an endpoint at `url`. */
async function setUp(url: string, eventTypes = ALL_TYPES) {
  const { adminKey } = await buildTenant(herald);
  const client = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550123' }, adminKey);
  const created = ok(await herald.gql(CREATE, { input: { url, eventTypes } }, adminKey)).createWebhookEndpoint;
  expect(created.userErrors).toEqual([]);
  return { adminKey, client, endpointId: created.endpoint.id as string, secret: created.secret as string };
}

async function sendSms(adminKey: string, clientId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const sent = ok(await herald.gql(SEND, { input: { clientId, message: 'Hello', ...extra } }, adminKey)).sendSms;
  expect(sent.userErrors).toEqual([]);
  return sent.message.id;
}

/** Verifies with the standardwebhooks library, as a receiver would; throws if no signature holds. */
function verify(secret: string, request: ReceivedWebhook): EventBody {
  const headers = {
    'webhook-id': String(request.headers['webhook-id']),
    'webhook-timestamp': String(request.headers['webhook-timestamp']),
    'webhook-signature': String(request.headers['webhook-signature']),
  };
  return new Webhook(secret).verify(request.body, headers) as EventBody;
}

function bodiesOf(r: WebhookReceiver, messageId: string): EventBody[] {
  return r.received.map((req) => JSON.parse(req.body) as EventBody).filter((b) => b.data.id === messageId);
}

async function deliveries(adminKey: string, filter: Record<string, unknown> = {}, first = 50): Promise<Delivery[]> {
  const page = ok(await herald.gql(DELIVERIES, { filter, first }, adminKey)).webhookDeliveries;
  return page.edges.map((e: { node: Delivery }) => e.node);
}

describe('events', () => {
  it('posts each status change once, signed, with the message as the API shows it', async () => {
    const r = await receiver();
    const { adminKey, client, secret, endpointId } = await setUp(r.url);
    const messageId = await sendSms(adminKey, client.id, { idempotencyKey: 'ref-1' });
    await waitUntil('queued and sent events', () => bodiesOf(r, messageId).length >= 2);
    await pause(300); // nothing more comes for this message
    const requests = r.received.filter((req) => (JSON.parse(req.body) as EventBody).data.id === messageId);
    const bodies = requests.map((req) => verify(secret, req));
    expect(bodies.map((b) => b.type).sort()).toEqual(['message.queued', 'message.sent']);
    const sent = bodies.find((b) => b.type === 'message.sent')!;
    const queued = bodies.find((b) => b.type === 'message.queued')!;
    expect(sent.data).toMatchObject({
      id: messageId,
      status: 'SENT',
      channel: 'SMS',
      destination: '+1*******0123',
      recipientId: client.id,
    });
    expect(queued.data.status).toBe('QUEUED');
    // The status's time, to the microsecond; a later status is never older.
    expect(sent.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(sent.timestamp > queued.timestamp).toBe(true);
    // Never the body, nor the whole number.
    for (const req of requests) {
      expect(req.body).not.toContain('Hello');
      expect(req.body).not.toContain('4155550123');
      expect(req.headers['content-type']).toBe('application/json');
      expect(String(req.headers['webhook-id'])).toMatch(/^wev_[0-9a-f]{32}$/);
    }

    // Every attempt is listed, with the event as sent, newest first.
    await waitUntil('two deliveries recorded', async () => (await deliveries(adminKey, { messageId })).length === 2);
    const listed = await deliveries(adminKey, { messageId });
    expect(listed.map((d) => d.outcome)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(listed.every((d) => d.endpoint.id === endpointId && d.statusCode === 200 && d.responseExcerpt === 'ok' && d.attempt === 1)).toBe(
      true,
    );
    expect(listed[0].at >= listed[1].at).toBe(true);
    for (const d of listed) {
      const request = requests.find((req) => req.headers['webhook-id'] === d.event.id)!;
      expect(d.event.payload).toBe(request.body);
      expect(d.event.message).toEqual({ id: messageId, status: 'SENT' });
    }
  });

  it('tells message.delivered when the provider reports delivery', async () => {
    const r = await receiver();
    const made = ok(await herald.gql(CREATE, { input: { url: r.url, eventTypes: ['MESSAGE_DELIVERED'] } })).createWebhookEndpoint;
    expect(made.userErrors).toEqual([]);
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550188' });
    const messageId = await sendSms(herald.adminKey, client.id);
    let sid = '';
    await waitUntil('sent through Twilio', async () => {
      const message = ok(await herald.gql(`query($id: ID!) { message(id: $id) { providerMessageId } }`, { id: messageId })).message;
      sid = message.providerMessageId ?? '';
      return sid !== '';
    });
    const callback = twilioFake.messages.find((m) => m.sid === sid)!.status_callback!;
    const form = { AccountSid: twilioAccount.accountSid, MessageSid: sid, SmsSid: sid, MessageStatus: 'delivered', To: '+14155550188' };
    const { pathname, search } = new URL(callback);
    const answer = await fetch(`${herald.url}${pathname}${search}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(twilioAccount.authToken, callback, form),
      },
      body: new URLSearchParams(form).toString(),
    });
    expect(answer.status).toBeLessThan(300);
    await waitUntil('delivered event', () => r.received.length === 1);
    const body = verify(made.secret, r.received[0]);
    expect(body).toMatchObject({ type: 'message.delivered', data: { id: messageId, status: 'DELIVERED', providerMessageId: sid } });
    expect(body.data.deliveredAt).toMatch(/^\d{4}-/);
    // The latency from the status change to its delivery is measured.
    expect(metric(await metricsText(herald.url), 'herald_webhook_delivery_latency_seconds_count')).toBeGreaterThan(0);
  });

  it('tells only the event types an endpoint subscribes to, and scheduled, cancelled and failed ones', async () => {
    const r = await receiver();
    const { adminKey, client, secret } = await setUp(r.url, ['MESSAGE_SCHEDULED', 'MESSAGE_CANCELLED', 'MESSAGE_FAILED']);
    const later = await sendSms(adminKey, client.id, { sendAt: new Date(Date.now() + 3_600_000).toISOString() });
    const cancelled = ok(await herald.gql(CANCEL, { input: { id: later } }, adminKey)).cancelMessage;
    expect(cancelled.userErrors).toEqual([]);
    const invalid = await buildRecipient(herald, { kind: 'CLIENT', phone: SANDBOX_INVALID_NUMBER }, adminKey);
    const failing = await sendSms(adminKey, invalid.id);
    await waitUntil('scheduled, cancelled and failed events', () => r.received.length >= 3);
    await pause(300);
    const bodies = r.received.map((req) => verify(secret, req));
    expect(bodies.map((b) => `${b.type} ${b.data.id === later ? 'later' : b.data.id === failing ? 'failing' : '?'}`).sort()).toEqual([
      'message.cancelled later',
      'message.failed failing',
      'message.scheduled later',
    ]);
    const failed = bodies.find((b) => b.type === 'message.failed')!;
    expect(failed.data.errorCode).toBeTruthy();
    expect(failed.data.errorMessage).toBeTruthy();
  });

  it('writes no event for a tenant without an endpoint, nor for a disabled one', async () => {
    const r = await receiver();
    const { adminKey, client, endpointId } = await setUp(r.url);
    ok(await herald.gql(UPDATE, { input: { id: endpointId, enabled: false } }, adminKey));
    const messageId = await sendSms(adminKey, client.id);
    await pause(500);
    expect(r.received).toEqual([]);
    const uuid = fromGlobalId(messageId, 'Message')!.uuid;
    expect(rowsOf(await herald.services.db.execute(sql`select 1 from outbound_events where message_id = ${uuid}`))).toEqual([]);
  });
});

describe('retries', () => {
  it('retries after a 503 and after a timeout, and not after a 400', async () => {
    const r = await receiver();
    const { adminKey, client } = await setUp(r.url, ['MESSAGE_SENT']);
    let calls = 0;
    r.answer(() => {
      calls += 1;
      if (calls === 1) return { status: 503, body: 'down for maintenance' };
      if (calls === 2) return { hang: true };
      return { status: 204 };
    });
    const messageId = await sendSms(adminKey, client.id);
    await waitUntil('third attempt', () => r.received.length >= 3, 20_000);
    await waitUntil('three deliveries recorded', async () => (await deliveries(adminKey, { messageId })).length === 3);
    const [third, second, first] = await deliveries(adminKey, { messageId });
    expect(first).toMatchObject({ attempt: 1, outcome: 'FAILED', statusCode: 503, responseExcerpt: 'down for maintenance' });
    expect(first.nextAttemptAt).not.toBeNull();
    expect(second).toMatchObject({ attempt: 2, outcome: 'FAILED', statusCode: null, error: 'no answer within 1000 ms' });
    expect(third).toMatchObject({ attempt: 3, outcome: 'SUCCEEDED', statusCode: 204, nextAttemptAt: null });
    // The same event each time: one webhook-id, one body.
    expect(new Set(r.received.map((req) => req.headers['webhook-id'])).size).toBe(1);
    expect(new Set(r.received.map((req) => req.body)).size).toBe(1);

    const r400 = await receiver();
    const other = await setUp(r400.url, ['MESSAGE_SENT']);
    r400.answer(() => ({ status: 400, body: 'x'.repeat(5_000) }));
    const refusedId = await sendSms(other.adminKey, other.client.id);
    await waitUntil('the 400 recorded', async () => (await deliveries(other.adminKey, { messageId: refusedId })).length === 1);
    await pause(600);
    expect(r400.received).toHaveLength(1);
    const [refused] = await deliveries(other.adminKey, { messageId: refusedId });
    expect(refused).toMatchObject({ outcome: 'FAILED', statusCode: 400, nextAttemptAt: null });
    expect(refused.responseExcerpt).toHaveLength(1_024);
  });

  it('delivers every event once a receiver that was down comes back', async () => {
    const r = await receiver();
    const { adminKey, client, secret } = await setUp(r.url, ['MESSAGE_QUEUED', 'MESSAGE_SENT']);
    await r.down();
    const ids = [];
    for (let i = 0; i < 10; i++) ids.push(await sendSms(adminKey, client.id));
    await waitUntil('refused attempts recorded', async () =>
      (await deliveries(adminKey, { outcome: 'FAILED' }, 100)).some((d) => d.error === 'connection refused'),
    );
    await pause(500);
    await r.up();
    await waitUntil('every event arrives', () => new Set(r.received.map((req) => req.headers['webhook-id'])).size === 20, 20_000);
    for (const id of ids)
      expect(
        bodiesOf(r, id)
          .map((b) => b.type)
          .sort(),
      ).toEqual(['message.queued', 'message.sent']);
    for (const req of r.received) verify(secret, req);
  });

  it('keeps an endpoint that times out to a few deliveries at once, while others go on', async () => {
    const slow = await receiver();
    const a = await setUp(slow.url, ['MESSAGE_QUEUED']);
    slow.answer(() => ({ hang: true }));
    const healthy = await receiver();
    const b = await setUp(healthy.url, ['MESSAGE_QUEUED']);
    // A first wave times out (1 s here): the endpoint is failing from then on.
    await sendSms(a.adminKey, a.client.id);
    await waitUntil('the first attempt timed out', async () => (await deliveries(a.adminKey, { outcome: 'FAILED' })).length > 0);
    for (let i = 0; i < 30; i++) await sendSms(a.adminKey, a.client.id);
    let most = 0;
    const watching = setInterval(() => (most = Math.max(most, slow.inFlight)), 5);
    try {
      await pause(300);
      const started = Date.now();
      const messageId = await sendSms(b.adminKey, b.client.id);
      await waitUntil('the healthy endpoint’s event', () => bodiesOf(healthy, messageId).length === 1, 5_000);
      // Well inside one timeout of the slow endpoint's, though it has 30 events waiting.
      expect(Date.now() - started).toBeLessThan(1_000);
      await pause(1_500);
    } finally {
      clearInterval(watching);
    }
    expect(most).toBeGreaterThan(0);
    // FAILING_ENDPOINT_CONCURRENCY (4) is pg-boss's group limit, which each poller's fetch
    // checks against the active jobs it sees: fetches that overlap (five pollers, a loaded
    // machine) can each take the last slot, so it is a soft bound (seen at 7 in CI). What
    // this guards is that a failing endpoint gets a few at once, not its 30 waiting events.
    expect(most).toBeLessThanOrEqual(2 * FAILING_ENDPOINT_CONCURRENCY);
  });

  it('disables an endpoint that has failed for 24 hours, with a reason, a log line and a metric', async () => {
    const r = await receiver();
    const { adminKey, client, endpointId } = await setUp(r.url, ['MESSAGE_SENT']);
    r.answer(() => ({ status: 500 }));
    // Its failing streak began a day ago (time is set in the database, not waited for).
    const uuid = fromGlobalId(endpointId, 'WebhookEndpoint')!.uuid;
    await herald.services.db.execute(
      sql`update webhook_endpoints set failing_since = now() - interval '24 hours 1 minute' where id = ${uuid}`,
    );
    const before = metric(await metricsText(herald.url), 'herald_webhook_endpoints_disabled_total');
    await sendSms(adminKey, client.id);
    await waitUntil('endpoint disabled', async () => {
      const [row] = rowsOf(await herald.services.db.execute(sql`select enabled from webhook_endpoints where id = ${uuid}`));
      return row.enabled === false;
    });
    const endpoint = ok(await herald.gql(`{ webhookEndpoints { id enabled disabledReason } }`, undefined, adminKey)).webhookEndpoints[0];
    expect(endpoint.enabled).toBe(false);
    expect(endpoint.disabledReason).toMatch(/failing continuously for 24 hours.*answered 500/);
    expect(metric(await metricsText(herald.url), 'herald_webhook_endpoints_disabled_total')).toBe(before + 1);
    expect(herald.logs.some((l) => l.includes('webhook endpoint disabled') && l.includes(uuid))).toBe(true);
    // Nothing more is tried.
    await pause(500);
    expect(r.received).toHaveLength(1);
    const [last] = await deliveries(adminKey);
    expect(last.nextAttemptAt).toBeNull();
  });
});

describe('replay', () => {
  it('redelivers an event with the same id and body, and sends test events', async () => {
    const r = await receiver();
    const { adminKey, client, secret, endpointId } = await setUp(r.url, ['MESSAGE_SENT']);
    const messageId = await sendSms(adminKey, client.id);
    await waitUntil('sent event', () => r.received.length === 1);
    // Recorded just after the receiver answered.
    await waitUntil('the delivery listed', async () => (await deliveries(adminKey, { messageId })).length === 1);
    const [first] = await deliveries(adminKey, { messageId });
    const again = ok(await herald.gql(REDELIVER, { input: { eventId: first.event.id } }, adminKey)).redeliverWebhookEvent;
    expect(again.userErrors).toEqual([]);
    expect(again.event).toEqual({ id: first.event.id, type: 'MESSAGE_SENT' });
    await waitUntil('redelivered', () => r.received.length === 2);
    expect(r.received[1].body).toBe(r.received[0].body);
    expect(r.received[1].headers['webhook-id']).toBe(first.event.id);
    verify(secret, r.received[1]);
    await waitUntil('second attempt listed', async () => (await deliveries(adminKey, { eventId: first.event.id })).length === 2);
    expect((await deliveries(adminKey, { eventId: first.event.id })).map((d) => d.attempt)).toEqual([2, 1]);

    const test = ok(await herald.gql(SEND_TEST, { input: { endpointId } }, adminKey)).sendTestWebhookEvent;
    expect(test.userErrors).toEqual([]);
    expect(test.event.message).toBeNull();
    await waitUntil('test event', () => r.received.length === 3);
    const body = verify(secret, r.received[2]);
    expect(body).toMatchObject({ type: 'message.sent', test: true });
    expect(r.received[2].body).toBe(test.event.payload);

    // Clear refusals.
    const missing = ok(
      await herald.gql(REDELIVER, { input: { eventId: 'wev_00000000000000000000000000000000' } }, adminKey),
    ).redeliverWebhookEvent;
    expect(missing.userErrors.map((e: UserError) => e.code)).toEqual(['NOT_FOUND']);
    ok(await herald.gql(UPDATE, { input: { id: endpointId, enabled: false } }, adminKey));
    const disabled = ok(await herald.gql(SEND_TEST, { input: { endpointId } }, adminKey)).sendTestWebhookEvent;
    expect(disabled.userErrors.map((e: UserError) => e.code)).toEqual(['INVALID_STATE']);
    // Another tenant's event is not found.
    const stranger = await buildTenant(herald);
    const foreign = ok(await herald.gql(REDELIVER, { input: { eventId: first.event.id } }, stranger.adminKey)).redeliverWebhookEvent;
    expect(foreign.userErrors.map((e: UserError) => e.code)).toEqual(['NOT_FOUND']);
  });

  it('signs with both secrets while a rotated-out one is in its day', async () => {
    const r = await receiver();
    const { adminKey, client, secret: oldSecret, endpointId } = await setUp(r.url, ['MESSAGE_SENT']);
    const rotated = ok(await herald.gql(ROTATE, { input: { id: endpointId } }, adminKey)).rotateWebhookSecret;
    expect(rotated.userErrors).toEqual([]);
    await sendSms(adminKey, client.id);
    await waitUntil('sent event', () => r.received.length === 1);
    const [request] = r.received;
    expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verify(oldSecret, request).type).toBe('message.sent');
    expect(verify(rotated.secret, request).type).toBe('message.sent');
    // A day later only the new one signs.
    const uuid = fromGlobalId(endpointId, 'WebhookEndpoint')!.uuid;
    await herald.services.db.execute(
      sql`update webhook_endpoints set previous_secret_expires_at = now() - interval '1 second' where id = ${uuid}`,
    );
    await sendSms(adminKey, client.id);
    await waitUntil('second event', () => r.received.length === 2);
    expect(String(r.received[1].headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verify(rotated.secret, r.received[1]).type).toBe('message.sent');
    expect(() => verify(oldSecret, r.received[1])).toThrow();
  });

  it('is for ADMIN keys only', async () => {
    const { adminKey } = await buildTenant(herald);
    const reader = await buildApiKey(herald, 'READER', adminKey);
    const result = await herald.gql(DELIVERIES, {}, reader);
    expect(result.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

describe("the README's receiver", () => {
  it('is the example file, and verifies what Herald sends', async () => {
    const example = readFileSync(new URL('../examples/webhook-receiver.mjs', import.meta.url), 'utf8');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`js\n${example}\`\`\``);

    const port = await freePort();
    const { adminKey, client, secret } = await setUp(`http://127.0.0.1:${port}/`, ['MESSAGE_SENT']);
    const child = spawn(process.execPath, ['examples/webhook-receiver.mjs'], {
      env: { ...process.env, HERALD_WEBHOOK_SECRET: secret, PORT: String(port) },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await waitUntil('the receiver listening', () => out.includes('listening'));
      const messageId = await sendSms(adminKey, client.id);
      await waitUntil('the event verified and printed', () => out.includes(messageId));
      const line = JSON.parse(out.split('\n').find((l) => l.includes(messageId))!);
      expect(line).toMatchObject({ type: 'message.sent', message: messageId, status: 'SENT' });
      await waitUntil('the delivery listed', async () => (await deliveries(adminKey, { messageId })).length === 1);
      const [delivery] = await deliveries(adminKey, { messageId });
      expect(delivery).toMatchObject({ outcome: 'SUCCEEDED', statusCode: 204 });
      // A body it cannot verify is refused.
      const forged = await fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'webhook-id': 'wev_x', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
        body: '{"type":"message.sent"}',
      });
      expect(forged.status).toBe(400);
    } finally {
      child.kill();
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
