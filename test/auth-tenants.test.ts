// Authentication, roles, tenants and tenant isolation, seen through the HTTP API.
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApiKey, buildRecipient, buildTenant, RECIPIENT_FIELDS } from './helpers/factories.js';
import { type GqlResult, ok, startTestHerald, type TestHerald } from './helpers/herald.js';

let herald: TestHerald;
beforeAll(async () => {
  herald = await startTestHerald();
});
afterAll(() => herald?.stop());

/** A raw POST /graphql with exactly the headers given. */
async function post(query: string, headers: Record<string, string> = {}): Promise<GqlResult & { body: Record<string, unknown> }> {
  const response = await fetch(`${herald.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  return { status: response.status, ...(body as Omit<GqlResult, 'status'>), body };
}

function expectCode(result: GqlResult, code: string) {
  expect(result.errors?.length, JSON.stringify(result)).toBeGreaterThan(0);
  expect(result.errors?.[0].extensions?.code).toBe(code);
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const rowsOf = (result: unknown) => (result as { rows: Record<string, unknown>[] }).rows;

const CREATE_RECIPIENT = `mutation($input: CreateRecipientInput!) {
  createRecipient(input: $input) { recipient { id } userErrors { field message code } }
}`;
const UPDATE_RECIPIENT = `mutation($input: UpdateRecipientInput!) {
  updateRecipient(input: $input) { recipient { id displayName } userErrors { field message code } }
}`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) {
  subscribe(input: $input) { recipient { id subscriptions { channel gateway { id } } } userErrors { field message code } }
}`;
const CREATE_API_KEY = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key userErrors { field message code } } }`;
const CREATE_TENANT = `mutation($input: CreateTenantInput!) {
  createTenant(input: $input) { tenant { id name } adminKey userErrors { field message code } }
}`;
const ADD_GATEWAY = `mutation($input: AddChannelGatewayInput!) {
  addChannelGateway(input: $input) { gateway { id } userErrors { field message code } }
}`;
const CHANNELS = '{ channels { channel gateways { id name provider isDefault enabled } } }';

const recipientCount = async (key?: string) =>
  ok(await herald.gql('{ recipients { totalCount } }', undefined, key)).recipients.totalCount as number;

describe('authentication', () => {
  it('answers a request without an Authorization header with 401 UNAUTHENTICATED and no data', async () => {
    const result = await post('{ viewer { id name } }');
    expect(result.status).toBe(401);
    expectCode(result, 'UNAUTHENTICATED');
    expect(result.body).not.toHaveProperty('data');
  });

  it('refuses a mutation without a key, and it changes nothing', async () => {
    const before = await recipientCount();
    const response = await fetch(`${herald.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: CREATE_RECIPIENT, variables: { input: { kind: 'CLIENT', displayName: 'Sneaky' } } }),
    });
    const body = (await response.json()) as GqlResult;
    expect(response.status).toBe(401);
    expect(body.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(body).not.toHaveProperty('data');
    expect(await recipientCount()).toBe(before);
  });

  it.each([
    ['an unknown key', 'Bearer hrld_thisKeyWasNeverIssuedByHerald0000000000000000'],
    ['a Basic header', 'Basic x'],
    ['"Bearer" with nothing after it', 'Bearer'],
    ['"Bearer " with only spaces', 'Bearer   '],
    ['a key with a space inside', `Bearer a b`],
  ])('answers %s with 401 UNAUTHENTICATED and no data', async (_name, authorization) => {
    const result = await post('{ viewer { id name } }', { authorization });
    expect(result.status).toBe(401);
    expectCode(result, 'UNAUTHENTICATED');
    expect(result.body).not.toHaveProperty('data');
  });

  it('refuses the bootstrap key sent without "Bearer"', async () => {
    const result = await post('{ viewer { id } }', { authorization: herald.adminKey });
    expect(result.status).toBe(401);
    expectCode(result, 'UNAUTHENTICATED');
    expect(result.body).not.toHaveProperty('data');
  });

  it('accepts the scheme in any case', async () => {
    const result = await post('{ viewer { id } }', { authorization: `bearer ${herald.adminKey}` });
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    expect(result.data.viewer.id).toMatch(/^tnt_/);
  });

  it('serves introspection without a key, so GraphiQL can load the schema', async () => {
    const result = await post('{ __schema { queryType { name } } }');
    expect(result.status).toBe(200);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('treats GET /graphql the same: introspection without a key, data only with one', async () => {
    const get = async (query: string, key?: string) => {
      const response = await fetch(`${herald.url}/graphql?query=${encodeURIComponent(query)}`, {
        headers: key ? { authorization: `Bearer ${key}` } : {},
      });
      return { status: response.status, body: (await response.json()) as Record<string, any> };
    };
    expect(await get('{ __schema { queryType { name } } }')).toEqual({
      status: 200,
      body: { data: { __schema: { queryType: { name: 'Query' } } } },
    });
    const refused = await get('{ viewer { id } }');
    expect(refused.status).toBe(401);
    expect(refused.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(refused.body).not.toHaveProperty('data');
    const allowed = await get('{ viewer { id } }', herald.adminKey);
    expect(allowed.status).toBe(200);
    expect(allowed.body.data.viewer.id).toMatch(/^tnt_/);
  });

  it.each([
    ['__typename next to viewer', '{ __typename viewer { id } }'],
    ['viewer behind a fragment', '{ __typename ...F } fragment F on Query { viewer { id } }'],
    ['viewer behind an inline fragment', '{ __typename ... on Query { viewer { id } } }'],
    ['__schema next to recipients', '{ __schema { queryType { name } } r: recipients { totalCount } }'],
  ])('refuses introspection mixed with data without a key: %s', async (_name, query) => {
    const result = await post(query);
    expect(result.status).toBe(401);
    expectCode(result, 'UNAUTHENTICATED');
    expect(result.body).not.toHaveProperty('data');
  });
});

describe('roles', () => {
  it('lets a READER read, but not create a recipient (FORBIDDEN, nothing stored)', async () => {
    const reader = await buildApiKey(herald, 'READER');
    const viewer = ok(await herald.gql('{ viewer { id name } }', undefined, reader)).viewer;
    const adminViewer = ok(await herald.gql('{ viewer { id name } }')).viewer;
    expect(viewer).toEqual(adminViewer);
    await buildRecipient(herald, { displayName: 'Readable' });
    const before = await recipientCount(reader);
    expect(before).toBeGreaterThan(0);

    const result = await herald.gql(CREATE_RECIPIENT, { input: { kind: 'CLIENT', displayName: 'Not allowed' } }, reader);
    expectCode(result, 'FORBIDDEN');
    expect(result.data?.createRecipient ?? null).toBeNull();
    expect(await recipientCount(reader)).toBe(before);
    expect(await recipientCount()).toBe(before);
  });

  it('refuses a READER subscribe and updateRecipient with FORBIDDEN, leaving the recipient as it was', async () => {
    const reader = await buildApiKey(herald, 'READER');
    const recipient = await buildRecipient(herald, { displayName: 'Untouched', phone: '+14155550170' });
    expectCode(await herald.gql(UPDATE_RECIPIENT, { input: { id: recipient.id, displayName: 'Changed' } }, reader), 'FORBIDDEN');
    expectCode(await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS' } }, reader), 'FORBIDDEN');
    const stored = ok(
      await herald.gql(`query($id: ID!) { recipient(id: $id) { displayName subscriptions { channel } } }`, { id: recipient.id }),
    ).recipient;
    expect(stored).toEqual({ displayName: 'Untouched', subscriptions: [] });
  });

  it('lets a SENDER create and subscribe recipients, but not create keys or gateways', async () => {
    const sender = await buildApiKey(herald, 'SENDER');
    const recipient = await buildRecipient(herald, { displayName: 'By sender', phone: '+14155550171' }, sender);
    const subscribed = ok(await herald.gql(SUBSCRIBE, { input: { recipientId: recipient.id, channel: 'SMS' } }, sender)).subscribe;
    expect(subscribed.userErrors).toEqual([]);
    expect(subscribed.recipient.subscriptions).toEqual([{ channel: 'SMS', gateway: { id: expect.stringMatching(/^gw_/) } }]);

    const keysBefore = rowsOf(await herald.services.db.execute(sql`select count(*)::int as n from api_keys`))[0].n;
    const keyResult = await herald.gql(CREATE_API_KEY, { input: { name: 'escalation', role: 'ADMIN' } }, sender);
    expectCode(keyResult, 'FORBIDDEN');
    expect(keyResult.data?.createApiKey ?? null).toBeNull();
    expect(rowsOf(await herald.services.db.execute(sql`select count(*)::int as n from api_keys`))[0].n).toBe(keysBefore);

    const gatewaysBefore = ok(await herald.gql(CHANNELS)).channels;
    const gatewayResult = await herald.gql(ADD_GATEWAY, { input: { channel: 'SMS', provider: 'SANDBOX', name: 'sender-made' } }, sender);
    expectCode(gatewayResult, 'FORBIDDEN');
    expect(gatewayResult.data?.addChannelGateway ?? null).toBeNull();
    expect(ok(await herald.gql(CHANNELS)).channels).toEqual(gatewaysBefore);
  });

  it('lets an ADMIN create a random hrld_ key that works at once', async () => {
    const first = ok(await herald.gql(CREATE_API_KEY, { input: { name: 'ci', role: 'SENDER' } })).createApiKey;
    const second = ok(await herald.gql(CREATE_API_KEY, { input: { name: 'ci', role: 'SENDER' } })).createApiKey;
    expect(first.userErrors).toEqual([]);
    for (const key of [first.key, second.key]) expect(key).toMatch(/^hrld_[A-Za-z0-9_-]{43,}$/);
    expect(first.key).not.toBe(second.key);

    const viewer = ok(await herald.gql('{ viewer { id } }', undefined, first.key)).viewer;
    expect(viewer).toEqual(ok(await herald.gql('{ viewer { id } }')).viewer);
    // And with its role: a SENDER may create a recipient at once.
    await buildRecipient(herald, { displayName: 'New key works' }, first.key);
  });

  it('refuses an API key with an empty name as INVALID_INPUT', async () => {
    const result = ok(await herald.gql(CREATE_API_KEY, { input: { name: '   ', role: 'READER' } })).createApiKey;
    expect(result).toEqual({ key: null, userErrors: [{ field: ['input', 'name'], message: expect.any(String), code: 'INVALID_INPUT' }] });
  });

  it('stores keys only as their SHA-256 hash', async () => {
    const secret = await buildApiKey(herald, 'READER');
    const all = rowsOf(await herald.services.db.execute(sql`select * from api_keys`));
    expect(all.length).toBeGreaterThan(1);
    for (const row of all) {
      const text = JSON.stringify(row);
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice('hrld_'.length));
      expect(text).not.toContain(herald.adminKey);
    }
    const hashes = rowsOf(await herald.services.db.execute(sql`select key_hash from api_keys`)).map((r) => r.key_hash);
    for (const hash of hashes) expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hashes).toContain(sha256(secret));
    expect(hashes).toContain(sha256(herald.adminKey));
  });

  it('never writes a key to the log', async () => {
    const secret = await buildApiKey(herald, 'ADMIN');
    ok(await herald.gql('{ viewer { id } }', undefined, secret));
    const { adminKey } = await buildTenant(herald);
    const logs = herald.logs.join('');
    expect(logs).not.toContain(secret);
    expect(logs).not.toContain(adminKey);
    expect(logs).not.toContain(herald.adminKey);
  });
});

