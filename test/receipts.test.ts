// Delivery receipts and live status end to end: Twilio status callbacks and SendGrid
// events signed with the vendors' real schemes (the twilio SDK's signature helper, an
// ECDSA P-256 key pair made here) through the real HTTP server; messageStatusChanged over
// graphql-ws (the real client package); and status changes made by a worker in another
// process reaching a subscriber on the API process through PostgreSQL LISTEN/NOTIFY.
import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { type Client, createClient } from 'graphql-ws';
import pg from 'pg';
import twilio from 'twilio';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fromGlobalId } from '../src/lib/ids.js';
import { STATUS_CHANNEL } from '../src/realtime/status-hub.js';
import { fakeSendgridKey, type SendgridFake, startSendgridFake } from './fakes/sendgrid-fake.js';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake, type TwilioFakeAccount } from './fakes/twilio-fake.js';
import { buildRecipient, buildTenant } from './helpers/factories.js';
import { fastRetryEnv, ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { waitForMessageStatus, waitUntil } from './helpers/wait.js';
import { createPostgresDatabase, type HeraldProcess, killAll, spawnHerald } from './helpers/process.js';
import type { LogBase } from './helpers/api-types.js';
import { rowsOf } from './helpers/database.js';
import { metric, metricsText } from './helpers/metrics.js';

const PUBLIC_URL = 'https://herald.example.test';
const STATUS_PATH = '/webhooks/twilio/status';
const EVENTS_PATH = '/webhooks/sendgrid/events';
const SMS_FROM = '+15005550006';
const FROM_EMAIL = 'orders@herald.example.com';
const envAccount = fakeTwilioAccount();
const tenantAccount = fakeTwilioAccount();
const sendgridApiKey = fakeSendgridKey();

// SendGrid's signed event webhook: an ECDSA P-256 key pair; Herald gets the public half as
// SendGrid shows it (base64 of the DER SubjectPublicKeyInfo).
const sendgridKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const otherKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const SENDGRID_PUBLIC_KEY = sendgridKeys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');

let twilioFake: TwilioFake;
let sendgridFake: SendgridFake;
let herald: TestHerald;

const twilioEnv = (fakeUrl: string, account: TwilioFakeAccount = envAccount): Record<string, string> => ({
  TWILIO_ACCOUNT_SID: account.accountSid,
  TWILIO_AUTH_TOKEN: account.authToken,
  TWILIO_SMS_FROM: SMS_FROM,
  TWILIO_API_BASE_URL: fakeUrl,
});

beforeAll(async () => {
  twilioFake = await startTwilioFake({ accounts: [envAccount, tenantAccount] });
  sendgridFake = await startSendgridFake({ apiKeys: [sendgridApiKey] });
  herald = await startTestHerald({
    env: {
      ...twilioEnv(twilioFake.url),
      SENDGRID_API_KEY: sendgridApiKey,
      SENDGRID_FROM_EMAIL: FROM_EMAIL,
      SENDGRID_API_BASE_URL: sendgridFake.url,
      SENDGRID_WEBHOOK_PUBLIC_KEY: SENDGRID_PUBLIC_KEY,
      PUBLIC_URL,
      ...fastRetryEnv(4),
      HERALD_SEND_TIMEOUT_MS: '5000',
    },
  });
});
afterAll(async () => {
  await herald?.stop();
  await twilioFake?.close();
  await sendgridFake?.close();
});

// Every WebSocket client a test opens is closed after it, whatever happened.
const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => Promise.resolve(c.dispose()).catch(() => undefined)));
});

// ---------------------------------------------------------------------------------------
// GraphQL documents and helpers

const MESSAGE_FIELDS = `id channel status sentAt deliveredAt attempts providerMessageId errorCode errorMessage
  gateway { id provider } recipient { id } logs { id outcome channel reason at }`;
