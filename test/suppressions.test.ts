// Suppressions end to end: the real HTTP API and worker, the twilio and @sendgrid/mail SDKs
// against their fakes, inbound Twilio messages and SendGrid events signed with the vendors'
// real schemes, the one-click unsubscribe URL as a mail client uses it, and an event-webhook
// endpoint that records what it is told.
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { sql } from 'drizzle-orm';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeSendgridKey, type SendgridFake, startSendgridFake } from './fakes/sendgrid-fake.js';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake } from './fakes/twilio-fake.js';
import { startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.js';
import { fromGlobalId } from '../src/lib/ids.js';
import { rowsOf } from './helpers/database.js';
import { buildApiKey, buildRecipient, buildTenant } from './helpers/factories.js';
import { fastRetryEnv, ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { waitForMessageStatus, waitUntil } from './helpers/wait.js';

const PUBLIC_URL = 'https://herald.example.test';
const SMS_FROM = '+15005550006';
const FROM_EMAIL = 'news@herald.example.com';
const MAILTO = 'unsubscribe@herald.example.com';
const account = fakeTwilioAccount();
const sendgridKey = fakeSendgridKey();
const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

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
  herald = await startTestHerald({
    env: {
      PUBLIC_URL,
      TWILIO_ACCOUNT_SID: account.accountSid,
      TWILIO_AUTH_TOKEN: account.authToken,
      TWILIO_SMS_FROM: SMS_FROM,
      TWILIO_API_BASE_URL: twilioFake.url,
      SENDGRID_API_KEY: sendgridKey,
      SENDGRID_FROM_EMAIL: FROM_EMAIL,
      SENDGRID_API_BASE_URL: sendgrid.url,
      SENDGRID_WEBHOOK_PUBLIC_KEY: sendgridKeys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      HERALD_UNSUBSCRIBE_MAILTO: MAILTO,
      HERALD_WEBHOOK_ALLOW_PRIVATE: 'true',
      HERALD_SEND_BUDGET_PER_MINUTE: '0',
      HERALD_SEND_BUDGET_PER_DAY: '0',
      ...fastRetryEnv(2),
    },
  });
  const created = ok(
    await herald.gql(
      `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { userErrors { code message } } }`,
      { input: { url: receiver.url, eventTypes: ['SUPPRESSION_ADDED', 'SUPPRESSION_REMOVED'] } },
    ),
  ).createWebhookEndpoint;
  expect(created.userErrors).toEqual([]);
}, 60_000);

afterAll(async () => {
  await herald?.stop();
  await Promise.all([twilioFake?.close(), sendgrid?.close(), receiver?.close()]);
});

// ---------------------------------------------------------------------------------------
// Documents and helpers

