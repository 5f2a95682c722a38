// Invoice-due DMs on X end to end: sendInvoiceDM and notifyBillingCycle through the real
// HTTP API, the real worker and the real twitter-api-v2 SDK against a local fake of X API
// v2 that checks OAuth 1.0a signatures. Every check is on what a user or X sees: the
// mutation's answer, the message's states, the lookups and DMs X receives, delivery logs.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeTwitterAccount, startTwitterFake, type TwitterFake, type TwitterFakeRequest } from './fakes/twitter-fake.js';
import { buildRecipient, buildTenant } from './helpers/factories.js';
import { fastRetryEnv, ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { pause, waitForMessageStatus, waitUntil } from './helpers/wait.js';
import type { GatewayRef, LogBase, UserError } from './helpers/api-types.js';
import { scrapeMetric } from './helpers/metrics.js';

const MAX_ATTEMPTS = 4;
const envAccount = fakeTwitterAccount();
const cappedAccount = fakeTwitterAccount();

let fake: TwitterFake;
let herald: TestHerald;

// When each request and each accepted DM reached the fake (ms since epoch), recorded by
// wrapping the fake's own arrays, so timing checks need no sleeps.
const arrivals = new WeakMap<object, number>();
function stampArrivals<T extends object>(list: T[]): void {
  const push = list.push;
  list.push = (...items: T[]) => {
    const now = Date.now();
    for (const item of items) arrivals.set(item, now);
    return push.apply(list, items);
  };
}
const arrivedAt = (item: object): number => {
  const at = arrivals.get(item);
  if (at === undefined) throw new Error('no arrival time recorded');
  return at;
};

beforeAll(async () => {
  fake = await startTwitterFake({ accounts: [envAccount, cappedAccount] });
  stampArrivals(fake.requests);
  stampArrivals(fake.dms);
  herald = await startTestHerald({
    env: {
      TWITTER_APP_KEY: envAccount.appKey,
      TWITTER_APP_SECRET: envAccount.appSecret,
      TWITTER_ACCESS_TOKEN: envAccount.accessToken,
      TWITTER_ACCESS_SECRET: envAccount.accessSecret,
      TWITTER_API_BASE_URL: fake.url,
      ...fastRetryEnv(MAX_ATTEMPTS),
      HERALD_WORKER_CONCURRENCY: '16',
      // Billing cycles of thousands of invoices in a minute: more than the default send budget,
      // and thousands of customers created through the API, more than its request rate limit.
      HERALD_SEND_BUDGET_PER_MINUTE: '0',
      HERALD_SEND_BUDGET_PER_DAY: '0',
      HERALD_RATE_LIMIT_PER_SECOND: '0',
    },
  });
});
afterAll(async () => {
  await herald?.stop();
  await fake?.close();
});

// ---------------------------------------------------------------------------------------
// GraphQL documents and helpers

const LOG_FIELDS = 'id outcome channel reason at gateway { id name provider }';
const MESSAGE_FIELDS = `id channel status body destination sentAt attempts providerMessageId errorCode errorMessage createdAt
  gateway { id name provider } recipient { id } invoice { number amountDue currency dueDate } logs { ${LOG_FIELDS} }`;
const SEND = `mutation($input: SendInvoiceDMInput!) { sendInvoiceDM(input: $input) { message { ${MESSAGE_FIELDS} } userErrors { field message code } } }`;
const NOTIFY = `mutation($input: NotifyBillingCycleInput!) { notifyBillingCycle(input: $input) { cycleId queued rejected userErrors { field message code } } }`;
const GET = `query($id: ID!) { message(id: $id) { ${MESSAGE_FIELDS} } }`;
const COUNT = `query($filter: MessageFilter) { messages(filter: $filter) { totalCount } }`;
const BY_INVOICE = `query($n: String) { messages(filter: { invoiceNumber: $n }) { totalCount edges { node { ${MESSAGE_FIELDS} } } } }`;
const UPDATE_RECIPIENT = `mutation($input: UpdateRecipientInput!) { updateRecipient(input: $input) { recipient { id twitterHandle } userErrors { field message code } } }`;
const ADD_GATEWAY = `mutation($input: AddChannelGatewayInput!) { addChannelGateway(input: $input) { gateway { id name provider isDefault enabled maxPerSecond } userErrors { field message code } } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { recipient { id subscriptions { channel gateway { id } } } userErrors { field message code } } }`;
const FAILURE_LOGS = `query($filter: DeliveryLogFilter, $after: String) { deliveryLogs(filter: $filter, first: 100, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { ${LOG_FIELDS} message { id } } } } }`;

interface Log extends LogBase {
  gateway: GatewayRef | null;
}
interface Message {
  id: string;
  channel: string;
  status: string;
  body: string;
  destination: string | null;
  sentAt: string | null;
  attempts: number;
  providerMessageId: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  createdAt: string;
  gateway: { id: string; name: string; provider: string } | null;
  recipient: { id: string };
  invoice: { number: string; amountDue: string; currency: string; dueDate: string } | null;
  logs: Log[];
}
interface SendPayload {
  message: Message | null;
  userErrors: UserError[];
}
interface Invoice {
  number: string;
  amountDue: string;
  currency: string;
  dueDate: string;
  url?: string | null;
}

// Handles and invoice numbers unique to this run and test, so each test can tell its own
// lookups and DMs at the fake apart from everyone else's.
const RUN = randomBytes(2).toString('hex');
let nextHandle = 0;
const freshHandle = () => `x${RUN}_${nextHandle++}`;
let nextInvoice = 0;
const freshNumber = () => `INV-${RUN}-${String(nextInvoice++).padStart(5, '0')}`;

const invoiceOf = (overrides: Partial<Invoice> = {}): Invoice => ({
  number: freshNumber(),
  amountDue: '1250',
  currency: 'USD',
  dueDate: '2026-12-01',
  url: 'https://billing.example.com/invoices/1',
  ...overrides,
});

/** A CUSTOMER with an X handle that exists at the fake (unless `registered: false`). */
async function customer(options: { handle?: string | null; registered?: boolean; dmsClosed?: boolean; displayName?: string } = {}) {
  const handle = options.handle === undefined ? freshHandle() : options.handle;
  const user = handle && options.registered !== false ? fake.addUser(handle, { dmsClosed: options.dmsClosed }) : undefined;
  const recipient = await buildRecipient(herald, {
    kind: 'CUSTOMER',
    displayName: options.displayName ?? `Customer ${handle ?? 'without handle'}`,
    twitterHandle: handle,
  });
  return { id: recipient.id as string, handle, userId: user?.id };
}

async function sendInvoiceDM(input: Record<string, unknown>): Promise<SendPayload> {
  return ok(await herald.gql(SEND, { input })).sendInvoiceDM;
}

async function accepted(input: Record<string, unknown>): Promise<Message> {
  const payload = await sendInvoiceDM(input);
  expect(payload.userErrors).toEqual([]);
  expect(payload.message).not.toBeNull();
  return payload.message!;
}

async function notify(input: Record<string, unknown>) {
  const result = await herald.gql(NOTIFY, { input });
  return ok(result).notifyBillingCycle as { cycleId: string; queued: number; rejected: number; userErrors: UserError[] };
}

async function getMessage(id: string): Promise<Message> {
  const message = ok(await herald.gql(GET, { id })).message;
  if (!message) throw new Error(`message ${id} is not found`);
  return message;
}

async function countMessages(filter: Record<string, unknown> = {}): Promise<number> {
  return ok(await herald.gql(COUNT, { filter })).messages.totalCount;
}

/** Polls `message(id)` until its status is one of `statuses`; fails with the last state seen otherwise. */
const waitForStatus = (id: string, statuses: string | string[], timeoutMs = 30_000) =>
  waitForMessageStatus(getMessage, id, statuses, { timeoutMs });

const lookupsOf = (handle: string) => fake.lookups.filter((h) => h.toLowerCase() === handle.toLowerCase());
const dmsTo = (userId: string) => fake.dms.filter((d) => d.participantId === userId);
const dmRequestsTo = (userId: string): TwitterFakeRequest[] =>
  fake.requests.filter((r) => r.method === 'POST' && r.path === `/2/dm_conversations/with/${userId}/messages`);
const lookupRequestsOf = (handle: string): TwitterFakeRequest[] =>
  fake.requests.filter((r) => r.method === 'GET' && r.path === `/2/users/by/username/${handle}`);
const isDmRequest = (r: TwitterFakeRequest) => r.method === 'POST' && r.path.startsWith('/2/dm_conversations/with/');

/** herald_billing_cycle_writes_total{attempts} on /metrics. */
const billingWrites = (attempts: '1' | '2') => scrapeMetric(herald.url, 'herald_billing_cycle_writes_total', { attempts });

/** Rejection logs of a billing cycle (their reasons name it), oldest first. */
async function cycleFailures(cycleId: string): Promise<Log[]> {
  const out: Log[] = [];
  let after: string | null = null;
  for (;;) {
    const page: any = ok(await herald.gql(FAILURE_LOGS, { filter: { outcome: 'FAILURE', channel: 'TWITTER_DM' }, after })).deliveryLogs;
    for (const edge of page.edges) if (edge.node.reason?.includes(`of cycle ${cycleId}:`)) out.push(edge.node);
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
  }
  return out.reverse();
}

/** Creates `n` customers with registered handles, `batch` createRecipient calls at a time. */
async function customers(n: number, batch = 50, displayName = (i: number) => `Bulk customer ${i}`) {
  const out: { id: string; handle: string; userId: string }[] = [];
  for (let start = 0; start < n; start += batch) {
    const created = await Promise.all(
      Array.from({ length: Math.min(batch, n - start) }, async (_, k) => {
        const handle = freshHandle();
        const user = fake.addUser(handle);
        const recipient = await buildRecipient(herald, { kind: 'CUSTOMER', displayName: displayName(start + k), twitterHandle: handle });
        return { id: recipient.id as string, handle, userId: user.id };
      }),
    );
    out.push(...created);
  }
  return out;
}

// ---------------------------------------------------------------------------------------

describe('sendInvoiceDM to a customer with an X handle', () => {
  it('looks the handle up once, DMs the user id a text with number, amount, due date and URL, and ends SENT with the dm_event_id', async () => {
    const ada = await customer({ displayName: 'Ada Lovelace' });
    const invoice = invoiceOf({ amountDue: '1250', currency: 'USD', dueDate: '2026-12-01', url: 'https://billing.example.com/inv/ada-1' });
    const message = await accepted({ customerId: ada.id, invoice });
    expect(message).toMatchObject({
      channel: 'TWITTER_DM',
      status: 'QUEUED',
      attempts: 0,
      providerMessageId: null,
      recipient: { id: ada.id },
      gateway: { provider: 'TWITTER', name: 'env:twitter' },
      invoice: { number: invoice.number, amountDue: '1250', currency: 'USD', dueDate: '2026-12-01' },
    });

    const sent = await waitForStatus(message.id, ['SENT', 'FAILED']);
    expect(lookupsOf(ada.handle!)).toEqual([ada.handle]);
    expect(lookupRequestsOf(ada.handle!)).toHaveLength(1);
    expect(lookupRequestsOf(ada.handle!)[0]).toMatchObject({ auth: 'ok', consumerKey: envAccount.appKey, token: envAccount.accessToken });
    const dms = dmsTo(ada.userId!);
    expect(dms).toHaveLength(1);
    expect(dmRequestsTo(ada.userId!)).toHaveLength(1);
    const [dm] = dms;
    expect(dm.senderToken).toBe(envAccount.accessToken);
    expect(dm.text).toContain(invoice.number);
    expect(dm.text).toContain('$1,250.00');
    expect(dm.text).toContain('December 1, 2026');
    expect(dm.text).toContain('https://billing.example.com/inv/ada-1');
    expect(dm.text).toContain('Ada Lovelace');
    expect(sent).toMatchObject({
      status: 'SENT',
      providerMessageId: dm.dmEventId,
      attempts: 1,
      errorCode: null,
      errorMessage: null,
      body: dm.text,
      invoice: { number: invoice.number, amountDue: '1250', currency: 'USD', dueDate: '2026-12-01' },
    });
    expect(sent.logs).toMatchObject([{ outcome: 'SUCCESS', channel: 'TWITTER_DM', reason: null }]);

    const found = ok(await herald.gql(BY_INVOICE, { n: invoice.number })).messages;
    expect(found.totalCount).toBe(1);
    expect(found.edges[0].node).toMatchObject({ id: message.id, status: 'SENT', invoice: { number: invoice.number } });
  });

  it('formats JPY without decimals (¥5,000) and leaves the URL line out when there is none', async () => {
    const ken = await customer();
    const invoice = invoiceOf({ amountDue: '5000', currency: 'jpy', dueDate: '2026-03-15', url: null });
    const message = await accepted({ customerId: ken.id, invoice });
    expect(message.invoice).toEqual({ number: invoice.number, amountDue: '5000', currency: 'JPY', dueDate: '2026-03-15' });
    await waitForStatus(message.id, 'SENT');
    const [dm] = dmsTo(ken.userId!);
    expect(dm.text).toContain('¥5,000');
    expect(dm.text).not.toContain('¥5,000.');
    expect(dm.text).toContain('March 15, 2026');
    expect(dm.text).not.toMatch(/https?:/);
  });

  it('makes no new lookup for a second DM to the same customer, and looks up the new handle after updateRecipient changes it', async () => {
    const bob = await customer();
    const first = await accepted({ customerId: bob.id, invoice: invoiceOf() });
    await waitForStatus(first.id, 'SENT');
    const second = await accepted({ customerId: bob.id, invoice: invoiceOf({ amountDue: '99.95' }) });
    const sentSecond = await waitForStatus(second.id, 'SENT');
    expect(lookupsOf(bob.handle!)).toHaveLength(1);
    expect(dmsTo(bob.userId!)).toHaveLength(2);
    expect(dmsTo(bob.userId!)[1].text).toContain('$99.95');
    expect(sentSecond.providerMessageId).toBe(dmsTo(bob.userId!)[1].dmEventId);

    const newHandle = freshHandle();
    const newUser = fake.addUser(newHandle);
    const updated = ok(await herald.gql(UPDATE_RECIPIENT, { input: { id: bob.id, twitterHandle: `@${newHandle}` } })).updateRecipient;
    expect(updated.userErrors).toEqual([]);
    expect(updated.recipient.twitterHandle).toBe(newHandle);

    const third = await accepted({ customerId: bob.id, invoice: invoiceOf() });
    const sentThird = await waitForStatus(third.id, 'SENT');
    expect(lookupsOf(newHandle)).toEqual([newHandle]);
    expect(lookupsOf(bob.handle!)).toHaveLength(1);
    expect(dmsTo(newUser.id)).toHaveLength(1);
    expect(dmsTo(bob.userId!)).toHaveLength(2);
    expect(sentThird.providerMessageId).toBe(dmsTo(newUser.id)[0].dmEventId);

    // …and the new id is cached in turn.
    const fourth = await accepted({ customerId: bob.id, invoice: invoiceOf() });
    await waitForStatus(fourth.id, 'SENT');
    expect(lookupsOf(newHandle)).toHaveLength(1);
    expect(dmsTo(newUser.id)).toHaveLength(2);
  });
});

describe('sendInvoiceDM refusals create and send nothing', () => {
  async function expectRefused(input: Record<string, unknown>, expected: Partial<UserError>[]) {
    const messagesBefore = await countMessages();
    const requestsBefore = fake.requests.length;
    const payload = await sendInvoiceDM(input);
    expect(payload.message, JSON.stringify(input)).toBeNull();
    expect(payload.userErrors, JSON.stringify(input)).toEqual(expected.map((e) => ({ message: expect.any(String), ...e })));
    expect(await countMessages()).toBe(messagesBefore);
    expect(fake.requests.length).toBe(requestsBefore);
    return payload.userErrors;
  }

  it('refuses each invalid invoice field with INVALID_INPUT on its path', async () => {
    const eve = await customer();
    const cases: [Partial<Invoice>, keyof Invoice][] = [
      [{ number: '' }, 'number'],
      [{ number: '   ' }, 'number'],
      [{ amountDue: '-5' }, 'amountDue'],
      [{ amountDue: '-0.01' }, 'amountDue'],
      [{ amountDue: '12,50' }, 'amountDue'],
      [{ amountDue: 'ten' }, 'amountDue'],
      [{ amountDue: '1e3' }, 'amountDue'],
      [{ amountDue: '' }, 'amountDue'],
      [{ amountDue: '1.234', currency: 'USD' }, 'amountDue'],
      [{ amountDue: '1.5', currency: 'JPY' }, 'amountDue'],
      [{ currency: 'XYZ' }, 'currency'],
      [{ currency: 'US' }, 'currency'],
      [{ dueDate: '2026-02-30' }, 'dueDate'],
      [{ dueDate: '2026-13-01' }, 'dueDate'],
      [{ dueDate: 'tomorrow' }, 'dueDate'],
      [{ dueDate: '2026-2-3' }, 'dueDate'],
      [{ url: 'ftp://x' }, 'url'],
      [{ url: 'not a url' }, 'url'],
    ];
    for (const [overrides, field] of cases) {
      const [error] = await expectRefused({ customerId: eve.id, invoice: invoiceOf(overrides) }, [
        { field: ['input', 'invoice', field], code: 'INVALID_INPUT' },
      ]);
      expect(error.message).toMatch(new RegExp(field));
    }
    // The same amounts are fine where the currency allows them.
    const fine = await accepted({ customerId: eve.id, invoice: invoiceOf({ amountDue: '1.234', currency: 'KWD', dueDate: '2028-02-29' }) });
    expect(fine.invoice).toMatchObject({ amountDue: '1.234', currency: 'KWD', dueDate: '2028-02-29' });
    expect((await waitForStatus(fine.id, ['SENT', 'FAILED'])).status).toBe('SENT');
  });

  it('refuses a customer without a handle with RECIPIENT_NOT_REACHABLE and an unknown customer with NOT_FOUND', async () => {
    const nohandle = await customer({ handle: null });
    const [error] = await expectRefused({ customerId: nohandle.id, invoice: invoiceOf() }, [
      { field: ['input', 'customerId'], code: 'RECIPIENT_NOT_REACHABLE' },
    ]);
    expect(error.message).toMatch(/handle/);
    await expectRefused({ customerId: 'rcp_0000000000007000800000000000dead', invoice: invoiceOf() }, [
      { field: ['input', 'customerId'], code: 'NOT_FOUND' },
    ]);
    await expectRefused({ customerId: 'not-an-id', invoice: invoiceOf() }, [{ field: ['input', 'customerId'], code: 'NOT_FOUND' }]);
  });

  it('answers a repeated key and input with the first message and DMs once; a different invoice under the key is a conflict', async () => {
    const ivy = await customer();
    const key = `inv-${randomBytes(4).toString('hex')}`;
    const invoice = invoiceOf();
    const first = await accepted({ customerId: ivy.id, invoice, idempotencyKey: key });
    const second = await accepted({ customerId: ivy.id, invoice, idempotencyKey: key });
    expect(second.id).toBe(first.id);
    await waitForStatus(first.id, 'SENT');
    const third = await accepted({ customerId: ivy.id, invoice, idempotencyKey: key });
    expect(third).toMatchObject({ id: first.id, status: 'SENT' });

    const conflict = await sendInvoiceDM({ customerId: ivy.id, invoice: { ...invoice, amountDue: '1300' }, idempotencyKey: key });
    expect(conflict).toEqual({
      message: null,
      userErrors: [{ field: ['input', 'idempotencyKey'], message: expect.any(String), code: 'IDEMPOTENCY_CONFLICT' }],
    });
    expect(await countMessages({ recipientId: ivy.id })).toBe(1);

    // 10 concurrent identical requests under a fresh key: one message, one DM.
    const burstKey = `burst-${randomBytes(4).toString('hex')}`;
    const burstInvoice = invoiceOf();
    const payloads = await Promise.all(
      Array.from({ length: 10 }, () => sendInvoiceDM({ customerId: ivy.id, invoice: burstInvoice, idempotencyKey: burstKey })),
    );
    for (const p of payloads) expect(p.userErrors).toEqual([]);
    const ids = new Set(payloads.map((p) => p.message!.id));
    expect(ids.size).toBe(1);
    await waitForStatus([...ids][0], 'SENT');
    expect(await countMessages({ recipientId: ivy.id })).toBe(2);
    expect(dmsTo(ivy.userId!)).toHaveLength(2);
    expect(dmRequestsTo(ivy.userId!)).toHaveLength(2);
  });
});

describe('sending failures', () => {
  it('fails an unknown handle with "no X account @<handle>" and sends no DM', async () => {
    const ghost = await customer({ registered: false });
    const dmRequestsBefore = fake.requests.filter(isDmRequest).length;
    const message = await accepted({ customerId: ghost.id, invoice: invoiceOf() });
    const failed = await waitForStatus(message.id, ['FAILED', 'SENT']);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 1, errorCode: 'USER_NOT_FOUND', providerMessageId: null });
    expect(failed.errorMessage).toContain(`no X account @${ghost.handle}`);
    expect(failed.logs).toMatchObject([{ outcome: 'FAILURE', reason: failed.errorMessage }]);
    expect(lookupsOf(ghost.handle!)).toEqual([ghost.handle]);
    expect(fake.requests.filter(isDmRequest)).toHaveLength(dmRequestsBefore);
  });

  it('fails a recipient with closed DMs (403) permanently after one DM attempt, with the reason', async () => {
    const closed = await customer({ dmsClosed: true });
    const message = await accepted({ customerId: closed.id, invoice: invoiceOf() });
    const failed = await waitForStatus(message.id, ['FAILED', 'SENT']);
    expect(failed).toMatchObject({ status: 'FAILED', attempts: 1, errorCode: '403', providerMessageId: null });
    expect(failed.errorMessage).toMatch(/does not accept Direct Messages/);
    expect(failed.logs).toMatchObject([{ outcome: 'FAILURE', reason: failed.errorMessage }]);
    expect(dmRequestsTo(closed.userId!)).toHaveLength(1);
    expect(dmsTo(closed.userId!)).toEqual([]);
  });

  it('retries a 503 and ends SENT', async () => {
    const cy = await customer();
    // The lookup is the first request; the DM after it gets the 503.
    fake.failNext(1, { status: 503 });
    const message = await accepted({ customerId: cy.id, invoice: invoiceOf() });
    const sent = await waitForStatus(message.id, ['SENT', 'FAILED']);
    expect(sent).toMatchObject({ status: 'SENT', attempts: 2, providerMessageId: dmsTo(cy.userId!)[0].dmEventId });
    expect(sent.logs.map((l) => l.outcome)).toEqual(['FAILURE', 'SUCCESS']);
    expect(sent.logs[0].reason).toMatch(/503/);
    expect(dmRequestsTo(cy.userId!)).toHaveLength(2);
    expect(dmsTo(cy.userId!)).toHaveLength(1);
    expect(lookupsOf(cy.handle!)).toHaveLength(1);
  });

  it('waits out a 429 until x-rate-limit-reset, and holds back the same gateway’s other messages meanwhile', async () => {
    const first = await customer();
    const second = await customer();
    const reset = Math.floor(Date.now() / 1000) + 3; // 2 to 3 s ahead
    const resetMs = reset * 1000;
    fake.failNext(1, { status: 429, reset, limit: 15, remaining: 0 });

    const a = await accepted({ customerId: first.id, invoice: invoiceOf() });
    // The 429 has been answered and the dispatcher has written it down (the gateway is paused).
    await waitUntil('the rate-limited attempt to be logged', async () =>
      (await getMessage(a.id)).logs.some((l) => /rate limited/.test(l.reason ?? '')),
    );
    const waiting = await getMessage(a.id);
    expect(waiting.status).not.toBe('FAILED');
    expect(waiting.status).toBe('QUEUED');
    expect(waiting.errorCode).toBe('429');
    expect(waiting.logs.at(-1)!.reason).toContain(new Date(resetMs).toISOString());
    const firstRateLimited = fake.requests.find((r) => isDmRequest(r) && r.path.includes(first.userId!))!;

    // Another message of the same gateway, queued while it is paused.
    const b = await accepted({ customerId: second.id, invoice: invoiceOf() });
    expect(Date.parse(b.createdAt)).toBeLessThan(resetMs);

    // Neither message fails while waiting; both are sent after the reset.
    const deadline = Date.now() + 30_000;
    let sentA: Message | undefined;
    let sentB: Message | undefined;
    while ((!sentA || !sentB) && Date.now() < deadline) {
      const [ma, mb] = await Promise.all([getMessage(a.id), getMessage(b.id)]);
      expect(ma.status).not.toBe('FAILED');
      expect(mb.status).not.toBe('FAILED');
      if (ma.status === 'SENT') sentA = ma;
      if (mb.status === 'SENT') sentB = mb;
      await pause(50);
    }
    expect(sentA, 'first message SENT').toBeDefined();
    expect(sentB, 'second message SENT').toBeDefined();
    expect(Date.parse(sentA!.sentAt!)).toBeGreaterThanOrEqual(resetMs);
    expect(Date.parse(sentB!.sentAt!)).toBeGreaterThanOrEqual(resetMs);
    expect(sentA!.logs.map((l) => l.outcome)).toEqual(['FAILURE', 'SUCCESS']);
    expect(sentA!.providerMessageId).toBe(dmsTo(first.userId!)[0].dmEventId);
    expect(sentB!.logs.map((l) => l.outcome)).toEqual(['SUCCESS']);

    // No tight loop: between the 429 and the reset X heard nothing from this gateway —
    // no second DM attempt (so at most the one 429), and nothing for the second message.
    const duringPause = fake.requests.filter((r) => arrivedAt(r) >= arrivedAt(firstRateLimited) && arrivedAt(r) < resetMs);
    expect(duringPause).toEqual([firstRateLimited]);
    expect(dmRequestsTo(first.userId!)).toHaveLength(2);
    for (const r of [...lookupRequestsOf(second.handle!), ...dmRequestsTo(second.userId!)])
      expect(arrivedAt(r)).toBeGreaterThanOrEqual(resetMs);
    expect(dmsTo(second.userId!)).toHaveLength(1);
  });
});

