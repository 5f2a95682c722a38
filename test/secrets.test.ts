// Gateway credentials at rest, as an operator and an attacker with database access see them:
// sealed for their own row (copied onto another, they do not open and the send fails with
// CREDENTIALS_UNREADABLE), replaced through updateGateway, and re-sealed under a new
// HERALD_SECRET_KEY by `--role rotate-secrets` so the old key can be dropped; webhook
// endpoints' signing secrets (current and previous) with them.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DestinationKeys } from '../src/lib/destination-keys.js';
import { fromGlobalId } from '../src/lib/ids.js';
import { fakeSendgridKey, type SendgridFake, startSendgridFake } from './fakes/sendgrid-fake.js';
import { buildRecipient } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { rowsOf } from './helpers/database.js';
import { MAIN, runToExit } from './helpers/process.js';
import { waitForMessageStatus } from './helpers/wait.js';

const KEY_A = randomBytes(32).toString('hex');
const KEY_B = randomBytes(32).toString('hex');
const fingerprint = (hex: string) => createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex').slice(0, 12);

const goodApiKey = fakeSendgridKey();
const otherApiKey = fakeSendgridKey();

const ADD_GATEWAY = `mutation($input: AddChannelGatewayInput!) { addChannelGateway(input: $input) { gateway { id } userErrors { field message code } } }`;
const UPDATE_GATEWAY = `mutation($input: UpdateGatewayInput!) { updateGateway(input: $input) { gateway { id } userErrors { field message code } } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { userErrors { field message code } } }`;
const UPDATE_ORDER = `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) { messages { id } userErrors { code } } }`;
const GET = `query($id: ID!) { message(id: $id) { id status errorCode errorMessage } }`;
const GATEWAYS = `{ gateways(channel: EMAIL) { id name } }`;
const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } secret userErrors { code } } }`;
const ADD_SUPPRESSION = `mutation($input: AddSuppressionInput!) { addSuppression(input: $input) { suppression { id } userErrors { field message code } } }`;
const SUPPRESSIONS = '{ suppressions(filter: { channel: EMAIL }) { edges { node { destination categories } } } }';
const SEND = `mutation($input: SendNotificationInput!) { sendNotification(input: $input) { message { id } userErrors { field code } } }`;
const ROTATE_SECRET = `mutation($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) { secret userErrors { code } } }`;

let sendgridFake: SendgridFake;
let herald: TestHerald;
let sendgridEnv: Record<string, string>;

beforeAll(async () => {
  sendgridFake = await startSendgridFake({ apiKeys: [goodApiKey, otherApiKey] });
  sendgridEnv = { SENDGRID_API_BASE_URL: sendgridFake.url, HERALD_RETRY_MAX_ATTEMPTS: '2', HERALD_RETRY_BASE_MS: '50' };
  herald = await startTestHerald({ env: { ...sendgridEnv, HERALD_SECRET_KEY: KEY_A } });
});
afterAll(async () => {
  // A failed rotation test may leave the server closed: the database is dropped either way.
  await herald?.stop().catch(() => herald.database.drop());
  await sendgridFake?.close();
});

const credentials = (apiKey: string, from = 'orders@shop.example.com') => JSON.stringify({ apiKey, from });

async function addGateway(name: string, apiKey: string): Promise<string> {
  const payload = ok(
    await herald.gql(ADD_GATEWAY, {
      input: { channel: 'EMAIL', provider: 'SENDGRID', name, makeDefault: false, credentials: credentials(apiKey) },
    }),
  ).addChannelGateway;
  expect(payload.userErrors).toEqual([]);
  return payload.gateway.id;
}

const sqlOf = async (query: ReturnType<typeof sql>) => rowsOf(await herald.services.db.execute(query));
const uuid = (gatewayId: string) => fromGlobalId(gatewayId, 'Gateway')!.uuid;

/** An order e-mail sent through `gatewayId`; resolves with the message once it is SENT or FAILED. */
async function sendThrough(gatewayId: string) {
  const email = `r${randomBytes(4).toString('hex')}@example.com`;
  const person = await buildRecipient(herald, { kind: 'CUSTOMER', email });
  expect(ok(await herald.gql(SUBSCRIBE, { input: { recipientId: person.id, channel: 'EMAIL', gatewayId } })).subscribe.userErrors).toEqual(
    [],
  );
  const payload = ok(
    await herald.gql(UPDATE_ORDER, {
      input: { orderId: `ord-${randomBytes(3).toString('hex')}`, customerId: person.id, status: 'SHIPPED' },
    }),
  ).updateOrderStatus;
  expect(payload.userErrors).toEqual([]);
  const get = async (id: string) => ok(await herald.gql(GET, { id })).message;
  const message = await waitForMessageStatus(get, payload.messages[0].id, ['SENT', 'FAILED']);
  const request = sendgridFake.requests.find((r) => r.body?.personalizations?.some((p) => p.to?.some((t) => t.email === email)));
  return { message, apiKeyUsed: request?.authKey ?? null };
}

describe('credentials bound to their gateway', () => {
  it("credentials copied onto another gateway's row do not open: the send fails with CREDENTIALS_UNREADABLE and a clear log", async () => {
    const source = await addGateway('source', goodApiKey);
    const target = await addGateway('target', otherApiKey);
    await herald.services.db.execute(
      sql`update gateways set credentials = (select credentials from gateways where id = ${uuid(source)}) where id = ${uuid(target)}`,
    );

    const { message, apiKeyUsed } = await sendThrough(target);
    expect(message.status).toBe('FAILED');
    expect(message.errorCode).toBe('CREDENTIALS_UNREADABLE');
    expect(message.errorMessage).toMatch(/gateway "target" credentials cannot be read: .*sealed for another gateway/);
    expect(apiKeyUsed).toBeNull(); // nothing reached SendGrid, in particular not with the copied key
    expect(herald.logs.some((l) => l.includes('CREDENTIALS_UNREADABLE'))).toBe(true);
    // The server carries on; the source gateway still sends with its own credentials.
    expect((await sendThrough(source)).apiKeyUsed).toBe(goodApiKey);
  });

  it('updateGateway replaces the credentials: the next send uses the new ones', async () => {
    const gateway = await addGateway('replaced', otherApiKey);
    expect((await sendThrough(gateway)).apiKeyUsed).toBe(otherApiKey);

    const bad = ok(
      await herald.gql(UPDATE_GATEWAY, { input: { id: gateway, credentials: JSON.stringify({ apiKey: goodApiKey }) } }),
    ).updateGateway;
    expect(bad.userErrors).toEqual([
      { field: ['input', 'credentials'], code: 'INVALID_INPUT', message: 'credentials miss from (non-empty strings)' },
    ]);

    const payload = ok(await herald.gql(UPDATE_GATEWAY, { input: { id: gateway, credentials: credentials(goodApiKey) } })).updateGateway;
    expect(payload.userErrors).toEqual([]);
    const { message, apiKeyUsed } = await sendThrough(gateway);
    expect(message.status).toBe('SENT');
    expect(apiKeyUsed).toBe(goodApiKey);
    expect(herald.logs.join('\n')).not.toContain(goodApiKey);
  });
});

describe('npm run rotate-secrets', () => {
  it('re-seals every credential under the new key (old-format ones too), so the old key can be dropped', async () => {
    const gateway = await addGateway('rotated', goodApiKey);
    // A value sealed before values were bound to their row (v1: no associated data).
    const legacy = await addGateway('legacy', goodApiKey);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', Buffer.from(KEY_A, 'hex'), iv);
    const body = Buffer.concat([cipher.update(credentials(goodApiKey), 'utf8'), cipher.final()]);
    const v1 = ['v1', fingerprint(KEY_A), iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join(':');
    await herald.services.db.execute(sql`update gateways set credentials = ${v1} where id = ${uuid(legacy)}`);
    expect((await sendThrough(legacy)).message.status).toBe('SENT');
    // A webhook endpoint whose secret was rotated: a current and a previous secret, both sealed under the old key.
    const created = ok(
      await herald.gql(CREATE_ENDPOINT, { input: { url: 'https://hooks.example.com/in', eventTypes: ['MESSAGE_SENT'] } }),
    ).createWebhookEndpoint;
    expect(created.userErrors).toEqual([]);
    const endpoint = created.endpoint.id as string;
    const rotated = ok(await herald.gql(ROTATE_SECRET, { input: { id: endpoint } })).rotateWebhookSecret;
    expect(rotated.userErrors).toEqual([]);
    const webhookSecrets = [rotated.secret as string, created.secret as string];

    // Suppressed addresses, found by a hash under the old key: one listed again under the new
    // key since (as a second process could have), with other categories.
    for (const [destination, categories] of [
      ['Kept.Out@Example.com', ['TRANSACTIONAL', 'MARKETING']],
      ['twice@example.com', ['TRANSACTIONAL']],
    ] as const) {
      expect(
        ok(await herald.gql(ADD_SUPPRESSION, { input: { channel: 'EMAIL', destination, categories } })).addSuppression.userErrors,
      ).toEqual([]);
    }

    // The new key in place, the old one still readable; rotation runs while Herald is
    // stopped (PGlite admits one process).
    herald = await herald.restart({ ...sendgridEnv, HERALD_SECRET_KEY: KEY_B, HERALD_SECRET_KEY_PREVIOUS: KEY_A });
    const underB = new DestinationKeys(Buffer.from(KEY_B, 'hex')).hash('twice@example.com');
    await herald.services.db
      .execute(sql`insert into suppressions (id, tenant_id, channel, destination, destination_hash, source, categories, created_at)
      select gen_random_uuid(), tenant_id, channel, destination, ${underB}, source, '{MARKETING}', now() from suppressions where destination = 'twice@example.com'`);
    const reboot = async (env: Record<string, string>) => {
      herald = await startTestHerald({ database: herald.database, env: { ...sendgridEnv, ...env } });
    };
    const env = { ...herald.database.env, HERALD_SECRET_KEY: KEY_B, HERALD_SECRET_KEY_PREVIOUS: KEY_A };
    const rotate = async () => {
      const run = await runToExit(process.execPath, [MAIN, '--role', 'rotate-secrets'], env);
      const lines = run.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
      return { ...run, lines, summary: lines.find((l) => 'resealed' in l) };
    };
    await herald.close();

    // The credentials copied onto "target" (first test) do not open: named, and exit 1 so the old key is kept.
    const refused = await rotate();
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.lines.find((l) => l.gateway === 'target')?.msg).toBe('gateway credentials do not open; left as they are');
    expect(refused.summary).toMatchObject({ unreadable: 1, msg: expect.stringMatching(/keep HERALD_SECRET_KEY_PREVIOUS/) });
    // The others were re-sealed meanwhile: source, replaced, rotated, legacy, and the endpoint's two secrets.
    expect(refused.summary.resealed).toBe(6);
    expect(refused.summary.webhookEndpoints).toEqual({ resealed: 2, current: 0, unreadable: 0 });
    // Both old-key entries hashed again: one moved, one merged into its new-key twin.
    expect(refused.summary.suppressions).toEqual({ rehashed: 2, current: 1, hashOnly: 0 });

    // The operator replaces them, and rotation completes.
    await reboot({ HERALD_SECRET_KEY: KEY_B, HERALD_SECRET_KEY_PREVIOUS: KEY_A });
    const target = ok(await herald.gql(GATEWAYS)).gateways.find((g: { name: string }) => g.name === 'target').id;
    expect(
      ok(await herald.gql(UPDATE_GATEWAY, { input: { id: target, credentials: credentials(otherApiKey) } })).updateGateway.userErrors,
    ).toEqual([]);
    await herald.close();
    const done = await rotate();
    expect(done.code, done.stdout + done.stderr).toBe(0);
    // Nothing left to re-seal: "target" was sealed under the new key by updateGateway.
    expect(done.summary).toMatchObject({
      resealed: 0,
      current: 7,
      unreadable: 0,
      webhookEndpoints: { resealed: 0, current: 2, unreadable: 0 },
      suppressions: { rehashed: 0, current: 2, hashOnly: 0 },
      msg: expect.stringMatching(/HERALD_SECRET_KEY_PREVIOUS can be dropped/),
    });
    for (const secret of [goodApiKey, ...webhookSecrets]) {
      expect(done.stdout + done.stderr + refused.stdout + refused.stderr).not.toContain(secret);
    }

    // The old key dropped: every gateway still opens.
    await reboot({ HERALD_SECRET_KEY: KEY_B });
    const stored = await sqlOf(sql`select credentials from gateways where credentials is not null`);
    expect(stored.every((r) => String(r.credentials).startsWith(`v2:${fingerprint(KEY_B)}:`))).toBe(true);
    const [sealed] = await sqlOf(sql`select tenant_id, secret, previous_secret from webhook_endpoints`);
    expect([sealed.secret, sealed.previous_secret].every((s) => String(s).startsWith(`v2:${fingerprint(KEY_B)}:`))).toBe(true);
    // Both secrets still open, under the new key alone, and still sign.
    const row = (await herald.services.webhookEndpoints.get(String(sealed.tenant_id), endpoint))!;
    expect(herald.services.webhookEndpoints.signingSecrets(row)).toEqual(webhookSecrets);
    for (const id of [gateway, legacy]) {
      const { message, apiKeyUsed } = await sendThrough(id);
      expect(message.status).toBe('SENT');
      expect(apiKeyUsed).toBe(goodApiKey);
    }
    expect((await sendThrough(target)).apiKeyUsed).toBe(otherApiKey);

    // The suppressions still hold under the new key alone, the merged one with both categories.
    const person = await buildRecipient(herald, { kind: 'CUSTOMER', email: 'kept.out@example.com' });
    const refusedSend = ok(
      await herald.gql(SEND, { input: { recipientId: person.id, channel: 'EMAIL', subject: 'Hello', body: 'Still there?' } }),
    ).sendNotification;
    expect(refusedSend).toEqual({ message: null, userErrors: [{ field: ['input', 'recipientId'], code: 'RECIPIENT_SUPPRESSED' }] });
    const listed = ok(await herald.gql(SUPPRESSIONS)).suppressions.edges.map((e: { node: unknown }) => e.node);
    expect(listed).toHaveLength(2);
    expect(listed).toContainEqual({ destination: 't***@example.com', categories: ['TRANSACTIONAL', 'MARKETING'] });
  }, 180_000);
});
