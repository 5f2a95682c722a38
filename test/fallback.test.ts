// Cross-channel fallback through the real API, worker and SDKs against the Twilio and
// SendGrid fakes: a message that FAILS on its channel is followed at once by one on the
// next channel the recipient can be reached on; one SENT but not DELIVERED within its
// window is followed when the window has passed (the check is run with the time set by the
// test); a DELIVERED or cancelled one never is. Templates fall back through the template
// of the same name on the other channel, and a template may carry a default fallback.
import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_FALLBACK_AFTER_SECONDS } from '../src/modules/fallback/fallback.js';
import type { UserError } from './helpers/api-types.js';
import { buildRecipient } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { metric, metricsText } from './helpers/metrics.js';
import { waitForMessageStatus, waitUntil } from './helpers/wait.js';
import { fakeSendgridKey, MAIL_SEND_PATH, type SendgridFake, startSendgridFake } from './fakes/sendgrid-fake.js';
import { fakeTwilioAccount, INVALID_NUMBER, startTwilioFake, type TwilioFake } from './fakes/twilio-fake.js';
import { fakeTwitterAccount, startTwitterFake, type TwitterFake } from './fakes/twitter-fake.js';

const PUBLIC_URL = 'https://herald.example.test';
const SMS_FROM = '+15005550006';
const account = fakeTwilioAccount();
const sendgridKey = fakeSendgridKey();
const twitterAccount = fakeTwitterAccount();

let twilioFake: TwilioFake;
let twitterFake: TwitterFake;
let sendgrid: SendgridFake;
let herald: TestHerald;

beforeAll(async () => {
  [twilioFake, sendgrid, twitterFake] = await Promise.all([
    startTwilioFake({ accounts: [account] }),
    startSendgridFake({ apiKeys: [sendgridKey] }),
    startTwitterFake({ accounts: [twitterAccount] }),
  ]);
  herald = await startTestHerald({
    env: {
      PUBLIC_URL,
      TWILIO_ACCOUNT_SID: account.accountSid,
      TWILIO_AUTH_TOKEN: account.authToken,
      TWILIO_SMS_FROM: SMS_FROM,
      TWILIO_WHATSAPP_FROM: '+14155238886',
      TWILIO_API_BASE_URL: twilioFake.url,
      SENDGRID_API_KEY: sendgridKey,
      SENDGRID_FROM_EMAIL: 'notify@herald.example.com',
      SENDGRID_API_BASE_URL: sendgrid.url,
      TWITTER_APP_KEY: twitterAccount.appKey,
      TWITTER_APP_SECRET: twitterAccount.appSecret,
      TWITTER_ACCESS_TOKEN: twitterAccount.accessToken,
      TWITTER_ACCESS_SECRET: twitterAccount.accessSecret,
      TWITTER_API_BASE_URL: twitterFake.url,
      HERALD_SEND_BUDGET_PER_MINUTE: '0',
      HERALD_SEND_BUDGET_PER_DAY: '0',
    },
  });
});
afterAll(async () => {
  await herald?.stop();
  await Promise.all([twilioFake?.close(), sendgrid?.close(), twitterFake?.close()]);
});

const USER_ERRORS = 'userErrors { field message code }';
const FIELDS = `id channel status body subject sentAt template { id } logs { outcome channel reason }`;
const MESSAGE = `query($id: ID!) { message(id: $id) { ${FIELDS} errorCode errorMessage attempts
  fallbackOf { id } fallbacks { ${FIELDS} fallbackOf { id } fallbacks { id } } } }`;
