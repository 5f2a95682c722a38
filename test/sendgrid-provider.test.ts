// The SendGrid adapter driving the real @sendgrid/mail against a local fake of v3 mail/send.
import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createProviders } from '../src/providers/index.js';
import type { GatewayForSend, OutboundMessage, ProviderSettings } from '../src/providers/types.js';
import { fakeSendgridKey, MAIL_SEND_PATH, startSendgridFake, type SendgridFake } from './fakes/sendgrid-fake.js';

const apiKey = fakeSendgridKey();
const otherApiKey = fakeSendgridKey();
let fake: SendgridFake;
let settings: ProviderSettings;

const emailGateway = (key = apiKey, from = 'orders@shop.example'): GatewayForSend => ({
  id: 'gw-email',
  provider: 'SENDGRID',
  credentials: { apiKey: key, from },
});

const message = (overrides: Partial<OutboundMessage> = {}): OutboundMessage => ({
  id: '0190f2a4-0000-7000-8000-000000000001',
  channel: 'EMAIL',
  destination: 'jane@example.com',
  subject: 'Order 1042 is now SHIPPED',
  body: 'Order 1042 is now SHIPPED. Leaves the warehouse today.',
  htmlBody: '<p>Order 1042 is now <strong>SHIPPED</strong>. Leaves the warehouse today.</p>',
  ...overrides,
});

function sendgridFor(s: ProviderSettings) {
  return createProviders(s)('SENDGRID');
}

