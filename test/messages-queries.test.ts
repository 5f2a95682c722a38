// Message and delivery-log queries through the real HTTP API: keyset pagination,
// every filter of the contract, batched nested fields, and masked destinations.
// Every tenant here sends through its SANDBOX SMS gateway, so messages settle fast.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildRecipient, buildTenant } from './helpers/factories.js';
import { type GqlResult, ok, startTestHerald, type TestHerald } from './helpers/herald.js';

let herald: TestHerald;
/** Every response body of a query in this file, for the masking check at the end. */
const responses: string[] = [];
/** Every phone number given to a recipient in this file. */
const phones = new Set<string>();

beforeAll(async () => {
  herald = await startTestHerald();
}, 120_000);
afterAll(() => herald?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function gql<T = any>(query: string, variables: Record<string, unknown> | undefined, key: string): Promise<GqlResult<T>> {
  const result = await herald.gql<T>(query, variables, key);
  responses.push(JSON.stringify(result));
  return result;
}

const SEND = `mutation($input: SendSmsInput!) {
  sendSms(input: $input) { message { id status createdAt destination } userErrors { field message code } }
}`;

interface Sent {
  id: string;
  status: string;
  createdAt: string;
  destination: string;
}

async function sendSms(key: string, clientId: string, message: string, extra: Record<string, unknown> = {}): Promise<Sent> {
  const data = ok(await gql(SEND, { input: { clientId, message, ...extra } }, key));
  if (data.sendSms.userErrors.length) throw new Error(`sendSms refused: ${JSON.stringify(data.sendSms.userErrors)}`);
  return data.sendSms.message;
}

async function client(key: string, phone: string | null, displayName?: string) {
  if (phone) phones.add(phone);
  return buildRecipient(herald, { kind: 'CLIENT', phone, ...(displayName ? { displayName } : {}) }, key) as Promise<{
    id: string;
    displayName: string;
    phone: string;
  }>;
}

/** Waits until no message of the key's tenant is QUEUED or SENDING. */
async function settle(key: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const data = ok(await gql(`{ messages(filter: { status: [QUEUED, SENDING] }) { totalCount } }`, undefined, key));
    if (data.messages.totalCount === 0) return;
    if (Date.now() > deadline) throw new Error(`${data.messages.totalCount} messages still QUEUED or SENDING`);
    await sleep(100);
  }
}

const LIST = `query($first: Int, $after: String, $filter: MessageFilter) {
  messages(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id status channel createdAt destination } }
  }
}`;

/** All ids matching the filter, newest first, walking pages of `first`. */
async function allIds(key: string, filter: Record<string, unknown> | undefined, first = 100): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 50; page++) {
    const data: any = ok(await gql(LIST, { first, after, filter }, key));
    ids.push(...data.messages.edges.map((e: any) => e.node.id));
    if (!data.messages.pageInfo.hasNextPage) {
      expect(ids).toHaveLength(data.messages.totalCount);
      return ids;
    }
    after = data.messages.pageInfo.endCursor;
  }
  throw new Error('too many pages');
}

async function countOf(key: string, filter: Record<string, unknown>): Promise<number> {
  return ok(await gql(`query($filter: MessageFilter) { messages(filter: $filter) { totalCount } }`, { filter }, key)).messages.totalCount;
}

const phoneFor = (n: number) => `+1415555${String(n).padStart(4, '0')}`;
const masked = (phone: string) => `+1*******${phone.slice(-4)}`;