const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { ${MESSAGE_FIELDS} } userErrors { field message code } } }`;
const GET = `query($id: ID!) { message(id: $id) { ${MESSAGE_FIELDS} } }`;
const RETRY = `mutation($input: RetryMessageInput!) { retryMessage(input: $input) { message { id status } userErrors { field message code } } }`;
const UPDATE_ORDER = `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) {
  messages { ${MESSAGE_FIELDS} } failures { id reason } userErrors { field message code } } }`;
const ADD_GATEWAY = `mutation($input: AddChannelGatewayInput!) { addChannelGateway(input: $input) { gateway { id name provider } userErrors { field message code } } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { recipient { id } userErrors { field message code } } }`;
const STATUS_CHANGED = `subscription($messageId: ID, $recipientId: ID) {
  messageStatusChanged(messageId: $messageId, recipientId: $recipientId) { id status deliveredAt recipient { id } } }`;

type Log = LogBase;
interface Message {
  id: string;
  channel: string;
  status: string;
  sentAt: string | null;
  deliveredAt: string | null;
  attempts: number;
  providerMessageId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  gateway: { id: string; provider: string } | null;
  recipient: { id: string };
  logs: Log[];
}

let nextLine = 700;
const freshPhone = () => `+1415555${String(nextLine++).padStart(4, '0')}`;
const freshEmail = () => `r${randomBytes(4).toString('hex')}@example.com`;
const uuidOf = (messageId: string) => fromGlobalId(messageId, 'Message')!.uuid;

async function getMessage(id: string, key?: string): Promise<Message> {
  const message = ok(await herald.gql(GET, { id }, key)).message;
  if (!message) throw new Error(`message ${id} is not found`);
  return message;
}

/** Polls `message(id)` until its status is one of `statuses`; fails with the last state seen otherwise. */
const waitForStatus = (id: string, statuses: string | string[], options: { timeoutMs?: number; key?: string } = {}) =>
  waitForMessageStatus(getMessage, id, statuses, options);

async function smsClient(phone = freshPhone(), key?: string) {
  return buildRecipient(herald, { kind: 'CLIENT', phone }, key);
}

async function sendSms(recipientId: string, text: string, key?: string): Promise<Message> {
  const payload = ok(await herald.gql(SEND, { input: { clientId: recipientId, message: text } }, key)).sendSms;
  expect(payload.userErrors).toEqual([]);
  return payload.message;
}

interface SentSms {
  message: Message;
  /** The Twilio MessageSid the fake gave it. */
  sid: string;
  phone: string;
}

/** An SMS sent through the Twilio fake, SENT with one SUCCESS log. */
async function sentSms(options: { phone?: string; recipientId?: string; text?: string } = {}): Promise<SentSms> {
  const phone = options.phone ?? freshPhone();
  const recipientId = options.recipientId ?? (await smsClient(phone)).id;
  const queued = await sendSms(recipientId, options.text ?? `Your code is ${randomBytes(3).toString('hex')}`);
  const message = await waitForStatus(queued.id, 'SENT');
  const sid = message.providerMessageId!;
  expect(sid).toMatch(/^SM[0-9a-f]{32}$/);
  expect(twilioFake.messages.find((m) => m.sid === sid)?.to).toBe(phone);
  expect(message.logs.map((l) => l.outcome)).toEqual(['SUCCESS']);
  return { message, sid, phone };
}

// ---------------------------------------------------------------------------------------
// Twilio status callbacks

/** The form Twilio posts to the StatusCallback URL for one message. */
function statusForm(
  sms: { sid: string; phone: string },
  status: string,
  extra: Record<string, string> = {},
  account: TwilioFakeAccount = envAccount,
): Record<string, string> {
  return {
    ApiVersion: '2010-04-01',
    AccountSid: account.accountSid,
    From: SMS_FROM,
    To: sms.phone,
    MessageSid: sms.sid,
    SmsSid: sms.sid,
    MessageStatus: status,
    SmsStatus: status,
    ...extra,
  };
}

interface CallbackOptions {
  /** The auth token to sign with (default: the environment account's); null: no signature header. */
  token?: string | null;
  /** Sign these fields instead of the ones sent. */
  signedParams?: Record<string, string>;
  /** Send this X-Twilio-Signature as is. */
  signature?: string;
  /**
   * The URL Twilio calls: the StatusCallback a send gave it (default: PUBLIC_URL + path
   * alone, as sends made before Herald named the message in it).
   */
  url?: string;
  /** Sign over this URL instead of the one called. */
  signedUrl?: string;
  /** The Herald to post to (default: the in-process one). */
  baseUrl?: string;
  contentType?: string;
}

/** Posts a status callback as Twilio does: form-encoded, signed over the full URL called (query included) and the fields. */
async function twilioCallback(form: Record<string, string>, options: CallbackOptions = {}): Promise<{ status: number; body: string }> {
  const url = options.url ?? `${PUBLIC_URL}${STATUS_PATH}`;
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
    'user-agent': 'TwilioProxy/1.1',
  };
  const token = options.token === undefined ? envAccount.authToken : options.token;
  if (options.signature !== undefined) headers['x-twilio-signature'] = options.signature;
  else if (token !== null)
    headers['x-twilio-signature'] = twilio.getExpectedTwilioSignature(token, options.signedUrl ?? url, options.signedParams ?? form);
  const { pathname, search } = new URL(url);
  const response = await fetch(`${options.baseUrl ?? herald.url}${pathname}${search}`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, body: await response.text() };
}

/** The StatusCallback URL Herald gave Twilio with the send of `sid`. */
function callbackUrlOf(sid: string): string {
  const url = twilioFake.messages.find((m) => m.sid === sid)?.status_callback;
  if (!url) throw new Error(`the Twilio fake has no status callback for ${sid}`);
  return url;
}

// ---------------------------------------------------------------------------------------
// SendGrid events

interface SentEmail {
  message: Message;
  /** The X-Message-Id SendGrid (the fake) answered with. */
  xMessageId: string;
  email: string;
}

/** An order e-mail sent through the SendGrid fake, SENT, carrying Herald's id in custom_args. */
async function sentEmail(): Promise<SentEmail> {
  const email = freshEmail();
  const person = await buildRecipient(herald, { kind: 'CUSTOMER', email });
  expect(ok(await herald.gql(SUBSCRIBE, { input: { recipientId: person.id, channel: 'EMAIL' } })).subscribe.userErrors).toEqual([]);
  const payload = ok(
    await herald.gql(UPDATE_ORDER, {
      input: { orderId: `ord-${randomBytes(3).toString('hex')}`, customerId: person.id, status: 'SHIPPED' },
    }),
  ).updateOrderStatus;
  expect(payload.userErrors).toEqual([]);
  expect(payload.failures).toEqual([]);
  expect(payload.messages.map((m: Message) => m.channel)).toEqual(['EMAIL']);
  const message = await waitForStatus(payload.messages[0].id, 'SENT');
  const requests = sendgridFake.requests.filter(
    (r) => r.status === 202 && r.body?.personalizations?.some((p) => p.to?.some((t) => t.email === email)),
  );
  expect(requests).toHaveLength(1);
  const [request] = requests;
  const customArgs = { ...request.body!.custom_args, ...request.body!.personalizations![0].custom_args };
  expect(customArgs.herald_message_id).toBe(uuidOf(message.id));
  expect(message.providerMessageId).toBe(request.messageId);
  return { message, xMessageId: request.messageId!, email };
}

/** One event as SendGrid posts it: custom_args appear as top-level fields. */
function sendgridEvent(
  mail: { message: { id: string }; xMessageId: string; email: string },
  event: string,
  extra: Record<string, unknown> = {},
  options: { heraldId?: boolean } = {},
): Record<string, unknown> {
  return {
    email: mail.email,
    timestamp: Math.floor(Date.now() / 1000),
    'smtp-id': `<${mail.xMessageId}@ismtpd0001p1lon1.sendgrid.net>`,
    event,
    category: [],
    sg_event_id: randomBytes(16).toString('base64url'),
    sg_message_id: `${mail.xMessageId}.filter0001`,
    ...(options.heraldId === false ? {} : { herald_message_id: uuidOf(mail.message.id) }),
    ...extra,
  };
}

const signSendgrid = (timestamp: string, body: string, privateKey: KeyObject = sendgridKeys.privateKey) =>
  sign('sha256', Buffer.from(timestamp + body, 'utf8'), privateKey).toString('base64');

interface EventsOptions {
  /** Signed-over timestamp, epoch seconds as text (default: now). */
  timestamp?: string;
  /** Send this signature as is; null: no signature header. */
  signature?: string | null;
  /** Sign this body instead of the one sent. */
  signedBody?: string;
  /** false: no timestamp header. */
  sendTimestamp?: boolean;
  contentType?: string;
}

/** Posts a batch of events as SendGrid's signed event webhook does. */
async function sendgridEvents(events: unknown[] | string, options: EventsOptions = {}): Promise<{ status: number; body: string }> {
  const body = typeof events === 'string' ? events : JSON.stringify(events);
  const timestamp = options.timestamp ?? String(Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json', 'user-agent': 'SendGrid Event API' };
  const signature = options.signature === undefined ? signSendgrid(timestamp, options.signedBody ?? body) : options.signature;
  if (signature !== null) headers['x-twilio-email-event-webhook-signature'] = signature;
  if (options.sendTimestamp !== false) headers['x-twilio-email-event-webhook-timestamp'] = timestamp;
  const response = await fetch(`${herald.url}${EVENTS_PATH}`, { method: 'POST', headers, body });
  return { status: response.status, body: await response.text() };
}

// ---------------------------------------------------------------------------------------
// Subscriptions

interface StatusEventView {
  id: string;
  status: string;
  deliveredAt: string | null;
  recipient: { id: string };
}

interface Sub {
  events: StatusEventView[];
  errors: unknown[];
  ended: boolean;
  stop(): void;
}

/** A graphql-ws client on `baseUrl`/graphql; `key` null sends no connectionParams at all. */
function wsClient(baseUrl: string, key: string | null, extra: { onClosed?: (code: number) => void } = {}): Client {
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: key === null ? undefined : { authorization: `Bearer ${key}` },
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => extra.onClosed?.((event as { code: number }).code) },
  });
  clients.push(client);
  return client;
}

function subscribe(client: Client, variables: Record<string, unknown>, query = STATUS_CHANGED): Sub {
  const sub: Sub = { events: [], errors: [], ended: false, stop: () => undefined };
  sub.stop = client.subscribe<{ messageStatusChanged: StatusEventView }>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors?.length) sub.errors.push(...result.errors);
        if (result.data?.messageStatusChanged) sub.events.push(result.data.messageStatusChanged);
      },
      error: (err) => {
        sub.errors.push(err);
        sub.ended = true;
      },
      complete: () => {
        sub.ended = true;
      },
    },
  );
  return sub;
}

// A readiness probe: a NOTIFY on Herald's status channel, as the trigger would send it,
// announcing a status the message never has (SCHEDULED). When the probe reaches the
// subscriber, its subscription is live, and every real change made after it will follow it.
const PROBE_STATUS = 'SCHEDULED';
const real = (sub: Sub) => sub.events.filter((e) => e.status !== PROBE_STATUS).map((e) => e.status);
const probes = (sub: Sub) => sub.events.filter((e) => e.status === PROBE_STATUS).length;

type Notify = (payload: string) => Promise<void>;
const notifyInProcess: Notify = async (payload) => {
  await herald.services.db.execute(sql`select pg_notify(${STATUS_CHANNEL}, ${payload})`);
};

/** The tenant and recipient of a message, as the database has them (uuid in, row out). */
type RowOf = (uuid: string) => Promise<Record<string, unknown> | undefined>;
const inProcessRow: RowOf = async (uuid) =>
  rowsOf(await herald.services.db.execute(sql`select tenant_id, recipient_id from messages where id = ${uuid}`))[0];

async function probePayload(messageId: string, rowOf: RowOf = inProcessRow): Promise<string> {
  const uuid = uuidOf(messageId);
  const row = await rowOf(uuid);
  if (!row) throw new Error(`message ${messageId} is not in the database`);
  return JSON.stringify({ id: uuid, tenantId: row.tenant_id, recipientId: row.recipient_id, status: PROBE_STATUS });
}

/** Probes until `sub` has received one more probe than now; the subscription is then live. */
async function probeUntilSeen(sub: Sub, payload: string, notify: Notify = notifyInProcess): Promise<void> {
  const seen = probes(sub);
  await waitUntil(
    () => `a status probe to reach the subscriber (events ${JSON.stringify(sub.events)}, errors ${JSON.stringify(sub.errors)})`,
    async () => {
      if (probes(sub) > seen) return true;
      await notify(payload);
      return false;
    },
    30_000,
    200,
  );
}

async function waitForEvents(sub: Sub, statuses: string[], timeoutMs = 30_000): Promise<void> {
  await waitUntil(
    () => `events ${statuses.join(', ')}; got ${JSON.stringify(sub.events.map((e) => e.status))}, errors ${JSON.stringify(sub.errors)}`,
    () => statuses.every((s) => real(sub).includes(s)),
    timeoutMs,
  );
}

// ---------------------------------------------------------------------------------------
// Metrics

// =======================================================================================

describe('Twilio status callbacks', () => {
  it('delivered → DELIVERED with deliveredAt and a SUCCESS log', async () => {
    const sms = await sentSms();
    const answer = await twilioCallback(statusForm(sms, 'delivered'), { contentType: 'application/x-www-form-urlencoded; charset=utf-8' });
    expect(answer.status).toBe(200);
    const delivered = await getMessage(sms.message.id);
    expect(delivered).toMatchObject({ status: 'DELIVERED', providerMessageId: sms.sid, errorCode: null, errorMessage: null });
    expect(new Date(delivered.deliveredAt!).getTime()).toBeGreaterThanOrEqual(new Date(delivered.sentAt!).getTime());
    expect(delivered.logs).toHaveLength(2);
    const receipt = delivered.logs.find((l) => l.id !== sms.message.logs[0].id)!;
    expect(receipt).toMatchObject({ outcome: 'SUCCESS', channel: 'SMS' });
    expect(receipt.reason).toMatch(/Twilio/);
  });

  it('undelivered with ErrorCode 30003 → FAILED with errorCode "30003", a readable errorMessage and a FAILURE log', async () => {
    const sms = await sentSms();
    const answer = await twilioCallback(statusForm(sms, 'undelivered', { ErrorCode: '30003' }));
    expect(answer.status).toBe(200);
    const failed = await getMessage(sms.message.id);
    expect(failed).toMatchObject({ status: 'FAILED', errorCode: '30003', deliveredAt: null });
    expect(failed.errorMessage).toMatch(/undelivered/);
    expect(failed.errorMessage).toMatch(/unreachable/);
    expect(failed.logs).toHaveLength(2);
    const receipt = failed.logs.find((l) => l.outcome === 'FAILURE')!;
    expect(receipt.reason).toBe(failed.errorMessage);

    // "failed" is a failure too; an unknown code still reads as a sentence with the code in it.
    const other = await sentSms();
    expect((await twilioCallback(statusForm(other, 'failed', { ErrorCode: '30999' }))).status).toBe(200);
    const failedToo = await getMessage(other.message.id);
    expect(failedToo).toMatchObject({ status: 'FAILED', errorCode: '30999' });
    expect(failedToo.errorMessage).toMatch(/failed.*30999/);
  });

  it('a late sent or queued (and a repeated delivered) after DELIVERED changes nothing and writes no log', async () => {
    const sms = await sentSms();
    expect((await twilioCallback(statusForm(sms, 'delivered'))).status).toBe(200);
    const delivered = await getMessage(sms.message.id);
    expect(delivered.status).toBe('DELIVERED');

    for (const late of ['sent', 'queued', 'sending', 'delivered']) {
      const answer = await twilioCallback(statusForm(sms, late));
      expect(answer.status, `late "${late}"`).toBe(200);
    }
    const after = await getMessage(sms.message.id);
    expect(after).toEqual(delivered);

    // A failure arriving after the delivery does not undo it either.
    expect((await twilioCallback(statusForm(sms, 'undelivered', { ErrorCode: '30003' }))).status).toBe(200);
    expect(await getMessage(sms.message.id)).toEqual(delivered);
  });

  it('refuses unsigned, wrongly signed, and altered-field callbacks with 403, and nothing changes', async () => {
    const sms = await sentSms();
    const delivered = statusForm(sms, 'delivered');
    const attempts: [string, Promise<{ status: number; body: string }>][] = [
      ['unsigned', twilioCallback(delivered, { token: null })],
      ['empty signature', twilioCallback(delivered, { signature: '' })],
      ['garbage signature', twilioCallback(delivered, { signature: 'not-a-signature' })],
      ['signed with another token', twilioCallback(delivered, { token: randomBytes(16).toString('hex') })],
      ['signature of other fields (status altered)', twilioCallback(delivered, { signedParams: statusForm(sms, 'sent') })],
      [
        'signature of other fields (field added)',
        twilioCallback({ ...delivered, ErrorCode: '30003', MessageStatus: 'undelivered' }, { signedParams: delivered }),
      ],
    ];
    for (const [what, answer] of attempts) expect((await answer).status, what).toBe(403);
    // Also the altered form of a failure: signed "sent", posted "undelivered".
    expect(
      (await twilioCallback(statusForm(sms, 'undelivered', { ErrorCode: '30003' }), { signedParams: statusForm(sms, 'sent') })).status,
    ).toBe(403);

    expect(await getMessage(sms.message.id)).toEqual(sms.message);
    // The genuine callback still goes through afterwards.
    expect((await twilioCallback(delivered)).status).toBe(200);
    expect((await getMessage(sms.message.id)).status).toBe('DELIVERED');
  });

  it('answers 2xx to a validly signed callback for an unknown MessageSid, and logs it', async () => {
    const unknownSid = `SM${randomBytes(16).toString('hex')}`;
    const answer = await twilioCallback(statusForm({ sid: unknownSid, phone: freshPhone() }, 'delivered'));
    expect(answer.status).toBeGreaterThanOrEqual(200);
    expect(answer.status).toBeLessThan(300);
    await waitUntil('a log line about the unknown message', () =>
      herald.logs.some((l) => l.includes('unknown message') && l.includes(unknownSid)),
    );
  });

  it("checks a message sent through a tenant's own Twilio gateway against that gateway's auth token", async () => {
    const added = ok(
      await herald.gql(ADD_GATEWAY, {
        input: {
          channel: 'SMS',
          provider: 'TWILIO',
          name: `branch-${randomBytes(3).toString('hex')}`,
          credentials: JSON.stringify({ accountSid: tenantAccount.accountSid, authToken: tenantAccount.authToken, from: '+15005550009' }),
          makeDefault: false,
        },
      }),
    ).addChannelGateway;
    expect(added.userErrors).toEqual([]);
    const phone = freshPhone();
    const person = await smsClient(phone);
    expect(
      ok(await herald.gql(SUBSCRIBE, { input: { recipientId: person.id, channel: 'SMS', gatewayId: added.gateway.id } })).subscribe
        .userErrors,
    ).toEqual([]);
    const sms = await sentSms({ phone, recipientId: person.id });
    expect(sms.message.gateway).toEqual({ id: added.gateway.id, provider: 'TWILIO' });
    expect(twilioFake.messages.find((m) => m.sid === sms.sid)?.account_sid).toBe(tenantAccount.accountSid);

    const form = statusForm(sms, 'delivered', {}, tenantAccount);
    // Signed with the environment's token (a valid Twilio signature, but of another account).
    expect((await twilioCallback(form, { token: envAccount.authToken })).status).toBe(403);
    expect(await getMessage(sms.message.id)).toEqual(sms.message);
    // Signed with the gateway's own token.
    expect((await twilioCallback(form, { token: tenantAccount.authToken })).status).toBe(200);
    expect((await getMessage(sms.message.id)).status).toBe('DELIVERED');
  });

  it('two receipts racing (delivered and undelivered at once) end in one terminal state with one log', async () => {
    const messages = await Promise.all(Array.from({ length: 4 }, () => sentSms()));
    for (const sms of messages) {
      const answers = await Promise.all([
        twilioCallback(statusForm(sms, 'delivered')),
        twilioCallback(statusForm(sms, 'undelivered', { ErrorCode: '30003' })),
      ]);
      expect(answers.map((a) => a.status)).toEqual([200, 200]);
      const final = await getMessage(sms.message.id);
      expect(['DELIVERED', 'FAILED']).toContain(final.status);
      expect(final.logs, JSON.stringify(final.logs)).toHaveLength(2);
      const receipt = final.logs.find((l) => l.id !== sms.message.logs[0].id)!;
      if (final.status === 'DELIVERED') {
        expect(final).toMatchObject({ errorCode: null, errorMessage: null });
        expect(final.deliveredAt).not.toBeNull();
        expect(receipt.outcome).toBe('SUCCESS');
      } else {
        expect(final).toMatchObject({ errorCode: '30003', deliveredAt: null });
        expect(receipt.outcome).toBe('FAILURE');
      }
    }
  });
});

/** An SMS whose send the Twilio fake has accepted (its SID and StatusCallback known) but not answered: SENDING until `release`. */
async function heldSms(): Promise<{ message: Message; uuid: string; sid: string; phone: string; callbackUrl: string; release(): void }> {
  const hold = twilioFake.holdNext();
  const phone = freshPhone();
  const queued = await sendSms((await smsClient(phone)).id, `Held at Twilio ${randomBytes(3).toString('hex')}`);
  const accepted = await hold.accepted;
  expect(accepted.to).toBe(phone);
  const message = await getMessage(queued.id);
  expect(message).toMatchObject({ status: 'SENDING', providerMessageId: null, sentAt: null });
  return {
    message,
    uuid: uuidOf(queued.id),
    sid: accepted.sid,
    phone,
    callbackUrl: accepted.status_callback!,
    release: () => hold.release(),
  };
}

/** Error-level lines (pino level 50) Herald logged since `from` (an index into herald.logs). */
const errorLines = (from: number) => herald.logs.slice(from).filter((l) => l.includes('"level":50'));

describe("Twilio status callbacks ahead of the send's answer", () => {
  it("applies a delivered that overtakes the send's answer to the message its URL names; the SENT record then keeps the SID and time", async () => {
    const logsFrom = herald.logs.length;
    const held = await heldSms();
    expect(held.callbackUrl).toBe(`${PUBLIC_URL}${STATUS_PATH}?m=${held.uuid}`);
    try {
      expect((await twilioCallback(statusForm(held, 'delivered'), { url: held.callbackUrl })).status).toBe(200);
      const early = await getMessage(held.message.id);
      // Applied at once, with Twilio's SID, though the worker has not recorded the send.
      expect(early).toMatchObject({ status: 'DELIVERED', providerMessageId: held.sid, sentAt: null, errorCode: null });
      expect(early.deliveredAt).not.toBeNull();
      expect(early.logs.map((l) => [l.outcome, l.reason])).toEqual([['SUCCESS', 'Twilio confirmed delivery']]);
    } finally {
      held.release();
    }

    await waitUntil('the worker to record the send', async () => (await getMessage(held.message.id)).sentAt !== null);
    const final = await getMessage(held.message.id);
    expect(final).toMatchObject({ status: 'DELIVERED', providerMessageId: held.sid, attempts: 1, errorCode: null, errorMessage: null });
    expect(new Date(final.sentAt!).getTime()).toBeGreaterThanOrEqual(new Date(final.deliveredAt!).getTime());
    // No SENT in between, no second log, no second request to Twilio.
    expect(final.logs.map((l) => l.outcome)).toEqual(['SUCCESS']);
    expect(twilioFake.requests.filter((r) => r.form.To === held.phone)).toHaveLength(1);
    expect(errorLines(logsFrom)).toEqual([]);
    expect(herald.logs.slice(logsFrom).some((l) => l.includes('unknown message'))).toBe(false);
  });

  it('ends FAILED with the reason when failed overtakes the send, and the SENT record does not overwrite it', async () => {
    const logsFrom = herald.logs.length;
    const held = await heldSms();
    try {
      expect((await twilioCallback(statusForm(held, 'failed', { ErrorCode: '30007' }), { url: held.callbackUrl })).status).toBe(200);
    } finally {
      held.release();
    }
    await waitUntil('the worker to record the send', async () => (await getMessage(held.message.id)).sentAt !== null);
    const final = await getMessage(held.message.id);
    expect(final).toMatchObject({ status: 'FAILED', providerMessageId: held.sid, errorCode: '30007', deliveredAt: null });
    expect(final.errorMessage).toBe('Twilio reported the message failed: the carrier filtered the message as spam or a violation');
    expect(final.logs.map((l) => [l.outcome, l.reason])).toEqual([['FAILURE', final.errorMessage]]);
    expect(twilioFake.requests.filter((r) => r.form.To === held.phone)).toHaveLength(1);
    expect(errorLines(logsFrom)).toEqual([]);
  });

  it("keeps the send's id and time when the receipt commits while the worker's SENT record waits for the message", async () => {
    const held = await heldSms();
    const deliver = () => twilioCallback(statusForm(held, 'delivered'), { url: held.callbackUrl });
    const url = herald.database.env.DATABASE_URL;
    if (!url) {
      // PGlite has one connection: the receipt and the SENT record take turns, receipt first.
      expect((await deliver()).status).toBe(200);
      held.release();
    } else {
      // The receipt's transaction is held open after its update of the message (a trigger
      // on its log waits for an advisory lock held here) until the worker's SENT record
      // waits for that row; the receipt then commits under it.
      const lockKey = 0x5ec0;
      const locker = new pg.Client({ connectionString: url });
      await locker.connect();
      const waiting = async (condition: string) =>
        (await locker.query(`select count(*)::int as n from pg_stat_activity where datname = current_database() and ${condition}`)).rows[0]
          .n as number;
      try {
        await locker.query(`create function herald_test_hold_receipt() returns trigger language plpgsql as $$
          begin perform pg_advisory_xact_lock(${lockKey}); return null; end $$`);
        await locker.query(`create trigger herald_test_hold_receipt after insert on delivery_logs for each row
          when (new.message_id = '${held.uuid}') execute function herald_test_hold_receipt()`);
        await locker.query('select pg_advisory_lock($1)', [lockKey]);
        const receipt = deliver();
        await waitUntil('the receipt to wait, the message updated', async () => (await waiting(`wait_event = 'advisory'`)) === 1);
        held.release();
        await waitUntil(
          'the SENT record to wait for the message row',
          async () => (await waiting(`wait_event_type = 'Lock' and wait_event <> 'advisory' and query like '%json_to_recordset%'`)) === 1,
        );
        await locker.query('select pg_advisory_unlock($1)', [lockKey]);
        expect((await receipt).status).toBe(200);
      } finally {
        await locker.query('select pg_advisory_unlock_all()');
        await locker.query('drop trigger if exists herald_test_hold_receipt on delivery_logs');
        await locker.query('drop function if exists herald_test_hold_receipt()');
        await locker.end();
      }
    }
    await waitUntil('the worker to record the send', async () => (await getMessage(held.message.id)).sentAt !== null);
    const final = await getMessage(held.message.id);
    expect(final).toMatchObject({ status: 'DELIVERED', providerMessageId: held.sid, errorCode: null });
    expect(final.logs.map((l) => [l.outcome, l.reason])).toEqual([['SUCCESS', 'Twilio confirmed delivery']]);
  });

  it("refuses with 403 a callback naming a message but signed with another gateway's token, or signed for another URL", async () => {
    const sms = await sentSms();
    const other = await sentSms();
    const url = callbackUrlOf(sms.sid);
    expect(url).toBe(`${PUBLIC_URL}${STATUS_PATH}?m=${uuidOf(sms.message.id)}`);
    const delivered = statusForm(sms, 'delivered');
    const attempts: [string, CallbackOptions][] = [
      ["signed with another gateway's token", { url, token: tenantAccount.authToken }],
      // A genuine signature of another message's callback, its id swapped for this one's.
      ['id param forged (signed for the other message)', { url, signedUrl: callbackUrlOf(other.sid) }],
      ['id param added (signed for the URL without it)', { url, signedUrl: `${PUBLIC_URL}${STATUS_PATH}` }],
      ['id param dropped (signed for the URL with it)', { signedUrl: url }],
      ['unsigned', { url, token: null }],
    ];
    for (const [what, options] of attempts) expect((await twilioCallback(delivered, options)).status, what).toBe(403);
    expect(await getMessage(sms.message.id)).toEqual(sms.message);

    // Correctly signed, but the SID is another send's: ignored (2xx, Twilio has nothing to fix), logged.
    const logsFrom = herald.logs.length;
    expect((await twilioCallback(statusForm({ sid: other.sid, phone: sms.phone }, 'delivered'), { url })).status).toBe(200);
    expect(await getMessage(sms.message.id)).toEqual(sms.message);
    expect(herald.logs.slice(logsFrom).some((l) => l.includes('another send') && l.includes(other.sid))).toBe(true);

    expect((await twilioCallback(delivered, { url })).status).toBe(200);
    expect(await getMessage(sms.message.id)).toMatchObject({ status: 'DELIVERED', providerMessageId: sms.sid });
  });
});

describe('SendGrid events', () => {
  it('delivered (with herald_message_id and sg_message_id) → DELIVERED with deliveredAt and a SUCCESS log', async () => {
    const mail = await sentEmail();
    const answer = await sendgridEvents([sendgridEvent(mail, 'delivered', { response: '250 2.0.0 OK' })], {
      contentType: 'application/json; charset=utf-8',
    });
    expect(answer.status).toBe(200);
    const delivered = await getMessage(mail.message.id);
    expect(delivered).toMatchObject({ status: 'DELIVERED', errorCode: null, errorMessage: null });
    expect(new Date(delivered.deliveredAt!).getTime()).toBeGreaterThanOrEqual(new Date(delivered.sentAt!).getTime());
    expect(delivered.logs).toHaveLength(2);
    expect(delivered.logs.find((l) => l.id !== mail.message.logs[0].id)).toMatchObject({
      outcome: 'SUCCESS',
      channel: 'EMAIL',
      reason: expect.stringMatching(/SendGrid/),
    });
  });

  it('bounce with a reason → FAILED with the reason and a FAILURE log', async () => {
    const mail = await sentEmail();
    const reason = '550 5.1.1 The email account that you tried to reach does not exist.';
    const answer = await sendgridEvents([
      sendgridEvent(mail, 'bounce', { reason, status: '5.1.1', type: 'bounce', bounce_classification: 'Invalid Address' }),
    ]);
    expect(answer.status).toBe(200);
    const failed = await getMessage(mail.message.id);
    expect(failed).toMatchObject({ status: 'FAILED', deliveredAt: null });
    expect(failed.errorMessage).toContain(reason);
    expect(failed.logs).toHaveLength(2);
    expect(failed.logs.find((l) => l.outcome === 'FAILURE')?.reason).toContain(reason);
  });

  it('processed, deferred, open and click change no status and write no log', async () => {
    const mail = await sentEmail();
    const answer = await sendgridEvents([
      sendgridEvent(mail, 'processed'),
      sendgridEvent(mail, 'deferred', { response: '400 try again later', attempt: '1' }),
      sendgridEvent(mail, 'open', { useragent: 'Mozilla/5.0', ip: '192.0.2.1' }),
      sendgridEvent(mail, 'click', { url: 'https://example.com/' }),
    ]);
    expect(answer.status).toBe(200);
    expect(await getMessage(mail.message.id)).toEqual(mail.message);

    // …nor after delivery: an open does not touch a DELIVERED message either.
    expect((await sendgridEvents([sendgridEvent(mail, 'delivered')])).status).toBe(200);
    const delivered = await getMessage(mail.message.id);
    expect(delivered.status).toBe('DELIVERED');
    expect((await sendgridEvents([sendgridEvent(mail, 'open'), sendgridEvent(mail, 'processed')])).status).toBe(200);
    expect(await getMessage(mail.message.id)).toEqual(delivered);
  });

  it('applies an event sent twice with the same sg_event_id once (one log, counted as a duplicate)', async () => {
    const mail = await sentEmail();
    const other = await sentEmail();
    const event = sendgridEvent(mail, 'delivered');
    const duplicatesBefore = metric(await metricsText(herald.url), 'herald_receipts_total', { provider: 'sendgrid', outcome: 'duplicate' });

    expect((await sendgridEvents([event])).status).toBe(200);
    const delivered = await getMessage(mail.message.id);
    expect(delivered.status).toBe('DELIVERED');
    expect(delivered.logs).toHaveLength(2);

    // SendGrid resends the batch, this time with a new event for another message.
    expect((await sendgridEvents([event, sendgridEvent(other, 'delivered')])).status).toBe(200);
    expect(await getMessage(mail.message.id)).toEqual(delivered);
    expect((await getMessage(other.message.id)).status).toBe('DELIVERED');
    expect(metric(await metricsText(herald.url), 'herald_receipts_total', { provider: 'sendgrid', outcome: 'duplicate' })).toBe(
      duplicatesBefore + 1,
    );
  });

  it('refuses a bad signature, an altered body, missing headers and a stale timestamp with 403, and nothing changes', async () => {
    const mail = await sentEmail();
    const body = JSON.stringify([sendgridEvent(mail, 'delivered')]);
    const now = Math.floor(Date.now() / 1000);
    const stale = String(now - 11 * 60);
    const refusals: [string, EventsOptions, string?][] = [
      ['signed with another key', { signature: signSendgrid(String(now), body, otherKeys.privateKey), timestamp: String(now) }],
      ['garbage signature', { signature: 'bm90IGEgc2lnbmF0dXJl' }],
      ['altered body', { signedBody: body }, body.replace('"delivered"', '"bounce"')],
      ['signature of another timestamp', { timestamp: String(now), signature: signSendgrid(String(now - 1), body) }],
      ['no signature header', { signature: null }],
      ['no timestamp header', { sendTimestamp: false }],
      ['no headers at all', { signature: null, sendTimestamp: false }],
      ['validly signed, timestamp 11 minutes old', { timestamp: stale }],
    ];
    for (const [what, options, sent] of refusals) {
      const answer = await sendgridEvents(sent ?? body, options);
      expect(answer.status, what).toBe(403);
    }
    expect(await getMessage(mail.message.id)).toEqual(mail.message);
    // The genuine batch goes through afterwards.
    expect((await sendgridEvents(body)).status).toBe(200);
    expect((await getMessage(mail.message.id)).status).toBe('DELIVERED');
  });

  it("a delivered event overtaking the worker's own SENT write leaves the message DELIVERED, and the worker still records SendGrid's id", async () => {
    // SendGrid answers 2 s late: the event arrives while the worker still waits for the 202.
    sendgridFake.delayMs = 2_000;
    const email = freshEmail();
    let messageId: string;
    let xMessageId: string;
    try {
      const person = await buildRecipient(herald, { kind: 'CUSTOMER', email });
      expect(ok(await herald.gql(SUBSCRIBE, { input: { recipientId: person.id, channel: 'EMAIL' } })).subscribe.userErrors).toEqual([]);
      const payload = ok(
        await herald.gql(UPDATE_ORDER, { input: { orderId: 'ord-overtake', customerId: person.id, status: 'SHIPPED' } }),
      ).updateOrderStatus;
      messageId = payload.messages[0].id;
      const request = () => sendgridFake.requests.find((r) => r.body?.personalizations?.some((p) => p.to?.some((t) => t.email === email)));
      await waitUntil('SendGrid to receive the e-mail', () => request() !== undefined);
      xMessageId = request()!.messageId!;
      expect((await getMessage(messageId)).status).toBe('SENDING');
      const answer = await sendgridEvents([sendgridEvent({ message: { id: messageId }, xMessageId, email }, 'delivered')]);
      expect(answer.status).toBe(200);
      expect((await getMessage(messageId)).status).toBe('DELIVERED');
    } finally {
      sendgridFake.delayMs = 0;
    }
    // The worker's answer comes in after the receipt: it never moves the message back.
    await waitUntil('the worker to record the send', async () => (await getMessage(messageId)).providerMessageId !== null, 15_000);
    const final = await getMessage(messageId);
    expect(final).toMatchObject({ status: 'DELIVERED', providerMessageId: xMessageId, errorCode: null });
    expect(final.deliveredAt).not.toBeNull();
    expect(final.sentAt).not.toBeNull();
    // One log: the receipt's (the worker's SENT never happened as a status).
    expect(final.logs.map((l) => l.outcome)).toEqual(['SUCCESS']);
  });

  it('answers 503 to a batch with an event it could not apply, keeps that event unseen, and applies it when SendGrid sends it again', async () => {
    const mail = await sentEmail();
    const other = await sentEmail();
    const event = sendgridEvent(mail, 'delivered');
    const otherEvent = sendgridEvent(other, 'delivered');
    const before = await metricsText(herald.url);
    const logsFrom = herald.logs.length;
    // A real failure of the statement that applies the event: a trigger refusing any change to this message.
    const db = herald.services.db;
    await db.execute(
      sql.raw(`create function herald_test_refuse_update() returns trigger language plpgsql as $$
        begin raise exception 'injected fault: message % refuses updates', old.id; end $$`),
    );
    await db.execute(
      sql.raw(`create trigger herald_test_refuse_update before update on messages for each row
        when (old.id = '${uuidOf(mail.message.id)}') execute function herald_test_refuse_update()`),
    );
    try {
      const refused = await sendgridEvents([otherEvent, event]);
      expect(refused.status).toBe(503);
      expect(JSON.parse(refused.body)).toEqual({ ok: false, error: '1 event(s) could not be applied; send them again' });
    } finally {
      await db.execute(sql.raw('drop trigger herald_test_refuse_update on messages'));
      await db.execute(sql.raw('drop function herald_test_refuse_update()'));
    }
    expect(await getMessage(mail.message.id)).toEqual(mail.message);
    const otherDelivered = await getMessage(other.message.id);
    expect(otherDelivered.status).toBe('DELIVERED');
    expect(herald.logs.slice(logsFrom).some((l) => l.includes('SendGrid event not applied') && l.includes(String(event.sg_event_id)))).toBe(
      true,
    );

    // SendGrid redelivers the batch: the failed event is applied now, the other one not twice.
    expect((await sendgridEvents([otherEvent, event])).status).toBe(200);
    const delivered = await getMessage(mail.message.id);
    expect(delivered.status).toBe('DELIVERED');
    expect(delivered.logs.map((l) => l.outcome)).toEqual(['SUCCESS', 'SUCCESS']);
    expect(await getMessage(other.message.id)).toEqual(otherDelivered);
    // …and a third delivery of it is a duplicate.
    expect((await sendgridEvents([event])).status).toBe(200);
    expect(await getMessage(mail.message.id)).toEqual(delivered);

    const after = await metricsText(herald.url);
    const delta = (outcome: string) =>
      metric(after, 'herald_receipts_total', { provider: 'sendgrid', outcome }) -
      metric(before, 'herald_receipts_total', { provider: 'sendgrid', outcome });
    expect([delta('error'), delta('delivered'), delta('duplicate')]).toEqual([1, 2, 2]);
  });

  it('correlates by sg_message_id alone when herald_message_id is absent', async () => {
    const mail = await sentEmail();
    const answer = await sendgridEvents([sendgridEvent(mail, 'delivered', {}, { heraldId: false })]);
    expect(answer.status).toBe(200);
    expect((await getMessage(mail.message.id)).status).toBe('DELIVERED');

    const bounced = await sentEmail();
    expect((await sendgridEvents([sendgridEvent(bounced, 'dropped', { reason: 'Bounced Address' }, { heraldId: false })])).status).toBe(
      200,
    );
    const failed = await getMessage(bounced.message.id);
    expect(failed.status).toBe('FAILED');
    expect(failed.errorMessage).toContain('Bounced Address');
  });
});

describe('messageStatusChanged subscriptions', () => {
  it('messageStatusChanged(messageId) receives FAILED as it is, then QUEUED, SENDING, SENT and DELIVERED from a signed Twilio callback', async () => {
    // A message that failed for good waits, unchanging, while the subscription starts;
    // retryMessage then takes it through the worker again.
    const phone = freshPhone();
    const person = await smsClient(phone);
    twilioFake.failNext(1, { status: 400, code: 21408, message: 'Permission to send an SMS has not been enabled for the region' });
    const queued = await sendSms(person.id, 'Subscribed and watching');
    const failed = await waitForStatus(queued.id, 'FAILED');
    expect(failed.errorCode).toBe('21408');

    const sub = subscribe(wsClient(herald.url, herald.adminKey), { messageId: queued.id });
    await probeUntilSeen(sub, await probePayload(queued.id));

    const retried = ok(await herald.gql(RETRY, { input: { id: queued.id } })).retryMessage;
    expect(retried.userErrors).toEqual([]);
    await waitForEvents(sub, ['SENDING', 'SENT']);
    const sent = await waitForStatus(queued.id, 'SENT');
    expect((await twilioCallback(statusForm({ sid: sent.providerMessageId!, phone }, 'delivered'))).status).toBe(200);
    await waitForEvents(sub, ['DELIVERED']);

    // Its current status when the subscription started, then every change.
    expect(real(sub)).toEqual(['FAILED', 'QUEUED', 'SENDING', 'SENT', 'DELIVERED']);
    expect(sub.errors).toEqual([]);
    for (const event of sub.events) expect(event).toMatchObject({ id: queued.id, recipient: { id: person.id } });
    const deliveredEvent = sub.events.find((e) => e.status === 'DELIVERED')!;
    expect(deliveredEvent.deliveredAt).toBe((await getMessage(queued.id)).deliveredAt);
  });

  it("messageStatusChanged(recipientId) receives the changes of that recipient's messages only", async () => {
    const myPhone = freshPhone();
    const mine = await smsClient(myPhone);
    const other = await smsClient();
    // A message of the recipient sent before subscribing, for the probes.
    const first = (await sentSms({ phone: myPhone, recipientId: mine.id })).message;

    const sub = subscribe(wsClient(herald.url, herald.adminKey), { recipientId: mine.id });
    const probe = await probePayload(first.id);
    await probeUntilSeen(sub, probe);

    const theirs = await sendSms(other.id, 'Not yours');
    const ours = await sendSms(mine.id, 'Yours');
    await waitForStatus(theirs.id, 'SENT');
    const oursSent = await waitForStatus(ours.id, 'SENT');
    expect((await twilioCallback(statusForm({ sid: oursSent.providerMessageId!, phone: myPhone }, 'delivered'))).status).toBe(200);
    await waitForEvents(sub, ['SENDING', 'SENT', 'DELIVERED']);
    // A probe after everything: whatever else was going to arrive has arrived before it.
    await probeUntilSeen(sub, probe);

    const changes = sub.events.filter((e) => e.status !== PROBE_STATUS);
    expect(changes.map((e) => [e.id, e.status])).toEqual([
      [ours.id, 'QUEUED'],
      [ours.id, 'SENDING'],
      [ours.id, 'SENT'],
      [ours.id, 'DELIVERED'],
    ]);
    expect(changes.every((e) => e.recipient.id === mine.id)).toBe(true);
    expect(sub.errors).toEqual([]);
  });

  it('refuses a connection with a missing (closed 4401) or a bad key (closed 4403) and delivers no events', async () => {
    const sms = await sentSms();
    const watcher = subscribe(wsClient(herald.url, herald.adminKey), { messageId: sms.message.id });
    await probeUntilSeen(watcher, await probePayload(sms.message.id));

    const closes: Record<string, number[]> = { missing: [], bad: [], emptyParams: [] };
    const missing = subscribe(wsClient(herald.url, null, { onClosed: (c) => closes.missing.push(c) }), { messageId: sms.message.id });
    const bad = subscribe(wsClient(herald.url, `test-admin-${randomBytes(16).toString('hex')}`, { onClosed: (c) => closes.bad.push(c) }), {
      messageId: sms.message.id,
    });
    const emptyClient = createClient({
      url: `${herald.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: '' },
      retryAttempts: 0,
      on: { closed: (e) => closes.emptyParams.push((e as { code: number }).code) },
    });
    clients.push(emptyClient);
    const empty = subscribe(emptyClient, { messageId: sms.message.id });

    const expected = { missing: 4401, bad: 4403, empty: 4401 };
    for (const [name, sub] of Object.entries({ missing, bad, empty })) {
      await waitUntil(`the ${name}-key subscription to end`, () => sub.ended);
      expect(sub.errors, name).toHaveLength(1);
      expect((sub.errors[0] as { code?: number }).code, name).toBe(expected[name as keyof typeof expected]);
    }
    expect(closes).toEqual({ missing: [4401], bad: [4403], emptyParams: [4401] });

    // The message changes; the refused subscribers hear nothing of it.
    expect((await twilioCallback(statusForm(sms, 'delivered'))).status).toBe(200);
    await waitForEvents(watcher, ['DELIVERED']);
    for (const sub of [missing, bad, empty]) expect(sub.events).toEqual([]);
  });

  it('refuses a subscription with neither messageId nor recipientId with an error', async () => {
    const sub = subscribe(wsClient(herald.url, herald.adminKey), {}, 'subscription { messageStatusChanged { id status } }');
    await waitUntil('the argument-less subscription to end', () => sub.ended);
    expect(sub.events).toEqual([]);
    expect(JSON.stringify(sub.errors)).toMatch(/messageId or recipientId/);
  });

  it("refuses a key of another tenant this tenant's message and recipient, and gives it nothing while the message changes", async () => {
    const sms = await sentSms();
    const { adminKey: otherKey } = await buildTenant(herald);
    const theirPerson = await smsClient(freshPhone(), otherKey);
    // The other tenant's own message (through its SANDBOX gateway), for its own probe.
    const theirs = await waitForStatus((await sendSms(theirPerson.id, 'Their own', otherKey)).id, 'SENT', { key: otherKey });

    const ownWatcher = subscribe(wsClient(herald.url, herald.adminKey), { messageId: sms.message.id });
    const otherClient = wsClient(herald.url, otherKey);
    const snooper = subscribe(otherClient, { messageId: sms.message.id });
    const snooperByRecipient = subscribe(otherClient, { recipientId: sms.message.recipient.id });
    // Subscribed after the snoopers on the same connection: once it is live, so are they.
    const theirWatcher = subscribe(otherClient, { messageId: theirs.id });
    const theirProbe = await probePayload(theirs.id);
    await probeUntilSeen(theirWatcher, theirProbe);
    await probeUntilSeen(ownWatcher, await probePayload(sms.message.id));

    expect((await twilioCallback(statusForm(sms, 'delivered'))).status).toBe(200);
    await waitForEvents(ownWatcher, ['DELIVERED']);
    await probeUntilSeen(theirWatcher, theirProbe);

    for (const refused of [snooper, snooperByRecipient]) {
      expect(refused.events).toEqual([]);
      expect(JSON.stringify(refused.errors)).toContain('BAD_USER_INPUT');
    }
    expect(real(theirWatcher)).toEqual(['SENT']);
    expect(real(ownWatcher)).toEqual(['SENT', 'DELIVERED']);
  });
});