const USER_ERRORS = 'userErrors { field message code }';
const MESSAGE_FIELDS = 'id status channel category errorCode errorMessage attempts logs { outcome reason }';
const SEND_SMS = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { ${MESSAGE_FIELDS} } ${USER_ERRORS} } }`;
const SEND = `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { message { ${MESSAGE_FIELDS} } ${USER_ERRORS} } }`;
const GET = `query($id: ID!) { message(id: $id) { ${MESSAGE_FIELDS} } }`;
const SUPPRESSION_FIELDS = 'id channel destination source categories reason recipient { id } createdAt';
const LIST = `query($filter: SuppressionFilter) { suppressions(first: 100, filter: $filter) { totalCount edges { node { ${SUPPRESSION_FIELDS} } } } }`;
const ADD = `mutation($input: AddSuppressionInput!) { addSuppression(input: $input) { suppression { ${SUPPRESSION_FIELDS} } ${USER_ERRORS} } }`;
const REMOVE = `mutation($input: RemoveSuppressionInput!) { removeSuppression(input: $input) { removedId ${USER_ERRORS} } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { ${USER_ERRORS} } }`;

interface Message {
  id: string;
  status: string;
  channel: string;
  category: string;
  errorCode: string | null;
  errorMessage: string | null;
  attempts: number;
  logs: { outcome: string; reason: string | null }[];
}
interface Suppression {
  id: string;
  channel: string;
  destination: string;
  source: string;
  categories: string[];
  reason: string | null;
  recipient: { id: string } | null;
}

let nextLine = 300;
const freshPhone = () => `+1415555${String(nextLine++).padStart(4, '0')}`;
const freshEmail = () => `Reader.${randomBytes(4).toString('hex')}@Example.com`;

async function getMessage(id: string, key?: string): Promise<Message> {
  const message = ok(await herald.gql(GET, { id }, key)).message;
  if (!message) throw new Error(`message ${id} is not found`);
  return message;
}
const waitForStatus = (id: string, status: string | string[], key?: string) => waitForMessageStatus(getMessage, id, status, { key });

async function sendSms(clientId: string, extra: Record<string, unknown> = {}, key?: string) {
  return ok(await herald.gql(SEND_SMS, { input: { clientId, message: `Hello ${randomBytes(3).toString('hex')}`, ...extra } }, key))
    .sendSms as {
    message: Message | null;
    userErrors: { field: string[]; message: string; code: string }[];
  };
}

async function sendEmail(recipientId: string, category: 'TRANSACTIONAL' | 'MARKETING', key?: string) {
  const input = { recipientId, channel: 'EMAIL', subject: 'News', body: 'Hello', category };
  return ok(await herald.gql(SEND, { input }, key)).sendNotification as {
    message: Message | null;
    userErrors: { field: string[]; message: string; code: string }[];
  };
}

async function suppressionsOf(filter: Record<string, unknown>, key?: string): Promise<Suppression[]> {
  return ok(await herald.gql(LIST, { filter }, key)).suppressions.edges.map((e: { node: Suppression }) => e.node);
}

const suppressedError = (field: string[]) => [
  { field, message: expect.stringContaining('suppression list'), code: 'RECIPIENT_SUPPRESSED' },
];

/** Posts an inbound message as Twilio does: form-encoded, signed over the URL and fields with `token` (null: unsigned). */
async function inbound(from: string, body: string, token: string | null = account.authToken, to = SMS_FROM) {
  const form = { AccountSid: account.accountSid, MessageSid: `SM${randomBytes(16).toString('hex')}`, From: from, To: to, Body: body };
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (token !== null)
    headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(token, `${PUBLIC_URL}/webhooks/twilio/inbound`, form);
  const response = await fetch(`${herald.url}/webhooks/twilio/inbound`, { method: 'POST', headers, body: new URLSearchParams(form) });
  return { status: response.status, type: response.headers.get('content-type'), body: await response.text() };
}

/** Events a SendGrid signed webhook posts. */
async function sendgridEvents(events: unknown[]) {
  const body = JSON.stringify(events);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign('sha256', Buffer.from(timestamp + body), sendgridKeys.privateKey).toString('base64');
  const response = await fetch(`${herald.url}/webhooks/sendgrid/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-twilio-email-event-webhook-signature': signature,
      'x-twilio-email-event-webhook-timestamp': timestamp,
    },
    body,
  });
  return response.status;
}

/** The mail/send request the SendGrid fake got for `email`. */
function mailTo(email: string) {
  const requests = sendgrid.requests.filter((r) => r.body?.personalizations?.some((p) => p.to?.some((t) => t.email === email)));
  expect(requests).toHaveLength(1);
  return requests[0];
}

/** Suppression events the endpoint received about `id`. */
function eventsAbout(id: string): { type: string; data: Record<string, unknown> }[] {
  return receiver.received.map((r) => JSON.parse(r.body)).filter((e) => e.data?.id === id);
}

// ---------------------------------------------------------------------------------------

