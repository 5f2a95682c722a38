// messageStatusChanged over graphql-ws as a subscriber lives with it: every event resolved
// with what the database holds then (fresh loaders), and, on PostgreSQL, the process's LISTEN
// connection killed and kept out while the message changes: after the reconnect the
// subscriber receives the current status, and the process listens once, not twice.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fromGlobalId, toGlobalId } from '../src/lib/ids.js';
import { LISTENER_APPLICATION_NAME } from '../src/realtime/listener.js';
import { STATUS_CHANNEL } from '../src/realtime/status-hub.js';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake } from './fakes/twilio-fake.js';
import { rowsOf } from './helpers/database.js';
import { createPostgresDatabase } from './helpers/process.js';
import { buildRecipient, buildTenant } from './helpers/factories.js';
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

function subscribe(variables: Record<string, unknown>, key = herald.adminKey): Sub {
  const client = createClient({
    url: `${herald.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
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
// has (SCHEDULED), as of now. Once a subscriber has one, its subscription is live.
const PROBE = 'SCHEDULED';
const probes = (sub: Sub) => sub.events.filter((e) => e.status === PROBE).length;
const real = (sub: Sub) => sub.events.filter((e) => e.status !== PROBE);

async function sendProbe(messageId: string): Promise<void> {
  await herald.services.db.execute(
    sql`select pg_notify(${STATUS_CHANNEL}, json_build_object('id', id, 'tenantId', tenant_id, 'recipientId', recipient_id,
          'status', ${PROBE}::text, 'at', herald_status_time(clock_timestamp()))::text)
        from messages where id = ${uuidOf(messageId)}`,
  );
}

async function probeUntilSeen(subs: Sub[], messageId: string): Promise<void> {
  const seen = subs.map(probes);
  await waitUntil(
    () =>
      `a probe to reach the subscribers (events ${JSON.stringify(subs.map((s) => s.events))}, errors ${JSON.stringify(subs.map((s) => s.errors))})`,
    async () => {
      if (subs.every((s, i) => probes(s) > seen[i])) return true;
      await sendProbe(messageId);
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

const CANCEL = `mutation($input: CancelMessageInput!) { cancelMessage(input: $input) { message { status } userErrors { code } } }`;
const codesOf = (sub: Sub) => sub.errors.flatMap((e) => (Array.isArray(e) ? e : [e])).map((e: any) => e.extensions?.code ?? String(e));

describe('what a subscriber is sent', () => {
  it('a message subscription opened after the message was sent gets its current status first', async () => {
    const { first } = await watched();
    const sub = subscribe({ messageId: first });
    await waitUntil(
      () => `the current status; events ${JSON.stringify(sub.events)}, errors ${JSON.stringify(sub.errors)}`,
      () => sub.events.length > 0,
    );
    expect(sub.events[0]).toMatchObject({ id: first, status: 'SENT', attempts: 1 });
    expect(sub.errors).toEqual([]);
  });

  it('a message subscription opened right after sendSms sees its statuses in order, ending SENT, each once', async () => {
    const recipient = await buildRecipient(herald, { kind: 'CLIENT', phone: freshPhone() });
    const id = await sendSms(recipient.id);
    const sub = subscribe({ messageId: id });
    await waitUntil(
      () => `SENT; events ${JSON.stringify(sub.events)}, errors ${JSON.stringify(sub.errors)}`,
      () => sub.events.some((e) => e.status === 'SENT'),
    );
    const statuses = sub.events.map((e) => e.status);
    // Whatever it had reached when the subscription started, then every later status.
    const lifecycle = ['QUEUED', 'SENDING', 'SENT'];
    expect(lifecycle.slice(lifecycle.indexOf(statuses[0]))).toEqual(statuses);
    expect(sub.errors).toEqual([]);
  });

  it('a recipient subscription opened before sending sees every status: QUEUED, SENDING, SENT; SCHEDULED, CANCELLED', async () => {
    const { recipientId, first } = await watched();
    const sub = subscribe({ recipientId });
    await probeUntilSeen([sub], first);

    const sent = await sendSms(recipientId);
    await waitUntil(
      () => `SENT; events ${JSON.stringify(real(sub))}`,
      () => real(sub).some((e) => e.id === sent && e.status === 'SENT'),
    );
    expect(
      real(sub)
        .filter((e) => e.id === sent)
        .map((e) => e.status),
    ).toEqual(['QUEUED', 'SENDING', 'SENT']);

    const sendAt = new Date(Date.now() + 3_600_000).toISOString();
    const scheduled = ok(await herald.gql(SEND, { input: { clientId: recipientId, message: 'Later', sendAt } })).sendSms.message.id;
    await waitUntil(
      () => `SCHEDULED; events ${JSON.stringify(real(sub))}`,
      () => sub.events.some((e) => e.id === scheduled),
    );
    expect(ok(await herald.gql(CANCEL, { input: { id: scheduled } })).cancelMessage.message.status).toBe('CANCELLED');
    await waitUntil(
      () => `CANCELLED; events ${JSON.stringify(sub.events)}`,
      () => sub.events.some((e) => e.id === scheduled && e.status === 'CANCELLED'),
    );
    expect(sub.events.filter((e) => e.id === scheduled).map((e) => e.status)).toEqual(['SCHEDULED', 'CANCELLED']);
    expect(sub.errors).toEqual([]);
  });

  it('a recipient subscriber is sent each of the messages one statement inserts (as a billing cycle does), 70 of them', async () => {
    const { recipientId, first } = await watched();
    const sub = subscribe({ recipientId });
    await probeUntilSeen([sub], first);
    // 70 copies of the first message in one INSERT, CANCELLED so that nothing sends them:
    // more than one notification's worth (NOTIFY payloads stop at 8,000 bytes).
    const inserted = rowsOf(
      await herald.services.db.execute(
        sql`insert into messages (id, tenant_id, recipient_id, channel, status, body, destination, scheduled_at, created_at)
            select gen_random_uuid(), tenant_id, recipient_id, channel, 'CANCELLED', body, destination, null, now()
              from messages, generate_series(1, 70) where id = ${uuidOf(first)}
            returning id`,
      ),
    ).map((row) => toGlobalId('Message', row.id as string));
    await waitUntil(
      () => `70 CANCELLED; got ${real(sub).length}, errors ${JSON.stringify(sub.errors)}`,
      () => real(sub).length >= 70,
    );
    expect(new Set(real(sub).map((e) => e.id))).toEqual(new Set(inserted));
    expect(real(sub).every((e) => e.status === 'CANCELLED')).toBe(true);
    expect(sub.errors).toEqual([]);
  });

  it('refuses at subscribe time an id that names nothing of this tenant, and sends nothing', async () => {
    const { recipientId, first } = await watched();
    const other = await buildTenant(herald);
    const unknown = toGlobalId('Message', '0190f0f0-0000-7000-8000-000000000000');
    const refused = [
      subscribe({ messageId: unknown }),
      subscribe({ messageId: 'nope' }),
      subscribe({ messageId: recipientId }),
      subscribe({ recipientId: toGlobalId('Recipient', '0190f0f0-0000-7000-8000-000000000000') }),
      subscribe({ messageId: first, recipientId: (await buildRecipient(herald, { kind: 'CLIENT', phone: freshPhone() })).id }),
      subscribe({ messageId: first }, other.adminKey),
      subscribe({ recipientId }, other.adminKey),
    ];
    await waitUntil(
      () => `every refusal; errors ${JSON.stringify(refused.map((s) => s.errors))}`,
      () => refused.every((s) => s.errors.length > 0),
    );
    for (const sub of refused) {
      expect(codesOf(sub)).toEqual(['BAD_USER_INPUT']);
      expect(sub.events).toEqual([]);
    }
  });
});

describe('subscription events', () => {
  it('shows logs as they are at each event, not as they were at the first one', async () => {
    const { recipientId, first } = await watched();
    const sub = subscribe({ recipientId });
    await probeUntilSeen([sub], first);

    // The first attempt fails (503, retried), the second is accepted.
    twilioFake.failNext(1, { status: 503 });
    const id = await sendSms(recipientId);
    await waitUntil(
      () => `SENT of ${id}; events ${JSON.stringify(real(sub))}, errors ${JSON.stringify(sub.errors)}`,
      () => real(sub).some((e) => e.id === id && e.status === 'SENT'),
    );

    // QUEUED when accepted (its attempts are read when the event is resolved, perhaps after
    // the claim), then each transition.
    const events = real(sub).filter((e) => e.id === id);
    expect(events[0].status).toBe('QUEUED');
    expect(events.slice(1).map((e) => [e.status, e.attempts])).toEqual([
      ['SENDING', 1],
      ['QUEUED', 1],
      ['SENDING', 2],
      ['SENT', 2],
    ]);
    // Each event reads the logs as they are when it is resolved: never fewer than the event
    // before it had, the failure from the second QUEUED event on, both attempts at the end.
    const outcomes = events.map((e) => e.logs.map((l) => l.outcome));
    for (let i = 1; i < outcomes.length; i++) expect(outcomes[i].slice(0, outcomes[i - 1].length)).toEqual(outcomes[i - 1]);
    expect(outcomes[2][0]).toBe('FAILURE');
    expect(outcomes[4]).toEqual(['FAILURE', 'SUCCESS']);
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
    await probeUntilSeen([byMessage, byRecipient], second);
    // The message subscriber was sent the message as it was when it subscribed.
    expect(real(byMessage).map((e) => e.status)).toEqual(['SENT']);
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
      expect(real(byMessage).map((e) => e.status)).toEqual(['SENT']);
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
    expect(real(byMessage).map((e) => [e.id, e.status])).toEqual([
      [second, 'SENT'],
      [second, 'DELIVERED'],
    ]);

    // One listening connection again, and a notification arrives once.
    expect(await listeningBackends()).toBe(1);
    const before = probes(byMessage);
    for (const n of [1, 2]) {
      await sendProbe(second);
      await waitUntil(`probe ${n} on the message subscriber`, () => probes(byMessage) >= before + n, 5_000);
    }
    expect(probes(byMessage)).toBe(before + 2);
    expect(byMessage.errors).toEqual([]);
    expect(byRecipient.errors).toEqual([]);
  }, 90_000);
});
