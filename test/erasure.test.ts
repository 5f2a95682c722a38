// Erasure and READER masking through the real API, worker and SDKs against the Twilio and
// SendGrid fakes, with an event-webhook endpoint that echoes what it is sent. A recipient
// with messages in several states (SENT, FAILED, SCHEDULED, from an order update) is
// erased: what the API, the webhook events and the rows themselves still say of the person
// is checked, as is everything of another recipient. Sends out at the moment of erasure
// are followed to their end.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISPATCH_QUEUE } from '../src/dispatch/jobs.js';
import { fromGlobalId } from '../src/lib/ids.js';
import { createMetrics } from '../src/metrics.js';
import { ErasureService } from '../src/modules/erasure/erasure.service.js';
import type { UserError } from './helpers/api-types.js';
import { rowsOf } from './helpers/database.js';
import { buildApiKey, buildRecipient, buildTenant } from './helpers/factories.js';
import { fastRetryEnv, ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { waitForMessageStatus, waitUntil } from './helpers/wait.js';
import { fakeSendgridKey, type SendgridFake, startSendgridFake } from './fakes/sendgrid-fake.js';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake } from './fakes/twilio-fake.js';
import { startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.js';

const ERASED = '[erased]';
const account = fakeTwilioAccount();
const sendgridKey = fakeSendgridKey();

let twilioFake: TwilioFake;
let sendgrid: SendgridFake;
let receiver: WebhookReceiver;
let herald: TestHerald;

beforeAll(async () => {
  [twilioFake, sendgrid, receiver] = await Promise.all([
    startTwilioFake({ accounts: [account] }),
    startSendgridFake({ apiKeys: [sendgridKey] }),
    startWebhookReceiver(),
  ]);
  // The endpoint echoes each event back: its answer is kept as the delivery's responseExcerpt.
  receiver.answer((request) => ({ status: 200, body: request.body }));
  herald = await startTestHerald({
    env: {
      PUBLIC_URL: 'https://herald.example.test',
      TWILIO_ACCOUNT_SID: account.accountSid,
      TWILIO_AUTH_TOKEN: account.authToken,
      TWILIO_SMS_FROM: '+15005550006',
      TWILIO_API_BASE_URL: twilioFake.url,
      SENDGRID_API_KEY: sendgridKey,
      SENDGRID_FROM_EMAIL: 'notify@herald.example.com',
      SENDGRID_API_BASE_URL: sendgrid.url,
      HERALD_WEBHOOK_ALLOW_PRIVATE: 'true',
      HERALD_SEND_BUDGET_PER_MINUTE: '0',
      HERALD_SEND_BUDGET_PER_DAY: '0',
      ...fastRetryEnv(3),
    },
  });
  const created = ok(
    await herald.gql(
      `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } userErrors { code message } } }`,
      {
        input: {
          url: receiver.url,
          eventTypes: ['MESSAGE_SCHEDULED', 'MESSAGE_QUEUED', 'MESSAGE_SENT', 'MESSAGE_DELIVERED', 'MESSAGE_FAILED', 'MESSAGE_CANCELLED'],
        },
      },
    ),
  ).createWebhookEndpoint;
  expect(created.userErrors).toEqual([]);
}, 60_000);

afterAll(async () => {
  await herald?.stop();
  await Promise.all([twilioFake?.close(), sendgrid?.close(), receiver?.close()]);
});

const USER_ERRORS = 'userErrors { field message code }';
const ERASE = `mutation($input: EraseRecipientInput!) { eraseRecipient(input: $input) { erasedId messagesErased ${USER_ERRORS} } }`;
const RECIPIENT = `query($id: ID!) { recipient(id: $id) {
  id kind displayName externalRef phone email whatsapp twitterHandle timeZone subscriptions { channel } } }`;
const MESSAGE_FIELDS = `id status channel body subject destination errorCode errorMessage providerMessageId reference
  logs { outcome reason }`;
const MESSAGE = `query($id: ID!) { message(id: $id) { ${MESSAGE_FIELDS} attempts } }`;
const MESSAGES = `query($filter: MessageFilter) { messages(filter: $filter, first: 100) { edges { node { ${MESSAGE_FIELDS} } } } }`;
const LOGS = `query($filter: DeliveryLogFilter) { deliveryLogs(filter: $filter, first: 100) {
  edges { node { outcome channel reason message { id } } } } }`;
const DELIVERIES = `query($filter: WebhookDeliveryFilter) { webhookDeliveries(filter: $filter, first: 100) {
  edges { node { outcome responseExcerpt event { type payload } } } } }`;
const SEND = `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { message { id status } ${USER_ERRORS} } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { recipient { id } ${USER_ERRORS} } }`;
const ORDER = `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) {
  messages { id } failures { reason } ${USER_ERRORS} } }`;

interface Message {
  id: string;
  status: string;
  channel: string;
  body: string;
  subject: string | null;
  destination: string;
  errorCode: string | null;
  errorMessage: string | null;
  providerMessageId: string | null;
  reference: string | null;
  logs: { outcome: string; reason: string | null }[];
}

let nextLine = 0;
const freshPhone = () => `+1415556${String(nextLine++).padStart(4, '0')}`;

const getMessage = async (id: string): Promise<Message & { attempts: number }> => ok(await herald.gql(MESSAGE, { id })).message;
const messagesOf = async (recipientId: string): Promise<Message[]> =>
  ok(await herald.gql(MESSAGES, { filter: { recipientId } })).messages.edges.map((e: { node: Message }) => e.node);
const logsOf = async (recipientId: string) =>
  ok(await herald.gql(LOGS, { filter: { recipientId } })).deliveryLogs.edges.map(
    (e: { node: { outcome: string; channel: string | null; reason: string | null; message: { id: string } | null } }) => e.node,
  );
const deliveriesOf = async (messageId: string) =>
  ok(await herald.gql(DELIVERIES, { filter: { messageId } })).webhookDeliveries.edges.map(
    (e: { node: { outcome: string; responseExcerpt: string | null; event: { type: string; payload: string } } }) => e.node,
  );

async function erase(id: string, key?: string) {
  return herald.gql<{ eraseRecipient: { erasedId: string | null; messagesErased: number; userErrors: UserError[] } }>(
    ERASE,
    { input: { id } },
    key,
  );
}

async function send(input: Record<string, unknown>): Promise<string> {
  const sent = ok(await herald.gql(SEND, { input })).sendNotification;
  expect(sent.userErrors).toEqual([]);
  return sent.message.id;
}

/** Every row that names the recipient or one of its messages, as text: what a dump of the database would show. */
async function rowsNaming(recipientId: string): Promise<string[]> {
  const id = fromGlobalId(recipientId, 'Recipient')!.uuid;
  const result = await herald.handle.db.execute(sql`
    select r::text as row from recipients r where r.id = ${id}
    union all select m::text from messages m where m.recipient_id = ${id}
    union all select l::text from delivery_logs l where l.recipient_id = ${id}
    union all select e::text from outbound_events e where e.message_id in (select id from messages where recipient_id = ${id})
    union all select d::text from webhook_deliveries d where d.message_id in (select id from messages where recipient_id = ${id})
    union all select s::text from subscriptions s where s.recipient_id = ${id}`);
  return rowsOf(result).map((r) => String(r.row));
}

/** Waits until every webhook event of the recipient's messages has been delivered once. */
async function eventsDelivered(recipientId: string): Promise<void> {
  const id = fromGlobalId(recipientId, 'Recipient')!.uuid;
  await waitUntil(`the events of ${recipientId} delivered`, async () => {
    const [counts] = rowsOf(
      await herald.handle.db.execute(sql`
        select count(*)::int as events,
               count(*) filter (where not exists (select 1 from webhook_deliveries d where d.event_id = e.id))::int as waiting
          from outbound_events e where e.message_id in (select id from messages where recipient_id = ${id})`),
    );
    return Number(counts.events) > 0 && Number(counts.waiting) === 0;
  });
}

/** The dispatch job of a message made due now, then run to its end by the worker (time moved on, not waited for). */
async function runJobNow(messageId: string): Promise<void> {
  const uuid = fromGlobalId(messageId, 'Message')!.uuid;
  await herald.handle.db.execute(
    sql`update pgboss.job set start_after = now() where name = ${DISPATCH_QUEUE} and data->>'messageId' = ${uuid} and state = 'created'`,
  );
  await waitUntil(`the job of ${messageId} to run`, async () => {
    const rows = rowsOf(
      await herald.handle.db.execute(sql`select state from pgboss.job where name = ${DISPATCH_QUEUE} and data->>'messageId' = ${uuid}`),
    );
    return rows.length > 0 && rows.every((r) => r.state === 'completed');
  });
}

describe('eraseRecipient', () => {
  it('removes the person from the recipient, its messages, their logs and webhook events, and nothing of anyone else', async () => {
    const phone = freshPhone();
    const email = 'ada.lovelace@example.com';
    const ada = await buildRecipient(herald, {
      kind: 'CUSTOMER',
      displayName: 'Ada Lovelace',
      externalRef: 'crm-ada-1815',
      phone,
      email,
      twitterHandle: 'ada_l',
      timeZone: 'Europe/London',
    });
    const grace = await buildRecipient(herald, {
      kind: 'CUSTOMER',
      displayName: 'Grace Hopper',
      phone: freshPhone(),
      email: 'grace@example.com',
    });
    for (const [recipientId, channel] of [
      [ada.id, 'SMS'],
      [ada.id, 'WHATSAPP'],
      [grace.id, 'SMS'],
    ]) {
      expect(ok(await herald.gql(SUBSCRIBE, { input: { recipientId, channel } })).subscribe.userErrors).toEqual([]);
    }

    const body = 'Hi {{ recipient.name }}, your code is 4417';
    const sent = await send({ recipientId: ada.id, channel: 'SMS', body, reference: 'ref-sent' });
    await waitForMessageStatus(getMessage, sent, 'SENT');
    twilioFake.failNext(1, { status: 400, code: 21211, message: `The 'To' number ${phone} is not a valid phone number.` });
    const failed = await send({ recipientId: ada.id, channel: 'SMS', body });
    const failedBefore = await waitForMessageStatus(getMessage, failed, 'FAILED');
    expect(failedBefore.errorMessage).toContain(phone.slice(-4));
    const mailed = await send({ recipientId: ada.id, channel: 'EMAIL', subject: 'Your code, {{ recipient.name }}', body });
    await waitForMessageStatus(getMessage, mailed, 'SENT');
    const scheduled = await send({ recipientId: ada.id, channel: 'SMS', body, sendAt: new Date(Date.now() + 3_600_000).toISOString() });
    const order = ok(await herald.gql(ORDER, { input: { customerId: ada.id, orderId: 'ORD-ADA-1', status: 'shipped' } })).updateOrderStatus;
    expect(order.userErrors).toEqual([]);
    expect(order.failures).toEqual([{ reason: 'Ada Lovelace is subscribed to WHATSAPP but has no WhatsApp number' }]);
    await waitForMessageStatus(getMessage, order.messages[0].id, 'SENT');
    const graceSent = await send({ recipientId: grace.id, channel: 'SMS', body });
    await waitForMessageStatus(getMessage, graceSent, 'SENT');
    const graceOrder = ok(
      await herald.gql(ORDER, { input: { customerId: grace.id, orderId: 'ORD-GRACE-1', status: 'shipped' } }),
    ).updateOrderStatus;
    await waitForMessageStatus(getMessage, graceOrder.messages[0].id, 'SENT');
    const adaMessages = [sent, failed, mailed, scheduled, order.messages[0].id];
    // Every event told (and echoed) before the erasure: one delivered after it could not be recalled.
    await eventsDelivered(ada.id);
    await eventsDelivered(grace.id);
    expect(JSON.parse((await deliveriesOf(sent))[0].responseExcerpt).data.destination).toBe(`+1*******${phone.slice(-4)}`);
    const personal = [phone, phone.slice(1), `*******${phone.slice(-4)}`, email, 'a***@example.com', 'Ada', 'Lovelace', 'ada_l', 'crm-ada'];
    const before = (await rowsNaming(ada.id)).join('\n');
    for (const value of [phone, email, 'Ada Lovelace', 'ada_l', `*******${phone.slice(-4)}`]) expect(before).toContain(value);

    const graceBefore = {
      recipient: ok(await herald.gql(RECIPIENT, { id: grace.id })).recipient,
      messages: await messagesOf(grace.id),
      logs: await logsOf(grace.id),
      rows: await rowsNaming(grace.id),
    };
    const smsSentBefore = twilioFake.messages.filter((m) => m.to === phone).length;

    // ADMIN only.
    for (const role of ['READER', 'SENDER'] as const) {
      const refused = await erase(ada.id, await buildApiKey(herald, role));
      expect(refused.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
      expect(refused.data?.eraseRecipient ?? null).toBeNull();
    }
    expect(ok(await herald.gql(RECIPIENT, { id: ada.id })).recipient.displayName).toBe('Ada Lovelace');

    const erased = ok(await erase(ada.id)).eraseRecipient;
    expect(erased).toEqual({ erasedId: ada.id, messagesErased: adaMessages.length, userErrors: [] });

    // The recipient keeps its id and kind only.
    expect(ok(await herald.gql(RECIPIENT, { id: ada.id })).recipient).toEqual({
      id: ada.id,
      kind: 'CUSTOMER',
      displayName: ERASED,
      externalRef: null,
      phone: null,
      email: null,
      whatsapp: null,
      twitterHandle: null,
      timeZone: null,
      subscriptions: [],
    });
    // Its messages keep their status and what they were, not what they said nor to whom.
    const after = new Map((await messagesOf(ada.id)).map((m) => [m.id, m]));
    expect([...after.keys()].sort()).toEqual([...adaMessages].sort());
    for (const message of after.values()) {
      expect(message).toMatchObject({ body: ERASED, destination: ERASED, subject: message.channel === 'EMAIL' ? ERASED : null });
    }
    expect(after.get(sent)).toMatchObject({ status: 'SENT', reference: 'ref-sent', providerMessageId: expect.any(String) });
    expect(after.get(failed)).toMatchObject({
      status: 'FAILED',
      errorCode: '21211',
      errorMessage: `The 'To' number ${ERASED} is not a valid phone number.`,
    });
    expect(after.get(mailed)!.status).toBe('SENT');
    expect(after.get(scheduled)!.status).toBe('CANCELLED');
    // Logs say what happened, without who.
    const logs = await logsOf(ada.id);
    expect(logs).toContainEqual({
      outcome: 'FAILURE',
      channel: 'WHATSAPP',
      reason: `${ERASED} is subscribed to WHATSAPP but has no WhatsApp number`,
      message: null,
    });
    expect(logs.filter((l: { message: { id: string } | null }) => l.message?.id === failed)).toEqual([
      { outcome: 'FAILURE', channel: 'SMS', reason: `The 'To' number ${ERASED} is not a valid phone number.`, message: { id: failed } },
    ]);
    // Webhook events as they would be redelivered, and the endpoint's echoes of them.
    for (const id of adaMessages) {
      for (const delivery of await deliveriesOf(id)) {
        expect(JSON.parse(delivery.event.payload).data.destination).toBe(ERASED);
        expect(JSON.parse(delivery.responseExcerpt).data.destination).toBe(ERASED);
      }
    }
    expect(receiver.received.map((r) => JSON.parse(r.body))).toContainEqual(
      expect.objectContaining({
        type: 'message.cancelled',
        data: expect.objectContaining({ id: scheduled, status: 'CANCELLED', destination: ERASED }),
      }),
    );
    // Nothing in the rows themselves.
    const rows = (await rowsNaming(ada.id)).join('\n');
    for (const value of personal) expect(rows).not.toContain(value);

    // The scheduled one, once due, is not sent.
    await runJobNow(scheduled);
    expect((await getMessage(scheduled)).status).toBe('CANCELLED');
    expect(twilioFake.messages.filter((m) => m.to === phone)).toHaveLength(smsSentBefore);

    // A new send is refused: there is no address to send to.
    const refused = ok(await herald.gql(SEND, { input: { recipientId: ada.id, channel: 'SMS', body: 'again' } })).sendNotification;
    expect(refused).toEqual({
      message: null,
      userErrors: [{ field: ['input', 'recipientId'], code: 'RECIPIENT_NOT_REACHABLE', message: `${ERASED} has no phone number` }],
    });

    // One log line, with ids and counts.
    const lines = herald.logs.filter((l) => l.includes('"recipient erased"'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({
      recipientId: fromGlobalId(ada.id, 'Recipient')!.uuid,
      messagesErased: adaMessages.length,
      messagesCancelled: 1,
    });
    for (const value of personal) expect(lines[0]).not.toContain(value);

    // Erasing again finds nothing left.
    expect(ok(await erase(ada.id)).eraseRecipient).toEqual({ erasedId: ada.id, messagesErased: 0, userErrors: [] });
    expect((await rowsNaming(ada.id)).join('\n')).toBe(rows);

    // Grace is exactly as she was.
    expect({
      recipient: ok(await herald.gql(RECIPIENT, { id: grace.id })).recipient,
      messages: await messagesOf(grace.id),
      logs: await logsOf(grace.id),
      rows: await rowsNaming(grace.id),
    }).toEqual(graceBefore);
  }, 60_000);

  it('works through a long history a batch at a time, and finishes what a run cut short left', async () => {
    const phone = freshPhone();
    const person = await buildRecipient(herald, { kind: 'CUSTOMER', displayName: 'Long History', phone });
    expect(ok(await herald.gql(SUBSCRIBE, { input: { recipientId: person.id, channel: 'WHATSAPP' } })).subscribe.userErrors).toEqual([]);
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(await send({ recipientId: person.id, channel: 'SMS', body: `Note ${i} for Long History`, sendAt: later }));
    for (let i = 0; i < 3; i++) {
      const order = ok(
        await herald.gql(ORDER, { input: { customerId: person.id, orderId: `ORD-LONG-${i}`, status: 'packed' } }),
      ).updateOrderStatus;
      expect(order.failures).toEqual([{ reason: 'Long History is subscribed to WHATSAPP but has no WhatsApp number' }]);
    }
    // Two rows per transaction: five messages take three batches, three logs two.
    const erasure = new ErasureService(herald.handle.db, createMetrics(), herald.services.suppressions, 2);
    const tenantId = fromGlobalId(ok(await herald.gql('{ viewer { id } }')).viewer.id, 'Tenant')!.uuid;

    // A run cut short after its first batch of messages (its process stopped): that batch is erased, and the addresses.
    const db = herald.handle.db;
    let transactions = 0;
    const stopping = Object.assign(Object.create(db) as typeof db, {
      transaction: ((work) => (++transactions > 2 ? Promise.reject(new Error('stopped')) : db.transaction(work))) as typeof db.transaction,
    });
    await expect(
      new ErasureService(stopping, createMetrics(), herald.services.suppressions, 2).eraseRecipient(tenantId, person.id),
    ).rejects.toThrow('stopped');
    const halfway = await messagesOf(person.id);
    const erasedFirst = halfway.filter((m) => m.status === 'CANCELLED' && m.body === ERASED).map((m) => m.id);
    expect(erasedFirst.sort()).toEqual(ids.slice(0, 2).sort());
    expect(ok(await herald.gql(RECIPIENT, { id: person.id })).recipient).toMatchObject({ phone: null, displayName: 'Long History' });

    expect(await erasure.eraseRecipient(tenantId, person.id)).toMatchObject({
      recipientId: fromGlobalId(person.id, 'Recipient')!.uuid,
      messagesErased: 3,
      messagesCancelled: 3,
      deliveryLogs: 3,
    });
    const messages = await messagesOf(person.id);
    expect(messages.map((m) => [m.status, m.body, m.destination])).toEqual(ids.map(() => ['CANCELLED', ERASED, ERASED]));
    const reasons = (await logsOf(person.id)).map((l: { reason: string | null }) => l.reason);
    expect(reasons).toEqual(Array(3).fill(`${ERASED} is subscribed to WHATSAPP but has no WhatsApp number`));
    const rows = (await rowsNaming(person.id)).join('\n');
    for (const value of ['Long History', phone.slice(1)]) expect(rows).not.toContain(value);
  });

  it('is NOT_FOUND for another tenant’s recipient and for an id that names no recipient, changing nothing', async () => {
    const phone = freshPhone();
    const mine = await buildRecipient(herald, { kind: 'CLIENT', displayName: 'Kept Whole', phone });
    const { adminKey } = await buildTenant(herald);
    for (const id of [mine.id, 'not-an-id', fromGlobalId(mine.id, 'Recipient')!.uuid]) {
      expect(ok(await erase(id, adminKey)).eraseRecipient).toEqual({
        erasedId: null,
        messagesErased: 0,
        userErrors: [{ field: ['input', 'id'], code: 'NOT_FOUND', message: expect.any(String) }],
      });
    }
    expect(ok(await herald.gql(RECIPIENT, { id: mine.id })).recipient).toMatchObject({ displayName: 'Kept Whole', phone });
  });

  it('lets a send already out finish: its outcome is recorded, its text and address stay erased', async () => {
    const phone = freshPhone();
    const person = await buildRecipient(herald, { kind: 'CLIENT', displayName: 'Out Already', phone });
    const hold = twilioFake.holdNext();
    const id = await send({ recipientId: person.id, channel: 'SMS', body: 'In flight to Out Already' });
    await hold.accepted;
    expect((await getMessage(id)).status).toBe('SENDING');

    expect(ok(await erase(person.id)).eraseRecipient.messagesErased).toBe(1);
    expect(await getMessage(id)).toMatchObject({ status: 'SENDING', body: ERASED, destination: ERASED });
    hold.release();
    const done = await waitForMessageStatus(getMessage, id, 'SENT');
    expect(done).toMatchObject({ body: ERASED, destination: ERASED, providerMessageId: expect.stringMatching(/^SM/) });
    expect((await rowsNaming(person.id)).join('\n')).not.toContain(phone.slice(1));
  });

  it('records no provider text for a send that fails after the erasure, and never tries it again', async () => {
    for (const failure of [
      { status: 400, code: 21211, kind: 'permanent' },
      { status: 503, kind: 'transient' },
    ] as const) {
      const phone = freshPhone();
      const person = await buildRecipient(herald, { kind: 'CLIENT', displayName: 'Failing Later', phone });
      // The provider answers late enough for the erasure to come first.
      twilioFake.failNext(1, {
        status: failure.status,
        code: 'code' in failure ? failure.code : undefined,
        message: `no ${phone} here`,
        delayMs: 2_000,
      });
      const id = await send({ recipientId: person.id, channel: 'SMS', body: 'Fails later' });
      await waitUntil(`the send to ${phone} to reach Twilio`, () => twilioFake.requests.some((r) => r.form.To === phone));
      expect(ok(await erase(person.id)).eraseRecipient.messagesErased).toBe(1);

      const done = await waitForMessageStatus(getMessage, id, ['FAILED', 'SENT']);
      // A transient failure is queued again, and its next attempt ends it without a send.
      expect(done).toMatchObject({
        status: 'FAILED',
        body: ERASED,
        destination: ERASED,
        errorCode: failure.kind === 'permanent' ? '21211' : 'RECIPIENT_ERASED',
        errorMessage: ERASED,
      });
      expect(done.logs.length).toBeGreaterThan(0);
      expect(done.logs.every((l) => l.reason === ERASED)).toBe(true);
      expect(twilioFake.requests.filter((r) => r.form.To === phone)).toHaveLength(1);
      const rows = (await rowsNaming(person.id)).join('\n');
      expect(rows).not.toContain(phone.slice(1));
      expect(rows).not.toContain(`*******${phone.slice(-4)}`);
    }
  }, 60_000);
});

describe('contact data as a READER sees it', () => {
  it('is masked like Message.destination for a READER, whole for a SENDER and an ADMIN', async () => {
    const phone = freshPhone();
    const person = await buildRecipient(herald, {
      kind: 'CLIENT',
      displayName: 'Masked For Readers',
      phone,
      email: 'masked.reader@example.com',
      whatsapp: '+447911123456',
      twitterHandle: 'masked_reader',
    });
    const id = await send({ recipientId: person.id, channel: 'SMS', body: 'Hello' });
    const fields = 'id phone email whatsapp twitterHandle';
    const whole = { id: person.id, phone, email: 'masked.reader@example.com', whatsapp: '+447911123456', twitterHandle: 'masked_reader' };
    const masked = {
      id: person.id,
      phone: `+1*******${phone.slice(-4)}`,
      email: 'm***@example.com',
      whatsapp: '+4*******3456',
      twitterHandle: 'masked_reader',
    };
    const [reader, sender] = [await buildApiKey(herald, 'READER'), await buildApiKey(herald, 'SENDER')];

    for (const [key, expected] of [
      [reader, masked],
      [sender, whole],
      [herald.adminKey, whole],
    ] as const) {
      const one = ok(await herald.gql(`query($id: ID!) { recipient(id: $id) { ${fields} } }`, { id: person.id }, key)).recipient;
      expect(one).toEqual(expected);
      const listed = ok(
        await herald.gql(`{ recipients(first: 100) { edges { node { ${fields} } } } }`, undefined, key),
      ).recipients.edges.map((e: { node: { id: string } }) => e.node);
      expect(listed.find((r: { id: string }) => r.id === person.id)).toEqual(expected);
      const viaMessage = ok(await herald.gql(`query($id: ID!) { message(id: $id) { recipient { ${fields} } } }`, { id }, key)).message
        .recipient;
      expect(viaMessage).toEqual(expected);
    }
  });
});