const SEND_SMS = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status } ${USER_ERRORS} } }`;
const SEND = `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { message { id status } ${USER_ERRORS} } }`;
const CANCEL = `mutation($input: CancelMessageInput!) { cancelMessage(input: $input) { message { status } ${USER_ERRORS} } }`;
const CREATE_TEMPLATE = `mutation($input: CreateTemplateInput!) { createTemplate(input: $input) { template { id } ${USER_ERRORS} } }`;
const SET_FALLBACK = `mutation($input: SetTemplateFallbackInput!) { setTemplateFallback(input: $input) {
  template { id fallback fallbackAfterSeconds } ${USER_ERRORS} } }`;
const COUNT = '{ messages { totalCount } }';

interface Logged {
  outcome: string;
  channel: string | null;
  reason: string | null;
}
interface Sent {
  id: string;
  channel: string;
  status: string;
  body: string;
  subject: string | null;
  sentAt: string | null;
  template: { id: string } | null;
  logs: Logged[];
  fallbackOf: { id: string } | null;
  fallbacks: { id: string }[];
}
interface Watched extends Omit<Sent, 'fallbacks'> {
  errorCode: string | null;
  errorMessage: string | null;
  attempts: number;
  fallbacks: Sent[];
}

const getMessage = async (id: string): Promise<Watched> => ok(await herald.gql(MESSAGE, { id })).message;

let nextLine = 0;
const freshPhone = () => `+1415557${String(nextLine++).padStart(4, '0')}`;
const freshEmail = () => `fallback-${randomBytes(4).toString('hex')}@example.com`;

async function sendSms(input: Record<string, unknown>): Promise<{ id?: string; userErrors: UserError[] }> {
  const { sendSms: sent } = ok(
    await herald.gql(SEND_SMS, { input: { message: 'Your code is 4417\nIt expires in 10 minutes.', ...input } }),
  );
  return { id: sent.message?.id, userErrors: sent.userErrors };
}

/** The message's one fallback, once written and sent. */
async function fallbackOf(id: string): Promise<Sent> {
  let first: Watched | undefined;
  await waitUntil(`a fallback of ${id}`, async () => (first = await getMessage(id)).fallbacks.length > 0);
  expect(first!.fallbacks).toHaveLength(1);
  const fallback = await waitForMessageStatus(getMessage, first!.fallbacks[0].id, ['SENT', 'FAILED']);
  return { ...fallback, fallbacks: fallback.fallbacks };
}

const emailsTo = (email: string) =>
  sendgrid.requests.filter((r) => r.path === MAIL_SEND_PATH && r.body?.personalizations?.[0]?.to?.[0]?.email === email);

/** Posts Twilio's signed status callback for the SMS Twilio accepted for `phone`. */
async function twilioReports(phone: string, status: string): Promise<void> {
  const sms = twilioFake.messages.find((m) => m.to === phone);
  if (!sms?.status_callback) throw new Error(`no SMS with a status callback to ${phone}`);
  const form = { AccountSid: account.accountSid, MessageSid: sms.sid, SmsSid: sms.sid, MessageStatus: status, To: phone, From: SMS_FROM };
  const { pathname, search } = new URL(sms.status_callback);
  const response = await fetch(`${herald.url}${pathname}${search}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(account.authToken, sms.status_callback, form),
    },
    body: new URLSearchParams(form).toString(),
  });
  expect(response.status).toBeLessThan(300);
}

const seconds = (at: string | null, s: number) => new Date(new Date(at!).getTime() + s * 1000);

