// updateOrderStatus end to end: the real HTTP API, the real worker, the real twilio and
// @sendgrid/mail SDKs against local fakes of Twilio Messages and SendGrid v3 mail/send.
// Every check is on what a user or a vendor sees: the mutation's answer, the messages'
// states, the delivery logs, the requests the vendors receive, and /metrics.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromGlobalId } from '../src/lib/ids.js';
import { sandboxOutbox } from '../src/providers/index.js';
import { fakeSendgridKey, MAIL_SEND_PATH, type SendgridFake, type SendgridFakeRequest, startSendgridFake } from './fakes/sendgrid-fake.js';
import { fakeTwilioAccount, INVALID_NUMBER, startTwilioFake, type TwilioFake, type TwilioFakeRequest } from './fakes/twilio-fake.js';
import { buildRecipient, buildTenant } from './helpers/factories.js';
import { fastRetryEnv, ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { waitForMessageStatus } from './helpers/wait.js';
import type { GatewayRef, LogBase, UserError } from './helpers/api-types.js';

const PUBLIC_URL = 'https://herald.example.test';
const SMS_FROM = '+15005550006';
const WHATSAPP_FROM = '+14155238886';
const FROM_EMAIL = 'orders@herald.example.com';
const MAX_ATTEMPTS = 4;
const envAccount = fakeTwilioAccount();
const tenantAccount = fakeTwilioAccount();
const envKey = fakeSendgridKey();
const tenantKey = fakeSendgridKey();

let twilioFake: TwilioFake;
let sendgridFake: SendgridFake;
let herald: TestHerald;

beforeAll(async () => {
  twilioFake = await startTwilioFake({ accounts: [envAccount, tenantAccount] });
  sendgridFake = await startSendgridFake({ apiKeys: [envKey, tenantKey] });
  herald = await startTestHerald({
    env: {
      TWILIO_ACCOUNT_SID: envAccount.accountSid,
      TWILIO_AUTH_TOKEN: envAccount.authToken,
      TWILIO_SMS_FROM: SMS_FROM,
      TWILIO_WHATSAPP_FROM: WHATSAPP_FROM,
      TWILIO_API_BASE_URL: twilioFake.url,
      SENDGRID_API_KEY: envKey,
      SENDGRID_FROM_EMAIL: FROM_EMAIL,
      SENDGRID_API_BASE_URL: sendgridFake.url,
      PUBLIC_URL,
      ...fastRetryEnv(MAX_ATTEMPTS),
      HERALD_SEND_TIMEOUT_MS: '5000',
    },
  });
});
afterAll(async () => {
  await herald?.stop();
  await twilioFake?.close();
  await sendgridFake?.close();
});

// ---------------------------------------------------------------------------------------
// GraphQL documents and helpers

const LOG_FIELDS = 'id outcome channel reason orderId orderStatus at gateway { id name provider } recipient { id }';
const MESSAGE_FIELDS = `id channel status body subject destination sentAt attempts providerMessageId errorCode errorMessage orderId
  gateway { id name provider } recipient { id } logs { ${LOG_FIELDS} }`;
const UPDATE_ORDER = `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) {
  messages { ${MESSAGE_FIELDS} } failures { ${LOG_FIELDS} } userErrors { field message code } } }`;
const GET = `query($id: ID!) { message(id: $id) { ${MESSAGE_FIELDS} } }`;
const ORDER_MESSAGES = `query($orderId: String) { messages(filter: { orderId: $orderId }) { totalCount edges { node { id channel status orderId } } } }`;
const ORDER_LOGS = `query($orderId: String) { deliveryLogs(filter: { orderId: $orderId }) { totalCount edges { node { ${LOG_FIELDS} message { id } } } } }`;
const COUNTS = '{ messages { totalCount } deliveryLogs { totalCount } }';
const ADD_GATEWAY = `mutation($input: AddChannelGatewayInput!) { addChannelGateway(input: $input) { gateway { id name provider isDefault enabled } userErrors { field message code } } }`;
const UPDATE_GATEWAY = `mutation($input: UpdateGatewayInput!) { updateGateway(input: $input) { gateway { id enabled isDefault } userErrors { field message code } } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { recipient { id subscriptions { channel gateway { id } } } userErrors { field message code } } }`;

type Channel = 'SMS' | 'EMAIL' | 'WHATSAPP';

interface Log extends LogBase {
  orderId: string | null;
  orderStatus: string | null;
  gateway: GatewayRef | null;
  recipient: { id: string } | null;
}
interface Message {
  id: string;
  channel: Channel;
  status: string;
  body: string;
  subject: string | null;
  destination: string | null;
  sentAt: string | null;
  attempts: number;
  providerMessageId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  orderId: string | null;
  gateway: { id: string; name: string; provider: string } | null;
  recipient: { id: string };
  logs: Log[];
}
interface OrderPayload {
  messages: Message[];
  failures: Log[];
  userErrors: UserError[];
}

// Distinct, valid North American numbers and addresses per customer, so each test can
// tell its own requests at the fakes apart from everyone else's.
let nextLine = 300;
const freshPhone = () => `+1415555${String(nextLine++).padStart(4, '0')}`;
const freshEmail = () => `c${randomBytes(4).toString('hex')}@example.com`;
const freshOrderId = () => `ord-${randomBytes(4).toString('hex')}`;

async function updateOrderStatus(input: Record<string, unknown>, key?: string): Promise<OrderPayload> {
  return ok(await herald.gql(UPDATE_ORDER, { input }, key)).updateOrderStatus;
}

/** An update that must be accepted: fails the test with the userErrors otherwise. */
async function notified(input: Record<string, unknown>, key?: string): Promise<OrderPayload> {
  const payload = await updateOrderStatus(input, key);
  expect(payload.userErrors).toEqual([]);
  return payload;
}

const byChannel = <T extends { channel: string | null }>(items: T[]): Record<string, T> =>
  Object.fromEntries(items.map((i) => [i.channel ?? 'null', i]));

async function getMessage(id: string, key?: string): Promise<Message> {
  const message = ok(await herald.gql(GET, { id }, key)).message;
  if (!message) throw new Error(`message ${id} is not found`);
  return message;
}

/** Polls `message(id)` until its status is one of `statuses`; fails with the last state seen otherwise. */
const waitForStatus = (id: string, statuses: string | string[], options: { timeoutMs?: number; key?: string } = {}) =>
  waitForMessageStatus(getMessage, id, statuses, options);

/** Every message of a payload in a final state, by channel. */
async function settled(messages: Message[], key?: string): Promise<Record<string, Message>> {
  const done = await Promise.all(messages.map((m) => waitForStatus(m.id, ['SENT', 'FAILED'], { key })));
  return byChannel(done);
}

async function counts(key?: string): Promise<{ messages: number; logs: number }> {
  const data = ok(await herald.gql(COUNTS, undefined, key));
  return { messages: data.messages.totalCount, logs: data.deliveryLogs.totalCount };
}

const twilioTo = (to: string): TwilioFakeRequest[] => twilioFake.requests.filter((r) => r.form.To === to);
const sendgridTo = (email: string): SendgridFakeRequest[] =>
  sendgridFake.requests.filter((r) => r.body?.personalizations?.some((p) => p.to?.some((t) => t.email === email)));
const basic = (account: { accountSid: string; authToken: string }) =>
  `Basic ${Buffer.from(`${account.accountSid}:${account.authToken}`).toString('base64')}`;
const uuidOf = (messageId: string) => fromGlobalId(messageId, 'Message')!.uuid;
const digitsOf = (phone: string) => phone.replace(/^\+/, '');

async function customer(
  contact: { phone?: string | null; email?: string | null; whatsapp?: string | null; displayName?: string },
  key?: string,
) {
  return buildRecipient(herald, { kind: 'CUSTOMER', ...contact }, key);
}

async function subscribe(recipientId: string, channel: Channel, gatewayId?: string, key?: string): Promise<void> {
  const payload = ok(await herald.gql(SUBSCRIBE, { input: { recipientId, channel, ...(gatewayId ? { gatewayId } : {}) } }, key)).subscribe;
  expect(payload.userErrors).toEqual([]);
}

async function addGateway(
  input: Record<string, unknown>,
): Promise<{ id: string; name: string; provider: string; isDefault: boolean; enabled: boolean }> {
  const payload = ok(
    await herald.gql(ADD_GATEWAY, {
      input: { makeDefault: false, ...input, name: `${input.name as string}-${randomBytes(3).toString('hex')}` },
    }),
  ).addChannelGateway;
  expect(payload.userErrors).toEqual([]);
  return payload.gateway;
}

// Every contact detail used in this file, for the check that none was ever printed in full.
const usedPhones = new Set<string>();
const usedEmails = new Set<string>();

// ---------------------------------------------------------------------------------------

describe('updateOrderStatus to a customer on SMS, e-mail and WhatsApp', () => {
  it('answers 3 QUEUED messages at once; Twilio gets the SMS and the WhatsApp, SendGrid the e-mail, each once, and all three end SENT', async () => {
    const phone = '+14155550123';
    const whatsapp = '+14155550124';
    const email = 'jane@example.com';
    [phone, whatsapp].forEach((p) => usedPhones.add(p));
    usedEmails.add(email);
    const note = 'Leaves the warehouse today <tracking: https://t.example/1042?a=1&b=2> — "soon"';
    const person = await customer({ displayName: 'Jane Doe', phone, email, whatsapp });
    for (const channel of ['SMS', 'EMAIL', 'WHATSAPP'] as const) await subscribe(person.id, channel);

    const twilioBefore = twilioFake.requests.length;
    const sendgridBefore = sendgridFake.requests.length;
    const payload = await notified({ orderId: '1042', customerId: person.id, status: 'SHIPPED', note });
    expect(payload.failures).toEqual([]);
    expect(payload.messages).toHaveLength(3);
    const queued = byChannel(payload.messages);
    expect(Object.keys(queued).sort()).toEqual(['EMAIL', 'SMS', 'WHATSAPP']);
    const text = `Order 1042 is now SHIPPED. ${note}`;
    for (const m of payload.messages) {
      expect(m).toMatchObject({
        status: 'QUEUED',
        orderId: '1042',
        attempts: 0,
        providerMessageId: null,
        sentAt: null,
        logs: [],
        recipient: { id: person.id },
      });
    }
    expect(queued.SMS).toMatchObject({
      body: text,
      subject: null,
      destination: '+1*******0123',
      gateway: { name: 'env:twilio-sms', provider: 'TWILIO' },
    });
    expect(queued.WHATSAPP).toMatchObject({
      body: text,
      subject: null,
      destination: '+1*******0124',
      gateway: { name: 'env:twilio-whatsapp', provider: 'TWILIO' },
    });
    expect(queued.EMAIL).toMatchObject({ destination: 'j***@example.com', gateway: { name: 'env:sendgrid', provider: 'SENDGRID' } });
    expect(queued.EMAIL.subject).toMatch(/1042/);
    expect(queued.EMAIL.subject).toMatch(/SHIPPED/);
    expect(queued.EMAIL.body).toContain(text);
    expect(queued.EMAIL.body).toContain('Jane Doe');

    const sent = await settled(payload.messages);

    // Exactly three vendor requests, and only these.
    expect(twilioFake.requests.length - twilioBefore).toBe(2);
    expect(sendgridFake.requests.length - sendgridBefore).toBe(1);

    const [sms] = twilioTo(phone);
    expect(twilioTo(phone)).toHaveLength(1);
    expect(sms.method).toBe('POST');
    expect(sms.path).toBe(`/2010-04-01/Accounts/${envAccount.accountSid}/Messages.json`);
    expect(sms.headers.authorization).toBe(basic(envAccount));
    expect(sms.form).toMatchObject({ To: phone, From: SMS_FROM, Body: text });

    const [wa] = twilioTo(`whatsapp:${whatsapp}`);
    expect(twilioTo(`whatsapp:${whatsapp}`)).toHaveLength(1);
    expect(twilioTo(whatsapp)).toEqual([]);
    expect(wa.path).toBe(`/2010-04-01/Accounts/${envAccount.accountSid}/Messages.json`);
    expect(wa.headers.authorization).toBe(basic(envAccount));
    expect(wa.form).toMatchObject({ To: `whatsapp:${whatsapp}`, From: `whatsapp:${WHATSAPP_FROM}`, Body: text });

    const mails = sendgridTo(email);
    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect(mail).toMatchObject({ method: 'POST', path: MAIL_SEND_PATH, authKey: envKey, status: 202 });
    expect(mail.headers.authorization).toBe(`Bearer ${envKey}`);
    const body = mail.body!;
    expect(body.personalizations).toHaveLength(1);
    expect(body.personalizations![0].to).toEqual([{ email }]);
    expect(body.from).toEqual({ email: FROM_EMAIL });
    expect(body.subject ?? body.personalizations![0].subject).toBe(queued.EMAIL.subject);
    expect(body.content!.map((c) => c.type)).toEqual(['text/plain', 'text/html']);
    const [plain, html] = body.content!.map((c) => c.value!);
    expect(plain).toBe(queued.EMAIL.body);
    expect(html).toContain('Leaves the warehouse today &lt;tracking: https://t.example/1042?a=1&amp;b=2&gt; — &quot;soon&quot;');
    expect(html).not.toContain('<tracking');
    expect(html).toMatch(/1042/);
    expect(html).toMatch(/SHIPPED/);
    const customArgs = { ...body.personalizations![0].custom_args, ...body.custom_args };
    expect(customArgs).toEqual({ herald_message_id: uuidOf(queued.EMAIL.id) });

    // All three SENT, each with the vendor's id and one SUCCESS log carrying the order.
    const twilioSid = (to: string) => twilioFake.messages.find((m) => m.to === to)!.sid;
    expect(sent.SMS).toMatchObject({
      status: 'SENT',
      attempts: 1,
      providerMessageId: twilioSid(phone),
      destination: '+1*******0123',
      errorCode: null,
    });
    expect(sent.WHATSAPP).toMatchObject({
      status: 'SENT',
      attempts: 1,
      providerMessageId: twilioSid(`whatsapp:${whatsapp}`),
      destination: '+1*******0124',
    });
    expect(mail.messageId).toBeTruthy();
    expect(sent.EMAIL).toMatchObject({
      status: 'SENT',
      attempts: 1,
      providerMessageId: mail.messageId,
      destination: 'j***@example.com',
      errorMessage: null,
    });
    for (const m of Object.values(sent)) {
      expect(m.sentAt).not.toBeNull();
      expect(m.logs).toEqual([
        expect.objectContaining({
          outcome: 'SUCCESS',
          channel: m.channel,
          reason: null,
          orderId: '1042',
          orderStatus: 'SHIPPED',
          gateway: m.gateway,
        }),
      ]);
    }

    // Neither number nor the address in full in any answer about the messages.
    const answers = JSON.stringify([payload, sent]);
    for (const secret of [digitsOf(phone), digitsOf(whatsapp), email]) expect(answers).not.toContain(secret);
  });
});

describe('updateOrderStatus refusals create and send nothing', () => {
  async function expectRefused(input: Record<string, unknown>, expected: Partial<UserError>[], key?: string): Promise<UserError[]> {
    const before = await counts(key);
    const twilioBefore = twilioFake.requests.length;
    const sendgridBefore = sendgridFake.requests.length;
    const payload = await updateOrderStatus(input, key);
    expect(payload.messages).toEqual([]);
    expect(payload.failures).toEqual([]);
    expect(payload.userErrors).toEqual(expected.map((e) => ({ message: expect.any(String), ...e })));
    expect(await counts(key)).toEqual(before);
    expect(twilioFake.requests.length).toBe(twilioBefore);
    expect(sendgridFake.requests.length).toBe(sendgridBefore);
    return payload.userErrors;
  }

  async function subscribedCustomer(key?: string) {
    const phone = freshPhone();
    const email = freshEmail();
    usedPhones.add(phone);
    usedEmails.add(email);
    const person = await customer({ phone, email }, key);
    await subscribe(person.id, 'SMS', undefined, key);
    await subscribe(person.id, 'EMAIL', undefined, key);
    return person;
  }

  it("refuses an unknown customer and another tenant's customer with NOT_FOUND on customerId", async () => {
    const { adminKey: otherKey } = await buildTenant(herald);
    const theirs = await subscribedCustomer(otherKey);
    const notFound = [{ field: ['input', 'customerId'], code: 'NOT_FOUND' }];
    await expectRefused({ orderId: freshOrderId(), customerId: 'rcp_0000000000007000800000000000dead', status: 'SHIPPED' }, notFound);
    await expectRefused({ orderId: freshOrderId(), customerId: 'not-an-id', status: 'SHIPPED' }, notFound);
    await expectRefused({ orderId: freshOrderId(), customerId: theirs.id, status: 'SHIPPED' }, notFound);
    // …while the other tenant itself may notify its customer (through its SANDBOX).
    const own = await notified({ orderId: freshOrderId(), customerId: theirs.id, status: 'SHIPPED' }, otherKey);
    expect(own.messages).toHaveLength(2);
    await settled(own.messages, otherKey);
  });

  it('refuses a CLIENT and a STAFF member with INVALID_INPUT on customerId', async () => {
    for (const kind of ['CLIENT', 'STAFF'] as const) {
      const phone = freshPhone();
      usedPhones.add(phone);
      const person = await buildRecipient(herald, { kind, phone });
      await subscribe(person.id, 'SMS');
      const [error] = await expectRefused({ orderId: freshOrderId(), customerId: person.id, status: 'SHIPPED' }, [
        { field: ['input', 'customerId'], code: 'INVALID_INPUT' },
      ]);
      expect(error.message).toMatch(new RegExp(kind));
    }
  });

  it('refuses an empty or blank orderId and status with INVALID_INPUT on that field', async () => {
    const person = await subscribedCustomer();
    for (const empty of ['', '   ']) {
      await expectRefused({ orderId: empty, customerId: person.id, status: 'SHIPPED' }, [
        { field: ['input', 'orderId'], code: 'INVALID_INPUT' },
      ]);
      await expectRefused({ orderId: freshOrderId(), customerId: person.id, status: empty }, [
        { field: ['input', 'status'], code: 'INVALID_INPUT' },
      ]);
    }
  });

  it('refuses an over-long orderId (101), status (65) and note (501) with INVALID_INPUT, and accepts the longest allowed', async () => {
    const person = await subscribedCustomer();
    await expectRefused({ orderId: 'o'.repeat(101), customerId: person.id, status: 'SHIPPED' }, [
      { field: ['input', 'orderId'], code: 'INVALID_INPUT' },
    ]);
    await expectRefused({ orderId: freshOrderId(), customerId: person.id, status: 'S'.repeat(65) }, [
      { field: ['input', 'status'], code: 'INVALID_INPUT' },
    ]);
    await expectRefused({ orderId: freshOrderId(), customerId: person.id, status: 'SHIPPED', note: 'n'.repeat(501) }, [
      { field: ['input', 'note'], code: 'INVALID_INPUT' },
    ]);

    // The limits themselves are fine: a customer not subscribed anywhere gets a FAILURE log with all of it.
    const alone = await customer({ phone: freshPhone() });
    const longest = { orderId: 'o'.repeat(100), customerId: alone.id, status: 'S'.repeat(64), note: 'n'.repeat(500) };
    const payload = await notified(longest);
    expect(payload.messages).toEqual([]);
    expect(payload.failures).toMatchObject([{ outcome: 'FAILURE', orderId: longest.orderId, orderStatus: longest.status }]);
  });
});

describe('channels that cannot be served become FAILURE logs with a reason', () => {
  it('writes one FAILURE and no message for a customer subscribed to no channel', async () => {
    const phone = freshPhone();
    usedPhones.add(phone);
    const person = await customer({ displayName: 'Nobody Subscribed', phone, email: freshEmail() });
    const orderId = freshOrderId();
    const twilioBefore = twilioFake.requests.length;
    const sendgridBefore = sendgridFake.requests.length;
    const payload = await notified({ orderId, customerId: person.id, status: 'PAID' });
    expect(payload.messages).toEqual([]);
    expect(payload.failures).toEqual([
      {
        id: expect.stringMatching(/^log_/),
        outcome: 'FAILURE',
        channel: null,
        reason: expect.stringMatching(/not subscribed to any channel/),
        orderId,
        orderStatus: 'PAID',
        at: expect.any(String),
        gateway: null,
        recipient: { id: person.id },
      },
    ]);
    expect(payload.failures[0].reason).toContain('Nobody Subscribed');

    const logs = ok(await herald.gql(ORDER_LOGS, { orderId })).deliveryLogs;
    expect(logs.totalCount).toBe(1);
    expect(logs.edges[0].node).toMatchObject({ id: payload.failures[0].id, outcome: 'FAILURE', message: null, orderStatus: 'PAID' });
    expect(ok(await herald.gql(ORDER_MESSAGES, { orderId })).messages.totalCount).toBe(0);
    expect(twilioFake.requests.length).toBe(twilioBefore);
    expect(sendgridFake.requests.length).toBe(sendgridBefore);
  });

  it('fails EMAIL for a customer without an e-mail address while SMS and WhatsApp still send', async () => {
    const phone = freshPhone();
    const whatsapp = freshPhone();
    [phone, whatsapp].forEach((p) => usedPhones.add(p));
    const person = await customer({ phone, whatsapp, email: null });
    for (const channel of ['SMS', 'EMAIL', 'WHATSAPP'] as const) await subscribe(person.id, channel);
    const orderId = freshOrderId();
    const sendgridBefore = sendgridFake.requests.length;

    const payload = await notified({ orderId, customerId: person.id, status: 'SHIPPED' });
    expect(payload.messages.map((m) => m.channel).sort()).toEqual(['SMS', 'WHATSAPP']);
    expect(payload.failures).toMatchObject([
      {
        outcome: 'FAILURE',
        channel: 'EMAIL',
        orderId,
        orderStatus: 'SHIPPED',
        gateway: { name: 'env:sendgrid' },
        recipient: { id: person.id },
      },
    ]);
    expect(payload.failures[0].reason).toMatch(/subscribed to EMAIL but has no e-mail address/);

    const sent = await settled(payload.messages);
    expect(sent.SMS.status).toBe('SENT');
    expect(sent.WHATSAPP.status).toBe('SENT');
    expect(twilioTo(phone)).toHaveLength(1);
    expect(twilioTo(`whatsapp:${whatsapp}`)).toHaveLength(1);
    expect(sendgridFake.requests.length).toBe(sendgridBefore);
  });

  it('fails SMS without a phone and WhatsApp without a WhatsApp number while the e-mail still sends', async () => {
    const email = freshEmail();
    usedEmails.add(email);
    const person = await customer({ phone: null, whatsapp: null, email });
    for (const channel of ['SMS', 'EMAIL', 'WHATSAPP'] as const) await subscribe(person.id, channel);
    const orderId = freshOrderId();
    const twilioBefore = twilioFake.requests.length;

    const payload = await notified({ orderId, customerId: person.id, status: 'DELIVERED' });
    expect(payload.messages.map((m) => m.channel)).toEqual(['EMAIL']);
    const failures = byChannel(payload.failures);
    expect(Object.keys(failures).sort()).toEqual(['SMS', 'WHATSAPP']);
    expect(failures.SMS).toMatchObject({ outcome: 'FAILURE', orderId, orderStatus: 'DELIVERED', gateway: { name: 'env:twilio-sms' } });
    expect(failures.SMS.reason).toMatch(/subscribed to SMS but has no phone number/);
    expect(failures.WHATSAPP).toMatchObject({
      outcome: 'FAILURE',
      orderId,
      orderStatus: 'DELIVERED',
      gateway: { name: 'env:twilio-whatsapp' },
    });
    expect(failures.WHATSAPP.reason).toMatch(/subscribed to WHATSAPP but has no WhatsApp number/);

    const sent = await settled(payload.messages);
    expect(sent.EMAIL).toMatchObject({ status: 'SENT', providerMessageId: sendgridTo(email)[0].messageId });
    expect(sendgridTo(email)).toHaveLength(1);
    expect(twilioFake.requests.length).toBe(twilioBefore);
  });

  it('fails the channel whose subscribed gateway was disabled with updateGateway, and sends the others', async () => {
    const gateway = await addGateway({
      channel: 'SMS',
      provider: 'TWILIO',
      name: 'to-disable',
      credentials: JSON.stringify({ accountSid: tenantAccount.accountSid, authToken: tenantAccount.authToken, from: '+15005550009' }),
    });
    const phone = freshPhone();
    const email = freshEmail();
    usedPhones.add(phone);
    usedEmails.add(email);
    const person = await customer({ phone, email });
    await subscribe(person.id, 'SMS', gateway.id);
    await subscribe(person.id, 'EMAIL');

    const disabled = ok(await herald.gql(UPDATE_GATEWAY, { input: { id: gateway.id, enabled: false } })).updateGateway;
    expect(disabled).toEqual({ gateway: { id: gateway.id, enabled: false, isDefault: false }, userErrors: [] });

    const orderId = freshOrderId();
    const payload = await notified({ orderId, customerId: person.id, status: 'SHIPPED', note: 'Almost there.' });
    expect(payload.messages.map((m) => m.channel)).toEqual(['EMAIL']);
    expect(payload.failures).toMatchObject([
      { outcome: 'FAILURE', channel: 'SMS', orderId, orderStatus: 'SHIPPED', gateway: { id: gateway.id, name: gateway.name } },
    ]);
    expect(payload.failures[0].reason).toMatch(/disabled/);
    expect(payload.failures[0].reason).toContain(gateway.name);

    const sent = await settled(payload.messages);
    expect(sent.EMAIL.status).toBe('SENT');
    expect(sendgridTo(email)).toHaveLength(1);
    expect(twilioTo(phone)).toEqual([]);
  });
});

describe("an order's history", () => {
  it('lists every message and delivery log of one order, SUCCESS and FAILURE alike, each with the order id and status', async () => {
    const phone = freshPhone();
    const email = freshEmail();
    usedPhones.add(phone);
    usedEmails.add(email);
    const person = await customer({ phone, email, whatsapp: null });
    for (const channel of ['SMS', 'EMAIL', 'WHATSAPP'] as const) await subscribe(person.id, channel);
    const orderId = freshOrderId();
    const otherOrder = freshOrderId();

    const paid = await notified({ orderId, customerId: person.id, status: 'PAID' });
    await settled(paid.messages);
    const shipped = await notified({ orderId, customerId: person.id, status: 'SHIPPED' });
    await settled(shipped.messages);
    const unrelated = await notified({ orderId: otherOrder, customerId: person.id, status: 'PAID' });
    await settled(unrelated.messages);

    const messages = ok(await herald.gql(ORDER_MESSAGES, { orderId })).messages;
    expect(messages.totalCount).toBe(4);
    const ids = [...paid.messages, ...shipped.messages].map((m) => m.id);
    expect(messages.edges.map((e: { node: { id: string } }) => e.node.id).sort()).toEqual([...ids].sort());
    for (const { node } of messages.edges) expect(node).toMatchObject({ status: 'SENT', orderId });

    const logs = ok(await herald.gql(ORDER_LOGS, { orderId })).deliveryLogs;
    expect(logs.totalCount).toBe(6);
    const nodes: (Log & { message: { id: string } | null })[] = logs.edges.map((e: { node: Log }) => e.node);
    for (const log of nodes) expect(log.orderId).toBe(orderId);
    const summary = nodes.map((l) => [l.orderStatus, l.outcome, l.channel]).sort();
    expect(summary).toEqual(
      [
        ['PAID', 'FAILURE', 'WHATSAPP'],
        ['PAID', 'SUCCESS', 'EMAIL'],
        ['PAID', 'SUCCESS', 'SMS'],
        ['SHIPPED', 'FAILURE', 'WHATSAPP'],
        ['SHIPPED', 'SUCCESS', 'EMAIL'],
        ['SHIPPED', 'SUCCESS', 'SMS'],
      ].sort(),
    );
    // SUCCESS logs name their message; the refusals have none.
    for (const log of nodes) {
      if (log.outcome === 'SUCCESS') expect(ids).toContain(log.message?.id);
      else expect(log.message).toBeNull();
    }
    expect(
      nodes
        .filter((l) => l.outcome === 'FAILURE')
        .map((l) => l.id)
        .sort(),
    ).toEqual([...paid.failures, ...shipped.failures].map((f) => f.id).sort());

    // The other order has its own history, and an order nobody used has none.
    expect(ok(await herald.gql(ORDER_MESSAGES, { orderId: otherOrder })).messages.totalCount).toBe(2);
    expect(ok(await herald.gql(ORDER_LOGS, { orderId: otherOrder })).deliveryLogs.totalCount).toBe(3);
    expect(ok(await herald.gql(ORDER_MESSAGES, { orderId: freshOrderId() })).messages.totalCount).toBe(0);
  });
});

describe('per-tenant gateways', () => {
  it("sends through the tenant's own Twilio and SendGrid gateways with their own account, key and sender, not the environment's", async () => {
    const smsFrom = '+15005550010';
    const waFrom = '+15005550011';
    const mailFrom = 'shop@branch.example.org';
    const twilioCredentials = (from: string) =>
      JSON.stringify({ accountSid: tenantAccount.accountSid, authToken: tenantAccount.authToken, from });
    const sms = await addGateway({ channel: 'SMS', provider: 'TWILIO', name: 'branch-sms', credentials: twilioCredentials(smsFrom) });
    const wa = await addGateway({ channel: 'WHATSAPP', provider: 'TWILIO', name: 'branch-wa', credentials: twilioCredentials(waFrom) });
    const mail = await addGateway({
      channel: 'EMAIL',
      provider: 'SENDGRID',
      name: 'branch-mail',
      credentials: JSON.stringify({ apiKey: tenantKey, from: mailFrom }),
    });
    for (const g of [sms, wa, mail]) expect(g).toMatchObject({ enabled: true, isDefault: false });

    const phone = freshPhone();
    const whatsapp = freshPhone();
    const email = freshEmail();
    [phone, whatsapp].forEach((p) => usedPhones.add(p));
    usedEmails.add(email);
    const person = await customer({ phone, whatsapp, email });
    await subscribe(person.id, 'SMS', sms.id);
    await subscribe(person.id, 'WHATSAPP', wa.id);
    await subscribe(person.id, 'EMAIL', mail.id);

    const payload = await notified({ orderId: freshOrderId(), customerId: person.id, status: 'SHIPPED' });
    expect(payload.failures).toEqual([]);
    const queued = byChannel(payload.messages);
    expect(queued.SMS.gateway).toMatchObject({ id: sms.id, provider: 'TWILIO' });
    expect(queued.WHATSAPP.gateway).toMatchObject({ id: wa.id, provider: 'TWILIO' });
    expect(queued.EMAIL.gateway).toMatchObject({ id: mail.id, provider: 'SENDGRID' });
    const sent = await settled(payload.messages);
    for (const m of Object.values(sent)) expect(m.status).toBe('SENT');

    const tenantPath = `/2010-04-01/Accounts/${tenantAccount.accountSid}/Messages.json`;
    expect(twilioTo(phone)).toHaveLength(1);
    expect(twilioTo(phone)[0]).toMatchObject({ path: tenantPath, authAccountSid: tenantAccount.accountSid, form: { From: smsFrom } });
    expect(twilioTo(phone)[0].headers.authorization).toBe(basic(tenantAccount));
    expect(twilioTo(`whatsapp:${whatsapp}`)).toHaveLength(1);
    expect(twilioTo(`whatsapp:${whatsapp}`)[0]).toMatchObject({
      path: tenantPath,
      authAccountSid: tenantAccount.accountSid,
      form: { From: `whatsapp:${waFrom}` },
    });

    const mails = sendgridTo(email);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ authKey: tenantKey, status: 202 });
    expect(mails[0].headers.authorization).toBe(`Bearer ${tenantKey}`);
    expect(mails[0].body!.from).toEqual({ email: mailFrom });
    expect(sent.EMAIL.providerMessageId).toBe(mails[0].messageId);
  });
});

