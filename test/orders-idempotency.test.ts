// updateOrderStatus with an idempotencyKey, end to end: the real HTTP API, the real worker
// and the twilio SDK against a local fake of Twilio Messages. A client that times out and
// calls again must get the first call's answer, and the customer must not hear twice.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxOutbox } from '../src/providers/index.js';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake } from './fakes/twilio-fake.js';
import type { UserError } from './helpers/api-types.js';
import { buildRecipient, buildTenant } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { scrapeMetric } from './helpers/metrics.js';
import { waitForMessageStatus, waitUntil } from './helpers/wait.js';

const account = fakeTwilioAccount();
let twilioFake: TwilioFake;
let herald: TestHerald;

beforeAll(async () => {
  twilioFake = await startTwilioFake({ accounts: [account] });
  // No SendGrid: the default tenant's EMAIL goes to its SANDBOX gateway.
  herald = await startTestHerald({
    env: {
      TWILIO_ACCOUNT_SID: account.accountSid,
      TWILIO_AUTH_TOKEN: account.authToken,
      TWILIO_SMS_FROM: '+15005550006',
      TWILIO_WHATSAPP_FROM: '+14155238886',
      TWILIO_API_BASE_URL: twilioFake.url,
      PUBLIC_URL: 'https://herald.example.test',
    },
  });
});
afterAll(async () => {
  await herald?.stop();
  await twilioFake?.close();
});

const LOG_FIELDS = 'id outcome channel reason orderId orderStatus';
const UPDATE_ORDER = `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) {
  messages { id channel status body } failures { ${LOG_FIELDS} } userErrors { field message code } } }`;
const ORDER_HISTORY = `query($orderId: String) { messages(filter: { orderId: $orderId }) { totalCount } deliveryLogs(filter: { orderId: $orderId }) { totalCount } }`;
const GET = `query($id: ID!) { message(id: $id) { id channel status errorCode errorMessage attempts logs { outcome reason } } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { userErrors { field message code } } }`;

type Channel = 'SMS' | 'EMAIL' | 'WHATSAPP';
interface Message {
  id: string;
  channel: Channel;
  status: string;
  body: string;
}
interface Log {
  id: string;
  outcome: string;
  channel: Channel | null;
  reason: string;
  orderId: string;
  orderStatus: string;
}
interface OrderPayload {
  messages: Message[];
  failures: Log[];
  userErrors: UserError[];
}

let nextLine = 700;
const freshPhone = () => `+1415555${String(nextLine++).padStart(4, '0')}`;
const freshOrderId = () => `ord-${randomBytes(4).toString('hex')}`;
const freshKey = (name: string) => `${name}-${randomBytes(6).toString('hex')}`;

async function updateOrderStatus(input: Record<string, unknown>, key?: string): Promise<OrderPayload> {
  return ok(await herald.gql(UPDATE_ORDER, { input }, key)).updateOrderStatus;
}

async function notified(input: Record<string, unknown>, key?: string): Promise<OrderPayload> {
  const payload = await updateOrderStatus(input, key);
  expect(payload.userErrors).toEqual([]);
  return payload;
}

/** What the order's history lists: its messages and delivery logs. */
async function history(orderId: string, key?: string): Promise<{ messages: number; logs: number }> {
  const data = ok(await herald.gql(ORDER_HISTORY, { orderId }, key));
  return { messages: data.messages.totalCount, logs: data.deliveryLogs.totalCount };
}

async function getMessage(id: string, key?: string) {
  const message = ok(await herald.gql(GET, { id }, key)).message;
  if (!message) throw new Error(`message ${id} is not found`);
  return message;
}

const settled = (messages: Message[], key?: string) =>
  Promise.all(messages.map((m) => waitForMessageStatus(getMessage, m.id, ['SENT', 'FAILED'], { key })));

async function customer(
  contact: { phone?: string | null; email?: string | null; whatsapp?: string | null },
  channels: Channel[],
  key?: string,
) {
  const person = await buildRecipient(herald, { kind: 'CUSTOMER', ...contact }, key);
  for (const channel of channels) {
    expect(ok(await herald.gql(SUBSCRIBE, { input: { recipientId: person.id, channel } }, key)).subscribe.userErrors).toEqual([]);
  }
  return person;
}