describe('receipt metrics', () => {
  it('/metrics counts receipts by provider and outcome and times SENT to DELIVERED', async () => {
    const before = await metricsText(herald.url);
    const sms = await sentSms();
    expect((await twilioCallback(statusForm(sms, 'delivered'), { token: null })).status).toBe(403);
    expect((await twilioCallback(statusForm(sms, 'delivered'))).status).toBe(200);
    const failedSms = await sentSms();
    expect((await twilioCallback(statusForm(failedSms, 'undelivered', { ErrorCode: '30003' }))).status).toBe(200);
    const mail = await sentEmail();
    expect((await sendgridEvents([sendgridEvent(mail, 'processed'), sendgridEvent(mail, 'delivered')])).status).toBe(200);
    const after = await metricsText(herald.url);

    const delta = (provider: string, outcome: string) =>
      metric(after, 'herald_receipts_total', { provider, outcome }) - metric(before, 'herald_receipts_total', { provider, outcome });
    expect(delta('twilio', 'rejected')).toBe(1);
    expect(delta('twilio', 'delivered')).toBe(1);
    expect(delta('twilio', 'failed')).toBe(1);
    expect(delta('sendgrid', 'delivered')).toBe(1);
    expect(delta('sendgrid', 'no_change')).toBe(1);
    expect(after).toMatch(/^# TYPE herald_receipts_total counter$/m);

    expect(after).toMatch(/^# TYPE herald_sent_to_delivered_seconds histogram$/m);
    for (const channel of ['SMS', 'EMAIL']) {
      const count = (text: string) => metric(text, 'herald_sent_to_delivered_seconds_count', { channel });
      expect(count(after) - count(before), channel).toBe(1);
      expect(metric(after, 'herald_sent_to_delivered_seconds_bucket', { channel, le: '+Inf' })).toBe(count(after));
      expect(metric(after, 'herald_sent_to_delivered_seconds_sum', { channel })).toBeGreaterThanOrEqual(0);
    }
  });
});

// =======================================================================================
// Across processes: `node dist/main.js --role api` and `--role worker` on one PostgreSQL.

describe('across processes on PostgreSQL', () => {
  const processes: HeraldProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await killAll(processes.splice(0));
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  it('a subscriber on an API process receives SENDING and SENT made by a worker process, then DELIVERED from a callback to the API', async () => {
    // A fresh PostgreSQL database: DATABASE_URL's server, else the machine's.
    const database = await createPostgresDatabase('an API and a worker process');
    cleanups.push(() => database.drop());

    const account = fakeTwilioAccount();
    const fake = await startTwilioFake({ accounts: [account] });
    cleanups.push(() => fake.close());
    const adminKey = `test-admin-${randomBytes(16).toString('hex')}`;
    const env = {
      ...database.env,
      HERALD_BOOTSTRAP_ADMIN_KEY: adminKey,
      HERALD_SECRET_KEY: randomBytes(32).toString('hex'),
      PUBLIC_URL,
      ...twilioEnv(fake.url, account),
    };

    const api = spawnHerald(env, { name: 'api', args: ['--role', 'api'] });
    processes.push(api);
    const apiUrl = await api.ready;

    const gql = async (query: string, variables?: Record<string, unknown>) => {
      const response = await fetch(`${apiUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: any; errors?: unknown[] };
      if (body.errors?.length) throw new Error(`GraphQL ${response.status}: ${JSON.stringify(body.errors)}`);
      return body.data;
    };
    const phone = '+14155550177';
    const created = await gql(
      'mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } userErrors { code } } }',
      {
        input: { kind: 'CLIENT', displayName: 'Across processes', phone },
      },
    );
    expect(created.createRecipient.userErrors).toEqual([]);
    const sendPayload = (await gql(SEND, { input: { clientId: created.createRecipient.recipient.id, message: 'Sent by another process' } }))
      .sendSms;
    expect(sendPayload.userErrors).toEqual([]);
    const messageId: string = sendPayload.message.id;
    // An API process has no worker: the message waits QUEUED until one starts.
    expect(sendPayload.message.status).toBe('QUEUED');

    const sub = subscribe(wsClient(apiUrl, adminKey), { messageId });
    const listener = new pg.Client({ connectionString: database.env.DATABASE_URL });
    await listener.connect();
    cleanups.push(() => listener.end());
    const rowOf: RowOf = async (uuid) =>
      (await listener.query('select tenant_id, recipient_id from messages where id = $1', [uuid])).rows[0];
    const notifyPg: Notify = async (payload) => {
      await listener.query('select pg_notify($1, $2)', [STATUS_CHANNEL, payload]);
    };
    await probeUntilSeen(sub, await probePayload(messageId, rowOf), notifyPg);
    expect(real(sub)).toEqual(['QUEUED']);

    const worker = spawnHerald(env, { name: 'worker', args: ['--role', 'worker'] });
    processes.push(worker);
    await worker.ready;
    const context = () => `${api.output()}${worker.output()}`;
    await waitUntil(
      () => `SENDING and SENT from the worker; got ${JSON.stringify(sub.events.map((e) => e.status))}${context()}`,
      () => real(sub).includes('SENT'),
      90_000,
    );
    expect(fake.messages.map((m) => m.to)).toEqual([phone]);

    const sid = fake.messages[0].sid;
    const callback = await twilioCallback(statusForm({ sid, phone }, 'delivered', {}, account), {
      token: account.authToken,
      baseUrl: apiUrl,
    });
    expect(callback.status).toBe(200);
    await waitUntil(
      () => `DELIVERED; got ${JSON.stringify(sub.events.map((e) => e.status))}${context()}`,
      () => real(sub).includes('DELIVERED'),
      30_000,
    );

    expect(real(sub)).toEqual(['QUEUED', 'SENDING', 'SENT', 'DELIVERED']);
    expect(sub.errors).toEqual([]);
    const final = (await gql(GET, { id: messageId })).message as Message;
    expect(final).toMatchObject({ status: 'DELIVERED', providerMessageId: sid });
    expect(final.logs.map((l) => l.outcome)).toEqual(['SUCCESS', 'SUCCESS']);
    // The API process took the receipt; the worker process did the sending.
    expect(metric(await metricsText(apiUrl), 'herald_receipts_total', { provider: 'twilio', outcome: 'delivered' })).toBe(1);
    expect(metric(await metricsText(apiUrl), 'herald_messages_total', { status: 'SENT' })).toBe(0);
  }, 180_000);
});