describe('tenants', () => {
  it('creates a tenant with an ADMIN key and a default SANDBOX gateway on every channel', async () => {
    const result = ok(await herald.gql(CREATE_TENANT, { input: { name: '  Acme Corp ' } })).createTenant;
    expect(result.userErrors).toEqual([]);
    expect(result.tenant).toEqual({ id: expect.stringMatching(/^tnt_[0-9a-f]{32}$/), name: 'Acme Corp' });
    expect(result.adminKey).toMatch(/^hrld_[A-Za-z0-9_-]{43,}$/);

    const { viewer, channels } = ok(await herald.gql(`{ viewer { id name } ${CHANNELS.slice(1, -1)} }`, undefined, result.adminKey));
    expect(viewer).toEqual(result.tenant);
    expect(channels.map((c: any) => c.channel).sort()).toEqual(['EMAIL', 'SMS', 'TWITTER_DM', 'WHATSAPP']);
    for (const channel of channels) {
      expect(channel.gateways, channel.channel).toEqual([
        { id: expect.stringMatching(/^gw_/), name: expect.any(String), provider: 'SANDBOX', isDefault: true, enabled: true },
      ]);
    }
    // Its gateways are its own, not the operator's.
    const operatorIds = ok(await herald.gql(CHANNELS)).channels.flatMap((c: any) => c.gateways.map((g: any) => g.id));
    for (const channel of channels) expect(operatorIds).not.toContain(channel.gateways[0].id);

    // The new tenant starts empty, and its ADMIN key can make keys of its own.
    expect(await recipientCount(result.adminKey)).toBe(0);
    const reader = await buildApiKey(herald, 'READER', result.adminKey);
    expect(ok(await herald.gql('{ viewer { id } }', undefined, reader)).viewer.id).toBe(result.tenant.id);
  });

  it('is for the operator only: a new tenant’s ADMIN and the default tenant’s SENDER get FORBIDDEN', async () => {
    const { adminKey } = await buildTenant(herald);
    const sender = await buildApiKey(herald, 'SENDER');
    const reader = await buildApiKey(herald, 'READER');
    const count = async () => rowsOf(await herald.services.db.execute(sql`select count(*)::int as n from tenants`))[0].n;
    const before = await count();
    for (const key of [adminKey, sender, reader]) {
      const result = await herald.gql(CREATE_TENANT, { input: { name: 'Usurper' } }, key);
      expectCode(result, 'FORBIDDEN');
      expect(result.data?.createTenant ?? null).toBeNull();
    }
    expect(await count()).toBe(before);
  });

  it.each([
    ['an empty', ''],
    ['a blank', '   '],
  ])('refuses %s name with INVALID_INPUT on input.name', async (_name, name) => {
    const result = ok(await herald.gql(CREATE_TENANT, { input: { name } })).createTenant;
    expect(result).toEqual({
      tenant: null,
      adminKey: null,
      userErrors: [{ field: ['input', 'name'], message: expect.any(String), code: 'INVALID_INPUT' }],
    });
  });

  it('refuses a name over 200 characters with INVALID_INPUT on input.name', async () => {
    const result = ok(await herald.gql(CREATE_TENANT, { input: { name: 'n'.repeat(201) } })).createTenant;
    expect(result.tenant).toBeNull();
    expect(result.userErrors).toEqual([{ field: ['input', 'name'], message: expect.any(String), code: 'INVALID_INPUT' }]);
  });
});