describe('notifyBillingCycle', () => {
  it('queues the good invoices, rejects the bad ones with FAILURE logs, and never DMs an invoice of the cycle twice', async () => {
    const good = await Promise.all([customer(), customer(), customer()]);
    const nohandle = await customer({ handle: null, displayName: 'Handleless Harry' });
    const cycleId = `cycle-${randomBytes(4).toString('hex')}`;
    const goodInvoices = good.map((c) => ({ customerId: c.id, invoice: invoiceOf() }));
    const unknownId = 'rcp_0000000000007000800000000000beef';
    const bad = [
      { customerId: unknownId, invoice: invoiceOf() },
      { customerId: nohandle.id, invoice: invoiceOf() },
      { customerId: good[0].id, invoice: invoiceOf({ amountDue: '12.345' }) },
    ];
    const messagesBefore = await countMessages();

    const result = await notify({ cycleId, invoices: [goodInvoices[0], bad[0], goodInvoices[1], bad[1], bad[2], goodInvoices[2]] });
    expect(result).toEqual({ cycleId, queued: 3, rejected: 3, userErrors: [] });
    expect(await countMessages()).toBe(messagesBefore + 3);

    const failures = await cycleFailures(cycleId);
    expect(failures).toHaveLength(3);
    expect(failures.every((l) => l.outcome === 'FAILURE' && l.channel === 'TWITTER_DM')).toBe(true);
    const reasons = failures.map((l) => l.reason!);
    expect(reasons.find((r) => r.includes(bad[0].invoice.number))).toMatch(new RegExp(`no customer ${unknownId}`));
    expect(reasons.find((r) => r.includes(bad[1].invoice.number))).toMatch(/Handleless Harry has no X handle/);
    expect(reasons.find((r) => r.includes(bad[2].invoice.number))).toMatch(/amountDue/);
    const harry = ok(await herald.gql(FAILURE_LOGS, { filter: { recipientId: nohandle.id, outcome: 'FAILURE' } })).deliveryLogs;
    expect(harry.edges.map((e: any) => e.node.reason)).toEqual([expect.stringMatching(/has no X handle/)]);
    expect(harry.edges[0].node.message).toBeNull();

    // Each good invoice: one message, found by its number, SENT with one DM.
    for (const [i, item] of goodInvoices.entries()) {
      const found = ok(await herald.gql(BY_INVOICE, { n: item.invoice.number })).messages;
      expect(found.totalCount).toBe(1);
      const sent = await waitForStatus(found.edges[0].node.id, ['SENT', 'FAILED']);
      expect(sent).toMatchObject({ status: 'SENT', recipient: { id: good[i].id }, invoice: { number: item.invoice.number } });
      expect(dmsTo(good[i].userId!).map((d) => d.text)).toEqual([expect.stringContaining(item.invoice.number)]);
    }
    for (const item of bad) expect(await countMessages({ invoiceNumber: item.invoice.number })).toBe(0);

    // The same cycle again, with one invoice more: only the new one is queued.
    const late = await customer();
    const lateInvoice = { customerId: late.id, invoice: invoiceOf() };
    const again = await notify({ cycleId, invoices: [...goodInvoices, ...bad, lateInvoice] });
    expect(again).toEqual({ cycleId, queued: 1, rejected: 3, userErrors: [] });
    const once = await notify({ cycleId: ` ${cycleId} `, invoices: goodInvoices });
    expect(once).toMatchObject({ queued: 0, rejected: 0 });
    expect(await countMessages()).toBe(messagesBefore + 4);
    const lateMessage = ok(await herald.gql(BY_INVOICE, { n: lateInvoice.invoice.number })).messages.edges[0].node;
    await waitForStatus(lateMessage.id, 'SENT');
    // Nothing further goes out for the invoices already DMed.
    await waitUntil(
      'every message of the cycle to settle',
      async () => (await countMessages({ channel: ['TWITTER_DM'], status: ['QUEUED', 'SENDING'] })) === 0,
    );
    for (const c of [...good, late]) expect(dmsTo(c.userId!)).toHaveLength(1);
  });

  it('routes each invoice as sendInvoiceDM would: the subscribed gateway, else the default; a staff member or another tenant’s customer is rejected with the reason', async () => {
    const second = ok(
      await herald.gql(ADD_GATEWAY, {
        input: {
          channel: 'TWITTER_DM',
          provider: 'TWITTER',
          name: `x-second-${RUN}`,
          credentials: JSON.stringify(cappedAccount),
          makeDefault: false,
        },
      }),
    ).addChannelGateway;
    expect(second.gateway).toMatchObject({ enabled: true, isDefault: false });
    const [plain, subscriber] = await Promise.all([customer(), customer()]);
    const sub = ok(
      await herald.gql(SUBSCRIBE, { input: { recipientId: subscriber.id, channel: 'TWITTER_DM', gatewayId: second.gateway.id } }),
    ).subscribe;
    expect(sub.userErrors).toEqual([]);
    const staff = await buildRecipient(herald, { kind: 'STAFF', displayName: 'Staff Sam', twitterHandle: freshHandle() });
    const other = await buildTenant(herald);
    const foreign = await buildRecipient(
      herald,
      { kind: 'CUSTOMER', displayName: 'Foreign Fay', twitterHandle: freshHandle() },
      other.adminKey,
    );
    const cycleId = `routes-${randomBytes(4).toString('hex')}`;
    const items = [plain, subscriber, staff, foreign].map((c) => ({ customerId: c.id as string, invoice: invoiceOf() }));

    expect(await notify({ cycleId, invoices: items })).toEqual({ cycleId, queued: 2, rejected: 2, userErrors: [] });
    const gatewayOf = async (n: string) => (ok(await herald.gql(BY_INVOICE, { n })).messages.edges[0].node as Message).gateway?.id;
    const defaultGateway = ok(await herald.gql(`{ gateways(channel: TWITTER_DM) { id isDefault } }`)).gateways.find(
      (g: any) => g.isDefault,
    );
    expect(defaultGateway.id).not.toBe(second.gateway.id);
    expect(await gatewayOf(items[0].invoice.number)).toBe(defaultGateway.id);
    expect(await gatewayOf(items[1].invoice.number)).toBe(second.gateway.id);
    const reasons = (await cycleFailures(cycleId)).map((l) => l.reason!);
    expect(reasons).toHaveLength(2);
    expect(reasons.find((r) => r.includes(items[2].invoice.number))).toMatch(/Staff Sam is a STAFF, not a customer/);
    expect(reasons.find((r) => r.includes(items[3].invoice.number))).toMatch(new RegExp(`no customer ${foreign.id}`));
    for (const item of items.slice(2)) expect(await countMessages({ invoiceNumber: item.invoice.number })).toBe(0);
  });

  it('keeps every character of names, numbers and URLs as given (quotes, backslashes, braces, commas, "NULL", emoji, newlines)', async () => {
    const awkward = await customer({ displayName: 'Zoë "The \\ Boss" {O\'Neil}, NULL 🚀' });
    const cycleId = `awkward-${randomBytes(4).toString('hex')}`;
    const invoice = invoiceOf({ number: `{"INV",\\${RUN}}`, url: 'https://billing.example.com/i?a="1"&b=\\{x}' });
    expect(await notify({ cycleId, invoices: [{ customerId: awkward.id, invoice }] })).toEqual({
      cycleId,
      queued: 1,
      rejected: 0,
      userErrors: [],
    });
    const found = ok(await herald.gql(BY_INVOICE, { n: invoice.number })).messages;
    expect(found.totalCount).toBe(1);
    const sent = await waitForStatus(found.edges[0].node.id, ['SENT', 'FAILED']);
    expect(sent.status).toBe('SENT');
    expect(sent.invoice).toEqual({ number: invoice.number, amountDue: '1250', currency: 'USD', dueDate: '2026-12-01' });
    const text = `Hi Zoë "The \\ Boss" {O'Neil}, NULL 🚀, your invoice {"INV",\\${RUN}} for $1,250.00 is due on December 1, 2026.\nView and pay it here: ${invoice.url}`;
    expect(sent.body).toBe(text);
    expect(dmsTo(awkward.userId!).map((d) => d.text)).toEqual([text]);
  });

  it('queues each invoice once when calls of one cycle overlap, at the same time or one after the other, and a customer gets one DM per invoice', async () => {
    const people = await Promise.all([customer(), customer(), customer()]);
    const cycleId = `overlap-${randomBytes(4).toString('hex')}`;
    const items = Array.from({ length: 30 }, (_, i) => ({ customerId: people[i % 3].id, invoice: invoiceOf() }));
    const messagesBefore = await countMessages();
    const writesBefore = { once: await billingWrites('1'), twice: await billingWrites('2') };

    // Two calls at once sharing invoices 10–19, then a retry of the whole cycle with the same invoice given twice.
    const [first, second] = await Promise.all([
      notify({ cycleId, invoices: items.slice(0, 20) }),
      notify({ cycleId, invoices: items.slice(10) }),
    ]);
    expect([first.userErrors, second.userErrors]).toEqual([[], []]);
    expect(first.queued + second.queued).toBe(30);
    expect(await notify({ cycleId, invoices: [...items, items[0]] })).toEqual({ cycleId, queued: 0, rejected: 0, userErrors: [] });
    expect(await countMessages()).toBe(messagesBefore + 30);
    for (const item of items) expect(await countMessages({ invoiceNumber: item.invoice.number })).toBe(1);
    // On /metrics: the first of the overlapping calls wrote once; the other and the retry met queued invoices and wrote again.
    expect({ once: await billingWrites('1'), twice: await billingWrites('2') }).toEqual({
      once: writesBefore.once + 1,
      twice: writesBefore.twice + 2,
    });

    await waitUntil(
      'the cycle to settle',
      async () => (await countMessages({ channel: ['TWITTER_DM'], status: ['QUEUED', 'SENDING'] })) === 0,
    );
    for (const p of people) expect(dmsTo(p.userId!)).toHaveLength(10);
    const texts = people.flatMap((p) => dmsTo(p.userId!).map((d) => d.text));
    for (const item of items) expect(texts.filter((t) => t.includes(item.invoice.number))).toHaveLength(1);
  });

  it('writes a cycle whose invoices are all refused as FAILURE logs only: nothing queued, nothing sent', async () => {
    const nohandle = await customer({ handle: null, displayName: 'Handleless Hilda' });
    const cycleId = `refused-${randomBytes(4).toString('hex')}`;
    const messagesBefore = await countMessages();
    const result = await notify({
      cycleId,
      invoices: [
        { customerId: nohandle.id, invoice: invoiceOf() },
        { customerId: nohandle.id, invoice: invoiceOf({ currency: 'XYZ' }) },
      ],
    });
    expect(result).toEqual({ cycleId, queued: 0, rejected: 2, userErrors: [] });
    expect(await countMessages()).toBe(messagesBefore);
    expect((await cycleFailures(cycleId)).map((l) => l.reason)).toEqual([
      expect.stringMatching(/Handleless Hilda has no X handle/),
      expect.stringMatching(/currency/),
    ]);
  });

  it('refuses more than 10,000 invoices with INVALID_INPUT saying to split, creating nothing', async () => {
    const one = await customer();
    const item = { customerId: one.id, invoice: { number: 'INV-SAME', amountDue: '1', currency: 'USD', dueDate: '2026-12-01' } };
    const invoices = new Array(10_001).fill(item);
    const messagesBefore = await countMessages();
    const result = await notify({ cycleId: `too-big-${RUN}`, invoices });
    expect(result.queued).toBe(0);
    expect(result.userErrors).toEqual([{ field: ['input', 'invoices'], message: expect.stringMatching(/split/), code: 'INVALID_INPUT' }]);
    expect(await countMessages()).toBe(messagesBefore);
    expect(await cycleFailures(`too-big-${RUN}`)).toEqual([]);
  });

  it('DMs a cycle of 2,000 invoices over 2,000 customers: all SENT, 2,000 distinct DMs, at most one lookup per handle', async () => {
    const started = Date.now();
    const people = await customers(2_000);
    const created = Date.now();
    const cycleId = `bulk-${RUN}`;
    const invoices = people.map((p, i) => ({
      customerId: p.id,
      invoice: invoiceOf({ amountDue: `${100 + i}.50`, url: `https://billing.example.com/i/${i}` }),
    }));
    const sentBefore = await countMessages({ channel: ['TWITTER_DM'], status: ['SENT'] });
    const failedBefore = await countMessages({ channel: ['TWITTER_DM'], status: ['FAILED'] });

    const result = await notify({ cycleId, invoices });
    const queuedAt = Date.now();
    expect(result).toEqual({ cycleId, queued: 2_000, rejected: 0, userErrors: [] });

    const ids = new Set(people.map((p) => p.userId));
    const ours = () => fake.dms.filter((d) => ids.has(d.participantId));
    await waitUntil(
      () => `2,000 DMs (${ours().length} so far)`,
      () => ours().length >= 2_000,
      240_000,
      250,
    );
    await waitUntil(
      'every message to settle',
      async () => (await countMessages({ channel: ['TWITTER_DM'], status: ['QUEUED', 'SENDING'] })) === 0,
      60_000,
      250,
    );
    const done = Date.now();
    expect(await countMessages({ channel: ['TWITTER_DM'], status: ['SENT'] })).toBe(sentBefore + 2_000);
    expect(await countMessages({ channel: ['TWITTER_DM'], status: ['FAILED'] })).toBe(failedBefore);

    const dms = ours();
    expect(dms).toHaveLength(2_000);
    expect(new Set(dms.map((d) => d.participantId)).size).toBe(2_000);
    expect(new Set(dms.map((d) => d.dmEventId)).size).toBe(2_000);
    const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
    const byUser = new Map(dms.map((d) => [d.participantId, d.text]));
    for (const [i, p] of people.entries()) {
      const text = byUser.get(p.userId)!;
      expect(text).toContain(invoices[i].invoice.number);
      expect(text).toContain(usd.format(100 + i + 0.5)); // e.g. $1,000.50
    }
    const lookups = new Map<string, number>();
    for (const h of fake.lookups) lookups.set(h.toLowerCase(), (lookups.get(h.toLowerCase()) ?? 0) + 1);
    const repeated = people.filter((p) => (lookups.get(p.handle.toLowerCase()) ?? 0) > 1);
    expect(repeated).toEqual([]);
    expect(people.filter((p) => (lookups.get(p.handle.toLowerCase()) ?? 0) === 1)).toHaveLength(2_000);
    expect(fake.requests.filter((r) => r.auth !== 'ok')).toEqual([]);

    // Written with the messages: one job per 100 of them; the worker gave each its own job.
    const messageIds = (
      await herald.handle.prepared<{ id: string }>('test_cycle_ids', 'select id from messages where billing_cycle_id = $1', [cycleId])
    ).map((r) => r.id);
    const fanOuts = (
      await herald.handle.prepared<{ ids: string[] }>(
        'test_fan_outs',
        `select data->'messageIds' as ids from pgboss.job where data ? 'messageIds'`,
        [],
      )
    ).filter((j) => messageIds.includes(j.ids[0]));
    expect(fanOuts.map((j) => j.ids.length)).toEqual(Array(20).fill(100));
    expect(new Set(fanOuts.flatMap((j) => j.ids))).toEqual(new Set(messageIds));
    const jobsPerMessage = `select count(*)::int as n from pgboss.job where data->>'messageId' = any($1::text[]) group by data->>'messageId'`;
    const own = await herald.handle.prepared<{ n: number }>('test_own_jobs', jobsPerMessage, [messageIds]);
    expect(own.map((r) => r.n)).toEqual(Array(2_000).fill(1));

    // A fan-out job run again (its worker died before finishing it) adds no job: each
    // message's first job has the message's id.
    const again = messageIds.slice(0, 100);
    const repeatedFanOut = await herald.queue.send('herald-dispatch', { messageIds: again });
    await waitUntil(
      'the repeated fan-out job to run',
      async () => (await herald.queue.getJobById('herald-dispatch', repeatedFanOut!))?.state === 'completed',
      30_000,
      250,
    );
    const afterRepeat = await herald.handle.prepared<{ n: number }>('test_own_jobs', jobsPerMessage, [messageIds]);
    expect(afterRepeat.map((r) => r.n)).toEqual(Array(2_000).fill(1));
    expect(ours()).toHaveLength(2_000);
    expect(await countMessages({ channel: ['TWITTER_DM'], status: ['SENT'] })).toBe(sentBefore + 2_000);

    // A sample read back through the API.
    const sample = ok(await herald.gql(BY_INVOICE, { n: invoices[1234].invoice.number })).messages;
    expect(sample.edges[0].node).toMatchObject({
      status: 'SENT',
      recipient: { id: people[1234].id },
      invoice: { amountDue: '1334.50', currency: 'USD' },
    });

    console.log(
      `[invoices] 2,000-invoice cycle: customers created in ${created - started} ms, notifyBillingCycle in ${queuedAt - created} ms, ` +
        `all SENT ${done - queuedAt} ms after (${Math.round((2_000 * 1000) / (done - queuedAt))} DMs/s); total ${done - started} ms`,
    );
  }, 300_000);
});

