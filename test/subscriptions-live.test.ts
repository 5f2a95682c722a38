// messageStatusChanged over graphql-ws as a subscriber lives with it: every event resolved
// with what the database holds then (fresh loaders), and, on PostgreSQL, the process's LISTEN
// connection killed and kept out while the message changes: after the reconnect the
// subscriber receives the current status, and the process listens once, not twice.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fromGlobalId } from '../src/lib/ids.js';
import { LISTENER_APPLICATION_NAME } from '../src/realtime/listener.js';
import { STATUS_CHANNEL } from '../src/realtime/status-hub.js';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake } from './fakes/twilio-fake.js';
import { rowsOf } from './helpers/database.js';
import { createPostgresDatabase } from './helpers/process.js';
import { buildRecipient } from './helpers/factories.js';
import { fastRetryEnv, ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { cutOffListeners } from './helpers/listener-faults.js';
import { waitForMessageStatus, waitUntil } from './helpers/wait.js';

const SMS_FROM = '+15005550006';
const account = fakeTwilioAccount();
let twilioFake: TwilioFake;
let herald: TestHerald;
const clients: Client[] = [];

beforeAll(async () => {
  twilioFake = await startTwilioFake({ accounts: [account] });
  // PostgreSQL (DATABASE_URL, else the machine's own): its LISTEN connection is what the
  // second part cuts off.
  herald = await startTestHerald({
    database: await createPostgresDatabase('live status across a lost LISTEN connection'),
    env: {
      TWILIO_ACCOUNT_SID: account.accountSid,
      TWILIO_AUTH_TOKEN: account.authToken,
      TWILIO_SMS_FROM: SMS_FROM,
      TWILIO_API_BASE_URL: twilioFake.url,
      ...fastRetryEnv(3),
    },
  });
});
afterEach(async () => {
  twilioFake.reset();
  await Promise.all(clients.splice(0).map(async (c) => c.dispose()));
});
afterAll(async () => {
  await herald?.stop();
  await twilioFake?.close();
});

const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status } userErrors { field message code } } }`;
const GET = `query($id: ID!) { message(id: $id) { id channel status attempts errorCode errorMessage logs { outcome reason } } }`;
const STATUS_CHANGED = `subscription($messageId: ID, $recipientId: ID) {
  messageStatusChanged(messageId: $messageId, recipientId: $recipientId) { id status attempts logs { outcome } }
}`;

interface Event {
  id: string;
  status: string;
  attempts: number;
  logs: { outcome: string }[];
}
interface Sub {
  events: Event[];
  errors: unknown[];
}

let nextLine = 1000 + Math.floor(Math.random() * 8000);
const freshPhone = () => `+1415556${String(nextLine++).padStart(4, '0')}`;
const uuidOf = (messageId: string) => fromGlobalId(messageId, 'Message')!.uuid;

const getMessage = async (id: string) => ok(await herald.gql(GET, { id })).message;

async function sendSms(recipientId: string): Promise<string> {
  const payload = ok(
    await herald.gql(SEND, { input: { clientId: recipientId, message: `Code ${randomBytes(3).toString('hex')}` } }),
  ).sendSms;
  expect(payload.userErrors).toEqual([]);
  return payload.message.id;
}

function subscribe(variables: Record<string, unknown>): Sub {
  const client = createClient({
    url: `${herald.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${herald.adminKey}` },
    retryAttempts: 0,
  });
  clients.push(client);
  const sub: Sub = { events: [], errors: [] };
  client.subscribe<{ messageStatusChanged: Event }>(
    { query: STATUS_CHANGED, variables },
    {
      next: (result) => {
        if (result.errors?.length) sub.errors.push(...result.errors);
        if (result.data?.messageStatusChanged) sub.events.push(result.data.messageStatusChanged);
      },
      error: (err) => sub.errors.push(err),
      complete: () => undefined,
    },
  );
  return sub;
}

// A readiness probe: a NOTIFY as the trigger sends it, announcing a status the message never
// has (SCHEDULED). Once a subscriber has one, its subscription is live.
const PROBE = 'SCHEDULED';
const probes = (sub: Sub) => sub.events.filter((e) => e.status === PROBE).length;
const real = (sub: Sub) => sub.events.filter((e) => e.status !== PROBE);

async function probePayload(messageId: string): Promise<string> {
  const [row] = rowsOf(await herald.services.db.execute(sql`select tenant_id, recipient_id from messages where id = ${uuidOf(messageId)}`));
  return JSON.stringify({ id: uuidOf(messageId), tenantId: row.tenant_id, recipientId: row.recipient_id, status: PROBE });
}

async function probeUntilSeen(subs: Sub[], payload: string): Promise<void> {
  const seen = subs.map(probes);
  await waitUntil(
    () =>
      `a probe to reach the subscribers (events ${JSON.stringify(subs.map((s) => s.events))}, errors ${JSON.stringify(subs.map((s) => s.errors))})`,
    async () => {
      if (subs.every((s, i) => probes(s) > seen[i])) return true;
      await herald.services.db.execute(sql`select pg_notify(${STATUS_CHANNEL}, ${payload})`);
      return false;
    },
    30_000,
    200,
  );
}

/** A recipient with one SMS already SENT (for the probes) and a subscriber on each of them. */
async function watched() {
  const recipient = await buildRecipient(herald, { kind: 'CLIENT', phone: freshPhone() });
  const first = await sendSms(recipient.id);
  await waitForMessageStatus(getMessage, first, 'SENT');
  return { recipientId: recipient.id as string, first };
}

describe('subscription events', () => {
  it('shows logs as they are at each event, not as they were at the first one', async () => {
    const { recipientId, first } = await watched();
    const sub = subscribe({ recipientId });
    await probeUntilSeen([sub], await probePayload(first));

    // The first attempt fails (503, retried), the second is accepted.
    twilioFake.failNext(1, { status: 503 });
    const id = await sendSms(recipientId);
    await waitUntil(
      () => `SENT of ${id}; events ${JSON.stringify(real(sub))}, errors ${JSON.stringify(sub.errors)}`,
      () => real(sub).some((e) => e.id === id && e.status === 'SENT'),
    );

    const events = real(sub).filter((e) => e.id === id);
    expect(events.map((e) => [e.status, e.attempts])).toEqual([
      ['SENDING', 1],
      ['QUEUED', 1],
      ['SENDING', 2],
      ['SENT', 2],
    ]);
    // Each event reads the logs as they are when it is resolved: never fewer than the event
    // before it had, the failure from the QUEUED event on, both attempts at the end.
    const outcomes = events.map((e) => e.logs.map((l) => l.outcome));
    for (let i = 1; i < outcomes.length; i++) expect(outcomes[i].slice(0, outcomes[i - 1].length)).toEqual(outcomes[i - 1]);
    expect(outcomes[1][0]).toBe('FAILURE');
    expect(outcomes[3]).toEqual(['FAILURE', 'SUCCESS']);
    expect(sub.errors).toEqual([]);
  });
});

describe('after the LISTEN connection was lost', () => {
  const listeningBackends = async () =>
    Number(
      rowsOf(
        await herald.services.db.execute(
          sql`select count(*)::int as n from pg_stat_activity where application_name = ${LISTENER_APPLICATION_NAME} and datname = current_database()`,
        ),
      )[0].n,
    );

  it('sends subscribers the current status of what they watch once listening again, and listens once', async () => {
    const { recipientId, first } = await watched();
    const second = await sendSms(recipientId);
    await waitForMessageStatus(getMessage, second, 'SENT');
    const byMessage = subscribe({ messageId: second });
    const byRecipient = subscribe({ recipientId });
    const probe = await probePayload(second);
    await probeUntilSeen([byMessage, byRecipient], probe);
    expect(await listeningBackends()).toBe(1);

    const cut = await cutOffListeners(herald.database.env.DATABASE_URL);
    try {
      await waitUntil('the listener to notice', () => !herald.services.statusHub.listener.isUp, 5_000, 10);
      // The provider confirms delivery while the process hears nothing; the listener keeps
      // being refused for a few backoff rounds.
      await cut.db.query(`update messages set status = 'DELIVERED', delivered_at = now(), updated_at = now() where id = $1`, [
        uuidOf(second),
      ]);
      const refusedUntil = Date.now() + 2_000;
      await waitUntil('a few refused reconnects', () => Date.now() > refusedUntil, 5_000, 100);
      expect(herald.services.statusHub.listener.isUp).toBe(false);
      expect(real(byMessage)).toEqual([]);
    } finally {
      await cut.restore();
    }

    for (const sub of [byMessage, byRecipient]) {
      await waitUntil(
        () => `DELIVERED after the reconnect; events ${JSON.stringify(sub.events)}, errors ${JSON.stringify(sub.errors)}`,
        () => real(sub).some((e) => e.id === second && e.status === 'DELIVERED'),
      );
    }
    // The recipient's subscriber is sent the current status of its recent changes (a few
    // seconds before the gap included: processes' clocks differ), once each.
    const current: Record<string, string> = { [first]: 'SENT', [second]: 'DELIVERED' };
    const caughtUp = real(byRecipient).map((e) => [e.id, e.status]);
    expect(caughtUp).toContainEqual([second, 'DELIVERED']);
    for (const [id, status] of caughtUp) expect(status).toBe(current[id]);
    expect(new Set(caughtUp.map(([id]) => id)).size).toBe(caughtUp.length);
    expect(real(byMessage).map((e) => [e.id, e.status])).toEqual([[second, 'DELIVERED']]);

    // One listening connection again, and a notification arrives once.
    expect(await listeningBackends()).toBe(1);
    const before = probes(byMessage);
    for (const n of [1, 2]) {
      await herald.services.db.execute(sql`select pg_notify(${STATUS_CHANNEL}, ${probe})`);
      await waitUntil(`probe ${n} on the message subscriber`, () => probes(byMessage) >= before + n, 5_000);
    }
    expect(probes(byMessage)).toBe(before + 2);
    expect(byMessage.errors).toEqual([]);
    expect(byRecipient.errors).toEqual([]);
  }, 90_000);
});