describe('SANDBOX subscriptions', () => {
  it("marks a new tenant's order notifications SENT on its SANDBOX defaults without any vendor request", async () => {
    const { adminKey } = await buildTenant(herald);
    const phone = freshPhone();
    const whatsapp = freshPhone();
    const email = freshEmail();
    const person = await customer({ phone, whatsapp, email }, adminKey);
    for (const channel of ['SMS', 'EMAIL', 'WHATSAPP'] as const) await subscribe(person.id, channel, undefined, adminKey);

    const twilioBefore = twilioFake.requests.length;
    const sendgridBefore = sendgridFake.requests.length;
    const payload = await notified({ orderId: '1042', customerId: person.id, status: 'SHIPPED', note: 'Sandboxed.' }, adminKey);
    expect(payload.failures).toEqual([]);
    expect(payload.messages).toHaveLength(3);
    const sent = await settled(payload.messages, adminKey);
    for (const m of Object.values(sent)) {
      expect(m).toMatchObject({
        status: 'SENT',
        attempts: 1,
        gateway: { provider: 'SANDBOX' },
        logs: [{ outcome: 'SUCCESS', orderId: '1042', orderStatus: 'SHIPPED' }],
      });
      expect(m.providerMessageId).toMatch(/^sandbox-/);
    }
    const kept = byChannel(sandboxOutbox().filter((s) => Object.values(sent).some((m) => m.providerMessageId === s.providerMessageId)));
    expect(kept.SMS).toMatchObject({ destination: phone, body: 'Order 1042 is now SHIPPED. Sandboxed.' });
    expect(kept.WHATSAPP).toMatchObject({ destination: whatsapp, body: 'Order 1042 is now SHIPPED. Sandboxed.' });
    expect(kept.EMAIL).toMatchObject({ destination: email, subject: sent.EMAIL.subject });
    expect(kept.EMAIL.htmlBody).toContain('Sandboxed.');

    expect(twilioFake.requests.length).toBe(twilioBefore);
    expect(sendgridFake.requests.length).toBe(sendgridBefore);
    // The default tenant's order 1042 is not this tenant's.
    expect(ok(await herald.gql(ORDER_MESSAGES, { orderId: '1042' }, adminKey)).messages.totalCount).toBe(3);
  });
});