describe('tenant isolation', () => {
  let a: { tenant: { id: string; name: string }; adminKey: string };
  let b: { tenant: { id: string; name: string }; adminKey: string };
  let aRecipient: any;
  let aGatewayId: string;

  beforeAll(async () => {
    a = await buildTenant(herald, 'Tenant A');
    b = await buildTenant(herald, 'Tenant B');
    aRecipient = await buildRecipient(
      herald,
      { kind: 'CUSTOMER', displayName: 'Alice of A', phone: '+14155550180', externalRef: 'shared-ref' },
      a.adminKey,
    );
    aGatewayId = ok(await herald.gql('{ gateways(channel: SMS) { id } }', undefined, a.adminKey)).gateways[0].id;
    const subscribed = ok(
      await herald.gql(SUBSCRIBE, { input: { recipientId: aRecipient.id, channel: 'SMS', gatewayId: aGatewayId } }, a.adminKey),
    ).subscribe;
    expect(subscribed.userErrors).toEqual([]);
  });

  const NODE = `query($id: ID!) { recipient(id: $id) { id } node(id: $id) { id } }`;

  it('hides the other tenant’s recipient, gateway and tenant from recipient() and node()', async () => {
    for (const id of [aRecipient.id, aGatewayId, a.tenant.id]) {
      const result = ok(await herald.gql(NODE, { id }, b.adminKey));
      expect(result, id).toEqual({ recipient: null, node: null });
    }
    // The operator's key does not see into tenants either.
    expect(ok(await herald.gql(NODE, { id: aRecipient.id }))).toEqual({ recipient: null, node: null });
    // While each tenant sees its own.
    expect(ok(await herald.gql(NODE, { id: aRecipient.id }, a.adminKey))).toEqual({
      recipient: { id: aRecipient.id },
      node: { id: aRecipient.id },
    });
    expect(ok(await herald.gql(NODE, { id: b.tenant.id }, b.adminKey)).node).toEqual({ id: b.tenant.id });
    expect(ok(await herald.gql(NODE, { id: aGatewayId }, a.adminKey)).node).toEqual({ id: aGatewayId });
  });

  it('lists only the caller’s recipients and gateways', async () => {
    const bRecipient = await buildRecipient(herald, { kind: 'CUSTOMER', displayName: 'Bob of B', externalRef: 'shared-ref' }, b.adminKey);
    const listed = ok(
      await herald.gql(
        `{ all: recipients { totalCount edges { node { id } } } same: recipients(filter: { externalRef: "shared-ref" }) { totalCount edges { node { id } } } }`,
        undefined,
        b.adminKey,
      ),
    );
    expect(listed.all.edges.map((e: any) => e.node.id)).not.toContain(aRecipient.id);
    expect(listed.all.totalCount).toBe(listed.all.edges.length);
    expect(listed.same).toEqual({ totalCount: 1, edges: [{ node: { id: bRecipient.id } }] });

    const bGateways = ok(await herald.gql(`{ gateways { id } ${CHANNELS.slice(1, -1)} }`, undefined, b.adminKey));
    expect(bGateways.gateways.map((g: any) => g.id)).not.toContain(aGatewayId);
    expect(bGateways.channels.flatMap((c: any) => c.gateways.map((g: any) => g.id))).not.toContain(aGatewayId);
  });

  it('cannot update, subscribe or route through the other tenant’s objects, and A’s data stays as it was', async () => {
    const update = ok(
      await herald.gql(UPDATE_RECIPIENT, { input: { id: aRecipient.id, displayName: 'Hijacked', phone: '+14155550199' } }, b.adminKey),
    );
    expect(update.updateRecipient).toEqual({
      recipient: null,
      userErrors: [{ field: ['input', 'id'], message: expect.any(String), code: 'NOT_FOUND' }],
    });

    const bSmsGateway = ok(await herald.gql('{ gateways(channel: SMS) { id } }', undefined, b.adminKey)).gateways[0].id;
    const subscribeA = ok(
      await herald.gql(SUBSCRIBE, { input: { recipientId: aRecipient.id, channel: 'SMS', gatewayId: bSmsGateway } }, b.adminKey),
    );
    expect(subscribeA.subscribe).toEqual({
      recipient: null,
      userErrors: [{ field: ['input', 'recipientId'], message: expect.any(String), code: 'NOT_FOUND' }],
    });
    const subscribeADefault = ok(await herald.gql(SUBSCRIBE, { input: { recipientId: aRecipient.id, channel: 'EMAIL' } }, b.adminKey));
    expect(subscribeADefault.subscribe.userErrors).toEqual([
      { field: ['input', 'recipientId'], message: expect.any(String), code: 'NOT_FOUND' },
    ]);

    const bRecipient = await buildRecipient(herald, { displayName: 'Bob two', phone: '+14155550181' }, b.adminKey);
    const viaA = ok(
      await herald.gql(SUBSCRIBE, { input: { recipientId: bRecipient.id, channel: 'SMS', gatewayId: aGatewayId } }, b.adminKey),
    );
    expect(viaA.subscribe).toEqual({
      recipient: null,
      userErrors: [{ field: ['input', 'gatewayId'], message: expect.any(String), code: 'NOT_FOUND' }],
    });
    const bStored = ok(
      await herald.gql(`query($id: ID!) { recipient(id: $id) { subscriptions { channel } } }`, { id: bRecipient.id }, b.adminKey),
    );
    expect(bStored.recipient.subscriptions).toEqual([]);

    const unsubscribe = ok(
      await herald.gql(
        `mutation($input: UnsubscribeInput!) { unsubscribe(input: $input) { recipient { id } userErrors { field code } } }`,
        { input: { recipientId: aRecipient.id, channel: 'SMS' } },
        b.adminKey,
      ),
    );
    expect(unsubscribe.unsubscribe).toEqual({ recipient: null, userErrors: [{ field: ['input', 'recipientId'], code: 'NOT_FOUND' }] });

    const stored = ok(
      await herald.gql(`query($id: ID!) { recipient(id: $id) { ${RECIPIENT_FIELDS} } }`, { id: aRecipient.id }, a.adminKey),
    ).recipient;
    expect(stored).toEqual({
      ...aRecipient,
      subscriptions: [{ channel: 'SMS', gateway: { id: aGatewayId, name: expect.any(String), provider: 'SANDBOX' } }],
    });
    expect(stored.displayName).toBe('Alice of A');
    expect(stored.phone).toBe('+14155550180');
  });
});

describe('auth cache', () => {
  it('authenticates a warm key without a database round trip', async () => {
    const key = await buildApiKey(herald, 'READER');
    const select = vi.spyOn(herald.services.db, 'select');
    try {
      const callsFor = async () => {
        const before = select.mock.calls.length;
        const result = await herald.gql('{ viewer { id } }', undefined, key);
        expect(result.errors).toBeUndefined();
        return select.mock.calls.length - before;
      };
      const cold = await callsFor();
      const warm = await callsFor();
      expect(cold).toBeGreaterThan(0);
      expect(warm).toBe(cold - 1);
    } finally {
      select.mockRestore();
    }
  });
});