describe('Twilio inbound STOP, START and HELP', () => {
  it('a signed STOP refuses sends to the number until START', async () => {
    const phone = freshPhone();
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone });

    const stop = await inbound(phone, '  stop ');
    expect(stop).toMatchObject({ status: 200, type: expect.stringContaining('text/xml') });
    expect(stop.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
    const [entry] = await suppressionsOf({ channel: 'SMS', source: 'INBOUND_STOP' }).then((all) =>
      all.filter((s) => s.destination === `+1*******${phone.slice(-4)}`),
    );
    expect(entry).toMatchObject({ channel: 'SMS', source: 'INBOUND_STOP', categories: ['TRANSACTIONAL', 'MARKETING'] });

    const before = ok(
      await herald.gql(`query($f: MessageFilter) { messages(filter: $f) { totalCount } }`, { f: { recipientId: client.id } }),
    ).messages.totalCount;
    const refused = await sendSms(client.id);
    expect(refused).toEqual({ message: null, userErrors: suppressedError(['input', 'clientId']) });
    expect(refused.userErrors[0].message).not.toContain(phone);
    // Nothing was stored.
    expect(
      ok(await herald.gql(`query($f: MessageFilter) { messages(filter: $f) { totalCount } }`, { f: { recipientId: client.id } })).messages
        .totalCount,
    ).toBe(before);

    // The endpoint is told, with the number masked.
    await waitUntil('SUPPRESSION_ADDED delivered', () => eventsAbout(entry.id).length > 0);
    const [added] = eventsAbout(entry.id);
    expect(added).toMatchObject({
      type: 'suppression.added',
      data: { channel: 'SMS', source: 'INBOUND_STOP', destination: entry.destination },
    });
    expect(JSON.stringify(added)).not.toContain(phone);

    expect((await inbound(phone, 'START')).status).toBe(200);
    expect((await suppressionsOf({ channel: 'SMS' })).map((s) => s.id)).not.toContain(entry.id);
    await waitUntil('SUPPRESSION_REMOVED delivered', () => eventsAbout(entry.id).some((e) => e.type === 'suppression.removed'));
    const sent = await sendSms(client.id);
    expect(sent.userErrors).toEqual([]);
    await waitForStatus(sent.message!.id, 'SENT');
    expect(twilioFake.messages.filter((m) => m.to === phone)).toHaveLength(1);
  });

  it('refuses unsigned and forged messages, changing nothing', async () => {
    const phone = freshPhone();
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone });
    const count = async () => ok(await herald.gql('{ suppressions { totalCount } }')).suppressions.totalCount;
    const before = await count();
    expect((await inbound(phone, 'STOP', null)).status).toBe(403);
    expect((await inbound(phone, 'STOP', randomBytes(16).toString('hex'))).status).toBe(403);
    // Signed right, but to a number no gateway of this account has.
    expect((await inbound(phone, 'STOP', account.authToken, '+15005550009')).status).toBe(403);
    expect(await count()).toBe(before);
    expect(herald.logs.some((line) => line.includes('inbound webhook refused'))).toBe(true);
    const sent = await sendSms(client.id);
    expect(sent.userErrors).toEqual([]);
    await waitForStatus(sent.message!.id, 'SENT');
  });

  it("answers HELP with the tenant's reply, and with empty TwiML when it has none", async () => {
    const phone = freshPhone();
    const set = async (helpReply: string | null) =>
      expect(
        ok(
          await herald.gql(`mutation($input: UpdateConsentSettingsInput!) { updateConsentSettings(input: $input) { ${USER_ERRORS} } }`, {
            input: { helpReply },
          }),
        ).updateConsentSettings.userErrors,
      ).toEqual([]);
    await set('Acme alerts: reply STOP to stop, <help> & more');
    const help = await inbound(phone, 'help');
    expect(help.status).toBe(200);
    expect(help.body).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Acme alerts: reply STOP to stop, &lt;help&gt; &amp; more</Message></Response>',
    );
    await set(null);
    expect((await inbound(phone, 'HELP')).body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
  });
});

