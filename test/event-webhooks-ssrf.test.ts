// Endpoints that point into Herald's own network, made while HERALD_WEBHOOK_ALLOW_PRIVATE
// was on, are refused at delivery once it is off: the addresses are checked at every
// delivery (a name is resolved and each address it has checked), not only when the
// endpoint is saved. Nothing reaches the receiver; each attempt says why.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecipient, buildTenant } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { waitUntil } from './helpers/wait.js';
import { startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.js';

const CREATE = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { id } userErrors { field message code } } }`;
const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } userErrors { code } } }`;
const DELIVERIES = `query($filter: WebhookDeliveryFilter) {
  webhookDeliveries(filter: $filter, first: 100) { edges { node { outcome statusCode error nextAttemptAt endpoint { id url } } } } }`;

let herald: TestHerald;
let receiver: WebhookReceiver;
const env = { HERALD_SECRET_KEY: randomBytes(32).toString('hex'), HERALD_WEBHOOK_RETRY_BASE_MS: '60000' };

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  herald = await startTestHerald({ env: { ...env, HERALD_WEBHOOK_ALLOW_PRIVATE: 'true' } });
});
afterAll(async () => {
  await herald?.stop();
  await receiver?.close();
});

describe('with HERALD_WEBHOOK_ALLOW_PRIVATE off', () => {
  it('refuses at delivery a name resolving to 127.0.0.1, a loopback address and the metadata address', async () => {
    const { adminKey } = await buildTenant(herald);
    const port = new URL(receiver.url).port;
    const urls = [`http://localhost:${port}/hook`, `http://127.0.0.1:${port}/hook`, 'http://169.254.169.254/latest/meta-data/'];
    for (const url of urls) {
      const made = ok(await herald.gql(CREATE, { input: { url, eventTypes: ['MESSAGE_QUEUED'] } }, adminKey)).createWebhookEndpoint;
      expect(made.userErrors).toEqual([]);
    }
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550123' }, adminKey);
    herald = await herald.restart({ ...env, HERALD_WEBHOOK_ALLOW_PRIVATE: 'false' });

    const sent = ok(await herald.gql(SEND, { input: { clientId: client.id, message: 'Hi' } }, adminKey)).sendSms;
    expect(sent.userErrors).toEqual([]);
    const deliveries = async () =>
      ok(await herald.gql(DELIVERIES, { filter: { messageId: sent.message.id } }, adminKey)).webhookDeliveries.edges.map(
        (e: { node: unknown }) => e.node,
      );
    await waitUntil('an attempt per endpoint', async () => (await deliveries()).length === 3);
    const attempts = await deliveries();
    for (const attempt of attempts) {
      expect(attempt).toMatchObject({ outcome: 'FAILED', statusCode: null });
      expect(attempt.error).toMatch(/^address not allowed: .*(127\.0\.0\.1|169\.254\.169\.254).* is not a public address/);
      // Retried: an address can change; the endpoint stays enabled until a day of failures.
      expect(attempt.nextAttemptAt).not.toBeNull();
    }
    expect(attempts.map((a: { endpoint: { url: string } }) => a.endpoint.url).sort()).toEqual([...urls].sort());
    expect(receiver.received).toEqual([]);
  });
});