describe('falling back to another channel', () => {
  it('follows an SMS that FAILS with an e-mail at once, linked both ways, written once', async () => {
    const email = freshEmail();
    const person = await buildRecipient(herald, { phone: INVALID_NUMBER, email });
    const { id, userErrors } = await sendSms({ clientId: person.id, fallback: ['EMAIL'] });
    expect(userErrors).toEqual([]);

    const failed = await waitForMessageStatus(getMessage, id!, 'FAILED');
    expect(failed.errorCode).toBe('21211');
    const fallback = await fallbackOf(id!);
    expect(fallback).toMatchObject({
      channel: 'EMAIL',
      status: 'SENT',
      body: 'Your code is 4417\nIt expires in 10 minutes.',
      // Free text has no subject: its first line becomes one.
      subject: 'Your code is 4417',
      fallbackOf: { id },
      fallbacks: [],
    });
    const [mail] = emailsTo(email);
    expect(mail.body?.subject ?? mail.body?.personalizations?.[0]?.subject).toBe('Your code is 4417');
    expect(mail.body?.content?.[0]?.value).toBe('Your code is 4417\nIt expires in 10 minutes.');

    // Checks run again (this process's and any other's) write nothing more.
    await herald.services.fallbacks.runDue(new Date(Date.now() + 86_400_000));
    expect((await getMessage(id!)).fallbacks).toHaveLength(1);
    expect(emailsTo(email)).toHaveLength(1);
    const metrics = await metricsText(herald.url);
    expect(metric(metrics, 'herald_fallbacks_total', { channel: 'EMAIL', outcome: 'written' })).toBeGreaterThanOrEqual(1);
  });

  it('follows an SMS not DELIVERED within fallbackAfterSeconds, and not a second earlier', async () => {
    const email = freshEmail();
    const phone = freshPhone();
    const person = await buildRecipient(herald, { phone, email });
    const { id } = await sendSms({ clientId: person.id, fallback: ['EMAIL'], fallbackAfterSeconds: 600 });
    const sent = await waitForMessageStatus(getMessage, id!, 'SENT');

    expect(await herald.services.fallbacks.runDue(seconds(sent.sentAt, 599))).toMatchObject({ written: 0 });
    expect((await getMessage(id!)).fallbacks).toEqual([]);
    expect(await herald.services.fallbacks.runDue(seconds(sent.sentAt, 601))).toMatchObject({ written: 1 });
    const fallback = await fallbackOf(id!);
    expect(fallback).toMatchObject({ channel: 'EMAIL', status: 'SENT', fallbackOf: { id } });
    expect(emailsTo(email)).toHaveLength(1);
    // The SMS itself is left as it was: it may still be delivered.
    expect((await getMessage(id!)).status).toBe('SENT');
  });

  it('never follows a DELIVERED message, however late the check', async () => {
    const email = freshEmail();
    const phone = freshPhone();
    const person = await buildRecipient(herald, { phone, email });
    const { id } = await sendSms({ clientId: person.id, fallback: ['EMAIL'], fallbackAfterSeconds: 60 });
    const sent = await waitForMessageStatus(getMessage, id!, 'SENT');
    await twilioReports(phone, 'delivered');
    await waitForMessageStatus(getMessage, id!, 'DELIVERED');

    await herald.services.fallbacks.runDue(seconds(sent.sentAt, 30 * 86_400));
    expect((await getMessage(id!)).fallbacks).toEqual([]);
    expect(emailsTo(email)).toEqual([]);
  });

  it('follows a message Twilio reports undelivered after it was SENT', async () => {
    const email = freshEmail();
    const phone = freshPhone();
    const person = await buildRecipient(herald, { phone, email });
    const { id } = await sendSms({ clientId: person.id, fallback: ['EMAIL'] });
    await waitForMessageStatus(getMessage, id!, 'SENT');
    await twilioReports(phone, 'undelivered');
    await waitForMessageStatus(getMessage, id!, 'FAILED');
    expect(await fallbackOf(id!)).toMatchObject({ channel: 'EMAIL', status: 'SENT' });
  });

  it('cancels the pending fallback of a cancelled message', async () => {
    const email = freshEmail();
    const person = await buildRecipient(herald, { phone: freshPhone(), email });
    const sendAt = new Date(Date.now() + 3600_000).toISOString();
    const { id } = await sendSms({ clientId: person.id, sendAt, fallback: ['EMAIL'], fallbackAfterSeconds: 60 });
    expect(ok(await herald.gql(CANCEL, { input: { id } })).cancelMessage).toMatchObject({
      message: { status: 'CANCELLED' },
      userErrors: [],
    });

    await herald.services.fallbacks.runDue(new Date(Date.now() + 7 * 86_400_000));
    expect((await getMessage(id!)).fallbacks).toEqual([]);
    expect(emailsTo(email)).toEqual([]);
  });

  it('passes over a channel the recipient cannot be reached on with a FAILURE log, and takes the next', async () => {
    const whatsapp = freshPhone();
    const person = await buildRecipient(herald, { phone: INVALID_NUMBER, whatsapp });
    // Accepted: whether the recipient can be reached there is decided when the fallback is due.
    const { id, userErrors } = await sendSms({ clientId: person.id, fallback: ['EMAIL', 'WHATSAPP'] });
    expect(userErrors).toEqual([]);
    await waitForMessageStatus(getMessage, id!, 'FAILED');

    const fallback = await fallbackOf(id!);
    expect(fallback).toMatchObject({ channel: 'WHATSAPP', status: 'SENT' });
    expect(twilioFake.messages.filter((m) => m.to === `whatsapp:${whatsapp}`)).toHaveLength(1);
    expect((await getMessage(id!)).logs).toContainEqual({
      outcome: 'FAILURE',
      channel: 'EMAIL',
      reason: 'fallback to EMAIL not sent: the recipient has no e-mail address',
    });
  });

  it('passes over a channel where the recipient is suppressed, with a FAILURE log saying so', async () => {
    const email = freshEmail();
    const person = await buildRecipient(herald, { phone: INVALID_NUMBER, email });
    const listed = ok(
      await herald.gql(`mutation($input: AddSuppressionInput!) { addSuppression(input: $input) { suppression { id } ${USER_ERRORS} } }`, {
        input: { channel: 'EMAIL', recipientId: person.id, reason: 'asked by phone' },
      }),
    ).addSuppression;
    expect(listed.userErrors).toEqual([]);
    const { id } = await sendSms({ clientId: person.id, fallback: ['EMAIL'] });
    await waitForMessageStatus(getMessage, id!, 'FAILED');
    await waitUntil('the suppressed channel passed over', async () => (await getMessage(id!)).logs.some((l) => l.channel === 'EMAIL'));
    const after = await getMessage(id!);
    expect(after.fallbacks).toEqual([]);
    expect(after.logs).toContainEqual({
      outcome: 'FAILURE',
      channel: 'EMAIL',
      reason: 'fallback to EMAIL not sent: suppressed: the e-mail address is on the suppression list for TRANSACTIONAL messages',
    });
    expect(emailsTo(email)).toEqual([]);
  });

  it('ends with the FAILURE logs when no fallback channel can be used', async () => {
    const person = await buildRecipient(herald, { phone: INVALID_NUMBER });
    const { id } = await sendSms({ clientId: person.id, fallback: ['WHATSAPP', 'EMAIL'] });
    await waitForMessageStatus(getMessage, id!, 'FAILED');
    await waitUntil(
      'the fallback channels passed over',
      async () => (await getMessage(id!)).logs.filter((l) => l.reason?.startsWith('fallback')).length === 2,
    );
    const after = await getMessage(id!);
    expect(after.fallbacks).toEqual([]);
    expect(after.logs.filter((l) => l.reason?.startsWith('fallback')).map((l) => l.channel)).toEqual(['WHATSAPP', 'EMAIL']);
  });
});