describe('messages: 120 messages, newest first, keyset cursors', () => {
  let key: string;
  let otherKey: string;
  let clients: { id: string; phone: string }[];
  /** Ids in the order the mutations returned them (oldest first). */
  const sent: string[] = [];
  const recipientOf = new Map<string, string>();
  let foreignMessageId: string;

  beforeAll(async () => {
    key = (await buildTenant(herald)).adminKey;
    clients = [];
    for (let i = 0; i < 4; i++) clients.push(await client(key, phoneFor(1100 + i)));
    for (let i = 0; i < 120; i++) {
      const c = clients[i % clients.length];
      const message = await sendSms(key, c.id, `Pagination message ${i}`);
      expect(message.destination).toBe(masked(c.phone));
      sent.push(message.id);
      recipientOf.set(message.id, c.id);
    }
    otherKey = (await buildTenant(herald)).adminKey;
    const stranger = await client(otherKey, phoneFor(1199));
    foreignMessageId = (await sendSms(otherKey, stranger.id, 'Someone else’s message')).id;
    await settle(key);
    await settle(otherKey);
  }, 300_000);

  it('pages of 50: newest first, opaque cursors, no gaps or duplicates, totalCount on every page', async () => {
    const pages: any[] = [];
    let after: string | null = null;
    do {
      const data: any = ok(await gql(LIST, { first: 50, after }, key));
      pages.push(data.messages);
      after = data.messages.pageInfo.hasNextPage ? data.messages.pageInfo.endCursor : null;
    } while (after && pages.length < 10);

    expect(pages.map((p) => p.edges.length)).toEqual([50, 50, 20]);
    expect(pages.map((p) => p.totalCount)).toEqual([120, 120, 120]);
    expect(pages.map((p) => p.pageInfo.hasNextPage)).toEqual([true, true, false]);
    for (const page of pages) {
      expect(page.pageInfo.endCursor).toBe(page.edges[page.edges.length - 1].cursor);
      for (const edge of page.edges) {
        // Opaque: the cursor is neither the id nor a readable form of it.
        expect(edge.cursor).not.toBe(edge.node.id);
        expect(edge.cursor).not.toContain(edge.node.id.slice(4));
        expect(edge.cursor).not.toMatch(/^msg_/);
        expect(edge.node.status).toBe('SENT');
        expect(edge.node.channel).toBe('SMS');
      }
    }
    const ids = pages.flatMap((p) => p.edges.map((e: any) => e.node.id));
    expect(new Set(ids).size).toBe(120);
    expect(ids).toEqual([...sent].reverse());
    // Newest first by createdAt too.
    const times = pages.flatMap((p) => p.edges.map((e: any) => Date.parse(e.node.createdAt)));
    expect(times).toEqual([...times].sort((a, b) => b - a));
  });

  it('default page size is 20; first: 0 gives no edges but the count; first: 100 is allowed', async () => {
    const byDefault = ok(await gql(LIST, {}, key)).messages;
    expect(byDefault.edges).toHaveLength(20);
    expect(byDefault.edges.map((e: any) => e.node.id)).toEqual([...sent].reverse().slice(0, 20));
    const none = ok(await gql(LIST, { first: 0 }, key)).messages;
    expect(none.edges).toEqual([]);
    expect(none.totalCount).toBe(120);
    const hundred = ok(await gql(LIST, { first: 100 }, key)).messages;
    expect(hundred.edges).toHaveLength(100);
    expect(hundred.pageInfo.hasNextPage).toBe(true);
    const rest = ok(await gql(LIST, { first: 100, after: hundred.pageInfo.endCursor }, key)).messages;
    expect(rest.edges.map((e: any) => e.node.id)).toEqual([...sent].reverse().slice(100));
    expect(rest.pageInfo).toEqual({ hasNextPage: false, endCursor: rest.edges[19].cursor });
  });

  it.each([
    ['first: 101', { first: 101 }],
    ['first: -1', { first: -1 }],
    ['a forged cursor (garbage)', { after: 'not-a-cursor!!' }],
    ['a forged cursor (base64 of a non-uuid)', { after: Buffer.from('c1:00000000-not-a-uuid', 'utf8').toString('base64url') }],
    ['a forged cursor (a message id)', { after: 'msg_0190f2a4000070008000000000000001' }],
    ['a forged cursor (other version)', { after: Buffer.from('c2:0190f2a4-0000-7000-8000-000000000001', 'utf8').toString('base64url') }],
  ])('%s → BAD_USER_INPUT', async (_name, variables) => {
    const result = await gql(LIST, variables, key);
    expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(result.data?.messages ?? null).toBeNull();
  });

  it('message(id) and node(id) return the message; malformed, wrong-type or foreign ids → null', async () => {
    const id = sent[37];
    const Q = `query($id: ID!) {
      message(id: $id) { id status channel body recipient { id } }
      node(id: $id) { id ... on Message { status body } }
    }`;
    const found = ok(await gql(Q, { id }, key));
    expect(found.message).toEqual({
      id,
      status: 'SENT',
      channel: 'SMS',
      body: 'Pagination message 37',
      recipient: { id: recipientOf.get(id) },
    });
    expect(found.node).toEqual({ id, status: 'SENT', body: 'Pagination message 37' });

    const unknownUuid = `msg_${'0'.repeat(12)}7${randomBytes(9).toString('hex').slice(0, 19)}`;
    for (const bad of ['nonsense', 'msg_123', `msg_${id.slice(4).toUpperCase()}`, unknownUuid, foreignMessageId, `${id}x`]) {
      const result = ok(await gql(Q, { id: bad }, key));
      expect(result, bad).toEqual({ message: null, node: null });
    }
    // A recipient's id is no message (node(id) is that recipient, which is no Message).
    expect(ok(await gql(Q, { id: clients[0].id }, key))).toEqual({ message: null, node: { id: clients[0].id } });
    // The other tenant does see its own message.
    expect(ok(await gql(Q, { id: foreignMessageId }, otherKey)).message.id).toBe(foreignMessageId);
    // and not ours
    expect(ok(await gql(Q, { id }, otherKey))).toEqual({ message: null, node: null });
    expect(ok(await gql(LIST, { first: 100 }, otherKey)).messages.edges.map((e: any) => e.node.id)).toEqual([foreignMessageId]);
  });

  it('batches nested fields: a page of 50 costs the same database selects as a page of 5', async () => {
    const Q = `query($first: Int) {
      messages(first: $first) { edges { node { id recipient { displayName } gateway { name } logs { outcome } } } }
    }`;
    const db = herald.services.db;
    // Everything is settled: the worker has nothing left to claim, so no select in the
    // measurement window is its own.
    expect(await countOf(key, { status: ['QUEUED', 'SENDING', 'SCHEDULED'] })).toBe(0);

    const measure = async (first: number) => {
      // Warm the API-key cache, so an expiring entry cannot add a select to one side.
      ok(await gql(Q, { first: 1 }, key));
      const spy = vi.spyOn(db, 'select');
      try {
        const data = ok(await gql(Q, { first }, key));
        expect(data.messages.edges).toHaveLength(first);
        for (const { node } of data.messages.edges) {
          expect(node.recipient.displayName).toMatch(/^Recipient \d+$/);
          expect(node.gateway.name).toEqual(expect.any(String));
          expect(node.logs).toEqual([{ outcome: 'SUCCESS' }]);
        }
        return spy.mock.calls.length;
      } finally {
        spy.mockRestore();
      }
    };
    const runs = [];
    for (let round = 0; round < 2; round++) runs.push({ fifty: await measure(50), five: await measure(5) });
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0].fifty).toBe(runs[0].five);
    // One for the page and one per nested field (recipient, gateway, logs); the API key
    // comes from the warm cache and the count from no select (totalCount is not asked).
    expect(runs[0].fifty).toBe(4);
  });

  it('masks every destination as +1******* and the last four digits', async () => {
    const data = ok(
      await gql(`{ messages(first: 100) { edges { node { id destination recipient { id } logs { reason } } } } }`, undefined, key),
    );
    const phoneOf = new Map(clients.map((c) => [c.id, c.phone]));
    for (const { node } of data.messages.edges) {
      expect(node.destination).toMatch(/^\+1\*{7}\d{4}$/);
      expect(node.destination).toBe(masked(phoneOf.get(node.recipient.id)!));
    }
  });
});

