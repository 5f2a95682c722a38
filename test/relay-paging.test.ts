// Relay paging both ways (first/after and last/before) on every connection, and the one rule
// every connection filter follows (an empty string or list is refused), through the real HTTP API.
// The tenant sends through its SANDBOX SMS gateway, so every message settles with one log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecipient, buildTenant } from './helpers/factories.js';
import { type GqlResult, ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { waitUntil } from './helpers/wait.js';

let herald: TestHerald;
let key: string;
/** Newest first, as every connection lists them. */
const made = { messages: [] as string[], deliveryLogs: [] as string[], recipients: [] as string[] };
let ada: string;
let bo: string;
const toAda: string[] = [];
const toBo: string[] = [];
const staff: string[] = [];

const FILTER_TYPE = { messages: 'MessageFilter', deliveryLogs: 'DeliveryLogFilter', recipients: 'RecipientFilter' } as const;
type Connection = keyof typeof FILTER_TYPE;
const CONNECTIONS = Object.keys(FILTER_TYPE) as Connection[];

interface Page {
  ids: string[];
  cursors: string[];
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

interface PageArgs {
  first?: number;
  after?: string | null;
  last?: number;
  before?: string | null;
  filter?: Record<string, unknown>;
}

const query = (
  connection: Connection,
) => `query($first: Int, $after: String, $last: Int, $before: String, $filter: ${FILTER_TYPE[connection]}) {
  ${connection}(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }
  }
}`;

function ask(connection: Connection, args: PageArgs): Promise<GqlResult> {
  return herald.gql(query(connection), { ...args }, key);
}

async function page(connection: Connection, args: PageArgs): Promise<Page> {
  const data = ok(await ask(connection, args))[connection];
  return {
    ids: data.edges.map((e: any) => e.node.id),
    cursors: data.edges.map((e: any) => e.cursor),
    totalCount: data.totalCount,
    pageInfo: data.pageInfo,
  };
}

/** Every page forward from the newest, `size` at a time. */
async function forward(connection: Connection, size: number, filter?: Record<string, unknown>): Promise<Page[]> {
  const pages: Page[] = [];
  let after: string | null = null;
  do {
    const p = await page(connection, { first: size, after, filter });
    pages.push(p);
    after = p.pageInfo.hasNextPage ? p.pageInfo.endCursor : null;
  } while (after && pages.length < 50);
  return pages;
}

/** Every page backward from the oldest, `size` at a time (in the order read: oldest page first). */
async function backward(connection: Connection, size: number, filter?: Record<string, unknown>): Promise<Page[]> {
  const pages: Page[] = [];
  let before: string | null = null;
  do {
    const p = await page(connection, { last: size, before, filter });
    pages.push(p);
    before = p.pageInfo.hasPreviousPage ? p.pageInfo.startCursor : null;
  } while (before && pages.length < 50);
  return pages;
}

/** What a page's edges say its pageInfo cursors must be. */
function expectCursorsOfEdges(p: Page) {
  expect(p.pageInfo.startCursor).toBe(p.cursors[0] ?? null);
  expect(p.pageInfo.endCursor).toBe(p.cursors[p.cursors.length - 1] ?? null);
}

beforeAll(async () => {
  herald = await startTestHerald();
  key = (await buildTenant(herald)).adminKey;
  const clients: string[] = [];
  for (let i = 0; i < 26; i++) {
    clients.push((await buildRecipient(herald, { kind: 'CLIENT', phone: `+1415555${String(2000 + i).padStart(4, '0')}` }, key)).id);
    if (i % 5 === 4) staff.push((await buildRecipient(herald, { kind: 'STAFF', email: `staff${i}@example.com` }, key)).id);
  }
  [ada, bo] = clients;
  const sent: string[] = [];
  for (let i = 0; i < 26; i++) {
    const to = i % 3 === 0 ? bo : ada;
    const data = ok(
      await herald.gql(
        `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } userErrors { code message } } }`,
        { input: { clientId: to, message: `Paging ${i}` } },
        key,
      ),
    );
    expect(data.sendSms.userErrors).toEqual([]);
    sent.push(data.sendSms.message.id);
    (to === ada ? toAda : toBo).push(data.sendSms.message.id);
  }
  await waitUntil('26 messages sent with a log each', async () => {
    const data = ok(
      await herald.gql(`{ messages(filter: { status: [SENT] }) { totalCount } deliveryLogs { totalCount } }`, undefined, key),
    );
    return data.messages.totalCount === 26 && data.deliveryLogs.totalCount === 26;
  });
  made.messages = [...sent].reverse();
  made.recipients = (await page('recipients', { first: 100 })).ids;
  made.deliveryLogs = (await page('deliveryLogs', { first: 100 })).ids;
  toAda.reverse();
  toBo.reverse();
  staff.reverse();
}, 300_000);
afterAll(() => herald?.stop());

describe('every connection pages both ways', () => {
  it('has the items the setup made, newest first', () => {
    expect(made.recipients).toHaveLength(31);
    expect([...made.recipients].sort().reverse()).toEqual(made.recipients);
    expect(made.deliveryLogs).toHaveLength(26);
    expect([...made.deliveryLogs].sort().reverse()).toEqual(made.deliveryLogs);
    expect(made.messages).toHaveLength(26);
  });

  it.each(CONNECTIONS)('%s: forward and backward walks list the same items, without gaps or duplicates', async (connection) => {
    for (const size of [7, 10, 100]) {
      const ahead = await forward(connection, size);
      expect(ahead.flatMap((p) => p.ids)).toEqual(made[connection]);
      const back = await backward(connection, size);
      // Each backward page still lists newest first; read from the oldest, so the pages stack up in reverse.
      expect([...back].reverse().flatMap((p) => p.ids)).toEqual(made[connection]);
      for (const p of [...ahead, ...back]) {
        expectCursorsOfEdges(p);
        expect(p.totalCount).toBe(made[connection].length);
      }
    }
  });

  it.each(CONNECTIONS)('%s: pageInfo is right at both ends and in the middle', async (connection) => {
    const all = made[connection];
    const ahead = await forward(connection, 12);
    expect(ahead.map((p) => p.ids)).toEqual([all.slice(0, 12), all.slice(12, 24), all.slice(24)]);
    expect(ahead.map((p) => p.pageInfo.hasNextPage)).toEqual([true, true, false]);
    expect(ahead.map((p) => p.pageInfo.hasPreviousPage)).toEqual([false, true, true]);

    const back = await backward(connection, 12);
    expect(back.map((p) => p.ids)).toEqual([all.slice(-12), all.slice(-24, -12), all.slice(0, -24)]);
    expect(back.map((p) => p.pageInfo.hasPreviousPage)).toEqual([true, true, false]);
    expect(back.map((p) => p.pageInfo.hasNextPage)).toEqual([false, true, true]);
  });

  it.each(CONNECTIONS)('%s: a page forward and the page back from it meet exactly', async (connection) => {
    const all = made[connection];
    const first = await page(connection, { first: 10 });
    const second = await page(connection, { first: 10, after: first.pageInfo.endCursor });
    const backToFirst = await page(connection, { last: 10, before: second.pageInfo.startCursor });
    expect(backToFirst.ids).toEqual(first.ids);
    expect(backToFirst.cursors).toEqual(first.cursors);
    expect(backToFirst.pageInfo).toEqual({ ...first.pageInfo, hasNextPage: true, hasPreviousPage: false });
    // Back from the middle of a page: the items just newer than that edge, whatever the page size.
    const fromMiddle = await page(connection, { last: 4, before: second.cursors[2] });
    expect(fromMiddle.ids).toEqual(all.slice(8, 12));
    expect(fromMiddle.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: true });
    // And forward again from the start of the page read backward: no item twice, none skipped.
    const onward = await page(connection, { first: 5, after: fromMiddle.pageInfo.endCursor });
    expect(onward.ids).toEqual(all.slice(12, 17));
  });

  it.each(CONNECTIONS)('%s: empty pages have null cursors and say honestly what lies on each side', async (connection) => {
    const all = made[connection];
    const oldest = await page(connection, { last: 1 });
    expect(oldest.ids).toEqual([all[all.length - 1]]);
    const newest = await page(connection, { first: 1 });
    expect(newest.ids).toEqual([all[0]]);
    // The item a cursor names lies on the far side of the page read from it, even when it is the only one there.
    const second = await page(connection, { first: 3, after: newest.pageInfo.endCursor });
    expect(second).toMatchObject({ ids: all.slice(1, 4), pageInfo: { hasPreviousPage: true, hasNextPage: true } });
    const secondOldest = await page(connection, { last: 3, before: oldest.pageInfo.startCursor });
    expect(secondOldest).toMatchObject({ ids: all.slice(-4, -1), pageInfo: { hasPreviousPage: true, hasNextPage: true } });

    const pastTheEnd = await page(connection, { first: 10, after: oldest.pageInfo.endCursor });
    expect(pastTheEnd).toMatchObject({ ids: [], totalCount: all.length });
    expect(pastTheEnd.pageInfo).toEqual({ startCursor: null, endCursor: null, hasNextPage: false, hasPreviousPage: true });
    const beforeTheStart = await page(connection, { last: 10, before: newest.pageInfo.startCursor });
    expect(beforeTheStart.ids).toEqual([]);
    expect(beforeTheStart.pageInfo).toEqual({ startCursor: null, endCursor: null, hasNextPage: true, hasPreviousPage: false });

    expect((await page(connection, { first: 0 })).pageInfo).toEqual({
      startCursor: null,
      endCursor: null,
      hasNextPage: true,
      hasPreviousPage: false,
    });
    expect((await page(connection, { last: 0 })).pageInfo).toEqual({
      startCursor: null,
      endCursor: null,
      hasNextPage: false,
      hasPreviousPage: true,
    });
  });

  it('an empty list: no page either way has anything on either side', async () => {
    const unknown = `rcp_${'0'.repeat(32)}`;
    for (const args of [{ first: 5 }, { last: 5 }]) {
      const p = await page('messages', { ...args, filter: { recipientId: unknown } });
      expect(p).toEqual({
        ids: [],
        cursors: [],
        totalCount: 0,
        pageInfo: { startCursor: null, endCursor: null, hasNextPage: false, hasPreviousPage: false },
      });
    }
  });

  it('pages of 20 unless told: forward from the newest, backward from before', async () => {
    const p = await page('messages', {});
    expect(p.ids).toEqual(made.messages.slice(0, 20));
    expect(p.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const oldest = (await page('messages', { last: 1 })).pageInfo.startCursor;
    const back = await page('messages', { before: oldest });
    expect(back.ids).toEqual(made.messages.slice(5, 25));
    expect(back.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
  });

  it.each([
    ['first and last', { first: 5, last: 5 }, 'first and last cannot be combined', 'last'],
    ['after and last', { after: 'CURSOR', last: 5 }, 'after and last cannot be combined', 'last'],
    ['first and before', { first: 5, before: 'CURSOR' }, 'first and before cannot be combined', 'before'],
    ['after and before', { after: 'CURSOR', before: 'CURSOR' }, 'after and before cannot be combined', 'before'],
    ['last over 100', { last: 101 }, 'last must be between 0 and 100, got 101', 'last'],
    ['a negative last', { last: -1 }, 'last must be between 0 and 100, got -1', 'last'],
    ['a forged before', { last: 5, before: 'bm90LWEtY3Vyc29y' }, 'before is not a cursor this connection gave out', 'before'],
  ])('refuses %s with BAD_USER_INPUT naming the argument, on every connection', async (_name, args, message, field) => {
    const cursor = (await page('messages', { first: 1 })).cursors[0];
    const withCursor = Object.fromEntries(Object.entries(args).map(([k, v]) => [k, v === 'CURSOR' ? cursor : v]));
    for (const connection of CONNECTIONS) {
      const result = await ask(connection, withCursor);
      expect(result.data ?? null, connection).toBeNull();
      expect(result.errors, connection).toHaveLength(1);
      expect(result.errors![0].message).toContain(message);
      expect(result.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: [field] });
    }
  });

  it("refuses one connection's cursor on another, and still reads a cursor given out before cursors named their connection", async () => {
    for (const from of CONNECTIONS) {
      const cursor = (await page(from, { first: 1 })).cursors[0];
      for (const to of CONNECTIONS.filter((c) => c !== from)) {
        for (const args of [
          { first: 1, after: cursor },
          { last: 1, before: cursor },
        ]) {
          const result = await ask(to, args);
          expect(result.errors?.[0].message, `${from} cursor on ${to}`).toMatch(
            /^(after|before) is not a cursor this connection gave out$/,
          );
          expect(result.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
        }
      }
    }
    // A c1 cursor (the id alone) of the newest message: the page after it is the next 5.
    const newest = made.messages[0];
    const uuid = Buffer.from((await page('messages', { first: 1 })).cursors[0], 'base64url')
      .toString('utf8')
      .split(':')
      .pop()!;
    const legacy = Buffer.from(`c1:${uuid}`, 'utf8').toString('base64url');
    expect((await page('messages', { first: 1 })).ids).toEqual([newest]);
    expect((await page('messages', { first: 5, after: legacy })).ids).toEqual(made.messages.slice(1, 6));
  });

  it('filters hold while paging backward', async () => {
    const logsOfBo = (await page('deliveryLogs', { first: 100, filter: { recipientId: bo } })).ids;
    expect(logsOfBo).toHaveLength(toBo.length);
    const cases: [Connection, Record<string, unknown>, string[]][] = [
      ['messages', { recipientId: ada }, toAda],
      ['messages', { recipientId: bo, status: ['SENT', 'CANCELLED'] }, toBo],
      ['messages', { status: ['SENT'], channel: ['SMS', 'EMAIL'] }, made.messages],
      ['deliveryLogs', { recipientId: bo, outcome: 'SUCCESS' }, logsOfBo],
      ['recipients', { kind: 'STAFF' }, staff],
    ];
    for (const [connection, filter, expected] of cases) {
      const back = await backward(connection, 4, filter);
      expect(
        [...back].reverse().flatMap((p) => p.ids),
        JSON.stringify(filter),
      ).toEqual(expected);
      expect(back[0].pageInfo.hasNextPage).toBe(false);
      expect(back[back.length - 1].pageInfo.hasPreviousPage).toBe(false);
      for (const p of back) expect(p.totalCount).toBe(expected.length);
      // Forward from a backward page's end cursor, under the same filter: the next older items.
      const middle = back[1];
      const onward = await page(connection, { first: 4, after: middle.pageInfo.endCursor, filter });
      const at = expected.indexOf(middle.ids[middle.ids.length - 1]);
      expect(onward.ids).toEqual(expected.slice(at + 1, at + 5));
    }
  });
});

describe('filters: an empty string or empty list is refused the same way everywhere', () => {
  const EMPTY: [Connection, string, unknown][] = [
    ['messages', 'status', []],
    ['messages', 'channel', []],
    ['messages', 'recipientId', ''],
    ['messages', 'orderId', ''],
    ['messages', 'invoiceNumber', ''],
    ['deliveryLogs', 'recipientId', ''],
    ['deliveryLogs', 'messageId', ''],
    ['deliveryLogs', 'orderId', ''],
    ['recipients', 'externalRef', ''],
  ];

  it.each(EMPTY)('%s(filter: { %s: %j }) is BAD_USER_INPUT naming filter.%s', async (connection, field, value) => {
    for (const args of [{}, { last: 5 }]) {
      const result = await ask(connection, { ...args, filter: { [field]: value } });
      expect(result.data ?? null).toBeNull();
      expect(result.errors).toHaveLength(1);
      expect(result.errors![0].message).toBe(`filter.${field} must not be empty`);
      expect(result.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: ['filter', field] });
    }
  });

  it('refuses an empty value written inline in the query too, even beside a good one', async () => {
    const result = await herald.gql(`{ messages(filter: { status: [SENT], recipientId: "" }) { totalCount } }`, undefined, key);
    expect(result.errors?.[0]).toMatchObject({
      message: 'filter.recipientId must not be empty',
      extensions: { code: 'BAD_USER_INPUT', field: ['filter', 'recipientId'] },
    });
  });

  it.each(CONNECTIONS)('%s: a field given as null does not filter', async (connection) => {
    const nulls = Object.fromEntries(EMPTY.filter(([c]) => c === connection).map(([, field]) => [field, null]));
    expect((await page(connection, { first: 100, filter: nulls })).ids).toEqual(made[connection]);
  });

  it('an id of another type, or no id at all, matches nothing (not an error)', async () => {
    const cases: [Connection, Record<string, unknown>][] = [
      ['messages', { recipientId: made.messages[0] }],
      ['messages', { recipientId: 'not-an-id' }],
      ['deliveryLogs', { messageId: ada }],
      ['deliveryLogs', { recipientId: made.deliveryLogs[0] }],
      ['deliveryLogs', { messageId: ' ' }],
    ];
    for (const [connection, filter] of cases) {
      for (const args of [{ first: 5 }, { last: 5 }]) {
        const p = await page(connection, { ...args, filter });
        expect(p, JSON.stringify(filter)).toMatchObject({ ids: [], totalCount: 0 });
      }
    }
  });
});