beforeAll(async () => {
  fake = await startSendgridFake({ apiKeys: [apiKey, otherApiKey] });
  settings = { baseUrls: { sendgrid: fake.url }, publicUrl: 'https://herald.example.test', timeoutMs: 2_000 };
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

describe('SendGrid provider', () => {
  it("sends an e-mail with the gateway's key and sender, both parts and Herald's message id", async () => {
    const result = await sendgridFor(settings).send(message(), emailGateway());

    expect(fake.requests).toHaveLength(1);
    const [req] = fake.requests;
    expect(req.method).toBe('POST');
    expect(req.path).toBe(MAIL_SEND_PATH);
    expect(req.headers.authorization).toBe(`Bearer ${apiKey}`);
    expect(req.headers['content-type']).toMatch(/^application\/json/);
    expect(req.body).toEqual({
      from: { email: 'orders@shop.example' },
      subject: 'Order 1042 is now SHIPPED',
      personalizations: [{ to: [{ email: 'jane@example.com' }] }],
      content: [
        { type: 'text/plain', value: 'Order 1042 is now SHIPPED. Leaves the warehouse today.' },
        { type: 'text/html', value: '<p>Order 1042 is now <strong>SHIPPED</strong>. Leaves the warehouse today.</p>' },
      ],
      custom_args: { herald_message_id: '0190f2a4-0000-7000-8000-000000000001' },
    });
    expect(req.status).toBe(202);
    expect(req.messageId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(result).toEqual({ ok: true, providerMessageId: req.messageId });
  });

  it('sends only a text part when there is no HTML', async () => {
    const result = await sendgridFor(settings).send(message({ htmlBody: null }), emailGateway());
    expect(result.ok).toBe(true);
    expect(fake.requests[0].body?.content).toEqual([
      { type: 'text/plain', value: 'Order 1042 is now SHIPPED. Leaves the warehouse today.' },
    ]);
  });

  it("sends each gateway's mail with that gateway's own key and sender, in parallel", async () => {
    const sendgrid = sendgridFor(settings);
    const sends = [];
    for (let i = 0; i < 5; i++) {
      sends.push(sendgrid.send(message({ id: `a-${i}`, destination: `a${i}@example.com` }), emailGateway(apiKey, 'orders@shop-a.example')));
      sends.push(
        sendgrid.send(message({ id: `b-${i}`, destination: `b${i}@example.com` }), emailGateway(otherApiKey, 'news@shop-b.example')),
      );
    }
    const results = await Promise.all(sends);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(fake.requests).toHaveLength(10);
    for (const req of fake.requests) {
      const to = req.body!.personalizations![0].to![0].email!;
      const tenantA = to.startsWith('a');
      expect(req.authKey).toBe(tenantA ? apiKey : otherApiKey);
      expect(req.body!.from).toEqual({ email: tenantA ? 'orders@shop-a.example' : 'news@shop-b.example' });
      expect(req.body!.custom_args).toEqual({ herald_message_id: `${tenantA ? 'a' : 'b'}-${to.slice(1, 2)}` });
    }
    // Each answer's X-Message-Id went back to the send that made it.
    expect(new Set(results.map((r) => (r.ok ? r.providerMessageId : '')))).toEqual(new Set(fake.requests.map((r) => r.messageId)));
  });

  it('fails an e-mail without a subject permanently and sends nothing', async () => {
    for (const subject of [null, undefined, '', '  ']) {
      expect(await sendgridFor(settings).send(message({ subject }), emailGateway())).toEqual({
        ok: false,
        kind: 'permanent',
        code: 'MISSING_SUBJECT',
        message: 'an e-mail needs a subject',
      });
    }
    expect(fake.requests).toHaveLength(0);
  });

  it('retries when SendGrid answers 503, and the SDK does not retry on its own', async () => {
    fake.failNext(1, { status: 503 });
    const sendgrid = sendgridFor(settings);
    expect(await sendgrid.send(message(), emailGateway())).toEqual({
      ok: false,
      kind: 'transient',
      code: '503',
      message: 'SendGrid is unavailable (HTTP 503): Service Unavailable',
    });
    expect(fake.requests).toHaveLength(1);
    expect((await sendgrid.send(message(), emailGateway())).ok).toBe(true);
  });

  it('reports a rate limit with the time from X-RateLimit-Reset', async () => {
    const reset = Math.floor(Date.now() / 1000) + 90;
    fake.failNext(1, { status: 429, rateLimitReset: reset });
    const result = await sendgridFor(settings).send(message(), emailGateway());
    expect(result).toEqual({
      ok: false,
      kind: 'rate_limited',
      code: '429',
      message: 'SendGrid rate limit: too many requests',
      retryAt: new Date(reset * 1000),
    });
    expect(fake.requests).toHaveLength(1);
  });

  it("fails a bad request permanently with SendGrid's first error message", async () => {
    const result = await sendgridFor(settings).send(message({ destination: 'jane-at-example.com' }), emailGateway());
    expect(fake.requests[0].status).toBe(400);
    expect(result).toEqual({ ok: false, kind: 'permanent', code: '400', message: 'Does not contain a valid address.' });
  });

  it('fails an unverified sender permanently, with addresses masked', async () => {
    fake.failNext(1, { status: 403, message: 'The from address orders@shop.example does not match a verified Sender Identity.' });
    const result = await sendgridFor(settings).send(message(), emailGateway());
    expect(result).toEqual({
      ok: false,
      kind: 'permanent',
      code: '403',
      message: 'The from address o***@shop.example does not match a verified Sender Identity.',
      // The gateway's own sender: another gateway may well send it.
      aboutGateway: true,
    });
  });

  it('fails a message too large permanently', async () => {
    fake.failNext(1, { status: 413 });
    expect(await sendgridFor(settings).send(message(), emailGateway())).toEqual({
      ok: false,
      kind: 'permanent',
      code: '413',
      message: 'The JSON payload you have included in your request is too large.',
    });
  });

  it('fails a refused key permanently, without the key in the result', async () => {
    const wrongKey = fakeSendgridKey();
    const result = await sendgridFor(settings).send(message(), emailGateway(wrongKey));
    expect(fake.requests[0].authKey).toBe(wrongKey);
    expect(result).toEqual({
      ok: false,
      kind: 'permanent',
      code: '401',
      message: 'The provided authorization grant is invalid, expired, or revoked',
      aboutGateway: true,
    });
    expect(JSON.stringify(result)).not.toContain(wrongKey.slice(3));
  });

  it('retries when nothing listens at the SendGrid address', async () => {
    const closedPort = await freePort();
    const result = await sendgridFor({ ...settings, baseUrls: { sendgrid: `http://127.0.0.1:${closedPort}` } }).send(
      message(),
      emailGateway(),
    );
    expect(result).toMatchObject({ ok: false, kind: 'transient', code: 'ECONNREFUSED' });
    expect(JSON.stringify(result)).not.toContain(apiKey.slice(3));
  });

  it('retries when SendGrid answers later than the timeout', async () => {
    fake.delayMs = 1_500;
    const started = Date.now();
    const result = await sendgridFor({ ...settings, timeoutMs: 300 }).send(message(), emailGateway());
    expect(result).toEqual({ ok: false, kind: 'transient', code: 'ETIMEDOUT', message: 'SendGrid did not answer in time' });
    expect(Date.now() - started).toBeLessThan(1_400);
  });

  it('keeps the documented path when the base URL has one of its own', async () => {
    const result = await sendgridFor({ ...settings, baseUrls: { sendgrid: `${fake.url}/relay/` } }).send(message(), emailGateway());
    expect(result.ok).toBe(true);
    expect(fake.requests[0].path).toBe(MAIL_SEND_PATH);
  });

  it('fails a gateway without credentials permanently and sends nothing', async () => {
    const result = await sendgridFor(settings).send(message(), { id: 'gw', provider: 'SENDGRID', credentials: null });
    expect(result).toMatchObject({ ok: false, kind: 'permanent', code: 'GATEWAY_MISCONFIGURED' });
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses channels other than e-mail and sends nothing', async () => {
    const result = await sendgridFor(settings).send(message({ channel: 'SMS', destination: '+14155550123' }), emailGateway());
    expect(result).toMatchObject({ ok: false, kind: 'permanent', code: 'UNSUPPORTED_CHANNEL' });
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