describe('provider opt-outs', () => {
  it('Twilio error 21610 on a send lists the number for every category', async () => {
    const phone = freshPhone();
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone });
    twilioFake.failNext(1, { status: 400, code: 21610, message: 'Attempt to send to unsubscribed recipient' });
    const sent = await sendSms(client.id);
    const failed = await waitForStatus(sent.message!.id, 'FAILED');
    expect(failed.errorCode).toBe('21610');
    const [entry] = await suppressionsOf({ recipientId: client.id });
    expect(entry).toMatchObject({ channel: 'SMS', source: 'PROVIDER_OPT_OUT', categories: ['TRANSACTIONAL', 'MARKETING'] });
    expect((await sendSms(client.id, { category: 'TRANSACTIONAL' })).userErrors).toEqual(suppressedError(['input', 'clientId']));
  });

  it('SendGrid unsubscribe, spam report and hard bounce list the address; a soft bounce does not', async () => {
    const cases = [
      ['unsubscribe', {}, 'PROVIDER_OPT_OUT'],
      ['spamreport', {}, 'SPAM_REPORT'],
      ['bounce', { type: 'bounce', status: '5.1.1', reason: '550 no such user' }, 'BOUNCE'],
      ['bounce', { type: 'blocked', status: '4.0.0', reason: 'try later' }, null],
    ] as const;
    for (const [event, extra, source] of cases) {
      const email = freshEmail();
      const person = await buildRecipient(herald, { kind: 'CUSTOMER', email });
      const sent = await sendEmail(person.id, 'TRANSACTIONAL');
      await waitForStatus(sent.message!.id, 'SENT');
      const request = mailTo(email);
      const status = await sendgridEvents([
        {
          email,
          event,
          timestamp: Math.floor(Date.now() / 1000),
          sg_event_id: randomBytes(12).toString('base64url'),
          sg_message_id: `${request.messageId}.filter0001`,
          herald_message_id: request.body!.custom_args?.herald_message_id,
          ...extra,
        },
      ]);
      expect(status, event).toBe(200);
      const entries = await suppressionsOf({ recipientId: person.id });
      if (source === null) {
        expect(entries, `${event} ${JSON.stringify(extra)}`).toEqual([]);
        expect((await sendEmail(person.id, 'MARKETING')).userErrors).toEqual([]);
        continue;
      }
      expect(entries, event).toMatchObject([{ channel: 'EMAIL', source, categories: ['TRANSACTIONAL', 'MARKETING'] }]);
      // The address is masked, and the reason does not quote SendGrid (whose text may name it).
      expect(entries[0].destination).toMatch(/^r\*\*\*@example\.com$/);
      expect(entries[0].reason).not.toContain('550');
      expect((await sendEmail(person.id, 'TRANSACTIONAL')).userErrors).toEqual(suppressedError(['input', 'recipientId']));
    }
  });
});

