// sendNotification and sendNotifications end to end: the real HTTP API, the real worker and
// the real twilio, @sendgrid/mail and twitter-api-v2 SDKs against local fakes of the three
// vendors. Every check is on what a user or a vendor sees: the mutation's answer, the
// message's fields and states, the requests each vendor receives, and /metrics. A second
// Herald without a worker (role 'api') shows what stays QUEUED and takes the 1,000-item batch.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromGlobalId } from '../src/lib/ids.js';
import { MAIL_SEND_PATH, fakeSendgridKey, type SendgridFake, type SendgridFakeRequest, startSendgridFake } from './fakes/sendgrid-fake.js';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake, type TwilioFakeRequest } from './fakes/twilio-fake.js';
import { fakeTwitterAccount, startTwitterFake, type TwitterFake } from './fakes/twitter-fake.js';
import { buildRecipient, buildTenant, type RecipientInput } from './helpers/factories.js';
import { fastRetryEnv, ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { metricsText, metric } from './helpers/metrics.js';
import { waitForMessageStatus, waitUntil } from './helpers/wait.js';
import { rowsOf } from './helpers/database.js';
import type { LogBase, UserError } from './helpers/api-types.js';

const SMS_FROM = '+15005550006';
const WHATSAPP_FROM = '+14155238886';
const FROM_EMAIL = 'notify@herald.example.com';
const MAX_ATTEMPTS = 3;
const twilioAccount = fakeTwilioAccount();
const sendgridKey = fakeSendgridKey();
const twitterAccount = fakeTwitterAccount();

let twilio: TwilioFake;
let sendgrid: SendgridFake;
let twitter: TwitterFake;
let herald: TestHerald;
/** No worker: everything it accepts stays QUEUED, and nothing reaches a vendor. */
let apiOnly: TestHerald;

beforeAll(async () => {
  [twilio, sendgrid, twitter] = await Promise.all([
    startTwilioFake({ accounts: [twilioAccount] }),
    startSendgridFake({ apiKeys: [sendgridKey] }),
    startTwitterFake({ accounts: [twitterAccount] }),
  ]);
  [herald, apiOnly] = await Promise.all([
    startTestHerald({
      env: {
        TWILIO_ACCOUNT_SID: twilioAccount.accountSid,
        TWILIO_AUTH_TOKEN: twilioAccount.authToken,
        TWILIO_SMS_FROM: SMS_FROM,
        TWILIO_WHATSAPP_FROM: WHATSAPP_FROM,
        TWILIO_API_BASE_URL: twilio.url,
        SENDGRID_API_KEY: sendgridKey,
        SENDGRID_FROM_EMAIL: FROM_EMAIL,
        SENDGRID_API_BASE_URL: sendgrid.url,
        TWITTER_APP_KEY: twitterAccount.appKey,
        TWITTER_APP_SECRET: twitterAccount.appSecret,
        TWITTER_ACCESS_TOKEN: twitterAccount.accessToken,
        TWITTER_ACCESS_SECRET: twitterAccount.accessSecret,
        TWITTER_API_BASE_URL: twitter.url,
        ...fastRetryEnv(MAX_ATTEMPTS),
        HERALD_SEND_TIMEOUT_MS: '5000',
      },
    }),
    // 1,000 recipients are created through the API for the batch: more than its request rate limit.
    startTestHerald({ role: 'api', env: { HERALD_RATE_LIMIT_PER_SECOND: '0' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([herald?.stop(), apiOnly?.stop()]);
  await Promise.all([twilio?.close(), sendgrid?.close(), twitter?.close()]);
});

// ---------------------------------------------------------------------------------------
// GraphQL documents and helpers

type Channel = 'SMS' | 'WHATSAPP' | 'EMAIL' | 'TWITTER_DM';

const MESSAGE_FIELDS = `id channel status body subject destination scheduledAt sentAt attempts providerMessageId errorCode errorMessage
  template { id name } templateVersion locale reference encoding segments recipient { id } logs { id outcome channel reason at }`;
const USER_ERROR = 'field message code existingId';
const SEND = `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { message { ${MESSAGE_FIELDS} } userErrors { ${USER_ERROR} } } }`;
const SEND_MANY = `mutation($input: SendNotificationsInput!) { sendNotifications(input: $input) {
  queued rejected results { index message { id status channel body recipient { id } } userErrors { ${USER_ERROR} } } userErrors { ${USER_ERROR} } } }`;
const GET = `query($id: ID!) { message(id: $id) { ${MESSAGE_FIELDS} } }`;
const COUNT = '{ messages { totalCount } }';
const CANCEL = `mutation($input: CancelMessageInput!) { cancelMessage(input: $input) { message { ${MESSAGE_FIELDS} } userErrors { ${USER_ERROR} } } }`;
const RETRY = `mutation($input: RetryMessageInput!) { retryMessage(input: $input) { message { ${MESSAGE_FIELDS} } userErrors { ${USER_ERROR} } } }`;
const TEMPLATE_FIELDS = 'id name channel version archived current { version defaultLocale variants { locale subject body htmlBody } }';
const CREATE_TEMPLATE = `mutation($input: CreateTemplateInput!) { createTemplate(input: $input) { template { ${TEMPLATE_FIELDS} } userErrors { ${USER_ERROR} } } }`;
const UPDATE_TEMPLATE = `mutation($input: UpdateTemplateInput!) { updateTemplate(input: $input) { template { ${TEMPLATE_FIELDS} } userErrors { ${USER_ERROR} } } }`;
const ARCHIVE_TEMPLATE = `mutation($input: ArchiveTemplateInput!) { archiveTemplate(input: $input) { template { id archived } userErrors { ${USER_ERROR} } } }`;
const GATEWAYS = `query($channel: Channel) { gateways(channel: $channel) { id provider isDefault priceMultiplier } }`;
const UPDATE_GATEWAY = `mutation($input: UpdateGatewayInput!) { updateGateway(input: $input) { gateway { id priceMultiplier } userErrors { ${USER_ERROR} } } }`;

interface Message {
  id: string;
  channel: Channel;
  status: string;
  body: string;
  subject: string | null;
  destination: string | null;
  scheduledAt: string | null;
  sentAt: string | null;
  attempts: number;
  providerMessageId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  template: { id: string; name: string } | null;
  templateVersion: number | null;
  locale: string | null;
  reference: string | null;
  encoding: 'GSM7' | 'UCS2' | null;
  segments: number | null;
  recipient: { id: string };
  logs: LogBase[];
}
interface Refusal extends UserError {
  existingId: string | null;
}
interface SendPayload {
  message: Message | null;
  userErrors: Refusal[];
}
interface BatchPayload {
  queued: number;
  rejected: number;
  results: { index: number; message: Pick<Message, 'id' | 'status' | 'channel' | 'body' | 'recipient'> | null; userErrors: Refusal[] }[];
  userErrors: Refusal[];
}
interface Template {
  id: string;
  name: string;
  channel: Channel;
  version: number;
  archived: boolean;
  current: {
    version: number;
    defaultLocale: string;
    variants: { locale: string; subject: string | null; body: string; htmlBody: string | null }[];
  };
}
interface Variant {
  locale: string;
  subject?: string;
  body: string;
  htmlBody?: string;
}

// Contact details unique to this file's run, so each test can tell its own requests at the
// fakes apart from everyone else's.
const RUN = randomBytes(2).toString('hex');
let nextLine = 100;
const freshPhone = () => `+1415556${String(nextLine++).padStart(4, '0')}`;
const freshEmail = () => `n${randomBytes(4).toString('hex')}@example.com`;
let nextHandle = 0;
const freshHandle = () => `n${RUN}_${nextHandle++}`;

async function sendOn(h: TestHerald, input: Record<string, unknown>, key?: string): Promise<SendPayload> {
  return ok(await h.gql(SEND, { input }, key)).sendNotification;
}
const send = (input: Record<string, unknown>, key?: string) => sendOn(herald, input, key);

/** A send that must be accepted: fails the test with the userErrors otherwise. */
async function acceptedOn(h: TestHerald, input: Record<string, unknown>, key?: string): Promise<Message> {
  const payload = await sendOn(h, input, key);
  expect(payload.userErrors).toEqual([]);
  expect(payload.message).not.toBeNull();
  return payload.message!;
}
const accepted = (input: Record<string, unknown>, key?: string) => acceptedOn(herald, input, key);

async function sendMany(h: TestHerald, items: Record<string, unknown>[], key?: string): Promise<BatchPayload> {
  return ok(await h.gql(SEND_MANY, { input: { items } }, key)).sendNotifications;
}

async function getMessageOn(h: TestHerald, id: string, key?: string): Promise<Message> {
  const message = ok(await h.gql(GET, { id }, key)).message;
  if (!message) throw new Error(`message ${id} is not found`);
  return message;
}
const getMessage = (id: string, key?: string) => getMessageOn(herald, id, key);

const waitForStatus = (id: string, statuses: string | string[], options: { timeoutMs?: number; key?: string } = {}) =>
  waitForMessageStatus(getMessage, id, statuses, options);
const sent = (id: string, key?: string) => waitForStatus(id, ['SENT', 'FAILED'], { key });

async function messageCount(h: TestHerald = herald, key?: string): Promise<number> {
  return ok(await h.gql(COUNT, undefined, key)).messages.totalCount;
}

async function createTemplateOn(
  h: TestHerald,
  input: { name?: string; channel: Channel; defaultLocale?: string; variants: Variant[] },
  key?: string,
) {
  const payload = ok(
    await h.gql(CREATE_TEMPLATE, { input: { name: `Template ${randomBytes(3).toString('hex')}`, ...input } }, key),
  ).createTemplate;
  expect(payload.userErrors).toEqual([]);
  return payload.template as Template;
}
const createTemplate = (input: Parameters<typeof createTemplateOn>[1], key?: string) => createTemplateOn(herald, input, key);

async function updateTemplateOn(h: TestHerald, input: Record<string, unknown>): Promise<Template> {
  const payload = ok(await h.gql(UPDATE_TEMPLATE, { input })).updateTemplate;
  expect(payload.userErrors).toEqual([]);
  return payload.template;
}

const recipient = (input: RecipientInput, key?: string, h: TestHerald = herald) =>
  buildRecipient(h, { kind: 'CUSTOMER', ...input }, key) as Promise<{ id: string }>;

const twilioTo = (to: string): TwilioFakeRequest[] => twilio.requests.filter((r) => r.form.To === to);
const sendgridTo = (email: string): SendgridFakeRequest[] =>
  sendgrid.requests.filter((r) => r.body?.personalizations?.some((p) => p.to?.some((t) => t.email === email)));
const vendorRequests = () => twilio.requests.length + sendgrid.requests.length + twitter.requests.length;

/** The states of a message's queue jobs, read from pg-boss's own table. */
async function jobStates(messageId: string): Promise<string[]> {
  const uuid = fromGlobalId(messageId, 'Message')!.uuid;
  const rows = rowsOf(
    await herald.services.db.execute(sql`select state from pgboss.job where name = 'herald-dispatch' and data->>'messageId' = ${uuid}`),
  );
  return rows.map((r) => String(r.state));
}

/** A GSM-7 text of exactly `n` characters. */
const gsmText = (n: number) => 'Your appointment on Monday at 10:30 is confirmed. '.repeat(Math.ceil(n / 50)).slice(0, n);

// ---------------------------------------------------------------------------------------

describe('sendNotification from a template, on each channel', () => {
  it('sends an SMS rendered from a template: Twilio receives the text once, and the message records template, version, locale, reference and 2 GSM-7 segments', async () => {
    const phone = freshPhone();
    const person = await recipient({ displayName: 'Ada Lovelace', phone });
    const template = await createTemplate({ channel: 'SMS', variants: [{ locale: 'en', body: 'Hi {{ recipient.name }}, {{ text }}' }] });
    // "Hi Ada Lovelace, " is 17 characters: 200 in all, one more than fits a 160-septet SMS.
    const text = gsmText(183);
    const expected = `Hi Ada Lovelace, ${text}`;
    expect(expected).toHaveLength(200);

    const before = twilio.requests.length;
    const queued = await accepted({
      recipientId: person.id,
      channel: 'SMS',
      templateId: template.id,
      personalisation: { text },
      reference: 'appointment-77',
    });
    expect(queued).toMatchObject({
      channel: 'SMS',
      status: 'QUEUED',
      body: expected,
      subject: null,
      template: { id: template.id, name: template.name },
      templateVersion: 1,
      locale: 'en',
      reference: 'appointment-77',
      encoding: 'GSM7',
      segments: 2,
      destination: `+1*******${phone.slice(-4)}`,
      recipient: { id: person.id },
    });

    const done = await sent(queued.id);
    expect(done).toMatchObject({
      status: 'SENT',
      attempts: 1,
      templateVersion: 1,
      encoding: 'GSM7',
      segments: 2,
      reference: 'appointment-77',
    });
    expect(twilio.requests.length - before).toBe(1);
    expect(twilioTo(phone).map((r) => r.form)).toEqual([expect.objectContaining({ To: phone, From: SMS_FROM, Body: expected })]);
    expect(done.providerMessageId).toBe(twilio.messages.find((m) => m.to === phone)!.sid);
  });

  it('sends a WhatsApp message rendered from a template: Twilio receives it once on whatsapp: numbers, and a ’ makes it UCS-2', async () => {
    const whatsapp = freshPhone();
    const person = await recipient({ displayName: 'Grace', whatsapp, phone: null });
    const template = await createTemplate({
      channel: 'WHATSAPP',
      variants: [{ locale: 'en', body: 'Hello {{ recipient.name }}, it’s {{ when }}: your table for {{ guests }} is ready.' }],
    });
    const expected = 'Hello Grace, it’s 8 pm: your table for 4 is ready.';

    const queued = await accepted({
      recipientId: person.id,
      channel: 'WHATSAPP',
      templateId: template.id,
      personalisation: { when: '8 pm', guests: 4 },
      reference: 'table-4',
    });
    expect(queued).toMatchObject({
      channel: 'WHATSAPP',
      body: expected,
      template: { id: template.id },
      templateVersion: 1,
      locale: 'en',
      reference: 'table-4',
      encoding: 'UCS2',
      segments: 1,
    });

    expect(await sent(queued.id)).toMatchObject({ status: 'SENT', encoding: 'UCS2', segments: 1 });
    expect(twilioTo(`whatsapp:${whatsapp}`).map((r) => r.form)).toEqual([
      expect.objectContaining({ To: `whatsapp:${whatsapp}`, From: `whatsapp:${WHATSAPP_FROM}`, Body: expected }),
    ]);
    expect(twilioTo(whatsapp)).toEqual([]);
  });

  it('sends an e-mail rendered from a template: SendGrid receives the subject, a text part with the values as given and an HTML part with them escaped', async () => {
    const email = freshEmail();
    const person = await recipient({ displayName: 'Ada & Bob', email, phone: null });
    const template = await createTemplate({
      channel: 'EMAIL',
      variants: [
        {
          locale: 'en',
          subject: 'Your code, {{ recipient.name }}',
          body: 'Hello {{ recipient.name }}, your code is {{ code }}.',
          htmlBody: '<p>Hello {{ recipient.name }}, your code is <b>{{ code }}</b>.</p>',
        },
      ],
    });
    const code = `<b>&"'`;

    const before = sendgrid.requests.length;
    const queued = await accepted({
      recipientId: person.id,
      channel: 'EMAIL',
      templateId: template.id,
      personalisation: { code },
      reference: 'otp',
    });
    expect(queued).toMatchObject({
      channel: 'EMAIL',
      subject: 'Your code, Ada & Bob',
      body: `Hello Ada & Bob, your code is ${code}.`,
      template: { id: template.id },
      templateVersion: 1,
      locale: 'en',
      reference: 'otp',
      encoding: null,
      segments: null,
    });

    const done = await sent(queued.id);
    expect(done).toMatchObject({ status: 'SENT', encoding: null, segments: null });
    expect(sendgrid.requests.length - before).toBe(1);
    const mails = sendgridTo(email);
    expect(mails).toHaveLength(1);
    const [mail] = mails;
    expect(mail).toMatchObject({ method: 'POST', path: MAIL_SEND_PATH, authKey: sendgridKey, status: 202 });
    const body = mail.body!;
    expect(body.from).toEqual({ email: FROM_EMAIL });
    expect(body.subject ?? body.personalizations![0].subject).toBe('Your code, Ada & Bob');
    expect(body.content).toEqual([
      { type: 'text/plain', value: `Hello Ada & Bob, your code is <b>&"'.` },
      { type: 'text/html', value: '<p>Hello Ada &amp; Bob, your code is <b>&lt;b&gt;&amp;&quot;&#39;</b>.</p>' },
    ]);
    expect(done.providerMessageId).toBe(mail.messageId);
  });

  it('sends an X Direct Message rendered from a template: X is asked for the handle’s user id, then receives the text once', async () => {
    const handle = freshHandle();
    const user = twitter.addUser(handle);
    const person = await recipient({ displayName: 'Linus', twitterHandle: handle, phone: null });
    const template = await createTemplate({
      channel: 'TWITTER_DM',
      variants: [{ locale: 'en', body: 'Hi {{ recipient.name }}, invoice {{ invoice.number }} for {{ invoice.amount }} is due.' }],
    });
    const expected = 'Hi Linus, invoice INV-9 for $42.00 is due.';

    const queued = await accepted({
      recipientId: person.id,
      channel: 'TWITTER_DM',
      templateId: template.id,
      personalisation: { invoice: { number: 'INV-9', amount: '$42.00' } },
      reference: 'inv-9',
    });
    expect(queued).toMatchObject({
      channel: 'TWITTER_DM',
      body: expected,
      template: { id: template.id },
      templateVersion: 1,
      locale: 'en',
      reference: 'inv-9',
      encoding: null,
      segments: null,
    });

    const done = await sent(queued.id);
    expect(done).toMatchObject({ status: 'SENT', encoding: null, segments: null });
    const mine = twitter.requests.filter((r) => r.path.includes(handle) || r.path.includes(user.id));
    expect(mine.map((r) => [r.method, r.path])).toEqual([
      ['GET', `/2/users/by/username/${handle}`],
      ['POST', `/2/dm_conversations/with/${user.id}/messages`],
    ]);
    const dms = twitter.dms.filter((d) => d.participantId === user.id);
    expect(dms.map((d) => d.text)).toEqual([expected]);
    expect(done.providerMessageId).toBe(dms[0].dmEventId);
  });

  it('counts SMS segments as Twilio bills them: 160 GSM-7 characters are 1, 161 are 2, 306 are 2, 307 are 3; 70 UCS-2 are 1, 71 are 2', async () => {
    const person = await recipient({ phone: freshPhone() });
    const cases: [string, 'GSM7' | 'UCS2', number][] = [
      [gsmText(160), 'GSM7', 1],
      [gsmText(161), 'GSM7', 2],
      [gsmText(306), 'GSM7', 2],
      // 153 septets per part of a long SMS (6 of its 140 octets go to the header): 2 × 153 = 306.
      [gsmText(307), 'GSM7', 3],
      [`’${gsmText(69)}`, 'UCS2', 1],
      [`’${gsmText(70)}`, 'UCS2', 2],
    ];
    const messages: Message[] = [];
    for (const [body] of cases) messages.push(await accepted({ recipientId: person.id, channel: 'SMS', body }));
    expect(messages.map((m) => [m.body.length, m.encoding, m.segments])).toEqual(
      cases.map(([body, encoding, segments]) => [body.length, encoding, segments]),
    );
    // Settled before the next tests count vendor requests.
    await Promise.all(messages.map((m) => sent(m.id)));
  });
});

describe('sendNotification with free text', () => {
  it('sends a free-text SMS with its placeholders rendered, and a value’s own {{ }} left as written; no template is recorded', async () => {
    const phone = freshPhone();
    const person = await recipient({ displayName: 'Ada', phone });
    const queued = await accepted({
      recipientId: person.id,
      channel: 'SMS',
      body: 'Hi {{ recipient.name }}, your code is {{ code }}.',
      personalisation: { code: '{{ recipient.name }}' },
    });
    const expected = 'Hi Ada, your code is {{ recipient.name }}.';
    expect(queued).toMatchObject({ body: expected, template: null, templateVersion: null, encoding: 'GSM7', segments: 1 });
    expect(await sent(queued.id)).toMatchObject({ status: 'SENT' });
    expect(twilioTo(phone).map((r) => r.form.Body)).toEqual([expected]);
  });

  it('sends a free-text e-mail with its subject: SendGrid receives the subject and a text part only', async () => {
    const email = freshEmail();
    const person = await recipient({ displayName: 'Bob', email, phone: null });
    const queued = await accepted({
      recipientId: person.id,
      channel: 'EMAIL',
      subject: 'Receipt {{ number }}',
      body: 'Thanks {{ recipient.name }}, receipt {{ number }} is attached.',
      personalisation: { number: 'R-1' },
    });
    expect(queued).toMatchObject({ subject: 'Receipt R-1', body: 'Thanks Bob, receipt R-1 is attached.', template: null, encoding: null });
    expect(await sent(queued.id)).toMatchObject({ status: 'SENT' });
    const [mail, ...more] = sendgridTo(email);
    expect(more).toEqual([]);
    expect(mail.body!.subject ?? mail.body!.personalizations![0].subject).toBe('Receipt R-1');
    expect(mail.body!.content).toEqual([{ type: 'text/plain', value: 'Thanks Bob, receipt R-1 is attached.' }]);
  });

  it('refuses a free-text e-mail without a subject (INVALID_INPUT on subject) and a send with both templateId and body (INVALID_INPUT on body)', async () => {
    const person = await recipient({ email: freshEmail(), phone: freshPhone() });
    const template = await createTemplate({ channel: 'SMS', variants: [{ locale: 'en', body: 'Hello' }] });
    const before = await messageCount();
    const requestsBefore = vendorRequests();

    const noSubject = await send({ recipientId: person.id, channel: 'EMAIL', body: 'No subject here' });
    expect(noSubject).toEqual({
      message: null,
      userErrors: [{ field: ['input', 'subject'], code: 'INVALID_INPUT', message: expect.any(String), existingId: null }],
    });
    const both = await send({ recipientId: person.id, channel: 'SMS', templateId: template.id, body: 'Hello too' });
    expect(both).toEqual({
      message: null,
      userErrors: [{ field: ['input', 'body'], code: 'INVALID_INPUT', message: expect.any(String), existingId: null }],
    });
    expect(await messageCount()).toBe(before);
    expect(vendorRequests()).toBe(requestsBefore);
  });
});

describe('template versions', () => {
  it('keeps a scheduled message on version 1’s text after the template is edited, and sends a new message with version 2', async () => {
    const phone = freshPhone();
    const person = await recipient({ displayName: 'Ada', phone });
    const template = await createTemplate({
      channel: 'SMS',
      variants: [{ locale: 'en', body: 'v1: see you at {{ time }}, {{ recipient.name }}' }],
    });
    const sendAt = new Date(Date.now() + 3_600_000).toISOString();
    const scheduled = await accepted({
      recipientId: person.id,
      channel: 'SMS',
      templateId: template.id,
      personalisation: { time: '9:00' },
      sendAt,
    });
    expect(scheduled).toMatchObject({ status: 'SCHEDULED', scheduledAt: sendAt, body: 'v1: see you at 9:00, Ada', templateVersion: 1 });

    const updated = await updateTemplateOn(herald, {
      id: template.id,
      variants: [{ locale: 'en', body: 'v2: {{ recipient.name }}, we meet at {{ time }}' }],
    });
    expect(updated).toMatchObject({ version: 2, current: { version: 2 } });

    expect(await getMessage(scheduled.id)).toMatchObject({
      status: 'SCHEDULED',
      body: 'v1: see you at 9:00, Ada',
      templateVersion: 1,
      template: { id: template.id },
    });

    const fresh = await accepted({ recipientId: person.id, channel: 'SMS', templateId: template.id, personalisation: { time: '9:00' } });
    expect(fresh).toMatchObject({ body: 'v2: Ada, we meet at 9:00', templateVersion: 2, template: { id: template.id } });
    expect(await sent(fresh.id)).toMatchObject({ status: 'SENT', templateVersion: 2 });
    // Only the new message went out; the scheduled one is still waiting, unchanged.
    expect(twilioTo(phone).map((r) => r.form.Body)).toEqual(['v2: Ada, we meet at 9:00']);
    expect(await getMessage(scheduled.id)).toMatchObject({ status: 'SCHEDULED', body: 'v1: see you at 9:00, Ada', templateVersion: 1 });
  });

  it('keeps a QUEUED message’s text and version when the template is edited before it is sent', async () => {
    const person = await recipient({ displayName: 'Queued Quinn', phone: freshPhone() }, undefined, apiOnly);
    const template = await createTemplateOn(apiOnly, {
      channel: 'SMS',
      variants: [{ locale: 'en', body: 'First words for {{ recipient.name }}' }],
    });
    const queued = await acceptedOn(apiOnly, { recipientId: person.id, channel: 'SMS', templateId: template.id });
    expect(queued).toMatchObject({ status: 'QUEUED', body: 'First words for Queued Quinn', templateVersion: 1 });

    await updateTemplateOn(apiOnly, { id: template.id, variants: [{ locale: 'en', body: 'Second words for {{ recipient.name }}' }] });
    expect(await getMessageOn(apiOnly, queued.id)).toMatchObject({
      status: 'QUEUED',
      body: 'First words for Queued Quinn',
      templateVersion: 1,
      template: { id: template.id },
    });
  });
});

describe('locale fallback', () => {
  it('picks the exact variant, else the language’s, else the template’s default, and says which on the message', async () => {
    const phone = freshPhone();
    const person = await recipient({ displayName: 'Zoé', phone });
    const template = await createTemplate({
      channel: 'SMS',
      defaultLocale: 'en',
      variants: [
        { locale: 'en', body: 'Your order is ready, {{ recipient.name }}.' },
        { locale: 'fr', body: 'Votre commande est prête, {{ recipient.name }}.' },
        { locale: 'fr-CA', body: 'Votre commande est prête (Québec), {{ recipient.name }}.' },
      ],
    });
    const cases: [string | null, string, string][] = [
      ['fr-CA', 'fr-CA', 'Votre commande est prête (Québec), Zoé.'],
      ['fr-ca', 'fr-CA', 'Votre commande est prête (Québec), Zoé.'],
      ['fr-BE', 'fr', 'Votre commande est prête, Zoé.'],
      ['fr', 'fr', 'Votre commande est prête, Zoé.'],
      ['de', 'en', 'Your order is ready, Zoé.'],
      [null, 'en', 'Your order is ready, Zoé.'],
    ];
    const messages: Message[] = [];
    for (const [locale] of cases) {
      messages.push(await accepted({ recipientId: person.id, channel: 'SMS', templateId: template.id, ...(locale ? { locale } : {}) }));
    }
    expect(messages.map((m) => [m.locale, m.body])).toEqual(cases.map(([, locale, body]) => [locale, body]));

    await Promise.all(messages.map((m) => sent(m.id)));
    expect(
      twilioTo(phone)
        .map((r) => r.form.Body)
        .sort(),
    ).toEqual(cases.map(([, , body]) => body).sort());
  });

  it('falls back to the template’s own default locale when the locale asked has no variant; no locale means the tenant’s', async () => {
    const person = await recipient({ phone: freshPhone() });
    const template = await createTemplate({
      channel: 'SMS',
      defaultLocale: 'fr',
      variants: [
        { locale: 'fr', body: 'Bonjour' },
        { locale: 'en', body: 'Hello' },
      ],
    });
    const message = await accepted({ recipientId: person.id, channel: 'SMS', templateId: template.id, locale: 'de-AT' });
    expect(message).toMatchObject({ locale: 'fr', body: 'Bonjour' });
    // The tenant's default locale is en (it set none), and the template has an en variant.
    const none = await accepted({ recipientId: person.id, channel: 'SMS', templateId: template.id });
    expect(none).toMatchObject({ locale: 'en', body: 'Hello' });
    await Promise.all([message, none].map((m) => sent(m.id)));
  });

  it('refuses a locale that is not a BCP 47 tag with INVALID_INPUT on locale, storing nothing', async () => {
    const person = await recipient({ phone: freshPhone() });
    const template = await createTemplate({ channel: 'SMS', variants: [{ locale: 'en', body: 'Hello' }] });
    const before = await messageCount();
    for (const locale of ['not a locale!', 'en_US']) {
      const payload = await send({ recipientId: person.id, channel: 'SMS', templateId: template.id, locale });
      expect(payload).toEqual({
        message: null,
        userErrors: [{ field: ['input', 'locale'], code: 'INVALID_INPUT', message: expect.any(String), existingId: null }],
      });
    }
    expect(await messageCount()).toBe(before);
  });
});

describe('refusals store and send nothing', () => {
  async function expectRefused(input: Record<string, unknown>, expected: Partial<Refusal>[], key?: string): Promise<Refusal[]> {
    const before = await messageCount(herald, key);
    const requestsBefore = vendorRequests();
    const payload = await send(input, key);
    expect(payload.message).toBeNull();
    expect(payload.userErrors).toEqual(expected.map((e) => ({ message: expect.any(String), existingId: null, ...e })));
    expect(await messageCount(herald, key)).toBe(before);
    expect(vendorRequests()).toBe(requestsBefore);
    return payload.userErrors;
  }

  it('refuses a template whose placeholder has no value with MISSING_PERSONALISATION naming it, nested names included', async () => {
    const person = await recipient({ phone: freshPhone() });
    const template = await createTemplate({
      channel: 'SMS',
      variants: [{ locale: 'en', body: 'Hi {{ name }}, order {{ order.id }} costs {{ order.total }}; code {{ code }}' }],
    });
    const [missing] = await expectRefused(
      { recipientId: person.id, channel: 'SMS', templateId: template.id, personalisation: { name: 'Ada', order: { id: 7, total: '$3' } } },
      [{ field: ['input', 'personalisation', 'code'], code: 'MISSING_PERSONALISATION' }],
    );
    expect(missing.message).toContain('code');
    await expectRefused(
      { recipientId: person.id, channel: 'SMS', templateId: template.id, personalisation: { name: 'Ada', order: { id: 7 }, code: 1 } },
      [{ field: ['input', 'personalisation', 'order', 'total'], code: 'MISSING_PERSONALISATION' }],
    );
  });

  it('refuses an unknown template, and another tenant’s, with NOT_FOUND on templateId', async () => {
    const person = await recipient({ phone: freshPhone() });
    const { adminKey: otherKey } = await buildTenant(herald);
    const theirs = await createTemplate({ channel: 'SMS', variants: [{ locale: 'en', body: 'Theirs' }] }, otherKey);
    for (const templateId of ['tpl_0000000000007000800000000000dead', 'garbage', theirs.id]) {
      await expectRefused({ recipientId: person.id, channel: 'SMS', templateId }, [{ field: ['input', 'templateId'], code: 'NOT_FOUND' }]);
    }
  });

  it('refuses an archived template with TEMPLATE_ARCHIVED, while a message sent before still names it', async () => {
    const person = await recipient({ phone: freshPhone() });
    const template = await createTemplate({ channel: 'SMS', variants: [{ locale: 'en', body: 'Old news' }] });
    const earlier = await accepted({ recipientId: person.id, channel: 'SMS', templateId: template.id });
    await sent(earlier.id);
    const archived = ok(await herald.gql(ARCHIVE_TEMPLATE, { input: { id: template.id } })).archiveTemplate;
    expect(archived).toMatchObject({ template: { id: template.id, archived: true }, userErrors: [] });
    await expectRefused({ recipientId: person.id, channel: 'SMS', templateId: template.id }, [
      { field: ['input', 'templateId'], code: 'TEMPLATE_ARCHIVED' },
    ]);
    expect(await getMessage(earlier.id)).toMatchObject({
      status: 'SENT',
      body: 'Old news',
      template: { id: template.id },
      templateVersion: 1,
    });
  });

  it('refuses a template of another channel with WRONG_CHANNEL', async () => {
    const person = await recipient({ phone: freshPhone(), email: freshEmail() });
    const template = await createTemplate({ channel: 'EMAIL', variants: [{ locale: 'en', subject: 'Hi', body: 'Hello' }] });
    const [error] = await expectRefused({ recipientId: person.id, channel: 'SMS', templateId: template.id }, [
      { field: ['input', 'templateId'], code: 'WRONG_CHANNEL' },
    ]);
    expect(error.message).toMatch(/EMAIL/);
  });

  it('refuses an SMS whose rendered text is over 1,600 characters with TOO_LONG on body', async () => {
    const person = await recipient({ phone: freshPhone() });
    const template = await createTemplate({ channel: 'SMS', variants: [{ locale: 'en', body: 'Note: {{ text }}' }] });
    const [error] = await expectRefused(
      { recipientId: person.id, channel: 'SMS', templateId: template.id, personalisation: { text: 'x'.repeat(1_700) } },
      [{ field: ['input', 'body'], code: 'TOO_LONG' }],
    );
    expect(error.message).toMatch(/1,?600/);
  });

  it('refuses an e-mail to a recipient without an e-mail address with RECIPIENT_NOT_REACHABLE', async () => {
    const person = await recipient({ phone: freshPhone(), email: null });
    const [error] = await expectRefused({ recipientId: person.id, channel: 'EMAIL', subject: 'Hi', body: 'Hello' }, [
      { field: ['input', 'recipientId'], code: 'RECIPIENT_NOT_REACHABLE' },
    ]);
    expect(error.message).toMatch(/e-?mail/i);
  });

  it('refuses an unknown recipient and another tenant’s with NOT_FOUND on recipientId', async () => {
    const { adminKey: otherKey } = await buildTenant(herald);
    const theirs = await recipient({ phone: freshPhone() }, otherKey);
    for (const recipientId of ['rcp_0000000000007000800000000000dead', 'garbage', theirs.id]) {
      await expectRefused({ recipientId, channel: 'SMS', body: 'Hello' }, [{ field: ['input', 'recipientId'], code: 'NOT_FOUND' }]);
    }
  });

  it('refuses a personalisation key named recipient with INVALID_INPUT, as Herald fills recipient in', async () => {
    const person = await recipient({ displayName: 'Real Name', phone: freshPhone() });
    await expectRefused(
      { recipientId: person.id, channel: 'SMS', body: 'Hi {{ recipient.name }}', personalisation: { recipient: { name: 'Spoofed' } } },
      [{ field: ['input', 'personalisation', 'recipient'], code: 'INVALID_INPUT' }],
    );
  });

  it('keeps an e-mail subject on one line when a value carries CR LF and a Bcc header, so SendGrid receives no extra header', async () => {
    const email = freshEmail();
    const person = await recipient({ displayName: 'Eve', email, phone: null });
    const template = await createTemplate({
      channel: 'EMAIL',
      variants: [{ locale: 'en', subject: 'About {{ topic }}', body: 'Topic: {{ topic }}' }],
    });
    const queued = await accepted({
      recipientId: person.id,
      channel: 'EMAIL',
      templateId: template.id,
      personalisation: { topic: 'invoices\r\nBcc: x@evil.test' },
    });
    expect(queued.subject).toBe('About invoices Bcc: x@evil.test');
    expect(await sent(queued.id)).toMatchObject({ status: 'SENT' });

    const [mail, ...more] = sendgridTo(email);
    expect(more).toEqual([]);
    const body = mail.body!;
    const subject = body.subject ?? body.personalizations![0].subject;
    expect(subject).toBe('About invoices Bcc: x@evil.test');
    expect(subject).not.toMatch(/[\r\n]/);
    expect(body.personalizations).toEqual([expect.objectContaining({ to: [{ email }] })]);
    expect(JSON.stringify(body.personalizations)).not.toContain('evil.test');
    // Herald's own headers only: the one-click unsubscribe pair.
    expect(Object.keys(body.headers as object).sort()).toEqual(['List-Unsubscribe', 'List-Unsubscribe-Post']);
    expect(JSON.stringify(body.headers)).not.toContain('evil.test');
  });
});

describe('guarantees shared with sendSms', () => {
  it('answers the same key and input (personalisation in another order) with the first message and sends once; other personalisation is IDEMPOTENCY_CONFLICT naming it', async () => {
    const phone = freshPhone();
    const person = await recipient({ phone });
    const template = await createTemplate({ channel: 'SMS', variants: [{ locale: 'en', body: '{{ a }} and {{ b }}' }] });
    const idempotencyKey = `notify-${randomBytes(4).toString('hex')}`;
    const input = { recipientId: person.id, channel: 'SMS', templateId: template.id, idempotencyKey };

    const first = await accepted({ ...input, personalisation: { a: 'apples', b: 'bananas' } });
    const again = await accepted({ ...input, personalisation: { b: 'bananas', a: 'apples' } });
    expect(again.id).toBe(first.id);
    await sent(first.id);
    const late = await accepted({ ...input, personalisation: { b: 'bananas', a: 'apples' } });
    expect(late).toMatchObject({ id: first.id, status: 'SENT' });
    expect(twilioTo(phone).map((r) => r.form.Body)).toEqual(['apples and bananas']);

    const before = await messageCount();
    const conflict = await send({ ...input, personalisation: { a: 'apples', b: 'cherries' } });
    expect(conflict).toEqual({
      message: null,
      userErrors: [{ field: ['input', 'idempotencyKey'], code: 'IDEMPOTENCY_CONFLICT', message: expect.any(String), existingId: first.id }],
    });
    expect(await messageCount()).toBe(before);
    expect(twilioTo(phone)).toHaveLength(1);
  });

  it('cancels a scheduled notification, which is then never sent', async () => {
    const email = freshEmail();
    const person = await recipient({ email, phone: null });
    const sendAt = new Date(Date.now() + 1_500);
    const scheduled = await accepted({
      recipientId: person.id,
      channel: 'EMAIL',
      subject: 'Later',
      body: 'Never',
      sendAt: sendAt.toISOString(),
    });
    expect(scheduled.status).toBe('SCHEDULED');

    const cancelled = ok(await herald.gql(CANCEL, { input: { id: scheduled.id } })).cancelMessage;
    expect(cancelled).toMatchObject({ message: { id: scheduled.id, status: 'CANCELLED' }, userErrors: [] });
    // The worker takes the job when its time comes and finishes it without sending.
    await waitUntil('the cancelled notification’s job to be taken and completed', async () => {
      const states = await jobStates(scheduled.id);
      return states.length > 0 && states.every((s) => s === 'completed');
    });
    expect(Date.now()).toBeGreaterThanOrEqual(sendAt.getTime());
    expect(sendgridTo(email)).toEqual([]);
    expect(await getMessage(scheduled.id)).toMatchObject({ status: 'CANCELLED', attempts: 0, sentAt: null, logs: [] });
  });

  it('fails a notification Twilio refuses for good, then retryMessage sends the same text once Twilio accepts', async () => {
    const phone = freshPhone();
    const person = await recipient({ displayName: 'Ada', phone });
    const template = await createTemplate({
      channel: 'SMS',
      variants: [{ locale: 'en', body: 'Reminder for {{ recipient.name }}: {{ what }}' }],
    });
    twilio.failNext(1, { status: 400, code: 21408, message: 'Permission to send an SMS has not been enabled for the region' });
    const queued = await accepted({
      recipientId: person.id,
      channel: 'SMS',
      templateId: template.id,
      personalisation: { what: 'dentist' },
    });
    const failed = await sent(queued.id);
    expect(failed).toMatchObject({ status: 'FAILED', errorCode: '21408', attempts: 1, providerMessageId: null });
    expect(twilioTo(phone)).toHaveLength(1);

    const retried = ok(await herald.gql(RETRY, { input: { id: queued.id } })).retryMessage;
    expect(retried).toMatchObject({ message: { id: queued.id, status: 'QUEUED', errorCode: null }, userErrors: [] });
    const done = await sent(queued.id);
    expect(done).toMatchObject({ status: 'SENT', body: 'Reminder for Ada: dentist', templateVersion: 1 });
    expect(done.logs.map((l) => l.outcome)).toEqual(['FAILURE', 'SUCCESS']);
    expect(twilioTo(phone).map((r) => r.form.Body)).toEqual(['Reminder for Ada: dentist', 'Reminder for Ada: dentist']);
    expect(done.providerMessageId).toBe(twilio.messages.find((m) => m.to === phone)!.sid);
  });
});

describe('sendNotifications', () => {
  it('queues the good items of a batch and refuses the bad ones, each result at its index with fields under its item; the good ones all end SENT', async () => {
    const [smsPhone, waPhone, email] = [freshPhone(), freshPhone(), freshEmail()];
    const handle = freshHandle();
    const user = twitter.addUser(handle);
    const people = await Promise.all([
      recipient({ displayName: 'Ann', phone: smsPhone }),
      recipient({ displayName: 'Ben', phone: freshPhone() }),
      recipient({ displayName: 'Cat', email, phone: null }),
      recipient({ displayName: 'Dan', phone: freshPhone(), email: null }),
      recipient({ displayName: 'Eli', whatsapp: waPhone, twitterHandle: handle, phone: null }),
    ]);
    const sms = await createTemplate({ channel: 'SMS', variants: [{ locale: 'en', body: 'Hi {{ recipient.name }}, code {{ code }}' }] });
    const items = [
      { recipientId: people[0].id, channel: 'SMS', templateId: sms.id, personalisation: { code: '111' } },
      { recipientId: people[1].id, channel: 'SMS', templateId: sms.id, personalisation: {} },
      { recipientId: people[2].id, channel: 'EMAIL', subject: 'For {{ recipient.name }}', body: 'Hello {{ recipient.name }}' },
      { recipientId: people[3].id, channel: 'EMAIL', subject: 'For you', body: 'Hello' },
      { recipientId: people[4].id, channel: 'TWITTER_DM', body: 'DM for {{ recipient.name }}' },
    ];
    const before = await messageCount();

    const payload = await sendMany(herald, items);
    expect(payload).toMatchObject({ queued: 3, rejected: 2, userErrors: [] });
    expect(payload.results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
    expect(payload.results.map((r) => r.message?.recipient.id ?? null)).toEqual([people[0].id, null, people[2].id, null, people[4].id]);
    expect(payload.results[1].userErrors).toEqual([
      {
        field: ['input', 'items', '1', 'personalisation', 'code'],
        code: 'MISSING_PERSONALISATION',
        message: expect.any(String),
        existingId: null,
      },
    ]);
    expect(payload.results[3].userErrors).toEqual([
      { field: ['input', 'items', '3', 'recipientId'], code: 'RECIPIENT_NOT_REACHABLE', message: expect.any(String), existingId: null },
    ]);
    for (const i of [0, 2, 4]) expect(payload.results[i]).toMatchObject({ userErrors: [], message: { status: 'QUEUED' } });
    expect(payload.results.map((r) => r.message?.body ?? null)).toEqual(['Hi Ann, code 111', null, 'Hello Cat', null, 'DM for Eli']);
    expect(await messageCount()).toBe(before + 3);

    const done = await Promise.all([0, 2, 4].map((i) => sent(payload.results[i].message!.id)));
    expect(done.map((m) => m.status)).toEqual(['SENT', 'SENT', 'SENT']);
    expect(twilioTo(smsPhone).map((r) => r.form.Body)).toEqual(['Hi Ann, code 111']);
    expect(sendgridTo(email).map((r) => r.body!.content![0].value)).toEqual(['Hello Cat']);
    expect(twitter.dms.filter((d) => d.participantId === user.id).map((d) => d.text)).toEqual(['DM for Eli']);
  });

  it('gives two items with one idempotencyKey and input one message, sent once, and a third with other text IDEMPOTENCY_CONFLICT', async () => {
    const phone = freshPhone();
    const person = await recipient({ phone });
    const item = { recipientId: person.id, channel: 'SMS', body: 'Only once', idempotencyKey: `batch-${randomBytes(4).toString('hex')}` };
    const payload = await sendMany(herald, [item, item, { ...item, body: 'Something else' }]);
    const [first, second, third] = payload.results;
    expect(first.userErrors).toEqual([]);
    expect(second).toMatchObject({ userErrors: [], message: { id: first.message!.id } });
    expect(third).toEqual({
      index: 2,
      message: null,
      userErrors: [
        {
          field: ['input', 'items', '2', 'idempotencyKey'],
          code: 'IDEMPOTENCY_CONFLICT',
          message: expect.any(String),
          existingId: first.message!.id,
        },
      ],
    });
    expect(await sent(first.message!.id)).toMatchObject({ status: 'SENT' });
    expect(twilioTo(phone).map((r) => r.form.Body)).toEqual(['Only once']);
  });

  it('refuses 1,001 items as a whole with INVALID_INPUT on items, storing nothing', async () => {
    const person = await recipient({ phone: freshPhone() }, undefined, apiOnly);
    const before = await messageCount(apiOnly);
    const items = Array.from({ length: 1_001 }, (_, i) => ({ recipientId: person.id, channel: 'SMS', body: `Item ${i}` }));
    const payload = await sendMany(apiOnly, items);
    expect(payload).toEqual({
      queued: 0,
      rejected: 0,
      results: [],
      userErrors: [{ field: ['input', 'items'], code: 'INVALID_INPUT', message: expect.stringMatching(/1,?000/), existingId: null }],
    });
    expect(await messageCount(apiOnly)).toBe(before);
  });

  it('queues a batch of 1,000 SMS to 1,000 recipients of a new tenant, in index order', async () => {
    const { adminKey } = await buildTenant(apiOnly);
    const people: { id: string }[] = [];
    for (let start = 0; start < 1_000; start += 100) {
      people.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, (_, k) =>
            recipient({ displayName: `Bulk ${start + k}`, phone: `+1415557${String(start + k).padStart(4, '0')}` }, adminKey, apiOnly),
          ),
        )),
      );
    }
    const template = await createTemplateOn(
      apiOnly,
      { channel: 'SMS', variants: [{ locale: 'en', body: 'Hi {{ recipient.name }}, seat {{ seat }}' }] },
      adminKey,
    );
    const items = people.map((p, i) => ({ recipientId: p.id, channel: 'SMS', templateId: template.id, personalisation: { seat: i } }));

    const payload = await sendMany(apiOnly, items, adminKey);
    expect(payload.userErrors).toEqual([]);
    expect(payload.results.filter((r) => r.userErrors.length > 0).slice(0, 3)).toEqual([]);
    expect(payload).toMatchObject({ queued: 1_000, rejected: 0 });
    expect(payload.results.map((r) => r.index)).toEqual(items.map((_, i) => i));
    expect(payload.results.map((r) => r.message?.recipient.id)).toEqual(people.map((p) => p.id));
    expect(payload.results[999].message).toMatchObject({ status: 'QUEUED', body: 'Hi Bulk 999, seat 999' });
    expect(new Set(payload.results.map((r) => r.message?.id)).size).toBe(1_000);
    expect(await messageCount(apiOnly, adminKey)).toBe(1_000);
  }, 60_000);
});

describe('segment metrics', () => {
  it('adds a tenant’s SMS segments to herald_sms_segments_total and, times the gateway’s priceMultiplier, to herald_sms_billable_units_total', async () => {
    const { tenant, adminKey } = await buildTenant(herald);
    const tenantLabel = fromGlobalId(tenant.id, 'Tenant')!.uuid;
    const person = await recipient({ phone: freshPhone() }, adminKey);
    const template = await createTemplate({ channel: 'SMS', variants: [{ locale: 'en', body: '{{ text }}' }] }, adminKey);
    const gsm = { tenant: tenantLabel, channel: 'SMS', encoding: 'GSM7' };
    const ucs = { tenant: tenantLabel, channel: 'SMS', encoding: 'UCS2' };
    const billable = { tenant: tenantLabel, channel: 'SMS' };
    const figures = async () => {
      const text = await metricsText(herald.url);
      return {
        gsm: metric(text, 'herald_sms_segments_total', gsm),
        ucs: metric(text, 'herald_sms_segments_total', ucs),
        billable: metric(text, 'herald_sms_billable_units_total', billable),
      };
    };
    expect(await figures()).toEqual({ gsm: 0, ucs: 0, billable: 0 });

    // A 200-character GSM-7 text is 2 segments; through a gateway at 1 unit each, 2 units.
    const first = await accepted(
      { recipientId: person.id, channel: 'SMS', templateId: template.id, personalisation: { text: gsmText(200) } },
      adminKey,
    );
    expect(first).toMatchObject({ encoding: 'GSM7', segments: 2 });
    expect(await figures()).toEqual({ gsm: 2, ucs: 0, billable: 2 });

    const [gateway] = ok(await herald.gql(GATEWAYS, { channel: 'SMS' }, adminKey)).gateways.filter(
      (g: { isDefault: boolean }) => g.isDefault,
    );
    expect(gateway.priceMultiplier).toBe(1);
    const updated = ok(await herald.gql(UPDATE_GATEWAY, { input: { id: gateway.id, priceMultiplier: 2 } }, adminKey)).updateGateway;
    expect(updated).toEqual({ gateway: { id: gateway.id, priceMultiplier: 2 }, userErrors: [] });

    // Now each segment costs 2 units: 2 more GSM-7 segments, 4 more units; 1 UCS-2 segment, 2 units.
    await accepted({ recipientId: person.id, channel: 'SMS', templateId: template.id, personalisation: { text: gsmText(200) } }, adminKey);
    await accepted({ recipientId: person.id, channel: 'SMS', body: 'It’s done' }, adminKey);
    expect(await figures()).toEqual({ gsm: 4, ucs: 1, billable: 8 });

    // A refused send and an idempotent repeat add nothing.
    const idempotencyKey = `m-${randomBytes(4).toString('hex')}`;
    await accepted({ recipientId: person.id, channel: 'SMS', body: 'Once', idempotencyKey }, adminKey);
    await accepted({ recipientId: person.id, channel: 'SMS', body: 'Once', idempotencyKey }, adminKey);
    const refused = await send({ recipientId: person.id, channel: 'SMS', templateId: template.id }, adminKey);
    expect(refused.userErrors.map((e) => e.code)).toEqual(['MISSING_PERSONALISATION']);
    expect(await figures()).toEqual({ gsm: 5, ucs: 1, billable: 10 });
  });
});
