// SendGrid events change a message only when signed: with the environment's key for the
// default tenant's e-mail, with a tenant gateway's own webhookPublicKey for that gateway's
// e-mail, never for an SMS nor another tenant's message. Without any key every event is
// refused. Events are signed with ECDSA P-256 key pairs made here, posted to the real server.
import { generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromGlobalId } from '../src/lib/ids.js';
import { fakeSendgridKey, type SendgridFake, startSendgridFake } from './fakes/sendgrid-fake.js';
import { buildRecipient, buildTenant } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { metric, metricsText } from './helpers/metrics.js';
import { waitForMessageStatus } from './helpers/wait.js';

const EVENTS_PATH = '/webhooks/sendgrid/events';
const FROM_EMAIL = 'orders@herald.example.com';
const envApiKey = fakeSendgridKey();
const tenantApiKey = fakeSendgridKey();

const keyPair = () => {
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey: pair.privateKey, publicKey: pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64') };
};
const envKeys = keyPair();
const tenantKeys = keyPair();
const forgerKeys = keyPair();

const MESSAGE = `id channel status deliveredAt errorCode errorMessage logs { outcome reason }`;
const GET = `query($id: ID!) { message(id: $id) { ${MESSAGE} } }`;
const ADD_GATEWAY = `mutation($input: AddChannelGatewayInput!) { addChannelGateway(input: $input) { gateway { id isDefault } userErrors { field message code } } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { userErrors { field message code } } }`;
const UPDATE_ORDER = `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) { messages { id channel } userErrors { code } } }`;
const SEND_SMS = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } userErrors { code } } }`;

interface Message {
  id: string;
  channel: string;
  status: string;
  deliveredAt: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  logs: { outcome: string; reason: string | null }[];
}

let sendgridFake: SendgridFake;
let herald: TestHerald;
let tenantKey: string;

beforeAll(async () => {
  sendgridFake = await startSendgridFake({ apiKeys: [envApiKey, tenantApiKey] });
  herald = await startTestHerald({
    env: {
      SENDGRID_API_KEY: envApiKey,
      SENDGRID_FROM_EMAIL: FROM_EMAIL,
      SENDGRID_API_BASE_URL: sendgridFake.url,
      SENDGRID_WEBHOOK_PUBLIC_KEY: envKeys.publicKey,
    },
  });
  // A tenant with its own SendGrid account and signed event webhook.
  tenantKey = (await buildTenant(herald)).adminKey;
  const added = ok(
    await herald.gql(
      ADD_GATEWAY,
      {
        input: {
          channel: 'EMAIL',
          provider: 'SENDGRID',
          name: 'own sendgrid',
          credentials: JSON.stringify({ apiKey: tenantApiKey, from: 'news@tenant.example.com', webhookPublicKey: tenantKeys.publicKey }),
        },
      },
      tenantKey,
    ),
  ).addChannelGateway;
  expect(added.userErrors).toEqual([]);
  expect(added.gateway.isDefault).toBe(true);
});
afterAll(async () => {
  await herald?.stop();
  await sendgridFake?.close();
});

const getMessage = async (id: string, key = herald.adminKey): Promise<Message> => ok(await herald.gql(GET, { id }, key)).message;

/** An order e-mail sent through the tenant's (or the default tenant's) SendGrid gateway, SENT. */
async function sentEmail(key = herald.adminKey): Promise<{ message: Message; xMessageId: string; email: string; key: string }> {
  const email = `r${randomBytes(4).toString('hex')}@example.com`;
  const person = await buildRecipient(herald, { kind: 'CUSTOMER', email }, key);
  expect(ok(await herald.gql(SUBSCRIBE, { input: { recipientId: person.id, channel: 'EMAIL' } }, key)).subscribe.userErrors).toEqual([]);
  const payload = ok(
    await herald.gql(
      UPDATE_ORDER,
      { input: { orderId: `ord-${randomBytes(3).toString('hex')}`, customerId: person.id, status: 'SHIPPED' } },
      key,
    ),
  ).updateOrderStatus;
  expect(payload.userErrors).toEqual([]);
  const message = await waitForMessageStatus((id) => getMessage(id, key), payload.messages[0].id, 'SENT');
  const request = sendgridFake.requests.find(
    (r) => r.status === 202 && r.body?.personalizations?.some((p) => p.to?.some((t) => t.email === email)),
  );
  return { message, xMessageId: request!.messageId!, email, key };
}

function deliveredEvent(messageId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    email: 'someone@example.com',
    timestamp: Math.floor(Date.now() / 1000),
    event: 'delivered',
    sg_event_id: randomBytes(16).toString('base64url'),
    herald_message_id: fromGlobalId(messageId, 'Message')!.uuid,
    ...extra,
  };
}

/** Posts events as SendGrid does, signed with `privateKey` (null: no signature headers). */
async function postEvents(events: unknown[] | string, privateKey: KeyObject | null, baseUrl = herald.url) {
  const body = typeof events === 'string' ? events : JSON.stringify(events);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (privateKey) {
    headers['x-twilio-email-event-webhook-timestamp'] = timestamp;
    headers['x-twilio-email-event-webhook-signature'] = sign('sha256', Buffer.from(timestamp + body, 'utf8'), privateKey).toString(
      'base64',
    );
  }
  const response = await fetch(`${baseUrl}${EVENTS_PATH}`, { method: 'POST', headers, body });
  return { status: response.status, body: (await response.json()) as { ok: boolean; error?: string }, headers: response.headers };
}

const refusedCount = async () =>
  metric(await metricsText(herald.url), 'herald_receipts_total', { provider: 'sendgrid', outcome: 'refused' });

describe('SendGrid events with SENDGRID_WEBHOOK_PUBLIC_KEY set', () => {
  it('an unsigned event and one forged with another key are refused with 403, and the e-mail stays SENT', async () => {
    const mail = await sentEmail();
    expect((await postEvents([deliveredEvent(mail.message.id)], null)).status).toBe(403);
    expect((await postEvents([deliveredEvent(mail.message.id)], forgerKeys.privateKey)).status).toBe(403);
    expect(await getMessage(mail.message.id)).toEqual(mail.message);
    // The genuine event goes through.
    expect((await postEvents([deliveredEvent(mail.message.id)], envKeys.privateKey)).status).toBe(200);
    expect((await getMessage(mail.message.id)).status).toBe('DELIVERED');
  });

  it('a validly signed event naming an SMS changes nothing, is counted as refused and logged', async () => {
    const person = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550777' });
    const queued = ok(await herald.gql(SEND_SMS, { input: { clientId: person.id, message: 'Your code is 1234' } })).sendSms;
    expect(queued.userErrors).toEqual([]);
    const sms = await waitForMessageStatus(getMessage, queued.message.id, 'SENT');
    const before = await refusedCount();
    for (const event of [deliveredEvent(sms.id), deliveredEvent(sms.id, { event: 'bounce', reason: 'forged' })]) {
      expect((await postEvents([event], envKeys.privateKey)).status).toBe(200);
    }
    expect(await getMessage(sms.id)).toEqual(sms);
    expect(await refusedCount()).toBe(before + 2);
    expect(herald.logs.some((l) => l.includes('SendGrid event ignored') && l.includes('not EMAIL'))).toBe(true);
  });

  it("events signed with a tenant gateway's own key apply to that tenant's e-mail and not to another tenant's", async () => {
    const tenantMail = await sentEmail(tenantKey);
    const defaultMail = await sentEmail();
    const before = await refusedCount();

    // The tenant's key cannot touch the default tenant's e-mail; the environment key cannot touch the tenant's.
    expect((await postEvents([deliveredEvent(defaultMail.message.id)], tenantKeys.privateKey)).status).toBe(200);
    expect((await postEvents([deliveredEvent(tenantMail.message.id)], envKeys.privateKey)).status).toBe(200);
    // Found by SendGrid's own id too, not only by Herald's.
    expect(
      (
        await postEvents(
          [
            {
              ...deliveredEvent(defaultMail.message.id, { herald_message_id: undefined }),
              sg_message_id: `${defaultMail.xMessageId}.filter0001`,
            },
          ],
          tenantKeys.privateKey,
        )
      ).status,
    ).toBe(200);
    expect(await getMessage(defaultMail.message.id)).toEqual(defaultMail.message);
    expect(await getMessage(tenantMail.message.id, tenantKey)).toEqual(tenantMail.message);
    expect(await refusedCount()).toBe(before + 3);

    expect((await postEvents([deliveredEvent(tenantMail.message.id)], tenantKeys.privateKey)).status).toBe(200);
    const delivered = await getMessage(tenantMail.message.id, tenantKey);
    expect(delivered.status).toBe('DELIVERED');
    expect(delivered.logs.map((l) => l.reason)).toContain('SendGrid confirmed delivery');
  });

  it('refuses a webhookPublicKey that is not a SendGrid verification key, naming the field', async () => {
    const { adminKey } = await buildTenant(herald);
    const credentials = JSON.stringify({ apiKey: tenantApiKey, from: 'a@tenant.example.com', webhookPublicKey: 'bm90IGEga2V5' });
    const payload = ok(
      await herald.gql(ADD_GATEWAY, { input: { channel: 'EMAIL', provider: 'SENDGRID', name: 'bad key', credentials } }, adminKey),
    ).addChannelGateway;
    expect(payload.gateway).toBeNull();
    expect(payload.userErrors).toEqual([
      {
        field: ['input', 'credentials'],
        code: 'INVALID_INPUT',
        message: expect.stringMatching(/webhookPublicKey must be the verification key/),
      },
    ]);
  });

  it('refuses more than 1,000 events in one request, and a body over 1 MiB, with 413', async () => {
    const mail = await sentEmail();
    const many = Array.from({ length: 1_001 }, () => deliveredEvent(mail.message.id));
    const tooMany = await postEvents(many, envKeys.privateKey);
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.error).toBe('at most 1000 events per request; this one has 1001');

    const padded = JSON.stringify([deliveredEvent(mail.message.id, { padding: 'x'.repeat(1024 * 1024) })]);
    const tooBig = await postEvents(padded, envKeys.privateKey);
    expect(tooBig.status).toBe(413);
    expect(await getMessage(mail.message.id)).toEqual(mail.message);
  });

  it('limits webhook requests per address (the limit is announced in the answer headers)', async () => {
    const answer = await postEvents([], envKeys.privateKey);
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-ratelimit-limit')).toBe('3000');
    expect(Number(answer.headers.get('x-ratelimit-remaining'))).toBeLessThan(3000);
  });
});

describe('SendGrid events with no verification key configured', () => {
  it('refuses every event with 403 saying why, logs it at start, and changes nothing', async () => {
    const bare = await startTestHerald({
      env: { SENDGRID_API_KEY: envApiKey, SENDGRID_FROM_EMAIL: FROM_EMAIL, SENDGRID_API_BASE_URL: sendgridFake.url },
    });
    try {
      expect(bare.logs.filter((l) => l.includes('SENDGRID_WEBHOOK_PUBLIC_KEY is not set'))).toHaveLength(1);
      const person = await buildRecipient(bare, { kind: 'CUSTOMER', email: 'bare@example.com' });
      expect(ok(await bare.gql(SUBSCRIBE, { input: { recipientId: person.id, channel: 'EMAIL' } })).subscribe.userErrors).toEqual([]);
      const payload = ok(
        await bare.gql(UPDATE_ORDER, { input: { orderId: 'ord-bare', customerId: person.id, status: 'SHIPPED' } }),
      ).updateOrderStatus;
      const get = async (id: string): Promise<Message> => ok(await bare.gql(GET, { id })).message;
      const message = await waitForMessageStatus(get, payload.messages[0].id, 'SENT');

      for (const key of [null, envKeys.privateKey, forgerKeys.privateKey]) {
        const answer = await postEvents([deliveredEvent(message.id), deliveredEvent(message.id, { event: 'bounce' })], key, bare.url);
        expect(answer.status).toBe(403);
        expect(answer.body).toEqual({ ok: false, error: 'SendGrid events are refused: no verification key is configured' });
      }
      expect(await get(message.id)).toEqual(message);
      // One log line per refused request, at most one per 10 s.
      expect(bare.logs.filter((l) => l.includes('SendGrid events refused: no verification key'))).toHaveLength(1);
    } finally {
      await bare.stop();
    }
  });
});