describe('messages(filter)', () => {
  let key: string;
  let c1: { id: string; phone: string };
  let c2: { id: string; phone: string };
  let foreignRecipientId: string;
  /** 20 SENT messages to c1, each in its own millisecond, oldest first. */
  const series: Sent[] = [];
  const cancelled: string[] = [];
  let scheduled: string;

  beforeAll(async () => {
    key = (await buildTenant(herald)).adminKey;
    c1 = await client(key, phoneFor(1201));
    c2 = await client(key, phoneFor(1202));
    foreignRecipientId = (await client(herald.adminKey, phoneFor(1203))).id;
    const later = new Date(Date.now() + 3600_000).toISOString();
    for (let i = 0; i < 3; i++) {
      const m = await sendSms(key, c2.id, `Scheduled ${i}`, { sendAt: later });
      expect(m.status).toBe('SCHEDULED');
      if (i < 2) {
        const r = ok(
          await gql(
            `mutation($input: CancelMessageInput!) { cancelMessage(input: $input) { message { id status } userErrors { code } } }`,
            { input: { id: m.id } },
            key,
          ),
        );
        expect(r.cancelMessage).toEqual({ message: { id: m.id, status: 'CANCELLED' }, userErrors: [] });
        cancelled.push(m.id);
      } else scheduled = m.id;
    }
    await sleep(5);
    for (let i = 0; i < 20; i++) {
      series.push(await sendSms(key, c1.id, `Series ${i}`));
      await sleep(5);
    }
    await settle(key);
  }, 300_000);

  const desc = (ids: string[]) => [...ids].reverse();
  const ids = (from: number, to: number) => series.slice(from, to).map((m) => m.id);

  it('status: a list of statuses', async () => {
    expect(await allIds(key, { status: ['SENT'] })).toEqual(desc(ids(0, 20)));
    expect(await allIds(key, { status: ['CANCELLED'] })).toEqual(desc(cancelled));
    expect(await allIds(key, { status: ['SCHEDULED'] })).toEqual([scheduled]);
    expect(await allIds(key, { status: ['CANCELLED', 'SCHEDULED'] })).toEqual(desc([...cancelled, scheduled]));
    expect(await allIds(key, { status: ['SENT', 'CANCELLED'] })).toEqual([...desc(ids(0, 20)), ...desc(cancelled)]);
    for (const status of ['QUEUED', 'SENDING', 'DELIVERED', 'FAILED']) expect(await countOf(key, { status: [status] })).toBe(0);
    const statuses = ok(await gql(LIST, { first: 100, filter: { status: ['CANCELLED'] } }, key)).messages.edges.map(
      (e: any) => e.node.status,
    );
    expect(statuses).toEqual(['CANCELLED', 'CANCELLED']);
  });

  it('channel: a list of channels', async () => {
    expect(await countOf(key, { channel: ['SMS'] })).toBe(23);
    expect(await allIds(key, { channel: ['EMAIL'] })).toEqual([]);
    expect(await countOf(key, { channel: ['WHATSAPP', 'TWITTER_DM'] })).toBe(0);
    expect(await countOf(key, { channel: ['EMAIL', 'SMS'] })).toBe(23);
  });

  it("recipientId: only that recipient's; an unknown or foreign id is empty, not an error", async () => {
    expect(await allIds(key, { recipientId: c1.id })).toEqual(desc(ids(0, 20)));
    expect(await allIds(key, { recipientId: c2.id })).toEqual(desc([...cancelled, scheduled]));
    const unknown = `rcp_${randomBytes(16).toString('hex')}`;
    for (const recipientId of [unknown, 'nonsense', foreignRecipientId, series[0].id]) {
      const result = await gql(LIST, { filter: { recipientId } }, key);
      expect(result.errors, recipientId).toBeUndefined();
      expect(result.data.messages).toEqual({ totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] });
    }
  });

  it('orderId and invoiceNumber: accepted; no SMS has them', async () => {
    for (const filter of [{ orderId: 'ORD-1042' }, { invoiceNumber: 'INV-2024-001' }, { orderId: 'ORD-1', invoiceNumber: 'INV-1' }]) {
      const result = await gql(LIST, { filter }, key);
      expect(result.errors, JSON.stringify(filter)).toBeUndefined();
      expect(result.data.messages).toEqual({ totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] });
    }
  });

  it('createdAfter / createdBefore: strict bounds at millisecond precision', async () => {
    const times = series.map((m) => Date.parse(m.createdAt));
    // 5 ms between sends: every message of the series has a millisecond of its own.
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1]);
    const k = 9; // the 10th
    const at = (ms: number) => new Date(ms).toISOString();
    const tk = times[k];

    expect(await allIds(key, { createdAfter: series[k].createdAt })).toEqual(desc(ids(k + 1, 20)));
    expect(await allIds(key, { createdAfter: at(tk - 1) })).toEqual(desc(ids(k, 20)));
    expect(await allIds(key, { createdBefore: series[k].createdAt, recipientId: c1.id })).toEqual(desc(ids(0, k)));
    expect(await allIds(key, { createdBefore: at(tk + 1), recipientId: c1.id })).toEqual(desc(ids(0, k + 1)));
    // The earlier scheduled ones of c2 are older than the series.
    expect(await countOf(key, { createdBefore: series[k].createdAt })).toBe(k + 3);
    expect(await allIds(key, { createdAfter: series[k].createdAt, createdBefore: series[15].createdAt })).toEqual(desc(ids(k + 1, 15)));
    expect(await allIds(key, { createdAfter: series[k].createdAt, createdBefore: at(tk + 1) })).toEqual([]);
    expect(await allIds(key, { createdAfter: at(tk - 1), createdBefore: at(tk + 1) })).toEqual([series[k].id]);
    expect(await countOf(key, { createdAfter: series[19].createdAt })).toBe(0);
    expect(await countOf(key, { createdBefore: at(Date.parse('2000-01-01T00:00:00Z')) })).toBe(0);
    expect(await countOf(key, { createdAfter: at(Date.parse('2000-01-01T00:00:00Z')) })).toBe(23);
    // An offset other than Z means the same instant.
    const plusTwo = new Date(tk + 2 * 3600_000).toISOString().replace('Z', '+02:00');
    expect(await allIds(key, { createdAfter: plusTwo })).toEqual(desc(ids(k + 1, 20)));
  });

  it('filters combine (AND) and paginate with cursors', async () => {
    expect(await countOf(key, { status: ['SENT'], recipientId: c2.id })).toBe(0);
    expect(await allIds(key, { status: ['CANCELLED'], recipientId: c2.id })).toEqual(desc(cancelled));
    expect(await countOf(key, { status: ['CANCELLED'], recipientId: c1.id })).toBe(0);
    expect(await allIds(key, { status: ['SENT', 'SCHEDULED'], recipientId: c2.id, channel: ['SMS'] })).toEqual([scheduled]);
    expect(await allIds(key, { status: ['SENT'], recipientId: c1.id, createdAfter: series[9].createdAt })).toEqual(desc(ids(10, 20)));
    expect(await countOf(key, { status: ['SENT'], channel: ['EMAIL'], recipientId: c1.id })).toBe(0);
    // Small pages under a filter: no gaps or duplicates, totalCount is the filter's.
    const walked: string[] = [];
    let after: string | null = null;
    do {
      const page: any = ok(
        await gql(LIST, { first: 3, after, filter: { recipientId: c1.id, createdBefore: series[15].createdAt } }, key),
      ).messages;
      expect(page.totalCount).toBe(15);
      walked.push(...page.edges.map((e: any) => e.node.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(walked).toEqual(desc(ids(0, 15)));
  });
});

describe('deliveryLogs(filter) and nested fields', () => {
  let key: string;
  let ok1: { id: string; phone: string; displayName: string };
  let ok2: { id: string; phone: string; displayName: string };
  let bad: { id: string; phone: string; displayName: string };
  const good: string[] = [];
  let failed: string;

  const LOGS = `query($first: Int, $after: String, $filter: DeliveryLogFilter) {
    deliveryLogs(first: $first, after: $after, filter: $filter) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor node {
        id outcome channel reason orderId orderStatus at
        message { id status destination }
        recipient { id displayName }
        gateway { id name provider channel }
      } }
    }
  }`;
  const logsOf = async (filter: Record<string, unknown>) => ok(await gql(LOGS, { first: 100, filter }, key)).deliveryLogs;

  beforeAll(async () => {
    key = (await buildTenant(herald)).adminKey;
    ok1 = await client(key, phoneFor(1301), 'Ada Client');
    ok2 = await client(key, phoneFor(1302), 'Bo Client');
    bad = await client(key, '+15005550001', 'Invalid Number');
    for (let i = 0; i < 3; i++) good.push((await sendSms(key, ok1.id, `To Ada ${i}`)).id);
    for (let i = 0; i < 2; i++) good.push((await sendSms(key, ok2.id, `To Bo ${i}`)).id);
    failed = (await sendSms(key, bad.id, 'To nowhere')).id;
    await settle(key);
  }, 300_000);

  it('each SENT sandbox message has exactly one SUCCESS log', async () => {
    for (const messageId of good) {
      const logs = await logsOf({ messageId });
      expect(logs.totalCount).toBe(1);
      expect(logs.edges[0].node).toMatchObject({
        outcome: 'SUCCESS',
        channel: 'SMS',
        reason: null,
        message: { id: messageId, status: 'SENT' },
      });
    }
  });

  it('the magic invalid number fails permanently with a FAILURE log that says why', async () => {
    const message = ok(
      await gql(
        `query($id: ID!) { message(id: $id) { status errorCode errorMessage attempts destination logs { outcome reason } } }`,
        { id: failed },
        key,
      ),
    ).message;
    expect(message).toMatchObject({ status: 'FAILED', errorCode: '21211', attempts: 1, destination: '+1*******0001' });
    expect(message.errorMessage).toMatch(/not a valid phone number/);
    expect(message.logs).toEqual([{ outcome: 'FAILURE', reason: expect.stringMatching(/not a valid phone number/) }]);

    const logs = await logsOf({ messageId: failed });
    expect(logs.totalCount).toBe(1);
    expect(logs.edges[0].node).toMatchObject({
      outcome: 'FAILURE',
      channel: 'SMS',
      reason: expect.stringMatching(/not a valid phone number/),
      message: { id: failed, status: 'FAILED', destination: '+1*******0001' },
      recipient: { id: bad.id, displayName: 'Invalid Number' },
      gateway: { provider: 'SANDBOX', channel: 'SMS' },
    });
  });

  it('filters by outcome, channel, recipientId and messageId', async () => {
    const success = await logsOf({ outcome: 'SUCCESS' });
    expect(success.totalCount).toBe(5);
    expect(success.edges.map((e: any) => e.node.message.id).sort()).toEqual([...good].sort());
    const failure = await logsOf({ outcome: 'FAILURE' });
    expect(failure.edges.map((e: any) => e.node.message.id)).toEqual([failed]);

    expect((await logsOf({ channel: 'SMS' })).totalCount).toBe(6);
    expect((await logsOf({ channel: 'EMAIL' })).totalCount).toBe(0);
    expect((await logsOf({})).totalCount).toBe(6);

    const ada = await logsOf({ recipientId: ok1.id });
    expect(ada.totalCount).toBe(3);
    expect(ada.edges.map((e: any) => e.node.message.id).sort()).toEqual(good.slice(0, 3).sort());
    for (const { node } of ada.edges) expect(node.recipient).toEqual({ id: ok1.id, displayName: 'Ada Client' });
    expect((await logsOf({ recipientId: ok2.id, outcome: 'SUCCESS' })).totalCount).toBe(2);
    expect((await logsOf({ recipientId: ok2.id, outcome: 'FAILURE' })).totalCount).toBe(0);
    expect((await logsOf({ recipientId: bad.id, outcome: 'FAILURE', channel: 'SMS' })).totalCount).toBe(1);
    expect((await logsOf({ orderId: 'ORD-1' })).totalCount).toBe(0);

    for (const filter of [
      { messageId: `msg_${randomBytes(16).toString('hex')}` },
      { messageId: 'nonsense' },
      { messageId: ok1.id },
      { recipientId: `rcp_${randomBytes(16).toString('hex')}` },
      { recipientId: good[0] },
    ]) {
      const result = await gql(LOGS, { filter }, key);
      expect(result.errors, JSON.stringify(filter)).toBeUndefined();
      expect(result.data.deliveryLogs).toEqual({ totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] });
    }
  });

  it('pages newest first with cursors', async () => {
    const all = (await logsOf({})).edges.map((e: any) => e.node.id);
    expect(all).toHaveLength(6);
    const walked: string[] = [];
    let after: string | null = null;
    do {
      const page: any = ok(await gql(LOGS, { first: 4, after }, key)).deliveryLogs;
      expect(page.totalCount).toBe(6);
      walked.push(...page.edges.map((e: any) => e.node.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(walked).toEqual(all);
    expect([...all].sort().reverse()).toEqual(all);
    expect((await gql(LOGS, { first: 101 }, key)).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect((await gql(LOGS, { after: 'forged' }, key)).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('DeliveryLog.message, .recipient, .gateway and Message.logs, .recipient, .gateway resolve', async () => {
    const gateways = ok(await gql(`{ gateways(channel: SMS) { id name provider isDefault } }`, undefined, key)).gateways;
    const sandbox = gateways.find((g: any) => g.isDefault);
    expect(sandbox).toMatchObject({ provider: 'SANDBOX' });

    const logs = await logsOf({ recipientId: ok2.id });
    for (const { node } of logs.edges) {
      expect(node.message).toMatchObject({ id: expect.any(String), status: 'SENT', destination: masked(ok2.phone) });
      expect(good.slice(3)).toContain(node.message.id);
      expect(node.recipient).toEqual({ id: ok2.id, displayName: 'Bo Client' });
      expect(node.gateway).toEqual({ id: sandbox.id, name: sandbox.name, provider: 'SANDBOX', channel: 'SMS' });
    }

    const data = ok(
      await gql(
        `{ messages(first: 10) { edges { node {
          id status providerMessageId sentAt attempts
          recipient { id displayName }
          gateway { id name provider }
          logs { id outcome channel reason message { id } recipient { id } gateway { id } }
        } } } }`,
        undefined,
        key,
      ),
    );
    const nodes = data.messages.edges.map((e: any) => e.node);
    expect(nodes.map((n: any) => n.id)).toEqual([failed, ...[...good].reverse()]);
    for (const node of nodes) {
      const to = node.id === failed ? bad : good.indexOf(node.id) < 3 ? ok1 : ok2;
      expect(node.recipient).toEqual({ id: to.id, displayName: to.displayName });
      expect(node.gateway).toEqual({ id: sandbox.id, name: sandbox.name, provider: 'SANDBOX' });
      expect(node.logs).toHaveLength(1);
      expect(node.logs[0]).toMatchObject({
        message: { id: node.id },
        recipient: { id: to.id },
        gateway: { id: sandbox.id },
        channel: 'SMS',
      });
      if (node.id === failed) {
        expect(node).toMatchObject({ status: 'FAILED', providerMessageId: null, sentAt: null, attempts: 1 });
        expect(node.logs[0].outcome).toBe('FAILURE');
      } else {
        expect(node).toMatchObject({ status: 'SENT', providerMessageId: expect.stringMatching(/^sandbox-/), attempts: 1 });
        expect(Date.parse(node.sentAt)).not.toBeNaN();
        expect(node.logs[0]).toMatchObject({ outcome: 'SUCCESS', reason: null });
      }
      // node(id) of a log is that log.
      const viaNode = ok(
        await gql(`query($id: ID!) { node(id: $id) { id ... on DeliveryLog { outcome message { id } } } }`, { id: node.logs[0].id }, key),
      );
      expect(viaNode.node).toEqual({ id: node.logs[0].id, outcome: node.logs[0].outcome, message: { id: node.id } });
    }
  });
});

describe('masking', () => {
  it('no response of these queries, and no log line, holds a full phone number', () => {
    expect(responses.length).toBeGreaterThan(100);
    expect(phones.size).toBeGreaterThan(5);
    for (const phone of phones) {
      const national = phone.slice(2);
      for (const body of responses) {
        expect(body.includes(phone) || body.includes(national), `response holds ${masked(phone)}`).toBe(false);
      }
      const leaking = herald.logs.filter((line) => line.includes(national));
      expect(leaking, `log lines with ${masked(phone)}`).toEqual([]);
    }
  });

  it('every destination in every message response is +1******* and four digits', () => {
    let seen = 0;
    for (const body of responses) {
      for (const match of body.matchAll(/"destination":("[^"]*"|null)/g)) {
        seen += 1;
        expect(JSON.parse(match[1])).toMatch(/^\+1\*{7}\d{4}$/);
      }
    }
    expect(seen).toBeGreaterThan(300);
  });
});
