// The API key lifecycle through the HTTP API and graphql-ws: listing (with last use and
// staleness), creating, revoking (refused at once here and within a second on another API
// process on the same PostgreSQL, its WebSockets closed), and the rules around it.
import { sql } from 'drizzle-orm';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { rowsOf, type TestDatabase } from './helpers/database.js';
import { type GqlResult, ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { cutOffListeners } from './helpers/listener-faults.js';
import { createPostgresDatabase } from './helpers/process.js';
import { waitUntil } from './helpers/wait.js';

const KEY_FIELDS = 'id name role createdAt lastUsedAt revokedAt';
const LIST = `query($days: Int) { apiKeys(unusedForDays: $days) { ${KEY_FIELDS} } }`;
const CREATE = `mutation($input: CreateApiKeyInput!) {
  createApiKey(input: $input) { key apiKey { ${KEY_FIELDS} } userErrors { field message code } }
}`;
const REVOKE = `mutation($id: ID!) {
  revokeApiKey(input: { id: $id }) { apiKey { ${KEY_FIELDS} } userErrors { field message code } }
}`;
const CREATE_TENANT = `mutation($name: String!) { createTenant(input: { name: $name }) { tenant { id } adminKey userErrors { code } } }`;
const NODE = `query($id: ID!) { node(id: $id) { __typename id ... on ApiKey { name role } } }`;

interface ApiKeyView {
  id: string;
  name: string;
  role: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

let herald: TestHerald;
const clients: Client[] = [];
beforeAll(async () => {
  herald = await startTestHerald({ role: 'api' });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map(async (c) => c.dispose()));
});
afterAll(() => herald?.stop());

async function createKey(role: string, name = `${role.toLowerCase()} key`, on: TestHerald = herald, adminKey = on.adminKey) {
  const result = ok(await on.gql(CREATE, { input: { name, role } }, adminKey)).createApiKey;
  expect(result.userErrors).toEqual([]);
  return { secret: result.key as string, key: result.apiKey as ApiKeyView };
}

const revoke = async (id: string, key = herald.adminKey, on: TestHerald = herald) => ok(await on.gql(REVOKE, { id }, key)).revokeApiKey;
const listKeys = async (key = herald.adminKey, days?: number): Promise<ApiKeyView[]> => ok(await herald.gql(LIST, { days }, key)).apiKeys;
const status = async (key: string, on: TestHerald = herald) => (await on.gql('{ viewer { id } }', undefined, key)).status;

function expectCode(result: GqlResult, code: string) {
  expect(result.errors?.length, JSON.stringify(result)).toBeGreaterThan(0);
  expect(result.errors?.[0].extensions?.code).toBe(code);
}

/** A new tenant and its first ADMIN key. */
async function newTenant(name: string): Promise<string> {
  const created = ok(await herald.gql(CREATE_TENANT, { name })).createTenant;
  expect(created.userErrors).toEqual([]);
  return created.adminKey;
}

interface Socket {
  connected: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  errors: unknown[];
}

/** An open graphql-ws connection of `key` (not lazy: it connects at once and stays open). */
function openSubscription(baseUrl: string, key: string): Socket {
  let connected!: () => void;
  let closed!: (event: { code: number; reason: string }) => void;
  const socket: Socket = {
    connected: new Promise((resolve) => (connected = resolve)),
    closed: new Promise((resolve) => (closed = resolve)),
    errors: [],
  };
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: (err) => socket.errors.push(err),
    on: {
      connected: () => connected(),
      closed: (event) => closed({ code: (event as { code: number }).code, reason: String((event as { reason: unknown }).reason) }),
    },
  });
  clients.push(client);
  return socket;
}

/**
 * Waits until no statement Herald started is still running: every pooled connection idle
 * (PostgreSQL), or, on PGlite's one connection, a statement queued after them has run.
 */
async function settled(on: TestHerald = herald): Promise<void> {
  const pool = on.handle.pool;
  if (pool) await waitUntil('the pool to be idle', () => pool.waitingCount === 0 && pool.idleCount === pool.totalCount, 10_000, 10);
  await on.services.db.execute(sql`select 1`);
}

