// sendSms end to end: the real HTTP API, the real worker and the real twilio SDK against a
// local fake of Twilio's Messages API. Every check is on what a user or Twilio sees: the
// mutation's answer, the message's states, the requests Twilio receives, logs and metrics.
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromGlobalId } from '../src/lib/ids.js';
import { sandboxOutbox } from '../src/providers/index.js';
import { fakeTwilioAccount, INVALID_NUMBER, startTwilioFake, type TwilioFake, type TwilioFakeRequest } from './fakes/twilio-fake.js';
import { buildRecipient, buildTenant } from './helpers/factories.js';
import { fastRetryEnv, ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { pause, waitForMessageStatus, waitUntil } from './helpers/wait.js';
import type { GatewayRef, LogBase, UserError } from './helpers/api-types.js';
import { rowsOf } from './helpers/database.js';

const PUBLIC_URL = 'https://herald.example.test';
const SMS_FROM = '+15005550006';
const MAX_ATTEMPTS = 4;
const envAccount = fakeTwilioAccount();
const tenantAccount = fakeTwilioAccount();

let fake: TwilioFake;
let herald: TestHerald;

const twilioEnv = (fakeUrl: string, account = envAccount): Record<string, string> => ({
  TWILIO_ACCOUNT_SID: account.accountSid,
  TWILIO_AUTH_TOKEN: account.authToken,
  TWILIO_SMS_FROM: SMS_FROM,
  TWILIO_API_BASE_URL: fakeUrl,
});

beforeAll(async () => {
  fake = await startTwilioFake({ accounts: [envAccount, tenantAccount] });
  herald = await startTestHerald({
    env: {
      ...twilioEnv(fake.url),
      PUBLIC_URL,
      ...fastRetryEnv(MAX_ATTEMPTS),
      HERALD_SEND_TIMEOUT_MS: '5000',
    },
  });
});
afterAll(async () => {
  await herald?.stop();
  await fake?.close();
});

// ---------------------------------------------------------------------------------------
// GraphQL documents and helpers

const LOG_FIELDS = 'id outcome channel reason at gateway { id name provider }';
const MESSAGE_FIELDS = `id channel status body destination scheduledAt sentAt deliveredAt attempts providerMessageId errorCode errorMessage
  createdAt updatedAt gateway { id name provider } logs { ${LOG_FIELDS} }`;
const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { ${MESSAGE_FIELDS} } userErrors { field message code } } }`;
const GET = `query($id: ID!) { message(id: $id) { ${MESSAGE_FIELDS} } }`;
const CANCEL = `mutation($input: CancelMessageInput!) { cancelMessage(input: $input) { message { ${MESSAGE_FIELDS} } userErrors { field message code } } }`;
const RETRY = `mutation($input: RetryMessageInput!) { retryMessage(input: $input) { message { ${MESSAGE_FIELDS} } userErrors { field message code } } }`;
const COUNT = '{ messages { totalCount } }';
const ADD_GATEWAY = `mutation($input: AddChannelGatewayInput!) { addChannelGateway(input: $input) { gateway { id name provider isDefault enabled } userErrors { field message code } } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { recipient { id subscriptions { channel gateway { id } } } userErrors { field message code } } }`;

interface Log extends LogBase {
  gateway: GatewayRef | null;
}
interface Message {
  id: string;
  channel: string;
  status: string;
  body: string;
  destination: string | null;
  scheduledAt: string | null;
  sentAt: string | null;
  attempts: number;
  providerMessageId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  gateway: { id: string; name: string; provider: string } | null;
  logs: Log[];
}
interface SendPayload {
  message: Message | null;
  userErrors: UserError[];
}

// A distinct, valid North American number per recipient, so each test can tell its own
// requests at the fake apart from everyone else's.
let nextLine = 200;
const freshPhone = () => `+1415555${String(nextLine++).padStart(4, '0')}`;

async function sendSms(input: Record<string, unknown>, key?: string): Promise<SendPayload> {
  return ok(await herald.gql(SEND, { input }, key)).sendSms;
}

/** A send that must be accepted: fails the test with the userErrors otherwise. */
async function accepted(input: Record<string, unknown>, key?: string): Promise<Message> {
  const payload = await sendSms(input, key);
  expect(payload.userErrors).toEqual([]);
  expect(payload.message).not.toBeNull();
  return payload.message!;
}

async function getMessage(id: string, key?: string): Promise<Message> {
  const message = ok(await herald.gql(GET, { id }, key)).message;
  if (!message) throw new Error(`message ${id} is not found`);
  return message;
}

/** Polls `message(id)` until its status is one of `statuses`; fails with the last state seen otherwise. */
const waitForStatus = (id: string, statuses: string | string[], options: { timeoutMs?: number; key?: string } = {}) =>
  waitForMessageStatus(getMessage, id, statuses, options);

async function messageCount(key?: string): Promise<number> {
  return ok(await herald.gql(COUNT, undefined, key)).messages.totalCount;
}

const requestsTo = (phone: string): TwilioFakeRequest[] => fake.requests.filter((r) => r.form.To === phone);
const basic = (account: { accountSid: string; authToken: string }) =>
  `Basic ${Buffer.from(`${account.accountSid}:${account.authToken}`).toString('base64')}`;
const digitsOf = (phone: string) => phone.replace(/^\+/, '');

/** The states of the queue jobs of a message (read from pg-boss's own table). */
async function jobStates(messageId: string): Promise<string[]> {
  const uuid = fromGlobalId(messageId, 'Message')!.uuid;
  const rows = rowsOf(
    await herald.services.db.execute(sql`select state from pgboss.job where name = 'herald-dispatch' and data->>'messageId' = ${uuid}`),
  );
  return rows.map((r) => String(r.state));
}

async function client(phone: string | null = freshPhone(), key?: string) {
  return buildRecipient(herald, { kind: 'CLIENT', phone }, key);
}

// ---------------------------------------------------------------------------------------

describe('sendSms to a client and a staff member', () => {
  it('answers QUEUED at once, then Twilio receives exactly one request with the right To, From, Body, callback and account, and the message ends SENT', async () => {
    const clientPhone = '+14155550123';
    const staffPhone = '+12025550123';
    const person = await buildRecipient(herald, { kind: 'CLIENT', displayName: 'Client Ada', phone: clientPhone });
    const staff = await buildRecipient(herald, { kind: 'STAFF', displayName: 'Staff Bob', phone: staffPhone });
    const texts: Record<string, string> = {
      [clientPhone]: 'Your loan repayment of $120.00 is due on 1 Dec.',
      [staffPhone]: 'Client Ada has a repayment due on 1 Dec.',
    };

    // The provider takes 2 s to answer: the mutation must not wait for it.
    fake.delayMs = 2_000;
    const responses: string[] = [];
    let sentToClient: Message;
    let sentToStaff: Message;
    try {
      const started = Date.now();
      const clientPayload = await sendSms({ clientId: person.id, message: texts[clientPhone] });
      const elapsed = Date.now() - started;
      responses.push(JSON.stringify(clientPayload));
      expect(clientPayload.userErrors).toEqual([]);
      expect(clientPayload.message).toMatchObject({
        channel: 'SMS',
        status: 'QUEUED',
        body: texts[clientPhone],
        destination: '+1*******0123',
        scheduledAt: null,
        sentAt: null,
        attempts: 0,
        providerMessageId: null,
        logs: [],
        gateway: { provider: 'TWILIO', name: 'env:twilio-sms' },
      });
      // The fake takes 2 s to answer: the mutation did not wait for the provider (a worker
      // may already have handed the request over, but no answer can have come back).
      expect(elapsed).toBeLessThan(2_000);

      const staffPayload = await sendSms({ staffId: staff.id, message: texts[staffPhone] });
      responses.push(JSON.stringify(staffPayload));
      expect(staffPayload.userErrors).toEqual([]);
      expect(staffPayload.message).toMatchObject({ status: 'QUEUED', destination: '+1*******0123' });

      sentToClient = await waitForStatus(clientPayload.message!.id, 'SENT');
      sentToStaff = await waitForStatus(staffPayload.message!.id, 'SENT');
    } finally {
      fake.delayMs = 0;
    }

    for (const [phone, sent] of [
      [clientPhone, sentToClient],
      [staffPhone, sentToStaff],
    ] as const) {
      const requests = requestsTo(phone);
      expect(requests).toHaveLength(1);
      const [request] = requests;
      expect(request.method).toBe('POST');
      expect(request.path).toBe(`/2010-04-01/Accounts/${envAccount.accountSid}/Messages.json`);
      expect(request.headers.authorization).toBe(basic(envAccount));
      expect(request.form).toEqual({
        To: phone,
        From: SMS_FROM,
        Body: texts[phone],
        StatusCallback: `${PUBLIC_URL}/webhooks/twilio/status?m=${fromGlobalId(sent.id, 'Message')!.uuid}`,
      });

      const twilioSid = fake.messages.find((m) => m.to === phone)!.sid;
      expect(twilioSid).toMatch(/^SM[0-9a-f]{32}$/);
      expect(sent).toMatchObject({
        status: 'SENT',
        providerMessageId: twilioSid,
        attempts: 1,
        destination: '+1*******0123',
        errorCode: null,
        errorMessage: null,
      });
      expect(new Date(sent.sentAt!).getTime()).toBeGreaterThan(0);
      expect(sent.logs).toEqual([
        {
          id: expect.stringMatching(/^log_/),
          outcome: 'SUCCESS',
          channel: 'SMS',
          reason: null,
          at: expect.any(String),
          gateway: sent.gateway,
        },
      ]);
      responses.push(JSON.stringify(sent));
    }

    // The same logs through deliveryLogs(filter: { messageId }).
    const viaFilter = ok(
      await herald.gql(
        `query($id: ID!) { deliveryLogs(filter: { messageId: $id }) { totalCount edges { node { id outcome message { id destination } } } } }`,
        {
          id: sentToClient!.id,
        },
      ),
    ).deliveryLogs;
    expect(viaFilter.totalCount).toBe(1);
    expect(viaFilter.edges[0].node).toEqual({
      id: sentToClient!.logs[0].id,
      outcome: 'SUCCESS',
      message: { id: sentToClient!.id, destination: '+1*******0123' },
    });
    responses.push(JSON.stringify(viaFilter));

    // Neither number in full: not in any answer about the messages, not in any log line.
    for (const phone of [clientPhone, staffPhone]) {
      for (const response of responses) expect(response).not.toContain(digitsOf(phone));
      expect(herald.logs.filter((line) => line.includes(digitsOf(phone)))).toEqual([]);
    }
  });
});

describe('sendSms refusals create and send nothing', () => {
  async function expectRefused(input: Record<string, unknown>, expected: UserError[] | Partial<UserError>[], key?: string) {
    const messagesBefore = await messageCount(key);
    const requestsBefore = fake.requests.length;
    const payload = await sendSms(input, key);
    expect(payload.message).toBeNull();
    expect(payload.userErrors).toEqual(expected.map((e) => ({ message: expect.any(String), ...e })));
    expect(await messageCount(key)).toBe(messagesBefore);
    expect(fake.requests.length).toBe(requestsBefore);
    return payload.userErrors;
  }

  it('refuses both ids and neither id with INVALID_INPUT on clientId and staffId', async () => {
    const person = await client();
    const staff = await buildRecipient(herald, { kind: 'STAFF', phone: freshPhone() });
    const both = [
      { field: ['input', 'clientId'], code: 'INVALID_INPUT' },
      { field: ['input', 'staffId'], code: 'INVALID_INPUT' },
    ];
    await expectRefused({ clientId: person.id, staffId: staff.id, message: 'hello' }, both);
    await expectRefused({ message: 'hello' }, both);
  });

  it('refuses an unknown id, a STAFF id given as clientId, a CLIENT id given as staffId and another tenant’s client with NOT_FOUND', async () => {
    const staff = await buildRecipient(herald, { kind: 'STAFF', phone: freshPhone() });
    const person = await client();
    const { adminKey: otherKey } = await buildTenant(herald);
    const theirs = await client(freshPhone(), otherKey);

    await expectRefused({ clientId: 'rcp_0000000000007000800000000000dead', message: 'hello' }, [
      { field: ['input', 'clientId'], code: 'NOT_FOUND' },
    ]);
    await expectRefused({ clientId: 'not-an-id', message: 'hello' }, [{ field: ['input', 'clientId'], code: 'NOT_FOUND' }]);
    await expectRefused({ clientId: staff.id, message: 'hello' }, [{ field: ['input', 'clientId'], code: 'NOT_FOUND' }]);
    await expectRefused({ staffId: person.id, message: 'hello' }, [{ field: ['input', 'staffId'], code: 'NOT_FOUND' }]);
    await expectRefused({ clientId: theirs.id, message: 'hello' }, [{ field: ['input', 'clientId'], code: 'NOT_FOUND' }]);
    // …while the other tenant itself may send to its client (through its SANDBOX).
    const own = await accepted({ clientId: theirs.id, message: 'hello' }, otherKey);
    await waitForStatus(own.id, 'SENT', { key: otherKey });
  });

  it('refuses a client without a phone number with RECIPIENT_NOT_REACHABLE', async () => {
    const person = await buildRecipient(herald, { kind: 'CLIENT', phone: null, email: 'nophone@example.com' });
    const [error] = await expectRefused({ clientId: person.id, message: 'hello' }, [
      { field: ['input', 'clientId'], code: 'RECIPIENT_NOT_REACHABLE' },
    ]);
    expect(error.message).toMatch(/phone/);
  });

  it('refuses an empty and a 1,601-character message with INVALID_INPUT on the message, and accepts 1,600 characters', async () => {
    const phone = freshPhone();
    const person = await client(phone);
    await expectRefused({ clientId: person.id, message: '' }, [{ field: ['input', 'message'], code: 'INVALID_INPUT' }]);
    await expectRefused({ clientId: person.id, message: '   ' }, [{ field: ['input', 'message'], code: 'INVALID_INPUT' }]);
    await expectRefused({ clientId: person.id, message: 'x'.repeat(1_601) }, [{ field: ['input', 'message'], code: 'INVALID_INPUT' }]);

    const longest = 'y'.repeat(1_600);
    const message = await accepted({ clientId: person.id, message: longest });
    await waitForStatus(message.id, 'SENT');
    expect(requestsTo(phone).map((r) => r.form.Body)).toEqual([longest]);
  });

  it('refuses a sendAt more than a year ahead with INVALID_INPUT on sendAt', async () => {
    const person = await client();
    const sendAt = new Date(Date.now() + 400 * 24 * 3600 * 1000).toISOString();
    await expectRefused({ clientId: person.id, message: 'much later', sendAt }, [{ field: ['input', 'sendAt'], code: 'INVALID_INPUT' }]);
  });

  it('refuses with GATEWAY_NOT_CONFIGURED when the gateway a subscription is pinned to was disabled (its environment variables removed)', async () => {
    // The API offers no way to disable a gateway, and a tenant's SMS default is always an
    // enabled one. A gateway becomes disabled when the TWILIO_* variables that made it are
    // removed: the operator's restart. That is the situation built here, on its own Herald.
    const secret = randomBytes(32).toString('hex');
    let own = await startTestHerald({ env: { HERALD_SECRET_KEY: secret, ...twilioEnv(fake.url) } });
    try {
      const person = ok(
        await own.gql(
          `mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } userErrors { code } } }`,
          {
            input: { kind: 'CLIENT', displayName: 'Subscribed', phone: freshPhone() },
          },
        ),
      ).createRecipient.recipient;
      // Named, so the subscription is pinned to it (one that names none follows the channel's routing).
      const envGateway = (ok(await own.gql(`{ gateways(channel: SMS) { id name } }`)).gateways as { id: string; name: string }[]).find(
        (g) => g.name === 'env:twilio-sms',
      )!;
      const subscribed = ok(
        await own.gql(SUBSCRIBE, { input: { recipientId: person.id, channel: 'SMS', gatewayId: envGateway.id } }),
      ).subscribe;
      expect(subscribed.userErrors).toEqual([]);

      own = await own.restart({ HERALD_SECRET_KEY: secret });
      const gateways = ok(await own.gql(`{ gateways(channel: SMS) { name enabled isDefault } }`)).gateways;
      expect(gateways).toContainEqual({ name: 'env:twilio-sms', enabled: false, isDefault: false });

      const requestsBefore = fake.requests.length;
      const payload = ok(await own.gql(SEND, { input: { clientId: person.id, message: 'hello' } })).sendSms;
      expect(payload).toEqual({
        message: null,
        userErrors: [{ field: null, message: expect.stringMatching(/disabled/), code: 'GATEWAY_NOT_CONFIGURED' }],
      });
      expect(ok(await own.gql(COUNT)).messages.totalCount).toBe(0);
      expect(fake.requests.length).toBe(requestsBefore);
    } finally {
      await own.stop();
    }
  }, 120_000);
});

describe('per-tenant Twilio gateway', () => {
  it("sends a recipient subscribed through the tenant's own Twilio gateway with that gateway's account and number, not the environment's", async () => {
    const from = '+15005550009';
    const added = ok(
      await herald.gql(ADD_GATEWAY, {
        input: {
          channel: 'SMS',
          provider: 'TWILIO',
          name: `branch-${randomBytes(3).toString('hex')}`,
          credentials: JSON.stringify({ accountSid: tenantAccount.accountSid, authToken: tenantAccount.authToken, from }),
          makeDefault: false,
        },
      }),
    ).addChannelGateway;
    expect(added.userErrors).toEqual([]);
    const phone = freshPhone();
    const person = await client(phone);
    const subscribed = ok(
      await herald.gql(SUBSCRIBE, { input: { recipientId: person.id, channel: 'SMS', gatewayId: added.gateway.id } }),
    ).subscribe;
    expect(subscribed.userErrors).toEqual([]);

    const message = await accepted({ clientId: person.id, message: 'From your branch' });
    expect(message.gateway).toMatchObject({ id: added.gateway.id, provider: 'TWILIO' });
    const sent = await waitForStatus(message.id, 'SENT');

    const requests = requestsTo(phone);
    expect(requests).toHaveLength(1);
    expect(requests[0].path).toBe(`/2010-04-01/Accounts/${tenantAccount.accountSid}/Messages.json`);
    expect(requests[0].headers.authorization).toBe(basic(tenantAccount));
    expect(requests[0].form).toMatchObject({ To: phone, From: from, Body: 'From your branch' });
    expect(sent.providerMessageId).toBe(fake.messages.find((m) => m.to === phone)!.sid);
    expect(sent.logs).toMatchObject([{ outcome: 'SUCCESS', gateway: { id: added.gateway.id } }]);

    // A client who is not subscribed still goes through the environment's default.
    const otherPhone = freshPhone();
    const other = await client(otherPhone);
    await waitForStatus((await accepted({ clientId: other.id, message: 'From head office' })).id, 'SENT');
    expect(requestsTo(otherPhone).map((r) => [r.authAccountSid, r.form.From])).toEqual([[envAccount.accountSid, SMS_FROM]]);
  });
});

describe('scheduling and cancelling', () => {
  it('keeps a message SCHEDULED until sendAt, sends nothing before, then sends it', async () => {
    const phone = freshPhone();
    const person = await client(phone);
    const sendAt = new Date(Date.now() + 2_000);
    const message = await accepted({ clientId: person.id, message: 'Later', sendAt: sendAt.toISOString() });
    expect(message).toMatchObject({ status: 'SCHEDULED', scheduledAt: sendAt.toISOString(), sentAt: null, attempts: 0 });

    // Until sendAt: still SCHEDULED, and Twilio has heard nothing.
    let checks = 0;
    while (Date.now() < sendAt.getTime() - 100) {
      expect(requestsTo(phone)).toEqual([]);
      const seen = await getMessage(message.id);
      if (Date.now() < sendAt.getTime()) {
        expect(seen.status).toBe('SCHEDULED');
        checks += 1;
      }
      await pause(100);
    }
    expect(checks).toBeGreaterThan(0);

    const sent = await waitForStatus(message.id, 'SENT');
    expect(new Date(sent.sentAt!).getTime()).toBeGreaterThanOrEqual(sendAt.getTime());
    expect(sent.scheduledAt).toBe(sendAt.toISOString());
    expect(requestsTo(phone)).toHaveLength(1);
  });

  it('treats a sendAt in the past as now', async () => {
    const phone = freshPhone();
    const person = await client(phone);
    const message = await accepted({ clientId: person.id, message: 'Already due', sendAt: new Date(Date.now() - 60_000).toISOString() });
    expect(message).toMatchObject({ status: 'QUEUED', scheduledAt: null });
    await waitForStatus(message.id, 'SENT');
    expect(requestsTo(phone)).toHaveLength(1);
  });

  it('cancels a SCHEDULED message, which is then never sent', async () => {
    const phone = freshPhone();
    const person = await client(phone);
    const sendAt = new Date(Date.now() + 1_500);
    const message = await accepted({ clientId: person.id, message: 'Never', sendAt: sendAt.toISOString() });
    const cancelled = ok(await herald.gql(CANCEL, { input: { id: message.id } })).cancelMessage;
    expect(cancelled.userErrors).toEqual([]);
    expect(cancelled.message).toMatchObject({ id: message.id, status: 'CANCELLED' });

    // The worker takes the job when its time comes and finishes it without sending.
    await waitUntil('the cancelled message’s job to be taken and completed', async () => {
      const states = await jobStates(message.id);
      return states.length > 0 && states.every((s) => s === 'completed');
    });
    expect(Date.now()).toBeGreaterThanOrEqual(sendAt.getTime());
    expect(requestsTo(phone)).toEqual([]);
    expect(await getMessage(message.id)).toMatchObject({ status: 'CANCELLED', attempts: 0, sentAt: null, logs: [] });
  });

  it('refuses to cancel a SENT message (INVALID_STATE) and an unknown one (NOT_FOUND)', async () => {
    const person = await client();
    const message = await accepted({ clientId: person.id, message: 'Gone already' });
    await waitForStatus(message.id, 'SENT');
    const late = ok(await herald.gql(CANCEL, { input: { id: message.id } })).cancelMessage;
    expect(late).toEqual({
      message: null,
      userErrors: [{ field: ['input', 'id'], message: expect.stringMatching(/SENT/), code: 'INVALID_STATE' }],
    });
    expect((await getMessage(message.id)).status).toBe('SENT');

    for (const id of ['msg_0000000000007000800000000000dead', 'garbage']) {
      const unknown = ok(await herald.gql(CANCEL, { input: { id } })).cancelMessage;
      expect(unknown).toEqual({ message: null, userErrors: [{ field: ['input', 'id'], message: expect.any(String), code: 'NOT_FOUND' }] });
    }
  });
});

describe('transient and permanent provider errors', () => {
  it('retries two 503s and ends SENT after 3 attempts, with a readable log of each', async () => {
    const phone = freshPhone();
    const person = await client(phone);
    fake.failNext(2, { status: 503 });
    const message = await accepted({ clientId: person.id, message: 'Through an outage' });
    const sent = await waitForStatus(message.id, ['SENT', 'FAILED']);

    expect(sent).toMatchObject({ status: 'SENT', attempts: 3, errorCode: null, errorMessage: null });
    expect(requestsTo(phone)).toHaveLength(3);
    expect(sent.providerMessageId).toBe(fake.messages.find((m) => m.to === phone)!.sid);
    expect(sent.logs.map((l) => l.outcome)).toEqual(['FAILURE', 'FAILURE', 'SUCCESS']);
    for (const [i, log] of sent.logs.slice(0, 2).entries()) {
      expect(log.reason).toMatch(new RegExp(`^attempt ${i + 1} failed \\(temporary error\\): Twilio is unavailable \\(HTTP 503\\)`));
      expect(log.reason).toMatch(/retrying at \d{4}-\d\d-\d\dT/);
    }
  });

  it('retries a 429 rate limit (code 20429) and then sends', async () => {
    const phone = freshPhone();
    const person = await client(phone);
    fake.failNext(1, { status: 429, code: 20429, message: 'Too Many Requests' });
    const message = await accepted({ clientId: person.id, message: 'Slow down' });
    const sent = await waitForStatus(message.id, ['SENT', 'FAILED']);
    expect(sent).toMatchObject({ status: 'SENT', attempts: 2 });
    expect(requestsTo(phone)).toHaveLength(2);
    expect(sent.logs.map((l) => l.outcome)).toEqual(['FAILURE', 'SUCCESS']);
    expect(sent.logs[0].reason).toMatch(/rate limit/i);
  });

  it('fails an invalid number (Twilio 21211) at once, after one request, and never retries it', async () => {
    const person = await client(INVALID_NUMBER);
    const before = requestsTo(INVALID_NUMBER).length;
    const message = await accepted({ clientId: person.id, message: 'Nobody home' });
    const failed = await waitForStatus(message.id, ['FAILED', 'SENT']);
    expect(failed).toMatchObject({
      status: 'FAILED',
      errorCode: '21211',
      attempts: 1,
      providerMessageId: null,
      sentAt: null,
      destination: '+1*******0001',
    });
    expect(failed.errorMessage).toMatch(/not a valid phone number/);
    expect(failed.errorMessage).not.toContain(digitsOf(INVALID_NUMBER));
    expect(failed.logs).toMatchObject([{ outcome: 'FAILURE', reason: failed.errorMessage }]);
    expect(requestsTo(INVALID_NUMBER).length - before).toBe(1);

    // Never retried: its job is done, and still one request and one attempt.
    await waitUntil('the job of the failed message to complete', async () => (await jobStates(message.id)).every((s) => s === 'completed'));
    expect(requestsTo(INVALID_NUMBER).length - before).toBe(1);
    expect(await getMessage(message.id)).toMatchObject({ status: 'FAILED', attempts: 1 });
  });

  it(`fails after ${MAX_ATTEMPTS} attempts of 503, then retryMessage sends it once Twilio is healthy; a SENT message cannot be retried`, async () => {
    const phone = freshPhone();
    const person = await client(phone);
    fake.failNext(MAX_ATTEMPTS, { status: 503 });
    const message = await accepted({ clientId: person.id, message: 'Persistent' });
    const failed = await waitForStatus(message.id, ['FAILED', 'SENT']);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: MAX_ATTEMPTS, errorCode: '503', providerMessageId: null });
    expect(failed.errorMessage).toMatch(new RegExp(`^gave up after ${MAX_ATTEMPTS} attempts: Twilio is unavailable \\(HTTP 503\\)`));
    expect(failed.logs.map((l) => l.outcome)).toEqual(Array(MAX_ATTEMPTS).fill('FAILURE'));
    expect(failed.logs.at(-1)!.reason).toBe(failed.errorMessage);
    expect(requestsTo(phone)).toHaveLength(MAX_ATTEMPTS);

    // Twilio is healthy again (no failures left programmed).
    const retried = ok(await herald.gql(RETRY, { input: { id: message.id } })).retryMessage;
    expect(retried.userErrors).toEqual([]);
    expect(retried.message).toMatchObject({ id: message.id, status: 'QUEUED', errorCode: null, errorMessage: null });
    const sent = await waitForStatus(message.id, ['SENT', 'FAILED']);
    expect(sent).toMatchObject({ status: 'SENT', providerMessageId: fake.messages.find((m) => m.to === phone)!.sid });
    expect(requestsTo(phone)).toHaveLength(MAX_ATTEMPTS + 1);
    expect(sent.logs.map((l) => l.outcome)).toEqual([...Array(MAX_ATTEMPTS).fill('FAILURE'), 'SUCCESS']);

    const again = ok(await herald.gql(RETRY, { input: { id: message.id } })).retryMessage;
    expect(again).toEqual({
      message: null,
      userErrors: [{ field: ['input', 'id'], message: expect.stringMatching(/SENT/), code: 'INVALID_STATE' }],
    });
    const unknown = ok(await herald.gql(RETRY, { input: { id: 'msg_0000000000007000800000000000dead' } })).retryMessage;
    expect(unknown.userErrors).toEqual([{ field: ['input', 'id'], message: expect.any(String), code: 'NOT_FOUND' }]);
  }, 60_000);
});

describe('idempotency', () => {
  it('answers a repeated key and input with the first message and sends once; a different message under the key is a conflict', async () => {
    const phone = freshPhone();
    const person = await client(phone);
    const key = `repay-${randomBytes(4).toString('hex')}`;
    const first = await accepted({ clientId: person.id, message: 'Pay by Friday', idempotencyKey: key });
    const second = await accepted({ clientId: person.id, message: 'Pay by Friday', idempotencyKey: key });
    expect(second.id).toBe(first.id);
    await waitForStatus(first.id, 'SENT');
    const third = await accepted({ clientId: person.id, message: 'Pay by Friday', idempotencyKey: key });
    expect(third).toMatchObject({ id: first.id, status: 'SENT' });

    const count = async () =>
      ok(await herald.gql(`query($r: ID) { messages(filter: { recipientId: $r }) { totalCount } }`, { r: person.id })).messages.totalCount;
    const conflict = await sendSms({ clientId: person.id, message: 'Pay by Monday', idempotencyKey: key });
    expect(conflict).toEqual({
      message: null,
      userErrors: [{ field: ['input', 'idempotencyKey'], message: expect.any(String), code: 'IDEMPOTENCY_CONFLICT' }],
    });
    expect(await count()).toBe(1);
    expect(requestsTo(phone)).toHaveLength(1);
  });

  it('gives 10 concurrent identical requests with one key the same message, and Twilio one request', async () => {
    const phone = freshPhone();
    const person = await client(phone);
    const key = `burst-${randomBytes(4).toString('hex')}`;
    const payloads = await Promise.all(
      Array.from({ length: 10 }, () => sendSms({ clientId: person.id, message: 'Only once', idempotencyKey: key })),
    );
    for (const p of payloads) expect(p.userErrors).toEqual([]);
    const ids = new Set(payloads.map((p) => p.message!.id));
    expect(ids.size).toBe(1);
    const [id] = ids;
    await waitForStatus(id, 'SENT');
    expect(requestsTo(phone)).toHaveLength(1);
    const total = ok(await herald.gql(`query($r: ID) { messages(filter: { recipientId: $r }) { totalCount } }`, { r: person.id })).messages
      .totalCount;
    expect(total).toBe(1);
  });
});

describe('SANDBOX gateway', () => {
  it("marks a new tenant's SMS SENT with a sandbox- id without calling Twilio, and fails the magic invalid number with 21211", async () => {
    const { adminKey } = await buildTenant(herald);
    const channels = ok(await herald.gql(`{ gateways(channel: SMS) { provider isDefault } }`, undefined, adminKey)).gateways;
    expect(channels).toEqual([{ provider: 'SANDBOX', isDefault: true }]);

    const phone = freshPhone();
    const person = await client(phone, adminKey);
    const requestsBefore = fake.requests.length;
    const message = await accepted({ clientId: person.id, message: 'Sandboxed' }, adminKey);
    const sent = await waitForStatus(message.id, 'SENT', { key: adminKey });
    expect(sent).toMatchObject({ attempts: 1, gateway: { provider: 'SANDBOX' }, logs: [{ outcome: 'SUCCESS' }] });
    expect(sent.providerMessageId).toMatch(/^sandbox-/);
    expect(sandboxOutbox().filter((s) => s.providerMessageId === sent.providerMessageId)).toMatchObject([
      { destination: phone, body: 'Sandboxed', channel: 'SMS' },
    ]);

    const invalid = await client(INVALID_NUMBER, adminKey);
    const bad = await accepted({ clientId: invalid.id, message: 'Nobody' }, adminKey);
    const failed = await waitForStatus(bad.id, ['FAILED', 'SENT'], { key: adminKey });
    expect(failed).toMatchObject({ status: 'FAILED', errorCode: '21211', attempts: 1, providerMessageId: null });
    expect(failed.errorMessage).toMatch(/not a valid phone number/);
    expect(failed.logs).toMatchObject([{ outcome: 'FAILURE', reason: failed.errorMessage }]);

    expect(fake.requests.length).toBe(requestsBefore);
    expect(requestsTo(phone)).toEqual([]);
  });
});

describe('metrics and logs', () => {
  it('counts SMS messages by status and times dispatches on /metrics', async () => {
    const response = await fetch(`${herald.url}/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const sent = /^herald_messages_total\{(?=[^}]*channel="SMS")(?=[^}]*status="SENT")[^}]*\} (\d+(?:\.\d+)?)$/m.exec(text);
    expect(sent, 'herald_messages_total{channel="SMS",status="SENT"}').not.toBeNull();
    expect(Number(sent![1])).toBeGreaterThan(0);
    expect(text).toMatch(/^herald_messages_total\{(?=[^}]*channel="SMS")(?=[^}]*status="FAILED")[^}]*\} [1-9]/m);
    const count = /^herald_dispatch_duration_seconds_count\{(?=[^}]*channel="SMS")(?=[^}]*provider="TWILIO")[^}]*\} (\d+)$/m.exec(text);
    expect(count, 'herald_dispatch_duration_seconds_count for SMS via TWILIO').not.toBeNull();
    expect(Number(count![1])).toBeGreaterThan(0);
    expect(text).toMatch(/^herald_dispatch_duration_seconds_bucket\{/m);
  });

  it('never writes a full recipient phone number to a log line', async () => {
    const phones = new Set<string>(['+14155550123', '+12025550123', INVALID_NUMBER]);
    for (let line = 200; line < nextLine; line++) phones.add(`+1415555${String(line).padStart(4, '0')}`);
    // The capture does hold the dispatcher's lines (a failure is logged with its message id).
    expect(herald.logs.some((line) => line.includes('message failed'))).toBe(true);
    const leaks = herald.logs.filter((line) => [...phones].some((p) => line.includes(digitsOf(p))));
    expect(leaks).toEqual([]);
  });
});