const twilioTo = (to: string) => twilioFake.requests.filter((r) => r.form.To === to);
const idsOf = (payload: OrderPayload) => ({ messages: payload.messages.map((m) => m.id), failures: payload.failures.map((f) => f.id) });
const queuedMetric = (channel: Channel) => scrapeMetric(herald.url, 'herald_messages_total', { channel, status: 'QUEUED' });

/**
 * Runs `calls` (`n` identical keyed updates) so that they truly overlap. On PostgreSQL the
 * messages table is locked from another connection until the call that took the key is
 * stuck writing its messages and the other n - 1 wait on the key it holds; PGlite has one
 * connection, so there the calls take turns and the lock is not needed.
 */
async function withWriterHeld<T>(n: number, calls: () => Promise<T>): Promise<T> {
  const url = herald.database.env.DATABASE_URL;
  if (!url) return calls();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('begin');
    await client.query('lock table messages in exclusive mode');
    const running = calls();
    const waiting = async () => {
      // Activity statistics are read once per transaction unless cleared.
      await client.query('select pg_stat_clear_snapshot()');
      const { rows } = await client.query(
        `select count(*) filter (where query ilike 'insert into "messages"%')::int as writers,
                count(*) filter (where query ilike 'insert into "idempotency_keys"%')::int as repeats
           from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
      );
      return rows[0] as { writers: number; repeats: number };
    };
    let seen = { writers: 0, repeats: 0 };
    await waitUntil(
      () => `1 writer and ${n - 1} repeats waiting, saw ${JSON.stringify(seen)}`,
      async () => {
        seen = await waiting();
        return seen.writers === 1 && seen.repeats === n - 1;
      },
    );
    await client.query('commit');
    return await running;
  } finally {
    await client.end();
  }
}

/**
 * Waits until an update of another order to `customerId` (no key) is SENT: the worker has
 * taken every job queued before it, so a stray send of an earlier call would show by now.
 */
async function drained(customerId: string): Promise<void> {
  const marker = await notified({ orderId: freshOrderId(), customerId, status: 'MARKER' });
  await settled(marker.messages);
}

describe('updateOrderStatus with an idempotencyKey', () => {
  it("answers the same key and payload with the first call's messages and failures, and Twilio hears once per channel", async () => {
    const phone = freshPhone();
    const whatsapp = freshPhone();
    const person = await customer({ phone, whatsapp, email: null }, ['SMS', 'WHATSAPP', 'EMAIL']);
    const orderId = freshOrderId();
    const idempotencyKey = freshKey('retry');
    const input = { orderId, customerId: person.id, status: 'SHIPPED', note: 'On its way.', idempotencyKey };
    const smsQueuedBefore = await queuedMetric('SMS');

    const first = await notified(input);
    expect(first.messages.map((m) => [m.channel, m.status])).toEqual([
      ['SMS', 'QUEUED'],
      ['WHATSAPP', 'QUEUED'],
    ]);
    expect(first.failures).toMatchObject([
      { outcome: 'FAILURE', channel: 'EMAIL', reason: expect.stringMatching(/no e-mail address/), orderId, orderStatus: 'SHIPPED' },
    ]);

    // A retry while the first messages are still on their way, and the same payload
    // spelled with other spacing (compared as the messages are built: trimmed).
    const again = await notified(input);
    expect(idsOf(again)).toEqual(idsOf(first));
    expect(again.failures).toEqual(first.failures);
    const respaced = await notified({ ...input, orderId: ` ${orderId} `, status: 'SHIPPED  ', note: '  On its way.' });
    expect(idsOf(respaced)).toEqual(idsOf(first));

    // Once sent, a retry answers the same messages as they are now.
    const sent = await settled(first.messages);
    expect(sent.map((m) => m.status)).toEqual(['SENT', 'SENT']);
    const later = await notified(input);
    expect(idsOf(later)).toEqual(idsOf(first));
    expect(later.messages.map((m) => m.status)).toEqual(['SENT', 'SENT']);
    expect(later.failures).toEqual(first.failures);

    await drained(person.id);
    expect(twilioTo(phone)).toHaveLength(2); // this order's SMS once, and the marker's
    expect(twilioTo(`whatsapp:${whatsapp}`)).toHaveLength(2);
    // Two messages and their two SUCCESS logs, the one FAILURE: nothing from the retries.
    expect(await history(orderId)).toEqual({ messages: 2, logs: 3 });
    // QUEUED counted for the first call and the marker only.
    expect((await queuedMetric('SMS')) - smsQueuedBefore).toBe(2);
  });

  it('refuses another payload with the key as IDEMPOTENCY_CONFLICT and stores nothing for it', async () => {
    const phone = freshPhone();
    const person = await customer({ phone }, ['SMS']);
    const other = await customer({ phone: freshPhone() }, ['SMS']);
    const orderId = freshOrderId();
    const idempotencyKey = freshKey('conflict');
    const input = { orderId, customerId: person.id, status: 'PACKED', idempotencyKey };
    const first = await notified(input);
    expect(first.messages).toHaveLength(1);

    const conflict = {
      messages: [],
      failures: [],
      userErrors: [{ field: ['input', 'idempotencyKey'], message: expect.any(String), code: 'IDEMPOTENCY_CONFLICT' }],
    };
    expect(await updateOrderStatus({ ...input, status: 'SHIPPED' })).toEqual(conflict);
    expect(await updateOrderStatus({ ...input, note: 'Now with a note.' })).toEqual(conflict);
    expect(await updateOrderStatus({ ...input, customerId: other.id })).toEqual(conflict);
    const otherOrder = freshOrderId();
    expect(await updateOrderStatus({ ...input, orderId: otherOrder })).toEqual(conflict);

    expect(await history(orderId)).toMatchObject({ messages: 1 });
    expect(await history(otherOrder)).toEqual({ messages: 0, logs: 0 });
    // The key still answers its own payload.
    expect(idsOf(await notified(input))).toEqual(idsOf(first));
  });

  it('replays a call that only failed (customer subscribed to nothing) without writing new logs', async () => {
    const person = await customer({ phone: freshPhone() }, []);
    const orderId = freshOrderId();
    const input = { orderId, customerId: person.id, status: 'DELAYED', idempotencyKey: freshKey('nothing') };

    const first = await notified(input);
    expect(first.messages).toEqual([]);
    expect(first.failures).toMatchObject([
      { outcome: 'FAILURE', channel: null, reason: expect.stringMatching(/not subscribed to any channel/), orderId },
    ]);
    for (let i = 0; i < 3; i++) expect(await notified(input)).toEqual(first);
    expect(await history(orderId)).toEqual({ messages: 0, logs: 1 });
  });

  it('gives 10 concurrent identical calls with one key one set of messages, the same in every answer', async () => {
    const phone = freshPhone();
    const whatsapp = freshPhone();
    const person = await customer({ phone, whatsapp }, ['SMS', 'WHATSAPP']);
    const orderId = freshOrderId();
    const input = { orderId, customerId: person.id, status: 'OUT_FOR_DELIVERY', idempotencyKey: freshKey('burst') };

    const payloads = await withWriterHeld(10, () => Promise.all(Array.from({ length: 10 }, () => updateOrderStatus(input))));
    for (const p of payloads) expect(p.userErrors).toEqual([]);
    const answers = new Set(payloads.map((p) => JSON.stringify(idsOf(p))));
    expect(answers.size).toBe(1);
    expect(payloads[0].messages.map((m) => m.channel)).toEqual(['SMS', 'WHATSAPP']);
    expect(await history(orderId)).toMatchObject({ messages: 2 });

    await settled(payloads[0].messages);
    await drained(person.id);
    expect(twilioTo(phone)).toHaveLength(2); // the burst's SMS once, and the marker's
    expect(twilioTo(`whatsapp:${whatsapp}`)).toHaveLength(2);
    expect(await history(orderId)).toEqual({ messages: 2, logs: 2 });
  });

  it("keeps each tenant's keys apart: the same key in another tenant is a new call", async () => {
    const idempotencyKey = freshKey('shared');
    const orderId = freshOrderId();
    const mine = await customer({ phone: freshPhone() }, ['SMS']);
    const first = await notified({ orderId, customerId: mine.id, status: 'SHIPPED', idempotencyKey });

    const { adminKey } = await buildTenant(herald);
    const phone = freshPhone();
    const theirs = await customer({ phone }, ['SMS'], adminKey);
    // Another payload under the same key: no conflict there, and a message of its own.
    const theirFirst = await notified({ orderId, customerId: theirs.id, status: 'CANCELLED', idempotencyKey }, adminKey);
    expect(theirFirst.messages).toHaveLength(1);
    expect(theirFirst.messages[0].id).not.toBe(first.messages[0].id);
    const [sent] = await settled(theirFirst.messages, adminKey);
    expect(sent.status).toBe('SENT');
    expect(sandboxOutbox().filter((s) => s.destination === phone)).toMatchObject([{ body: expect.stringMatching(/CANCELLED/) }]);
    expect(await history(orderId, adminKey)).toMatchObject({ messages: 1 });

    // Each tenant's key still answers its own first call.
    expect(idsOf(await notified({ orderId, customerId: theirs.id, status: 'CANCELLED', idempotencyKey }, adminKey))).toEqual(
      idsOf(theirFirst),
    );
    expect(idsOf(await notified({ orderId, customerId: mine.id, status: 'SHIPPED', idempotencyKey }))).toEqual(idsOf(first));
    expect(await history(orderId)).toMatchObject({ messages: 1 });
  });

  it('takes a key afresh once its 24 hours are over', async () => {
    const phone = freshPhone();
    const person = await customer({ phone }, ['SMS']);
    const orderId = freshOrderId();
    const idempotencyKey = freshKey('day');
    const first = await notified({ orderId, customerId: person.id, status: 'SHIPPED', idempotencyKey });
    await settled(first.messages);

    // 23 h 59 min later it still answers the first call; 24 h 1 min later it is free.
    const age = async (interval: string) => {
      await herald.services.db.execute(
        sql`update idempotency_keys set created_at = now() - ${interval}::interval where key = ${idempotencyKey}`,
      );
    };
    await age('23 hours 59 minutes');
    expect(idsOf(await notified({ orderId, customerId: person.id, status: 'SHIPPED', idempotencyKey }))).toEqual(idsOf(first));
    await age('24 hours 1 minute');
    const fresh = await notified({ orderId, customerId: person.id, status: 'DELIVERED', idempotencyKey });
    expect(fresh.messages).toHaveLength(1);
    expect(fresh.messages[0].id).not.toBe(first.messages[0].id);
    expect(fresh.messages[0].body).toMatch(/DELIVERED/);
    // From now on the key names the new call.
    expect(idsOf(await notified({ orderId, customerId: person.id, status: 'DELIVERED', idempotencyKey }))).toEqual(idsOf(fresh));
    expect((await updateOrderStatus({ orderId, customerId: person.id, status: 'SHIPPED', idempotencyKey })).userErrors).toMatchObject([
      { code: 'IDEMPOTENCY_CONFLICT' },
    ]);

    await settled(fresh.messages);
    expect(twilioTo(phone).map((r) => r.form.Body)).toEqual([expect.stringMatching(/SHIPPED/), expect.stringMatching(/DELIVERED/)]);
    expect(await history(orderId)).toMatchObject({ messages: 2 });
  });

  it('refuses a key that is empty, too long or has spaces, as a userError on the field, and stores nothing', async () => {
    const person = await customer({ phone: freshPhone() }, ['SMS']);
    const orderId = freshOrderId();
    for (const idempotencyKey of ['', 'k'.repeat(256), 'two words']) {
      const payload = await updateOrderStatus({ orderId, customerId: person.id, status: 'SHIPPED', idempotencyKey });
      expect(payload).toEqual({
        messages: [],
        failures: [],
        userErrors: [{ field: ['input', 'idempotencyKey'], message: expect.stringMatching(/idempotencyKey/), code: 'INVALID_INPUT' }],
      });
    }
    expect(await history(orderId)).toEqual({ messages: 0, logs: 0 });
    // 255 printable characters are a key.
    const longest = await notified({ orderId, customerId: person.id, status: 'SHIPPED', idempotencyKey: 'k'.repeat(255) });
    expect(longest.messages).toHaveLength(1);
  });
});