describe('one-click unsubscribe', () => {
  it('every e-mail carries List-Unsubscribe; a POST with its token stops MARKETING only, a GET nothing', async () => {
    const email = freshEmail();
    const person = await buildRecipient(herald, { kind: 'CUSTOMER', email });
    const first = await sendEmail(person.id, 'MARKETING');
    await waitForStatus(first.message!.id, 'SENT');
    const headers = mailTo(email).body!.headers as Record<string, string>;
    expect(headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    const match = /^<(https:\/\/herald\.example\.test\/unsubscribe\/[^>]+)>, <mailto:([^>]+)>$/.exec(headers['List-Unsubscribe']);
    expect(match, headers['List-Unsubscribe']).not.toBeNull();
    expect(match![2]).toBe(`${MAILTO}?subject=unsubscribe`);
    expect(match![1]).not.toContain(email.toLowerCase());
    const path = new URL(match![1]).pathname;
    const token = path.split('/').pop()!;

    // A scanner following the link unsubscribes no one; the page offers a button that POSTs.
    const page = await fetch(`${herald.url}${path}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`<form method="post" action="${path}">`);
    expect(await suppressionsOf({ recipientId: person.id })).toEqual([]);

    // Forged: the MAC changed; another address: the hash changed under the same MAC.
    const parts = token.split('.');
    const forged = [...parts.slice(0, 4), `${parts[4].startsWith('A') ? 'B' : 'A'}${parts[4].slice(1)}`].join('.');
    const otherAddress = [...parts.slice(0, 3), 'f'.repeat(64), parts[4]].join('.');
    for (const bad of [forged, otherAddress, 'not-a-token']) {
      const answer = await fetch(`${herald.url}/unsubscribe/${bad}`, { method: 'POST', body: 'List-Unsubscribe=One-Click' });
      expect(answer.status, bad).toBe(400);
      expect(answer.headers.get('content-type')).toContain('text/html');
    }
    expect(await suppressionsOf({ recipientId: person.id })).toEqual([]);

    const post = await fetch(`${herald.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(post.status).toBe(200);
    expect(await suppressionsOf({ recipientId: person.id })).toMatchObject([
      { channel: 'EMAIL', source: 'UNSUBSCRIBE_LINK', categories: ['MARKETING'], destination: 'r***@example.com' },
    ]);
    expect((await sendEmail(person.id, 'MARKETING')).userErrors).toEqual(suppressedError(['input', 'recipientId']));
    const receipt = await sendEmail(person.id, 'TRANSACTIONAL');
    expect(receipt.userErrors).toEqual([]);
    await waitForStatus(receipt.message!.id, 'SENT');
  });
});

describe('the API', () => {
  it('adds by recipient or destination, merges a second listing, and removes; READER lists only', async () => {
    const phone = freshPhone();
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone });
    const added = ok(
      await herald.gql(ADD, { input: { channel: 'SMS', recipientId: client.id, categories: ['MARKETING'], reason: 'asked by phone' } }),
    ).addSuppression;
    expect(added).toMatchObject({
      suppression: { channel: 'SMS', source: 'API', categories: ['MARKETING'], reason: 'asked by phone', recipient: { id: client.id } },
      userErrors: [],
    });
    expect((await sendSms(client.id)).userErrors).toEqual([]);
    expect((await sendSms(client.id, { category: 'MARKETING' })).userErrors).toEqual(suppressedError(['input', 'clientId']));

    // The same number spelled otherwise is the same entry, widened.
    const spaced = `${phone.slice(0, 2)} (${phone.slice(2, 5)}) ${phone.slice(5, 8)}-${phone.slice(8)}`;
    const again = ok(await herald.gql(ADD, { input: { channel: 'SMS', destination: spaced } })).addSuppression;
    expect(again.suppression).toMatchObject({ id: added.suppression.id, source: 'API', categories: ['TRANSACTIONAL', 'MARKETING'] });
    expect((await sendSms(client.id)).userErrors).toEqual(suppressedError(['input', 'clientId']));

    const reader = await buildApiKey(herald, 'READER');
    expect((await suppressionsOf({ recipientId: client.id }, reader)).map((s) => s.id)).toEqual([added.suppression.id]);
    expect((await herald.gql(ADD, { input: { channel: 'SMS', destination: freshPhone() } }, reader)).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
    const sender = await buildApiKey(herald, 'SENDER');
    expect((await herald.gql(REMOVE, { input: { id: added.suppression.id } }, sender)).errors?.[0].extensions?.code).toBe('FORBIDDEN');

    expect(ok(await herald.gql(REMOVE, { input: { id: added.suppression.id } })).removeSuppression).toEqual({
      removedId: added.suppression.id,
      userErrors: [],
    });
    expect((await sendSms(client.id, { category: 'MARKETING' })).userErrors).toEqual([]);
    expect(ok(await herald.gql(REMOVE, { input: { id: added.suppression.id } })).removeSuppression.userErrors).toEqual([
      { field: ['input', 'id'], message: expect.any(String), code: 'NOT_FOUND' },
    ]);
  });

  it('refuses what it cannot list, every problem at once', async () => {
    const noEmail = await buildRecipient(herald, { kind: 'CLIENT', phone: freshPhone() });
    const refused = async (input: Record<string, unknown>) => ok(await herald.gql(ADD, { input })).addSuppression;
    expect(await refused({ channel: 'EMAIL', destination: 'not an address', categories: [] })).toEqual({
      suppression: null,
      userErrors: [
        { field: ['input', 'destination'], message: expect.stringContaining('e-mail address'), code: 'INVALID_INPUT' },
        { field: ['input', 'categories'], message: expect.any(String), code: 'INVALID_INPUT' },
      ],
    });
    expect((await refused({ channel: 'SMS' })).userErrors.map((e: { field: string[] }) => e.field)).toEqual([
      ['input', 'recipientId'],
      ['input', 'destination'],
    ]);
    expect((await refused({ channel: 'EMAIL', recipientId: noEmail.id })).userErrors).toEqual([
      { field: ['input', 'recipientId'], message: expect.stringContaining('no e-mail address'), code: 'RECIPIENT_NOT_REACHABLE' },
    ]);
  });
});

describe('checks at send time and in fan-outs', () => {
  it('sends made at once are each checked for their own destination and category', async () => {
    // Four numbers: listed for every category, for MARKETING only, and two not at all.
    const phones = [freshPhone(), freshPhone(), freshPhone(), freshPhone()];
    const clients = await Promise.all(phones.map((phone) => buildRecipient(herald, { kind: 'CLIENT', phone })));
    const add = async (destination: string, categories?: string[]) =>
      expect(ok(await herald.gql(ADD, { input: { channel: 'SMS', destination, categories } })).addSuppression.userErrors).toEqual([]);
    await add(phones[0]);
    await add(phones[1], ['MARKETING']);
    const sends = clients.flatMap((client, i) => (['TRANSACTIONAL', 'MARKETING'] as const).map((category) => ({ i, category, client })));
    // All at once, so the checks share batches across destinations and categories.
    const answers = await Promise.all(sends.map(({ client, category }) => sendSms(client.id, { category })));
    const refused = sends.filter((_, k) => answers[k].message === null).map(({ i, category }) => `${i}:${category}`);
    expect(refused.sort()).toEqual(['0:MARKETING', '0:TRANSACTIONAL', '1:MARKETING']);
    for (const [k, answer] of answers.entries())
      if (answer.message) expect(answer.userErrors, `send ${k}`).toEqual([]);
      else expect(answer.userErrors).toEqual(suppressedError(['input', 'clientId']));
  });

  it('a message listed after it was queued ends FAILED without reaching Twilio', async () => {
    const phone = freshPhone();
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone });
    const queued = await sendSms(client.id, { sendAt: new Date(Date.now() + 2_000).toISOString() });
    expect(queued.message!.status).toBe('SCHEDULED');
    expect(ok(await herald.gql(ADD, { input: { channel: 'SMS', destination: phone } })).addSuppression.userErrors).toEqual([]);
    const failed = await waitForStatus(queued.message!.id, 'FAILED');
    expect(failed).toMatchObject({ errorCode: 'SUPPRESSED', attempts: 1 });
    expect(failed.logs).toEqual([{ outcome: 'FAILURE', reason: expect.stringMatching(/^suppressed: /) }]);
    expect(twilioFake.requests.filter((r) => r.form.To === phone)).toEqual([]);
  });

  it('order fan-out and billing log FAILURE "suppressed" for the listed channel; a single invoice DM is refused', async () => {
    const { adminKey } = await buildTenant(herald);
    const customer = await buildRecipient(
      herald,
      {
        kind: 'CUSTOMER',
        displayName: 'Fan Out',
        phone: freshPhone(),
        email: freshEmail(),
        twitterHandle: `fan_${randomBytes(3).toString('hex')}`,
      },
      adminKey,
    );
    for (const channel of ['SMS', 'EMAIL']) {
      expect(ok(await herald.gql(SUBSCRIBE, { input: { recipientId: customer.id, channel } }, adminKey)).subscribe.userErrors).toEqual([]);
    }
    for (const channel of ['EMAIL', 'TWITTER_DM']) {
      expect(ok(await herald.gql(ADD, { input: { channel, recipientId: customer.id } }, adminKey)).addSuppression.userErrors).toEqual([]);
    }
    const order = ok(
      await herald.gql(
        `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) { messages { channel } failures { reason } ${USER_ERRORS} } }`,
        { input: { customerId: customer.id, orderId: 'ORD-SUP-1', status: 'shipped' } },
        adminKey,
      ),
    ).updateOrderStatus;
    expect(order.messages).toEqual([{ channel: 'SMS' }]);
    expect(order.failures).toEqual([{ reason: expect.stringMatching(/^suppressed: Fan Out's e-mail address/) }]);

    const invoice = { number: 'INV-SUP-1', amountDue: '10.00', currency: 'USD', dueDate: '2030-01-31' };
    const cycle = ok(
      await herald.gql(
        `mutation($input: NotifyBillingCycleInput!) { notifyBillingCycle(input: $input) { queued rejected ${USER_ERRORS} } }`,
        { input: { cycleId: 'cycle-sup', invoices: [{ customerId: customer.id, invoice }] } },
        adminKey,
      ),
    ).notifyBillingCycle;
    expect(cycle).toMatchObject({ queued: 0, rejected: 1, userErrors: [] });
    const logs = ok(
      await herald.gql(
        `{ deliveryLogs(first: 10, filter: { channel: TWITTER_DM }) { edges { node { outcome reason } } } }`,
        undefined,
        adminKey,
      ),
    ).deliveryLogs.edges.map((e: { node: unknown }) => e.node);
    expect(logs).toEqual([{ outcome: 'FAILURE', reason: expect.stringContaining('suppressed: Fan Out') }]);
    const single = ok(
      await herald.gql(
        `mutation($input: SendInvoiceDMInput!) { sendInvoiceDM(input: $input) { message { id } ${USER_ERRORS} } }`,
        { input: { customerId: customer.id, invoice } },
        adminKey,
      ),
    ).sendInvoiceDM;
    expect(single).toEqual({ message: null, userErrors: suppressedError(['input', 'customerId']) });
  });
});

describe('erasure', () => {
  it('keeps the hashed entry: a new recipient with the same number is refused', async () => {
    const phone = freshPhone();
    const person = await buildRecipient(herald, { kind: 'CLIENT', phone });
    const entry = ok(await herald.gql(ADD, { input: { channel: 'SMS', recipientId: person.id } })).addSuppression.suppression;
    const erased = ok(
      await herald.gql(`mutation($input: EraseRecipientInput!) { eraseRecipient(input: $input) { erasedId ${USER_ERRORS} } }`, {
        input: { id: person.id },
      }),
    ).eraseRecipient;
    expect(erased.userErrors).toEqual([]);
    const [after] = (await suppressionsOf({ channel: 'SMS' })).filter((s) => s.id === entry.id);
    expect(after).toMatchObject({ destination: '[erased]', recipient: null, source: 'API' });
    // In the table too: the hash stays, the number does not.
    const rows = rowsOf(
      await herald.handle.db.execute(
        sql`select destination, recipient_id from suppressions where id = ${fromGlobalId(entry.id, 'Suppression')!.uuid}`,
      ),
    );
    expect(rows).toEqual([{ destination: null, recipient_id: null }]);

    const again = await buildRecipient(herald, { kind: 'CLIENT', phone });
    expect((await sendSms(again.id)).userErrors).toEqual(suppressedError(['input', 'clientId']));
  });
});
