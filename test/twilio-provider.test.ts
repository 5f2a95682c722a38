// The Twilio adapter driving the real twilio SDK against a local fake of the Messages API.
import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createProviders } from '../src/providers/index.js';
import type { GatewayForSend, OutboundMessage, ProviderSettings } from '../src/providers/types.js';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake } from './fakes/twilio-fake.js';

const account = fakeTwilioAccount();
const otherAccount = fakeTwilioAccount();
const publicUrl = 'https://herald.example.test';
let fake: TwilioFake;
let settings: ProviderSettings;

const smsGateway = (creds = account, from = '+14155550100'): GatewayForSend => ({
  id: 'gw-sms',
  provider: 'TWILIO',
  credentials: { accountSid: creds.accountSid, authToken: creds.authToken, from },
});

const message = (overrides: Partial<OutboundMessage> = {}): OutboundMessage => ({
  id: '0190f2a4-0000-7000-8000-000000000001',
  channel: 'SMS',
  destination: '+14155550123',
  body: 'Your order #1042 is ready for pickup',
  ...overrides,
});

function twilioFor(s: ProviderSettings) {
  return createProviders(s)('TWILIO');
}

beforeAll(async () => {
  fake = await startTwilioFake({ accounts: [account, otherAccount] });
  settings = { baseUrls: { twilio: fake.url }, publicUrl, timeoutMs: 2_000 };
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

describe('Twilio provider', () => {
  it("sends an SMS with the gateway account, number and a status callback naming Herald's message", async () => {
    const result = await twilioFor(settings).send(message(), smsGateway());

    expect(result.ok).toBe(true);
    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(`/2010-04-01/Accounts/${account.accountSid}/Messages.json`);
    expect(req.authAccountSid).toBe(account.accountSid);
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from(`${account.accountSid}:${account.authToken}`).toString('base64')}`);
    expect(req.form).toEqual({
      To: '+14155550123',
      From: '+14155550100',
      Body: 'Your order #1042 is ready for pickup',
      // Herald's message id rides in the callback URL, which Twilio's signature covers.
      StatusCallback: 'https://herald.example.test/webhooks/twilio/status?m=0190f2a4-0000-7000-8000-000000000001',
    });
    expect(result).toEqual({ ok: true, providerMessageId: fake.messages[0].sid });
    expect(fake.messages[0].sid).toMatch(/^SM[0-9a-f]{32}$/);
  });

  it("sends each gateway's messages with that gateway's own account", async () => {
    const twilio = twilioFor(settings);
    const [a, b] = await Promise.all([
      twilio.send(message(), smsGateway(account)),
      twilio.send(message({ destination: '+14155550124' }), smsGateway(otherAccount, '+14155550199')),
    ]);
    expect(a.ok && b.ok).toBe(true);
    const byTo = Object.fromEntries(fake.requests.map((r) => [r.form.To, r]));
    expect(byTo['+14155550123'].authAccountSid).toBe(account.accountSid);
    expect(byTo['+14155550123'].path).toContain(account.accountSid);
    expect(byTo['+14155550124'].authAccountSid).toBe(otherAccount.accountSid);
    expect(byTo['+14155550124'].form.From).toBe('+14155550199');
  });

  it('gives each message its own status callback, under a PUBLIC_URL with or without a trailing slash', async () => {
    const second = '0190f2a4-0000-7000-8000-000000000002';
    await twilioFor(settings).send(message(), smsGateway());
    await twilioFor({ ...settings, publicUrl: 'https://herald.example.test/' }).send(message({ id: second }), smsGateway());
    expect(fake.requests.map((r) => r.form.StatusCallback)).toEqual([
      'https://herald.example.test/webhooks/twilio/status?m=0190f2a4-0000-7000-8000-000000000001',
      `https://herald.example.test/webhooks/twilio/status?m=${second}`,
    ]);
  });

  it('sends a WhatsApp message with whatsapp: on both numbers', async () => {
    const result = await twilioFor(settings).send(message({ channel: 'WHATSAPP' }), smsGateway());
    expect(result.ok).toBe(true);
    expect(fake.requests[0].form).toMatchObject({ To: 'whatsapp:+14155550123', From: 'whatsapp:+14155550100' });
  });

  it('does not double the whatsapp: prefix', async () => {
    await twilioFor(settings).send(
      message({ channel: 'WHATSAPP', destination: 'whatsapp:+14155550123' }),
      smsGateway(account, 'whatsapp:+14155550100'),
    );
    expect(fake.requests[0].form).toMatchObject({ To: 'whatsapp:+14155550123', From: 'whatsapp:+14155550100' });
  });

  it('fails an invalid number permanently, with the number masked', async () => {
    const result = await twilioFor(settings).send(message({ destination: '+15005550001' }), smsGateway());
    expect(result).toEqual({
      ok: false,
      kind: 'permanent',
      code: '21211',
      message: "The 'To' number +1*******0001 is not a valid phone number.",
    });
  });

  it('fails an unsubscribed recipient permanently', async () => {
    fake.failNext(1, { status: 400, code: 21610, message: 'Attempt to send to unsubscribed recipient' });
    expect(await twilioFor(settings).send(message(), smsGateway())).toMatchObject({ ok: false, kind: 'permanent', code: '21610' });
  });

  it('fails wrong credentials permanently, without the token in the message', async () => {
    const wrong = { accountSid: account.accountSid, authToken: 'not-the-token-0123456789abcdef' };
    const result = await twilioFor(settings).send(message(), smsGateway(wrong));
    expect(result).toMatchObject({ ok: false, kind: 'permanent', code: '20003' });
    expect(JSON.stringify(result)).not.toContain(wrong.authToken);
  });

  it('retries when Twilio answers 503', async () => {
    fake.failNext(1, { status: 503 });
    const twilio = twilioFor(settings);
    expect(await twilio.send(message(), smsGateway())).toMatchObject({ ok: false, kind: 'transient', code: '503' });
    // The SDK itself did not retry: Herald's policy owns retries.
    expect(fake.requests).toHaveLength(1);
    expect((await twilio.send(message(), smsGateway())).ok).toBe(true);
  });

  it('reports a rate limit, and does not let the SDK retry it', async () => {
    fake.failNext(1, { status: 429, code: 20429 });
    const result = await twilioFor(settings).send(message(), smsGateway());
    expect(result).toMatchObject({ ok: false, kind: 'rate_limited', code: '20429' });
    expect(result.ok === false && result.retryAt).toBeUndefined();
    expect(fake.requests).toHaveLength(1);
  });

  it('comes back when a rate limit says when', async () => {
    fake.failNext(1, { status: 429, code: 20429, retryAfter: 30 });
    const before = Date.now();
    const result = await twilioFor(settings).send(message(), smsGateway());
    expect(result.ok).toBe(false);
    const retryAt = result.ok === false ? result.retryAt : undefined;
    expect(retryAt).toBeInstanceOf(Date);
    expect(retryAt!.getTime()).toBeGreaterThanOrEqual(before + 30_000);
    expect(retryAt!.getTime()).toBeLessThanOrEqual(Date.now() + 30_000);
  });

  it('retries when nothing listens at the Twilio address', async () => {
    const closedPort = await freePort();
    const result = await twilioFor({ ...settings, baseUrls: { twilio: `http://127.0.0.1:${closedPort}` } }).send(message(), smsGateway());
    expect(result).toMatchObject({ ok: false, kind: 'transient', code: 'ECONNREFUSED' });
  });

  it('retries when Twilio answers later than the timeout', async () => {
    fake.delayMs = 1_500;
    const started = Date.now();
    const result = await twilioFor({ ...settings, timeoutMs: 300 }).send(message(), smsGateway());
    expect(result).toEqual({ ok: false, kind: 'transient', code: 'ETIMEDOUT', message: 'Twilio did not answer in time' });
    expect(Date.now() - started).toBeLessThan(1_400);
  });

  it('fails a gateway without credentials permanently and sends nothing', async () => {
    const result = await twilioFor(settings).send(message(), { id: 'gw', provider: 'TWILIO', credentials: null });
    expect(result).toMatchObject({ ok: false, kind: 'permanent', code: 'GATEWAY_MISCONFIGURED' });
    expect(fake.requests).toHaveLength(0);
  });
});

/** A port that was free a moment ago and has nothing listening now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