describe('gateway send rate', () => {
  it('spreads the DMs of a gateway capped at 5 per second: at least ~1.6 s from the first to the 10th', async () => {
    const added = ok(
      await herald.gql(ADD_GATEWAY, {
        input: {
          channel: 'TWITTER_DM',
          provider: 'TWITTER',
          name: `x-capped-${RUN}`,
          credentials: JSON.stringify(cappedAccount),
          makeDefault: false,
          maxPerSecond: 5,
        },
      }),
    ).addChannelGateway;
    expect(added.userErrors).toEqual([]);
    expect(added.gateway).toMatchObject({ provider: 'TWITTER', isDefault: false, enabled: true, maxPerSecond: 5 });
    const gatewayId = added.gateway.id;

    const people = await customers(10, 10);
    for (const p of people) {
      const sub = ok(await herald.gql(SUBSCRIBE, { input: { recipientId: p.id, channel: 'TWITTER_DM', gatewayId } })).subscribe;
      expect(sub.userErrors).toEqual([]);
    }
    const cycleId = `capped-${RUN}`;
    const invoices = people.map((p) => ({ customerId: p.id, invoice: invoiceOf() }));
    const result = await notify({ cycleId, invoices });
    expect(result).toMatchObject({ queued: 10, rejected: 0 });

    const ids = new Set(people.map((p) => p.userId));
    const ours = () => fake.dms.filter((d) => ids.has(d.participantId));
    await waitUntil(
      () => `10 DMs through the capped gateway (${ours().length} so far)`,
      () => ours().length >= 10,
      60_000,
    );
    const dms = ours();
    expect(dms).toHaveLength(10);
    expect(dms.every((d) => d.senderToken === cappedAccount.accessToken)).toBe(true);
    const times = dms.map(arrivedAt).sort((x, y) => x - y);
    const span = times[9] - times[0];
    console.log(
      `[invoices] capped gateway (5/s): 10 DMs over ${span} ms; gaps ${times
        .slice(1)
        .map((t, i) => t - times[i])
        .join(', ')} ms`,
    );
    expect(span).toBeGreaterThanOrEqual(1_600);
    // Lookups went through the same gateway's account.
    for (const p of people) expect(lookupRequestsOf(p.handle).map((r) => r.token)).toEqual([cappedAccount.accessToken]);

    for (const item of invoices) {
      const found = ok(await herald.gql(BY_INVOICE, { n: item.invoice.number })).messages;
      const sent = await waitForStatus(found.edges[0].node.id, ['SENT', 'FAILED']);
      expect(sent).toMatchObject({ status: 'SENT', gateway: { id: gatewayId } });
    }
  }, 90_000);
});