async function lastUsedRow(uuidOfKey: string) {
  const [row] = rowsOf(
    await herald.services.db.execute(sql`select last_used_at, xmin::text as version from api_keys where id = ${uuidOfKey}`),
  );
  return row as { last_used_at: Date | string | null; version: string };
}

const uuidOf = (id: string) => {
  const h = id.split('_')[1];
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

describe('listing and creating API keys', () => {
  it("lists the tenant's keys with role, creation and use, never their secrets", async () => {
    const { secret, key } = await createKey('READER', 'dashboard');
    const keys = await listKeys();
    const bootstrapKey = keys.find((k) => k.name === 'HERALD_BOOTSTRAP_ADMIN_KEY');
    expect(bootstrapKey).toMatchObject({ role: 'ADMIN', revokedAt: null });
    expect(bootstrapKey!.id).toMatch(/^key_[0-9a-f]{32}$/);
    expect(keys.find((k) => k.id === key.id)).toEqual(key);
    const body = JSON.stringify(keys);
    expect(body).not.toContain(secret);
    expect(body).not.toContain(herald.adminKey);
  });

  it('createApiKey returns the new key as listed, besides its secret', async () => {
    const before = Date.now();
    const { secret, key } = await createKey('SENDER', '  ci  ');
    expect(secret).toMatch(/^hrld_/);
    expect(key).toMatchObject({ name: 'ci', role: 'SENDER', lastUsedAt: null, revokedAt: null });
    expect(Date.parse(key.createdAt)).toBeGreaterThanOrEqual(before - 5_000);
    expect(await status(secret)).toBe(200);
    // node(id) finds it for an ADMIN key
    expect(ok(await herald.gql(NODE, { id: key.id })).node).toEqual({ __typename: 'ApiKey', id: key.id, name: 'ci', role: 'SENDER' });
  });

  it('refuses READER and SENDER keys: FORBIDDEN for listing and revoking, and node(id) finds no key', async () => {
    const target = (await createKey('READER', 'target')).key;
    for (const role of ['READER', 'SENDER']) {
      const { secret } = await createKey(role);
      expectCode(await herald.gql(LIST, {}, secret), 'FORBIDDEN');
      expectCode(await herald.gql(REVOKE, { id: target.id }, secret), 'FORBIDDEN');
      expect(ok(await herald.gql(NODE, { id: target.id }, secret)).node).toBeNull();
    }
    expect((await listKeys()).find((k) => k.id === target.id)?.revokedAt).toBeNull();
  });

  it('records lastUsedAt on use, without a write per request', async () => {
    const { secret, key } = await createKey('READER', 'used');
    expect((await lastUsedRow(uuidOf(key.id))).last_used_at).toBeNull();

    const firstUse = Date.now();
    expect(await status(secret)).toBe(200);
    await settled();
    const listed = (await listKeys()).find((k) => k.id === key.id)!;
    expect(listed.lastUsedAt).not.toBeNull();
    expect(Date.parse(listed.lastUsedAt!)).toBeGreaterThanOrEqual(firstUse - 5_000);
    const after = await lastUsedRow(uuidOf(key.id));

    for (let i = 0; i < 20; i++) expect(await status(secret)).toBe(200);
    await settled();
    // Same value and same row version: none of the 20 requests wrote the row.
    expect(await lastUsedRow(uuidOf(key.id))).toEqual(after);
  });

  it('lists as stale, with unusedForDays, the live keys not used for that long', async () => {
    const old = await createKey('SENDER', 'old, used long ago');
    const neverUsed = await createKey('READER', 'never used, made long ago');
    const recent = await createKey('READER', 'used today');
    const revokedOld = await createKey('READER', 'old but revoked');
    // The first used 55 days ago, the second made 40 days ago and never used; the third used now.
    await herald.services.db.execute(
      sql`update api_keys set created_at = now() - interval '60 days', last_used_at = now() - interval '55 days' where id = ${uuidOf(old.key.id)}`,
    );
    await herald.services.db.execute(
      sql`update api_keys set created_at = now() - interval '40 days' where id = ${uuidOf(neverUsed.key.id)}`,
    );
    await herald.services.db.execute(
      sql`update api_keys set created_at = now() - interval '60 days' where id = ${uuidOf(revokedOld.key.id)}`,
    );
    expect(await status(recent.secret)).toBe(200);
    expect((await revoke(revokedOld.key.id)).userErrors).toEqual([]);

    const stale = (await listKeys(herald.adminKey, 30)).map((k) => k.name);
    expect(stale).toContain(old.key.name);
    expect(stale).toContain(neverUsed.key.name);
    expect(stale).not.toContain(recent.key.name);
    expect(stale).not.toContain(revokedOld.key.name);
    expect(stale).not.toContain('HERALD_BOOTSTRAP_ADMIN_KEY');
    expect((await listKeys(herald.adminKey, 50)).map((k) => k.name)).toEqual([old.key.name]);
    expectCode(await herald.gql(LIST, { days: 0 }), 'BAD_USER_INPUT');
  });
});

describe('revoking API keys', () => {
  it('refuses a revoked key at once on the same process, lists it as revoked, and answers a second revocation clearly', async () => {
    const { secret, key } = await createKey('SENDER', 'to revoke');
    expect(await status(secret)).toBe(200); // cached now
    const result = await revoke(key.id);
    expect(result.userErrors).toEqual([]);
    expect(result.apiKey).toMatchObject({ id: key.id, name: 'to revoke', role: 'SENDER' });
    expect(result.apiKey.revokedAt).not.toBeNull();

    const refused = await herald.gql('{ viewer { id } }', undefined, secret);
    expect(refused.status).toBe(401);
    expectCode(refused, 'UNAUTHENTICATED');
    expect((await listKeys()).find((k) => k.id === key.id)?.revokedAt).toBe(result.apiKey.revokedAt);

    const again = await revoke(key.id);
    expect(again.apiKey).toBeNull();
    expect(again.userErrors).toEqual([
      { field: ['input', 'id'], code: 'INVALID_STATE', message: expect.stringContaining('already revoked') },
    ]);
  });

  it("answers another tenant's key and a malformed id with NOT_FOUND, and leaves the key working", async () => {
    const otherAdmin = await newTenant('Other tenant');
    const theirs = (await createKey('READER', 'theirs', herald, otherAdmin)).key;
    for (const id of [theirs.id, 'key_123', 'not an id', 'rcp_0000000000007000800000000000abcd', '']) {
      const result = await revoke(id);
      expect(result, id).toEqual({
        apiKey: null,
        userErrors: [{ field: ['input', 'id'], code: 'NOT_FOUND', message: expect.any(String) }],
      });
    }
    expect(ok(await herald.gql(NODE, { id: theirs.id })).node).toBeNull();
    expect((await listKeys()).some((k) => k.id === theirs.id)).toBe(false);
    expect((await listKeys(otherAdmin)).find((k) => k.id === theirs.id)?.revokedAt).toBeNull();
  });

  it("refuses to revoke a tenant's last live ADMIN key, and lets a key revoke itself otherwise", async () => {
    const firstAdmin = await newTenant('Last admin');
    const [first] = await listKeys(firstAdmin);
    const alone = await revoke(first.id, firstAdmin);
    expect(alone.userErrors).toEqual([
      { field: ['input', 'id'], code: 'INVALID_STATE', message: expect.stringContaining('last live ADMIN key') },
    ]);
    expect(await status(firstAdmin)).toBe(200);

    const second = await createKey('ADMIN', 'second admin', herald, firstAdmin);
    const self = await revoke(first.id, firstAdmin); // the calling key revokes itself
    expect(self.userErrors).toEqual([]);
    expect(await status(firstAdmin)).toBe(401);

    const last = await revoke(second.key.id, second.secret);
    expect(last.userErrors[0]?.code).toBe('INVALID_STATE');
    expect(await status(second.secret)).toBe(200);
  });

  it('lets only one of two racing revocations of the last two ADMIN keys through', async () => {
    const a = await newTenant('Race');
    const [aKey] = await listKeys(a);
    const b = await createKey('ADMIN', 'b', herald, a);
    expect(await status(b.secret)).toBe(200);
    // Each key revokes the other at the same moment. The loser is refused as the last ADMIN
    // key, or, if the winner committed before the loser's request was authenticated, with 401.
    const race = (id: string, key: string) => herald.gql(REVOKE, { id }, key);
    const [byA, byB] = await Promise.all([race(b.key.id, a), race(aKey.id, b.secret)]);
    const outcome = (r: GqlResult) =>
      r.status === 401 ? 'UNAUTHENTICATED' : r.data.revokeApiKey.userErrors.length ? r.data.revokeApiKey.userErrors[0].code : 'REVOKED';
    const outcomes = [outcome(byA), outcome(byB)];
    expect(outcomes.filter((o) => o === 'REVOKED')).toHaveLength(1);
    expect(outcomes.filter((o) => o !== 'REVOKED')[0]).toMatch(/^(INVALID_STATE|UNAUTHENTICATED)$/);
    const survivor = outcome(byA) === 'REVOKED' ? a : b.secret;
    const live = (await listKeys(survivor)).filter((k) => k.role === 'ADMIN' && k.revokedAt === null);
    expect(live).toHaveLength(1);
  });

  it("closes the revoked key's open WebSocket connections (4403) and only those", async () => {
    const doomed = await createKey('READER', 'ws doomed');
    const kept = await createKey('READER', 'ws kept');
    const doomedSocket = openSubscription(herald.url, doomed.secret);
    const keptSocket = openSubscription(herald.url, kept.secret);
    await Promise.all([doomedSocket.connected, keptSocket.connected]);

    expect((await revoke(doomed.key.id)).userErrors).toEqual([]);
    const closed = await doomedSocket.closed;
    expect(closed.code).toBe(4403);
    expect(closed.reason).toContain('revoked');

    // The other key's connection is still open: revoking it now closes it too.
    let keptClosed = false;
    void keptSocket.closed.then(() => (keptClosed = true));
    await settled();
    expect(keptClosed).toBe(false);
    expect((await revoke(kept.key.id)).userErrors).toEqual([]);
    expect((await keptSocket.closed).code).toBe(4403);
  });
});

describe('revocation across API processes on one PostgreSQL', () => {
  let database: TestDatabase;
  let a: TestHerald;
  let b: TestHerald;
  beforeAll(async () => {
    database = await createPostgresDatabase('two API processes');
    a = await startTestHerald({ database, role: 'api' });
    b = await startTestHerald({ database, role: 'api' });
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await a?.stop();
  });

  it('refuses the key on the other process within one second and closes its WebSocket there', async () => {
    const { secret, key } = await createKey('SENDER', 'everywhere', a);
    // Warm both processes' caches (30 s lifetimes).
    expect(await status(secret, a)).toBe(200);
    expect(await status(secret, b)).toBe(200);
    const socket = openSubscription(b.url, secret);
    await socket.connected;

    const result = await revoke(key.id, a.adminKey, a);
    const revokedAt = Date.now();
    expect(result.userErrors).toEqual([]);
    expect(await status(secret, a)).toBe(401);
    await waitUntil('the other process to refuse the revoked key', async () => (await status(secret, b)) === 401, 5_000, 20);
    expect(Date.now() - revokedAt).toBeLessThan(1_000);
    expect((await socket.closed).code).toBe(4403);
  });

  it('trusts cached keys for a second only while its listener is down, and closes what was revoked meanwhile once back', async () => {
    const { secret, key } = await createKey('READER', 'revoked while B is deaf', a);
    expect(await status(secret, b)).toBe(200);
    const socket = openSubscription(b.url, secret);
    await socket.connected;

    const cut = await cutOffListeners(database.env.DATABASE_URL);
    try {
      await waitUntil(
        'both listeners to notice',
        () => !a.services.statusHub.listener.isUp && !b.services.statusHub.listener.isUp,
        5_000,
        10,
      );
      // Revoked behind every process's back: no notification reaches anyone.
      await cut.db.query('update api_keys set revoked_at = now() where id = $1', [uuidOf(key.id)]);
      const revokedAt = Date.now();
      await waitUntil('B to refuse the key without a notification', async () => (await status(secret, b)) === 401, 5_000, 20);
      expect(Date.now() - revokedAt).toBeLessThan(1_500);
    } finally {
      await cut.restore();
    }
    // Back: B learns of the revocation it missed and closes the key's connection.
    expect((await socket.closed).code).toBe(4403);
    await waitUntil('both listeners to be back', () => a.services.statusHub.listener.isUp && b.services.statusHub.listener.isUp, 15_000);
  });
});