describe('falling back from a template', () => {
  async function template(name: string, channel: string, variant: Record<string, string>): Promise<string> {
    const made = ok(
      await herald.gql(CREATE_TEMPLATE, { input: { name, channel, variants: [{ locale: 'en', ...variant }] } }),
    ).createTemplate;
    expect(made.userErrors).toEqual([]);
    return made.template.id;
  }

  it("renders the same-named template of the fallback channel with the send's values", async () => {
    const name = `parcel-${randomBytes(3).toString('hex')}`;
    const sms = await template(name, 'SMS', { body: 'Parcel {{ code }} is out for delivery' });
    const mailTemplate = await template(name, 'EMAIL', {
      subject: 'Parcel {{ code }}',
      body: 'Hello {{ recipient.name }}, parcel {{ code }} is on its way.',
    });
    const email = freshEmail();
    const person = await buildRecipient(herald, { phone: INVALID_NUMBER, email, displayName: 'Ada' });
    const sent = ok(
      await herald.gql(SEND, {
        input: { recipientId: person.id, channel: 'SMS', templateId: sms, personalisation: { code: 'A17' }, fallback: ['EMAIL'] },
      }),
    ).sendNotification;
    expect(sent.userErrors).toEqual([]);
    await waitForMessageStatus(getMessage, sent.message.id, 'FAILED');
    expect(await fallbackOf(sent.message.id)).toMatchObject({
      channel: 'EMAIL',
      subject: 'Parcel A17',
      body: 'Hello Ada, parcel A17 is on its way.',
      template: { id: mailTemplate },
    });
  });

  it('takes the template’s own fallback when the send names none, and none when it names an empty list', async () => {
    const name = `reminder-${randomBytes(3).toString('hex')}`;
    const sms = await template(name, 'SMS', { body: 'Reminder: {{ what }}' });
    const before = ok(await herald.gql(SET_FALLBACK, { input: { id: sms, fallback: ['EMAIL'] } })).setTemplateFallback;
    expect(before.userErrors).toEqual([
      { field: ['input', 'fallback', '0'], code: 'NOT_FOUND', message: `no EMAIL template named "${name}" to fall back with` },
    ]);
    await template(name, 'EMAIL', { subject: 'Reminder', body: 'Reminder: {{ what }}' });
    const set = ok(
      await herald.gql(SET_FALLBACK, { input: { id: sms, fallback: ['EMAIL'], fallbackAfterSeconds: 900 } }),
    ).setTemplateFallback;
    expect(set).toEqual({ template: { id: sms, fallback: ['EMAIL'], fallbackAfterSeconds: 900 }, userErrors: [] });

    const person = await buildRecipient(herald, { phone: INVALID_NUMBER, email: freshEmail() });
    const send = async (extra: Record<string, unknown>) =>
      ok(
        await herald.gql(SEND, {
          input: { recipientId: person.id, channel: 'SMS', templateId: sms, personalisation: { what: 'dentist' }, ...extra },
        }),
      ).sendNotification.message.id as string;
    const withDefault = await send({});
    const optedOut = await send({ fallback: [] });
    await waitForMessageStatus(getMessage, withDefault, 'FAILED');
    expect(await fallbackOf(withDefault)).toMatchObject({ channel: 'EMAIL', body: 'Reminder: dentist', subject: 'Reminder' });
    await waitForMessageStatus(getMessage, optedOut, 'FAILED');
    await herald.services.fallbacks.runDue();
    expect((await getMessage(optedOut)).fallbacks).toEqual([]);
  });

  it('refuses a send whose fallback channel has no template of that name, storing nothing', async () => {
    const name = `lonely-${randomBytes(3).toString('hex')}`;
    const sms = await template(name, 'SMS', { body: 'Hi' });
    const person = await buildRecipient(herald, { phone: freshPhone() });
    const count = ok(await herald.gql(COUNT)).messages.totalCount;
    const refused = ok(
      await herald.gql(SEND, { input: { recipientId: person.id, channel: 'SMS', templateId: sms, fallback: ['WHATSAPP'] } }),
    ).sendNotification;
    expect(refused).toEqual({
      message: null,
      userErrors: [
        { field: ['input', 'fallback', '0'], code: 'NOT_FOUND', message: `no WHATSAPP template named "${name}" to fall back with` },
      ],
    });
    expect(ok(await herald.gql(COUNT)).messages.totalCount).toBe(count);
  });
});

