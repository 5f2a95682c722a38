// Event-webhook endpoints through the real HTTP API: an ADMIN key manages its tenant's
// endpoints; the signing secret is a Standard Webhooks secret, shown once, stored sealed,
// rotated with a day of overlap; URLs that would reach Herald's own network are refused
// unless HERALD_WEBHOOK_ALLOW_PRIVATE is on. Events and deliveries: event-webhooks.test.ts.
import { sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromGlobalId } from '../src/lib/ids.js';
import type { EndpointRow } from '../src/modules/webhooks/webhook-endpoints.queries.js';
import type { UserError } from './helpers/api-types.js';
import { rowsOf } from './helpers/database.js';
import { buildApiKey, buildTenant } from './helpers/factories.js';
import { type GqlResult, ok, startTestHerald, type TestHerald } from './helpers/herald.js';

const FIELDS = 'id url description eventTypes enabled disabledReason createdAt updatedAt';
const USER_ERRORS = 'userErrors { field message code }';
const LIST = `{ webhookEndpoints { ${FIELDS} } }`;
const CREATE = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { ${FIELDS} } secret ${USER_ERRORS} } }`;
const UPDATE = `mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { endpoint { ${FIELDS} } ${USER_ERRORS} } }`;
const DELETE = `mutation($input: DeleteWebhookEndpointInput!) { deleteWebhookEndpoint(input: $input) { deletedId ${USER_ERRORS} } }`;
const ROTATE = `mutation($input: RotateWebhookSecretInput!) {
  rotateWebhookSecret(input: $input) { endpoint { ${FIELDS} } secret ${USER_ERRORS} } }`;
const NODE = `query($id: ID!) { node(id: $id) { id ... on WebhookEndpoint { url } } }`;

// 24 random bytes in base64: 32 characters, no padding.
const SECRET_FORMAT = /^whsec_[A-Za-z0-9+/]{32}$/;
const DAY_MS = 24 * 60 * 60 * 1_000;

interface Endpoint {
  id: string;
  url: string;
  description: string | null;
  eventTypes: string[];
  enabled: boolean;
  disabledReason: string | null;
  createdAt: string;
  updatedAt: string;
}
interface Payload {
  endpoint?: Endpoint | null;
  secret?: string | null;
  deletedId?: string | null;
  userErrors: UserError[];
}

let herald: TestHerald;
/** Started without HERALD_WEBHOOK_ALLOW_PRIVATE, as in production. */
let strict: TestHerald;

beforeAll(async () => {
  [herald, strict] = await Promise.all([
    startTestHerald({ role: 'api', env: { HERALD_WEBHOOK_ALLOW_PRIVATE: 'true' } }),
    startTestHerald({ role: 'api' }),
  ]);
});
afterAll(async () => {
  await Promise.all([herald?.stop(), strict?.stop()]);
});

async function mutate(on: TestHerald, document: string, input: Record<string, unknown>, key?: string): Promise<Payload> {
  return Object.values(ok(await on.gql(document, { input }, key)))[0] as Payload;
}

async function create(input: Record<string, unknown>, key?: string): Promise<{ endpoint: Endpoint; secret: string }> {
  const payload = await mutate(herald, CREATE, input, key);
  expect(payload.userErrors).toEqual([]);
  return { endpoint: payload.endpoint!, secret: payload.secret! };
}

async function list(key?: string): Promise<Endpoint[]> {
  return ok(await herald.gql(LIST, undefined, key)).webhookEndpoints;
}

async function storedRow(id: string): Promise<Record<string, unknown>> {
  const uuid = fromGlobalId(id, 'WebhookEndpoint')!.uuid;
  const [row] = rowsOf(await herald.services.db.execute(sql`select * from webhook_endpoints where id = ${uuid}`));
  return row;
}

/** The row as the service reads it, to ask which secrets it would sign with. */
async function endpointRow(id: string): Promise<EndpointRow> {
  const tenantId = String((await storedRow(id)).tenant_id);
  return (await herald.services.webhookEndpoints.get(tenantId, id))!;
}

function expectCode(result: GqlResult, code: string) {
  expect(
    result.errors?.map((e) => e.extensions?.code),
    JSON.stringify(result),
  ).toEqual([code]);
}

/** A delivery signed with `secret`, as a Standard Webhooks receiver checks it. */
function signedAndVerified(signWith: string, verifyWith: string): unknown {
  const body = JSON.stringify({ type: 'message.delivered', timestamp: new Date().toISOString(), data: { id: 'msg_1' } });
  const at = new Date();
  const headers = {
    'webhook-id': 'evt_1',
    'webhook-timestamp': String(Math.floor(at.getTime() / 1_000)),
    'webhook-signature': new Webhook(signWith).sign('evt_1', at, body),
  };
  return new Webhook(verifyWith).verify(body, headers);
}

describe('an ADMIN key manages its endpoints', () => {
  it('creates an endpoint: enabled, event types once each, and a whsec_ secret shown this once', async () => {
    const { endpoint, secret } = await create({
      url: 'http://127.0.0.1:9/herald',
      eventTypes: ['MESSAGE_DELIVERED', 'MESSAGE_FAILED', 'MESSAGE_DELIVERED'],
      description: '  Partner receiver  ',
    });
    expect(endpoint).toEqual({
      id: expect.stringMatching(/^whe_[0-9a-f]{32}$/),
      url: 'http://127.0.0.1:9/herald',
      description: 'Partner receiver',
      eventTypes: ['MESSAGE_DELIVERED', 'MESSAGE_FAILED'],
      enabled: true,
      disabledReason: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    expect(secret).toMatch(SECRET_FORMAT);

    // Listed and found by node(id), never with its secret: the type has no field for it.
    expect(await list()).toContainEqual(endpoint);
    expect(ok(await herald.gql(NODE, { id: endpoint.id })).node).toEqual({ id: endpoint.id, url: endpoint.url });
    expectCode(await herald.gql('{ webhookEndpoints { id secret } }'), 'GRAPHQL_VALIDATION_FAILED');
    expect(herald.logs.join('\n')).not.toContain(secret);
    expect(herald.logs.join('\n')).not.toContain(secret.slice('whsec_'.length));
  });

  it('stores the secret sealed for its row, never in the clear, and the secret signs as Standard Webhooks says', async () => {
    const { endpoint, secret } = await create({ url: 'https://hooks.example.com/in', eventTypes: ['MESSAGE_SENT'] });
    const row = await storedRow(endpoint.id);
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(secret.slice('whsec_'.length));
    expect(row.secret).toMatch(/^v2:/);
    expect(row.previous_secret).toBeNull();
    expect(herald.services.webhookEndpoints.signingSecrets(await endpointRow(endpoint.id))).toEqual([secret]);

    // Any Standard Webhooks library takes the secret as it is: a signature made with it verifies.
    expect(signedAndVerified(secret, secret)).toMatchObject({ type: 'message.delivered' });
    const other = (await create({ url: 'https://hooks.example.com/other', eventTypes: ['MESSAGE_SENT'] })).secret;
    expect(() => signedAndVerified(other, secret)).toThrow(/signature/i);
  });

  it('updates the URL, event types, description and enabled; enabling clears the reason Herald disabled it for', async () => {
    const { endpoint } = await create({ url: 'https://hooks.example.com/v1', eventTypes: ['MESSAGE_SENT'], description: 'first' });
    const changed = await mutate(herald, UPDATE, {
      id: endpoint.id,
      url: 'https://hooks.example.com/v2',
      eventTypes: ['MESSAGE_QUEUED', 'MESSAGE_CANCELLED', 'MESSAGE_QUEUED'],
      enabled: false,
    });
    expect(changed.userErrors).toEqual([]);
    expect(changed.endpoint).toMatchObject({
      url: 'https://hooks.example.com/v2',
      description: 'first', // not given: kept
      eventTypes: ['MESSAGE_QUEUED', 'MESSAGE_CANCELLED'],
      enabled: false,
      disabledReason: null, // disabled by a user
    });
    expect(Date.parse(changed.endpoint!.updatedAt)).toBeGreaterThanOrEqual(Date.parse(endpoint.updatedAt));

    // As Herald will disable an endpoint that keeps failing.
    const uuid = fromGlobalId(endpoint.id, 'WebhookEndpoint')!.uuid;
    await herald.services.db.execute(
      sql`update webhook_endpoints set enabled = false, disabled_reason = 'failing for 24 hours' where id = ${uuid}`,
    );
    expect((await list()).find((e) => e.id === endpoint.id)).toMatchObject({ enabled: false, disabledReason: 'failing for 24 hours' });
    const enabled = await mutate(herald, UPDATE, { id: endpoint.id, enabled: true, description: '' });
    expect(enabled.endpoint).toMatchObject({ enabled: true, disabledReason: null, description: null });
  });

  it('rotates the secret: a new one shown once, the previous kept sealed and signing until 24 hours from now', async () => {
    const { endpoint, secret: first } = await create({ url: 'https://hooks.example.com/rotate', eventTypes: ['MESSAGE_SENT'] });
    const before = Date.now();
    const rotated = await mutate(herald, ROTATE, { id: endpoint.id });
    expect(rotated.userErrors).toEqual([]);
    expect(rotated.secret).toMatch(SECRET_FORMAT);
    expect(rotated.secret).not.toBe(first);
    expect(rotated.endpoint).toMatchObject({ id: endpoint.id, url: endpoint.url, enabled: true });

    const row = await storedRow(endpoint.id);
    const expiresAt = new Date(row.previous_secret_expires_at as string).getTime();
    expect(expiresAt).toBeGreaterThanOrEqual(before + DAY_MS - 1_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + DAY_MS + 1_000);
    for (const secret of [first, rotated.secret!]) {
      expect(JSON.stringify(row)).not.toContain(secret.slice('whsec_'.length));
      expect(herald.logs.join('\n')).not.toContain(secret);
    }
    expect(row.previous_secret).toMatch(/^v2:/);

    // Both sign during the overlap; after it, the new one alone.
    const sealed = await endpointRow(endpoint.id);
    expect(herald.services.webhookEndpoints.signingSecrets(sealed)).toEqual([rotated.secret, first]);
    expect(herald.services.webhookEndpoints.signingSecrets(sealed, new Date(expiresAt + 1))).toEqual([rotated.secret]);
  });

  it('mends an endpoint whose secret does not open by rotating it, keeping nothing that cannot sign', async () => {
    const { endpoint: donor } = await create({ url: 'https://hooks.example.com/donor', eventTypes: ['MESSAGE_SENT'] });
    const { endpoint } = await create({ url: 'https://hooks.example.com/broken', eventTypes: ['MESSAGE_SENT'] });
    // The donor's sealed secret copied onto this row: bound to the donor's id, it does not open here.
    const [donorUuid, uuid] = [donor.id, endpoint.id].map((id) => fromGlobalId(id, 'WebhookEndpoint')!.uuid);
    await herald.services.db.execute(
      sql`update webhook_endpoints set secret = (select secret from webhook_endpoints where id = ${donorUuid}) where id = ${uuid}`,
    );
    const broken = await endpointRow(endpoint.id);
    expect(() => herald.services.webhookEndpoints.signingSecrets(broken)).toThrow(/sealed for another/);

    const rotated = await mutate(herald, ROTATE, { id: endpoint.id });
    expect(rotated.userErrors).toEqual([]);
    const row = await storedRow(endpoint.id);
    expect(row.previous_secret).toBeNull();
    expect(row.previous_secret_expires_at).toBeNull();
    expect(herald.services.webhookEndpoints.signingSecrets(await endpointRow(endpoint.id))).toEqual([rotated.secret]);
  });

  it('deletes an endpoint: deletedId, gone from the list, and NOT_FOUND the second time', async () => {
    const { endpoint } = await create({ url: 'https://hooks.example.com/gone', eventTypes: ['MESSAGE_FAILED'] });
    const deleted = await mutate(herald, DELETE, { id: endpoint.id });
    expect(deleted).toEqual({ deletedId: endpoint.id, userErrors: [] });
    expect((await list()).map((e) => e.id)).not.toContain(endpoint.id);
    expect(ok(await herald.gql(NODE, { id: endpoint.id })).node).toBeNull();
    for (const document of [DELETE, UPDATE, ROTATE]) {
      const payload = await mutate(herald, document, { id: endpoint.id });
      expect(payload.userErrors).toEqual([{ field: ['input', 'id'], code: 'NOT_FOUND', message: `no webhook endpoint ${endpoint.id}` }]);
    }
  });

  it('refuses what it cannot keep: no event types, a long description, a bad URL, an id of something else', async () => {
    const refused = await mutate(herald, CREATE, { url: 'hooks.example.com', eventTypes: [], description: 'x'.repeat(501) });
    expect(refused).toEqual({
      endpoint: null,
      secret: null,
      userErrors: [
        { field: ['input', 'url'], code: 'INVALID_INPUT', message: expect.stringMatching(/absolute http\(s\) URL/) },
        { field: ['input', 'eventTypes'], code: 'INVALID_INPUT', message: 'give at least one event type' },
        { field: ['input', 'description'], code: 'INVALID_INPUT', message: 'description must be at most 500 characters' },
      ],
    });
    const { endpoint } = await create({ url: 'https://hooks.example.com/keep', eventTypes: ['MESSAGE_SENT'] });
    const bad = await mutate(herald, UPDATE, { id: endpoint.id, url: 'ftp://hooks.example.com/', eventTypes: [] });
    expect(bad.userErrors.map((e) => [e.field, e.code])).toEqual([
      [['input', 'url'], 'INVALID_INPUT'],
      [['input', 'eventTypes'], 'INVALID_INPUT'],
    ]);
    expect((await list()).find((e) => e.id === endpoint.id)).toEqual(endpoint);

    const gatewayId = ok(await herald.gql('{ gateways { id } }')).gateways[0].id;
    for (const id of [gatewayId, 'whe_nonsense']) {
      expect((await mutate(herald, UPDATE, { id, enabled: false })).userErrors).toEqual([
        { field: ['input', 'id'], code: 'NOT_FOUND', message: `no webhook endpoint ${id}` },
      ]);
    }
  });

  it(`refuses a tenant's 21st endpoint with INVALID_STATE`, async () => {
    const { adminKey } = await buildTenant(herald);
    for (let i = 0; i < 20; i++) await create({ url: `https://hooks.example.com/${i}`, eventTypes: ['MESSAGE_SENT'] }, adminKey);
    const refused = await mutate(herald, CREATE, { url: 'https://hooks.example.com/21', eventTypes: ['MESSAGE_SENT'] }, adminKey);
    expect(refused.endpoint).toBeNull();
    expect(refused.secret).toBeNull();
    expect(refused.userErrors).toEqual([{ field: null, code: 'INVALID_STATE', message: expect.stringContaining('at most 20') }]);
    expect(await list(adminKey)).toHaveLength(20);
  });
});