describe('SendGrid errors', () => {
  async function emailCustomer() {
    const email = freshEmail();
    usedEmails.add(email);
    const person = await customer({ email });
    await subscribe(person.id, 'EMAIL');
    return { person, email };
  }

  it('retries a 503 and ends SENT on the second attempt', async () => {
    const { person, email } = await emailCustomer();
    sendgridFake.failNext(1, { status: 503 });
    const payload = await notified({ orderId: freshOrderId(), customerId: person.id, status: 'SHIPPED' });
    const sent = await waitForStatus(payload.messages[0].id, ['SENT', 'FAILED']);
    expect(sent).toMatchObject({ status: 'SENT', attempts: 2, errorCode: null, errorMessage: null });
    const requests = sendgridTo(email);
    expect(requests.map((r) => r.status)).toEqual([503, 202]);
    expect(sent.providerMessageId).toBe(requests[1].messageId);
    expect(sent.logs.map((l) => l.outcome)).toEqual(['FAILURE', 'SUCCESS']);
    expect(sent.logs[0].reason).toMatch(/^attempt 1 failed \(temporary error\): SendGrid is unavailable \(HTTP 503\)/);
  });

  it("fails a 400 at once with SendGrid's first error message, and never retries it", async () => {
    const { person, email } = await emailCustomer();
    const vendorMessage = 'The from address does not match a verified Sender Identity.';
    sendgridFake.failNext(1, { status: 400, message: vendorMessage });
    const payload = await notified({ orderId: freshOrderId(), customerId: person.id, status: 'SHIPPED' });
    const failed = await waitForStatus(payload.messages[0].id, ['FAILED', 'SENT']);
    expect(failed).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      errorCode: '400',
      errorMessage: vendorMessage,
      providerMessageId: null,
      sentAt: null,
    });
    expect(failed.logs).toMatchObject([{ outcome: 'FAILURE', reason: vendorMessage, orderStatus: 'SHIPPED' }]);
    expect(sendgridTo(email)).toHaveLength(1);

    // A later, healthy SendGrid gets nothing more for it: one request, one attempt.
    const later = await emailCustomer();
    const next = await notified({ orderId: freshOrderId(), customerId: later.person.id, status: 'SHIPPED' });
    await waitForStatus(next.messages[0].id, 'SENT');
    expect(await getMessage(failed.id)).toMatchObject({ status: 'FAILED', attempts: 1 });
    expect(sendgridTo(email)).toHaveLength(1);
  });
});