describe("falling back from Herald's invoice flow", () => {
  const BUILT_IN = '{ templates(filter: { channel: TWITTER_DM }) { edges { node { id name builtIn } } } }';
  const SEND_INVOICE = `mutation($input: SendInvoiceDMInput!) { sendInvoiceDM(input: $input) { message { id } ${USER_ERRORS} } }`;
  const NOTIFY = `mutation($input: NotifyBillingCycleInput!) { notifyBillingCycle(input: $input) { queued rejected ${USER_ERRORS} } }`;
  const BY_INVOICE = `query($filter: MessageFilter) { messages(filter: $filter) { edges { node { id } } } }`;

  it('e-mails the invoice when its DM fails, once the tenant gave the invoice-due template a fallback', async () => {
    const { templates } = ok(await herald.gql(BUILT_IN));
    const invoiceDue = templates.edges
      .map((e: { node: { id: string; name: string; builtIn: string } }) => e.node)
      .find((t: { builtIn: string }) => t.builtIn === 'INVOICE_DUE');
    const mail = ok(
      await herald.gql(CREATE_TEMPLATE, {
        input: {
          name: invoiceDue.name,
          channel: 'EMAIL',
          variants: [
            { locale: 'en', subject: 'Invoice {{ invoice.number }}', body: '{{ invoice.amount }} is due on {{ invoice.dueOn }}.' },
          ],
        },
      }),
    ).createTemplate;
    expect(mail.userErrors).toEqual([]);
    expect(
      ok(await herald.gql(SET_FALLBACK, { input: { id: invoiceDue.id, fallback: ['EMAIL'] } })).setTemplateFallback.userErrors,
    ).toEqual([]);

    const invoice = (n: string) => ({ number: n, amountDue: '1250', currency: 'USD', dueDate: '2026-12-01' });
    const closed = async () => {
      const handle = `closed_${randomBytes(3).toString('hex')}`;
      twitterFake.addUser(handle, { dmsClosed: true });
      const email = freshEmail();
      return { email, customer: await buildRecipient(herald, { kind: 'CUSTOMER', twitterHandle: handle, email }) };
    };

    // One invoice on its own…
    const single = await closed();
    const number = `INV-${randomBytes(3).toString('hex')}`;
    const sent = ok(await herald.gql(SEND_INVOICE, { input: { customerId: single.customer.id, invoice: invoice(number) } })).sendInvoiceDM;
    expect(sent.userErrors).toEqual([]);
    await waitForMessageStatus(getMessage, sent.message.id, 'FAILED');
    expect(await fallbackOf(sent.message.id)).toMatchObject({
      channel: 'EMAIL',
      subject: `Invoice ${number}`,
      body: '$1,250.00 is due on December 1, 2026.',
    });
    expect(emailsTo(single.email)).toHaveLength(1);

    // …and one in a billing cycle.
    const inCycle = await closed();
    const cycleNumber = `INV-${randomBytes(3).toString('hex')}`;
    const cycle = ok(
      await herald.gql(NOTIFY, {
        input: { cycleId: `cycle-${cycleNumber}`, invoices: [{ customerId: inCycle.customer.id, invoice: invoice(cycleNumber) }] },
      }),
    ).notifyBillingCycle;
    expect(cycle).toMatchObject({ queued: 1, rejected: 0, userErrors: [] });
    const [dm] = ok(await herald.gql(BY_INVOICE, { filter: { invoiceNumber: cycleNumber } })).messages.edges;
    await waitForMessageStatus(getMessage, dm.node.id, 'FAILED');
    expect(await fallbackOf(dm.node.id)).toMatchObject({ channel: 'EMAIL', subject: `Invoice ${cycleNumber}` });
    expect(emailsTo(inCycle.email)).toHaveLength(1);
  });
});