describe('who may manage endpoints', () => {
  it('refuses READER and SENDER keys (FORBIDDEN), storing nothing', async () => {
    const { endpoint } = await create({ url: 'https://hooks.example.com/roles', eventTypes: ['MESSAGE_SENT'] });
    const before = await list();
    for (const role of ['READER', 'SENDER'] as const) {
      const key = await buildApiKey(herald, role);
      expectCode(await herald.gql(LIST, undefined, key), 'FORBIDDEN');
      expectCode(
        await herald.gql(CREATE, { input: { url: 'https://hooks.example.com/x', eventTypes: ['MESSAGE_SENT'] } }, key),
        'FORBIDDEN',
      );
      expectCode(await herald.gql(UPDATE, { input: { id: endpoint.id, enabled: false } }, key), 'FORBIDDEN');
      expectCode(await herald.gql(ROTATE, { input: { id: endpoint.id } }, key), 'FORBIDDEN');
      expectCode(await herald.gql(DELETE, { input: { id: endpoint.id } }, key), 'FORBIDDEN');
      expect(ok(await herald.gql(NODE, { id: endpoint.id }, key)).node).toBeNull();
    }
    expect(await list()).toEqual(before);
  });

  it('keeps tenants apart: another tenant lists none of them and gets NOT_FOUND for each', async () => {
    const { endpoint } = await create({ url: 'https://hooks.example.com/mine', eventTypes: ['MESSAGE_SENT'] });
    const other = (await buildTenant(herald)).adminKey;
    expect(await list(other)).toEqual([]);
    expect(ok(await herald.gql(NODE, { id: endpoint.id }, other)).node).toBeNull();
    for (const document of [UPDATE, ROTATE, DELETE]) {
      const payload = await mutate(herald, document, { id: endpoint.id }, other);
      expect(payload.userErrors).toEqual([{ field: ['input', 'id'], code: 'NOT_FOUND', message: `no webhook endpoint ${endpoint.id}` }]);
    }
    expect((await list()).find((e) => e.id === endpoint.id)).toEqual(endpoint);
  });
});