describe('permanent vendor refusals on other channels', () => {
  it('fails a per-tenant SendGrid gateway whose key SendGrid refuses (401) at once, without quoting the key', async () => {
    const refusedKey = fakeSendgridKey();
    const mail = await addGateway({
      channel: 'EMAIL',
      provider: 'SENDGRID',
      name: 'revoked-mail',
      credentials: JSON.stringify({ apiKey: refusedKey, from: FROM_EMAIL }),
    });
    const email = freshEmail();
    usedEmails.add(email);
    const person = await customer({ email });
    await subscribe(person.id, 'EMAIL', mail.id);
    const payload = await notified({ orderId: freshOrderId(), customerId: person.id, status: 'SHIPPED' });
    const failed = await waitForStatus(payload.messages[0].id, ['FAILED', 'SENT']);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 1, errorCode: '401', providerMessageId: null });
    expect(failed.errorMessage).toMatch(/authorization grant is invalid/);
    expect(sendgridTo(email).map((r) => [r.authKey, r.status])).toEqual([[refusedKey, 401]]);
    expect(JSON.stringify(failed)).not.toContain(refusedKey);
    expect(herald.logs.filter((line) => line.includes(refusedKey))).toEqual([]);
  });

  it('fails a WhatsApp message Twilio refuses (21211) at once with the number masked, while the SMS is sent', async () => {
    const phone = freshPhone();
    usedPhones.add(phone);
    const person = await customer({ phone, whatsapp: INVALID_NUMBER });
    await subscribe(person.id, 'SMS');
    await subscribe(person.id, 'WHATSAPP');
    const before = twilioTo(`whatsapp:${INVALID_NUMBER}`).length;
    const payload = await notified({ orderId: freshOrderId(), customerId: person.id, status: 'SHIPPED' });
    const done = await settled(payload.messages);
    expect(done.SMS.status).toBe('SENT');
    expect(done.WHATSAPP).toMatchObject({
      status: 'FAILED',
      attempts: 1,
      errorCode: '21211',
      destination: '+1*******0001',
      providerMessageId: null,
    });
    expect(done.WHATSAPP.errorMessage).toMatch(/not a valid phone number/);
    expect(done.WHATSAPP.errorMessage).not.toContain(digitsOf(INVALID_NUMBER));
    expect(done.WHATSAPP.logs).toMatchObject([{ outcome: 'FAILURE', reason: done.WHATSAPP.errorMessage, orderStatus: 'SHIPPED' }]);
    expect(twilioTo(`whatsapp:${INVALID_NUMBER}`).length - before).toBe(1);
  });
});