describe('refusals', () => {
  it.each([
    [{ fallback: ['SMS'] }, ['input', 'fallback'], 'the message is on SMS already; fall back to other channels'],
    [{ fallback: ['EMAIL', 'EMAIL'] }, ['input', 'fallback'], 'name each fallback channel once'],
    [{ fallbackAfterSeconds: 600 }, ['input', 'fallbackAfterSeconds'], 'fallbackAfterSeconds needs a fallback'],
    [{ fallback: ['EMAIL'], fallbackAfterSeconds: 0 }, ['input', 'fallbackAfterSeconds'], 'fallbackAfterSeconds must be 1 to 259,200'],
    [
      { fallback: ['EMAIL'], fallbackAfterSeconds: MAX_FALLBACK_AFTER_SECONDS + 1 },
      ['input', 'fallbackAfterSeconds'],
      'fallbackAfterSeconds must be 1 to 259,200',
    ],
  ])('refuses %j with INVALID_INPUT, storing nothing', async (ask, field, message) => {
    const person = await buildRecipient(herald, { phone: freshPhone(), email: freshEmail() });
    const count = ok(await herald.gql(COUNT)).messages.totalCount;
    const { id, userErrors } = await sendSms({ clientId: person.id, ...ask });
    expect(id).toBeUndefined();
    expect(userErrors).toEqual([{ field, message, code: 'INVALID_INPUT' }]);
    expect(ok(await herald.gql(COUNT)).messages.totalCount).toBe(count);
  });

  it('refuses a window on X, which does not report delivery', async () => {
    const person = await buildRecipient(herald, { twitterHandle: 'ada_lovelace', email: freshEmail() });
    const refused = ok(
      await herald.gql(SEND, {
        input: { recipientId: person.id, channel: 'TWITTER_DM', body: 'Hi', fallback: ['EMAIL'], fallbackAfterSeconds: 600 },
      }),
    ).sendNotification;
    expect(refused.userErrors).toEqual([
      {
        field: ['input', 'fallbackAfterSeconds'],
        code: 'INVALID_INPUT',
        message: 'TWITTER_DM does not report delivery; its fallback follows a FAILED message only',
      },
    ]);
  });
});