describe('URLs, with HERALD_WEBHOOK_ALLOW_PRIVATE off', () => {
  const LONG = `https://hooks.example.com/${'a'.repeat(2_048)}`;
  it.each([
    ['http://hooks.example.com/in', 'url must use https'],
    ['https://127.0.0.1/in', 'url must not point at a loopback address (127.0.0.1): Herald only posts to public addresses'],
    ['https://10.0.0.1/in', 'url must not point at a private address (10.0.0.1): Herald only posts to public addresses'],
    [
      'https://169.254.169.254/latest/meta-data/',
      'url must not point at a link-local address (169.254.169.254): Herald only posts to public addresses',
    ],
    ['https://[::1]/in', 'url must not point at a loopback address (::1): Herald only posts to public addresses'],
    ['https://localhost/in', 'url must not point at a local name (localhost): Herald only posts to public addresses'],
    ['https://user:pass@hooks.example.com/in', 'url must not carry a user name or password; the signature authenticates Herald'],
    ['ftp://hooks.example.com/in', 'url must be an http(s) URL, not ftp'],
    ['/herald/in', 'url must be an absolute http(s) URL, e.g. https://hooks.example.com/herald'],
    [LONG, 'url must be at most 2048 characters'],
  ])('refuses %s', async (url, message) => {
    const created = await mutate(strict, CREATE, { url, eventTypes: ['MESSAGE_SENT'] });
    expect(created).toEqual({ endpoint: null, secret: null, userErrors: [{ field: ['input', 'url'], code: 'INVALID_INPUT', message }] });
  });

  it('takes a public https URL, and refuses a private one on update too', async () => {
    const made = await mutate(strict, CREATE, { url: 'https://hooks.example.com/in', eventTypes: ['MESSAGE_SENT'] });
    expect(made.userErrors).toEqual([]);
    const moved = await mutate(strict, UPDATE, { id: made.endpoint!.id, url: 'https://192.168.0.10/in' });
    expect(moved.userErrors).toEqual([
      {
        field: ['input', 'url'],
        code: 'INVALID_INPUT',
        message: 'url must not point at a private address (192.168.0.10): Herald only posts to public addresses',
      },
    ]);
    expect(ok(await strict.gql(LIST)).webhookEndpoints).toEqual([made.endpoint]);
  });
});