describe('metrics and logs', () => {
  it('counts e-mail messages on /metrics', async () => {
    const response = await fetch(`${herald.url}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const sent = /^herald_messages_total\{(?=[^}]*channel="EMAIL")(?=[^}]*status="SENT")[^}]*\} (\d+(?:\.\d+)?)$/m.exec(text);
    expect(sent, 'herald_messages_total{channel="EMAIL",status="SENT"}').not.toBeNull();
    expect(Number(sent![1])).toBeGreaterThan(0);
    expect(text).toMatch(/^herald_messages_total\{(?=[^}]*channel="EMAIL")(?=[^}]*status="FAILED")[^}]*\} [1-9]/m);
    expect(text).toMatch(/^herald_messages_total\{(?=[^}]*channel="WHATSAPP")(?=[^}]*status="SENT")[^}]*\} [1-9]/m);
    expect(text).toMatch(/^herald_dispatch_duration_seconds_count\{(?=[^}]*channel="EMAIL")(?=[^}]*provider="SENDGRID")[^}]*\} [1-9]/m);
  });

  it('never writes a full customer phone number or e-mail address to a log line', async () => {
    expect(herald.logs.some((line) => line.includes('order status notified'))).toBe(true);
    const leaks = herald.logs.filter(
      (line) => [...usedPhones].some((p) => line.includes(digitsOf(p))) || [...usedEmails].some((e) => line.includes(e)),
    );
    expect(leaks).toEqual([]);
  });
});
