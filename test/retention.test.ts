// Retention end to end: a real Herald (API, worker, queue, database) sends through its
// SANDBOX gateways and posts every status change to a local webhook receiver; then the
// purge runs with its clock set by the test ("now" 30 days after a moment between two
// rounds of sends) and the checks are on what a user sees: `message`, `messages`,
// `deliveryLogs`, `webhookDeliveries` and `stats` answers, the purge's counts, log line
// and metrics. Jobs, receipts and idempotency keys have no API; they are read from the
// database. A few rows are written straight into it with ids made for an old time (a
// message created 100 days ago, receipts 59 and 61 days old), as an older Herald would
// have left them.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryLogs, messages } from '../src/db/schema/index.js';
import { fromGlobalId, toGlobalId, uuidv7 } from '../src/lib/ids.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics.js';
import { type PurgeCounts, Purger } from '../src/modules/retention/purger.js';
import { SANDBOX_INVALID_NUMBER } from '../src/providers/sandbox/sandbox-provider.js';
import { startWebhookReceiver, type WebhookReceiver } from './fakes/webhook-receiver.js';
import { rowsOf } from './helpers/database.js';
import { buildApiKey, buildRecipient, buildTenant } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { metricsText, metric } from './helpers/metrics.js';
import { waitForMessageStatus, waitUntil } from './helpers/wait.js';

const DAY = 86_400_000;
const CLIENT_PHONE = '+14155550123';
const ALL_EVENTS = ['MESSAGE_SCHEDULED', 'MESSAGE_QUEUED', 'MESSAGE_SENT', 'MESSAGE_DELIVERED', 'MESSAGE_FAILED', 'MESSAGE_CANCELLED'];
const USER_ERRORS = 'userErrors { field message code }';
const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status } ${USER_ERRORS} } }`;
const CANCEL = `mutation($input: CancelMessageInput!) { cancelMessage(input: $input) { message { id status } ${USER_ERRORS} } }`;
const ORDER = `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) { messages { id } ${USER_ERRORS} } }`;
const NOTIFY = `mutation($input: NotifyBillingCycleInput!) { notifyBillingCycle(input: $input) { queued rejected ${USER_ERRORS} } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { recipient { id } ${USER_ERRORS} } }`;
const SET_RETENTION = `mutation($input: SetRetentionInput!) { setRetention(input: $input) { tenant { id retentionDays } ${USER_ERRORS} } }`;
const STATS = `query($input: StatsInput!) { stats(input: $input) { day channel status count segments } }`;
const MESSAGE = `query($id: ID!) { message(id: $id) { id status body destination logs { id } } }`;
const MESSAGES = `query($after: String) { messages(first: 100, after: $after) { totalCount edges { node { id status } } pageInfo { hasNextPage endCursor } } }`;
const LOGS = `query($filter: DeliveryLogFilter) { deliveryLogs(first: 100, filter: $filter) { totalCount edges { node { id reason message { id } } } } }`;
const DELIVERIES = `query($filter: WebhookDeliveryFilter) { webhookDeliveries(first: 100, filter: $filter) {
  totalCount edges { node { id outcome event { id } } } } }`;

interface Stat {
  day: string;
  channel: string;
  status: string;
  count: number;
  segments: number;
}

let herald: TestHerald;
let receiver: WebhookReceiver;
let A: { key: string; tenantId: string; client: { id: string }; failing: { id: string }; customer: { id: string }; endpointId: string };
let B: { key: string; tenantId: string; client: { id: string } };

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const uuidOf = (apiId: string) => fromGlobalId(apiId)!.uuid;
const rows = async (query: ReturnType<typeof sql>) => rowsOf(await herald.services.db.execute(query));

async function getMessage(id: string, key = A.key) {
  const message = ok(
    await herald.gql(`query($id: ID!) { message(id: $id) { status errorCode errorMessage logs { outcome reason } } }`, { id }, key),
  ).message;
  if (!message) throw new Error(`message ${id} is not found`);
  return message as {
    status: string;
    errorCode: string | null;
    errorMessage: string | null;
    logs: { outcome: string; reason: string | null }[];
  };
}

async function sendSms(input: Record<string, unknown>, key = A.key): Promise<string> {
  const payload = ok(await herald.gql(SEND, { input: { message: 'Your table is ready', ...input } }, key)).sendSms;
  expect(payload.userErrors).toEqual([]);
  return payload.message.id as string;
}

async function stats(input: Record<string, unknown>, key = A.key): Promise<Stat[]> {
  return ok(await herald.gql(STATS, { input }, key)).stats as Stat[];
}

async function allMessages(key = A.key): Promise<{ id: string; status: string }[]> {
  const out: { id: string; status: string }[] = [];
  let after: string | undefined;
  for (;;) {
    const page = ok(await herald.gql(MESSAGES, { after }, key)).messages;
    out.push(...page.edges.map((e: { node: { id: string; status: string } }) => e.node));
    if (!page.pageInfo.hasNextPage) return out;
    after = page.pageInfo.endCursor;
  }
}

/** Jobs in the queue that name any of these messages (a send's job, or a bulk write's fan-out job). */
async function jobsOfMessages(apiIds: string[]): Promise<number> {
  const ids = apiIds.map(uuidOf);
  const [row] = await rows(sql`
    select count(*)::int as n from pgboss.job
     where data->>'messageId' = any(${sql.param(ids)}::text[])
        or exists (select 1 from jsonb_array_elements_text(coalesce(data->'messageIds', '[]'::jsonb)) m(id) where m.id = any(${sql.param(ids)}::text[]))`);
  return row.n as number;
}

/** Webhook jobs that name any of these events. */
async function jobsOfEvents(eventIds: string[]): Promise<number> {
  const [row] = await rows(
    sql`select count(*)::int as n from pgboss.job where name = 'herald-webhooks' and data->>'eventId' = any(${sql.param(eventIds.map(uuidOf))}::text[])`,
  );
  return row.n as number;
}

/** Every event of the tenant has had a delivery attempt, so the counts of events and attempts are settled. */
async function webhooksSettled(tenantApiId: string): Promise<void> {
  const tenantId = uuidOf(tenantApiId);
  await waitUntil('every webhook event of the tenant delivered', async () => {
    const [row] = await rows(sql`
      select count(*)::int as events,
             count(*) filter (where not exists (select 1 from webhook_deliveries d where d.event_id = e.id and d.outcome = 'SUCCEEDED'))::int as waiting
        from outbound_events e where e.tenant_id = ${tenantId}`);
    return (row.events as number) > 0 && row.waiting === 0;
  });
}

/** The log lines of purge runs, newest last. */
function purgeLines(logs = herald.logs): { purged: PurgeCounts; msg: string }[] {
  return logs.map((line) => JSON.parse(line) as { purged: PurgeCounts; msg: string }).filter((l) => l.msg === 'retention purge');
}

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  herald = await startTestHerald({ env: { HERALD_WEBHOOK_ALLOW_PRIVATE: 'true' } });
  // The purge a dispatching process runs at start: it has found nothing to remove.
  await waitUntil('the purge at start', () => purgeLines().length > 0);
  expect(purgeLines()[0].purged).toEqual({
    messages: 0,
    deliveryLogs: 0,
    webhookEvents: 0,
    webhookDeliveries: 0,
    jobs: 0,
    providerReceipts: 0,
    idempotencyKeys: 0,
  });

  const viewer = ok(await herald.gql('{ viewer { id } }')).viewer;
  const client = await buildRecipient(herald, { kind: 'CLIENT', displayName: 'Clara Client', phone: CLIENT_PHONE });
  const failing = await buildRecipient(herald, { kind: 'CLIENT', displayName: 'Ivan Invalid', phone: SANDBOX_INVALID_NUMBER });
  const customer = await buildRecipient(herald, {
    kind: 'CUSTOMER',
    displayName: 'Cass Customer',
    phone: '+14155550124',
    email: 'cass@example.com',
    twitterHandle: 'cass_customer',
  });
  for (const channel of ['SMS', 'EMAIL']) {
    expect(ok(await herald.gql(SUBSCRIBE, { input: { recipientId: customer.id, channel } })).subscribe.userErrors).toEqual([]);
  }
  const endpoint = ok(
    await herald.gql(
      `mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } ${USER_ERRORS} } }`,
      { input: { url: receiver.url, eventTypes: ALL_EVENTS } },
    ),
  ).createWebhookEndpoint;
  expect(endpoint.userErrors).toEqual([]);
  A = { key: herald.adminKey, tenantId: viewer.id, client, failing, customer, endpointId: endpoint.endpoint.id };

  const b = await buildTenant(herald, 'Tenant B keeps 90 days');
  B = {
    key: b.adminKey,
    tenantId: b.tenant.id,
    client: await buildRecipient(herald, { kind: 'CLIENT', displayName: 'Bo of B', phone: '+14155550125' }, b.adminKey),
  };
}, 60_000);

afterAll(async () => {
  await herald?.stop();
  await receiver?.close();
});

describe('setRetention and Tenant.retentionDays', () => {
  const retentionOf = async (key: string) => ok(await herald.gql('{ viewer { retentionDays } }', undefined, key)).viewer.retentionDays;

  it('is 30 days for a tenant that has not set it', async () => {
    expect(await retentionOf(A.key)).toBe(30);
    expect(await retentionOf(B.key)).toBe(30);
  });

  it('refuses 0 and 3,651 days with INVALID_INPUT, changing nothing', async () => {
    for (const days of [0, -5, 3_651]) {
      const payload = ok(await herald.gql(SET_RETENTION, { input: { days } })).setRetention;
      expect(payload, String(days)).toEqual({
        tenant: null,
        userErrors: [{ field: ['input', 'days'], message: 'days must be from 1 to 3650', code: 'INVALID_INPUT' }],
      });
    }
    expect(await retentionOf(A.key)).toBe(30);
  });

  it('takes 1 and 3,650 days for the caller’s own tenant, with or without its id', async () => {
    for (const input of [{ days: 1 }, { days: 3_650, tenantId: A.tenantId }, { days: 30 }]) {
      const payload = ok(await herald.gql(SET_RETENTION, { input })).setRetention;
      expect(payload).toEqual({ tenant: { id: A.tenantId, retentionDays: input.days }, userErrors: [] });
      expect(await retentionOf(A.key)).toBe(input.days);
    }
  });

  it('lets the operator set another tenant’s, and no other ADMIN: to it that tenant is NOT_FOUND', async () => {
    const set = ok(await herald.gql(SET_RETENTION, { input: { tenantId: B.tenantId, days: 90 } })).setRetention;
    expect(set).toEqual({ tenant: { id: B.tenantId, retentionDays: 90 }, userErrors: [] });
    expect(await retentionOf(B.key)).toBe(90);

    const refused = ok(await herald.gql(SET_RETENTION, { input: { tenantId: A.tenantId, days: 1 } }, B.key)).setRetention;
    expect(refused).toEqual({ tenant: null, userErrors: [{ field: ['input', 'tenantId'], message: 'no such tenant', code: 'NOT_FOUND' }] });
    expect(await retentionOf(A.key)).toBe(30);

    const unknown = ok(await herald.gql(SET_RETENTION, { input: { tenantId: toGlobalId('Tenant', uuidv7()), days: 5 } })).setRetention;
    expect(unknown.userErrors.map((e: { code: string }) => e.code)).toEqual(['NOT_FOUND']);
  });

  it('is refused to SENDER and READER keys', async () => {
    for (const role of ['SENDER', 'READER'] as const) {
      const key = await buildApiKey(herald, role);
      const result = await herald.gql(SET_RETENTION, { input: { days: 7 } }, key);
      expect(result.status).toBe(403);
      expect(result.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    }
    expect(await retentionOf(A.key)).toBe(30);
  });
});

describe('stats input', () => {
  it('refuses days that are not a range of at most 366 days with BAD_USER_INPUT naming the field', async () => {
    const cases: [Record<string, unknown>, string[]][] = [
      [{ from: '2026-02-30', to: '2026-03-01' }, ['input', 'from']],
      [{ from: '1 March', to: '2026-03-01' }, ['input', 'from']],
      [{ from: '2026-03-01', to: '2026-03-01T00:00:00Z' }, ['input', 'to']],
      [{ from: '2026-03-02', to: '2026-03-01' }, ['input', 'to']],
      [{ from: '2026-01-01', to: '2027-01-02' }, ['input', 'to']],
    ];
    for (const [input, field] of cases) {
      const result = await herald.gql(STATS, { input });
      expect(result.status, JSON.stringify(input)).toBe(400);
      expect(result.errors?.map((e) => [e.extensions?.code, e.extensions?.field])).toEqual([['BAD_USER_INPUT', field]]);
    }
    // 366 days (a leap year) is a range.
    expect(ok(await herald.gql(STATS, { input: { from: '2028-01-01', to: '2028-12-31' } })).stats).toEqual([]);
  });
});

describe('the purge', () => {
  /** A's messages from before `cutoff` that the purge removes, and the one it keeps (SCHEDULED). */
  const old: { purged: string[]; scheduled: string; cancelled: string; orderKey: string; rejectedCycle: string; testEventId: string } = {
    purged: [],
    scheduled: '',
    cancelled: '',
    orderKey: 'order-retention-1',
    rejectedCycle: 'cycle-old',
    testEventId: '',
  };
  const fresh: { messages: string[]; rejectedCycle: string } = { messages: [], rejectedCycle: 'cycle-new' };
  let bOld: string;
  let cutoff: number;
  let backdatedDay: string;
  let statsRange: { from: string; to: string };
  let statsBefore: Stat[];
  let backdatedStatsBefore: Stat[];
  let bStatsBefore: Stat[];
  let messagesBefore: Map<string, unknown>;
  let expected: PurgeCounts;
  let eventsOfPurged: string[];
  let counts: PurgeCounts;

  beforeAll(async () => {
    // Before the cutoff: sent (one of two segments), failed, cancelled while scheduled (its
    // job still waits), scheduled far ahead (in flight), an order update on SMS and EMAIL
    // with an idempotency key, a billing cycle (a bulk write: a fan-out job) with one
    // refused invoice (a delivery log naming no message), a test webhook event, and B's own.
    const sent = await sendSms({ clientId: A.client.id, message: 'Old news' });
    const long = await sendSms({ clientId: A.client.id, message: 'A longer old message. '.repeat(8) });
    const failed = await sendSms({ clientId: A.failing.id, message: 'Never arrives' });
    old.cancelled = await sendSms({ clientId: A.client.id, sendAt: new Date(Date.now() + 2 * DAY).toISOString() });
    expect(ok(await herald.gql(CANCEL, { input: { id: old.cancelled } })).cancelMessage.userErrors).toEqual([]);
    old.scheduled = await sendSms({ clientId: A.client.id, message: 'Far ahead', sendAt: new Date(Date.now() + 300 * DAY).toISOString() });
    const order = ok(
      await herald.gql(ORDER, { input: { customerId: A.customer.id, orderId: 'ORD-1', status: 'SHIPPED', idempotencyKey: old.orderKey } }),
    ).updateOrderStatus;
    expect(order.userErrors).toEqual([]);
    const invoice = { number: 'INV-OLD', amountDue: '10.00', currency: 'USD', dueDate: '2030-01-01' };
    const cycle = ok(
      await herald.gql(NOTIFY, {
        input: {
          cycleId: old.rejectedCycle,
          invoices: [
            { customerId: A.customer.id, invoice },
            { customerId: toGlobalId('Recipient', uuidv7()), invoice: { ...invoice, number: 'INV-NOBODY' } },
          ],
        },
      }),
    ).notifyBillingCycle;
    expect(cycle).toMatchObject({ queued: 1, rejected: 1, userErrors: [] });
    const dm = ok(await herald.gql(`{ messages(filter: { invoiceNumber: "INV-OLD" }) { edges { node { id } } } }`)).messages.edges[0].node
      .id as string;
    const testEvent = ok(
      await herald.gql(
        `mutation($input: SendTestWebhookEventInput!) { sendTestWebhookEvent(input: $input) { event { id } ${USER_ERRORS} } }`,
        { input: { endpointId: A.endpointId } },
      ),
    ).sendTestWebhookEvent;
    expect(testEvent.userErrors).toEqual([]);
    old.testEventId = testEvent.event.id;
    bOld = await sendSms({ clientId: B.client.id, message: 'B keeps this' }, B.key);

    // A message (and its log) as an older Herald left it 100 days ago: DELIVERED, 3 segments.
    const backdatedAt = Date.now() - 100 * DAY;
    backdatedDay = dayOf(backdatedAt);
    const backdatedId = uuidv7(backdatedAt);
    await herald.services.db.insert(messages).values({
      id: backdatedId,
      tenantId: uuidOf(A.tenantId),
      recipientId: uuidOf(A.client.id),
      channel: 'SMS',
      status: 'DELIVERED',
      body: 'From long ago',
      destination: CLIENT_PHONE,
      encoding: 'GSM7',
      segments: 3,
      createdAt: new Date(backdatedAt),
    });
    await herald.services.db.insert(deliveryLogs).values({
      id: uuidv7(backdatedAt),
      tenantId: uuidOf(A.tenantId),
      messageId: backdatedId,
      recipientId: uuidOf(A.client.id),
      channel: 'SMS',
      outcome: 'SUCCESS',
      reason: 'delivered long ago',
      at: new Date(backdatedAt),
    });

    const orderIds = order.messages.map((m: { id: string }) => m.id);
    for (const id of [sent, long, dm, ...orderIds]) await waitForMessageStatus(getMessage, id, 'SENT');
    await waitForMessageStatus(getMessage, failed, 'FAILED');
    await waitForMessageStatus((id) => getMessage(id, B.key), bOld, 'SENT');
    await webhooksSettled(A.tenantId);
    old.purged = [sent, long, failed, old.cancelled, ...orderIds, dm, toGlobalId('Message', backdatedId)];

    // The cutoff: A keeps 30 days, and the purge runs 30 days after this moment.
    await new Promise((resolve) => setTimeout(resolve, 5));
    cutoff = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 5));

    // After the cutoff: a send, and another refused invoice.
    fresh.messages.push(await sendSms({ clientId: A.client.id, message: 'Fresh news' }));
    const freshCycle = ok(
      await herald.gql(NOTIFY, {
        input: { cycleId: fresh.rejectedCycle, invoices: [{ customerId: toGlobalId('Recipient', uuidv7()), invoice }] },
      }),
    ).notifyBillingCycle;
    expect(freshCycle).toMatchObject({ queued: 0, rejected: 1 });
    await waitForMessageStatus(getMessage, fresh.messages[0], 'SENT');
    await webhooksSettled(A.tenantId);

    // Receipts (SendGrid event ids) 61 and 59 days before the cutoff: B keeps 90 days, so
    // receipts are kept 90 days back from the purge's now, 60 before the cutoff.
    await herald.services.db.execute(sql`
      insert into webhook_events (provider, event_id, received_at) values
        ('sendgrid', 'evt-61-days', ${new Date(cutoff - 61 * DAY).toISOString()}::timestamptz),
        ('sendgrid', 'evt-59-days', ${new Date(cutoff - 59 * DAY).toISOString()}::timestamptz)`);

    // What the API shows before the purge.
    statsRange = { from: dayOf(cutoff - 101 * DAY), to: dayOf(Date.now() + DAY) };
    statsBefore = await stats(statsRange);
    backdatedStatsBefore = await stats({ from: backdatedDay, to: backdatedDay });
    bStatsBefore = await stats(statsRange, B.key);
    messagesBefore = new Map();
    for (const id of [...fresh.messages, old.scheduled]) messagesBefore.set(id, ok(await herald.gql(MESSAGE, { id })).message);
    let logs = 0;
    let deliveries = 0;
    const events = new Set<string>();
    for (const id of old.purged) {
      logs += (ok(await herald.gql(MESSAGE, { id })).message.logs as unknown[]).length;
      const attempts = ok(await herald.gql(DELIVERIES, { filter: { messageId: id } })).webhookDeliveries;
      deliveries += attempts.totalCount as number;
      for (const edge of attempts.edges) events.add(edge.node.event.id as string);
    }
    const testAttempts = ok(await herald.gql(DELIVERIES, { filter: { eventId: old.testEventId } })).webhookDeliveries;
    eventsOfPurged = [...events, old.testEventId];
    const rejected = ok(await herald.gql(LOGS, { filter: { outcome: 'FAILURE' } })).deliveryLogs.edges.filter(
      (e: { node: { reason: string | null; message: unknown } }) => e.node.message === null && e.node.reason?.includes(old.rejectedCycle),
    );
    expect(rejected).toHaveLength(1);
    const [idempotencyKeys] = await rows(sql`select count(*)::int as n from idempotency_keys where key = ${old.orderKey}`);
    expected = {
      messages: old.purged.length,
      deliveryLogs: logs + rejected.length,
      webhookEvents: eventsOfPurged.length,
      webhookDeliveries: deliveries + (testAttempts.totalCount as number),
      jobs: (await jobsOfMessages(old.purged)) + (await jobsOfEvents(eventsOfPurged)),
      providerReceipts: 1,
      idempotencyKeys: idempotencyKeys.n as number,
    };
    expect(expected.idempotencyKeys).toBe(1);
    // Every kind has something to remove, so each count below is a real check.
    for (const [kind, n] of Object.entries(expected)) expect(n, kind).toBeGreaterThan(0);
    // The cancelled message's job still waits for its sendAt; the scheduled one's too.
    expect(await jobsOfMessages([old.cancelled])).toBe(1);

    counts = await herald.purger!.purge(new Date(cutoff + 30 * DAY));
  }, 120_000);

  it('reports what it removed', () => {
    expect(counts).toEqual(expected);
  });

  it('says so in one log line per run, with the counts and no personal data', () => {
    const line = herald.logs.filter((l) => l.includes('"retention purge"')).at(-1)!;
    expect(JSON.parse(line)).toMatchObject({ level: 30, msg: 'retention purge', purged: expected });
    for (const personal of [CLIENT_PHONE, 'Old news', 'cass@example.com', 'Clara']) expect(line).not.toContain(personal);
  });

  it('counts them in herald_purged_rows_total by kind', async () => {
    const text = await metricsText(herald.url);
    expect(metric(text, 'herald_purged_rows_total', { kind: 'messages' })).toBe(expected.messages);
    expect(metric(text, 'herald_purged_rows_total', { kind: 'delivery_logs' })).toBe(expected.deliveryLogs);
    expect(metric(text, 'herald_purged_rows_total', { kind: 'webhook_events' })).toBe(expected.webhookEvents);
    expect(metric(text, 'herald_purged_rows_total', { kind: 'webhook_deliveries' })).toBe(expected.webhookDeliveries);
    expect(metric(text, 'herald_purged_rows_total', { kind: 'jobs' })).toBe(expected.jobs);
    expect(metric(text, 'herald_purged_rows_total', { kind: 'provider_receipts' })).toBe(1);
    expect(metric(text, 'herald_purged_rows_total', { kind: 'idempotency_keys' })).toBe(1);
  });

  it('leaves message(id) and messages without the old messages, and everything newer as it was', async () => {
    for (const id of old.purged) expect(ok(await herald.gql(MESSAGE, { id })).message, id).toBeNull();
    const listed = await allMessages();
    expect(listed.map((m) => m.id).sort()).toEqual([...fresh.messages, old.scheduled].sort());
    for (const [id, before] of messagesBefore) expect(ok(await herald.gql(MESSAGE, { id })).message).toEqual(before);
  });

  it('keeps an old message that is still in flight (SCHEDULED), with its job', async () => {
    expect(ok(await herald.gql(MESSAGE, { id: old.scheduled })).message.status).toBe('SCHEDULED');
    expect(await jobsOfMessages([old.scheduled])).toBe(1);
  });

  it('removes the old messages’ delivery logs and the old log of a refused invoice, not the new one', async () => {
    for (const id of old.purged) {
      expect(ok(await herald.gql(LOGS, { filter: { messageId: id } })).deliveryLogs.totalCount, id).toBe(0);
    }
    const reasons = ok(await herald.gql(LOGS, { filter: { outcome: 'FAILURE' } })).deliveryLogs.edges.map(
      (e: { node: { reason: string | null } }) => e.node.reason ?? '',
    ) as string[];
    expect(reasons.filter((r) => r.includes(old.rejectedCycle))).toEqual([]);
    expect(reasons.filter((r) => r.includes(fresh.rejectedCycle))).toHaveLength(1);
    expect(ok(await herald.gql(LOGS, { filter: { messageId: fresh.messages[0] } })).deliveryLogs.totalCount).toBeGreaterThan(0);
  });

  it('removes the old messages’ jobs, the cancelled one’s still waiting included, and the webhook jobs of their events', async () => {
    expect(await jobsOfMessages(old.purged)).toBe(0);
    expect(await jobsOfMessages([old.cancelled])).toBe(0);
    expect(await jobsOfEvents(eventsOfPurged)).toBe(0);
    expect(await jobsOfMessages(fresh.messages)).toBeGreaterThan(0);
  });

  it('removes the old webhook events and their attempts, the test event’s included, and keeps the new ones', async () => {
    for (const id of old.purged) {
      expect(ok(await herald.gql(DELIVERIES, { filter: { messageId: id } })).webhookDeliveries.totalCount, id).toBe(0);
    }
    expect(ok(await herald.gql(`query($id: ID!) { node(id: $id) { id } }`, { id: old.testEventId })).node).toBeNull();
    expect(ok(await herald.gql(DELIVERIES, { filter: { messageId: fresh.messages[0] } })).webhookDeliveries.totalCount).toBeGreaterThan(0);
  });

  it('removes receipts older than every tenant keeps messages, and the spent idempotency key', async () => {
    const receipts = await rows(sql`select event_id from webhook_events where event_id like 'evt-%-days'`);
    expect(receipts.map((r) => r.event_id)).toEqual(['evt-59-days']);
    expect(await rows(sql`select key from idempotency_keys where key = ${old.orderKey}`)).toEqual([]);
  });

  it('keeps a tenant’s rows that its longer retention covers', async () => {
    expect(ok(await herald.gql(MESSAGE, { id: bOld }, B.key)).message.status).toBe('SENT');
    expect(await stats(statsRange, B.key)).toEqual(bStatsBefore);
  });

  it('keeps stats as they were: the purged days’ counts are kept, added up with the rows still stored', async () => {
    expect(await stats({ from: backdatedDay, to: backdatedDay })).toEqual([
      { day: backdatedDay, channel: 'SMS', status: 'DELIVERED', count: 1, segments: 3 },
    ]);
    expect(backdatedStatsBefore).toEqual(await stats({ from: backdatedDay, to: backdatedDay }));
    const after = await stats(statsRange);
    expect(after).toEqual(statsBefore);
    // The day of the sends holds purged and stored messages alike.
    const today = after.filter((s) => s.day !== backdatedDay);
    const sms = (status: string) => today.filter((s) => s.channel === 'SMS' && s.status === status).reduce((n, s) => n + s.count, 0);
    expect(sms('SENT')).toBe(4); // two old, one of the order's, the fresh one
    expect(sms('FAILED')).toBe(1);
    expect(sms('CANCELLED')).toBe(1);
    expect(sms('SCHEDULED')).toBe(1);
    const other = (channel: string) => today.filter((s) => s.channel === channel).map((s) => [s.status, s.count, s.segments]);
    expect(other('EMAIL')).toEqual([['SENT', 1, 0]]);
    expect(other('TWITTER_DM')).toEqual([['SENT', 1, 0]]);
  });

  it('filters stats by channel, and any key of the tenant may read them', async () => {
    const reader = await buildApiKey(herald, 'READER');
    const email = await stats({ ...statsRange, channel: 'EMAIL' }, reader);
    expect(email).toEqual(statsBefore.filter((s) => s.channel === 'EMAIL'));
    expect(email.length).toBeGreaterThan(0);
  });

  it('finds nothing more on a second run at the same time, and the stats do not move', async () => {
    const again = await herald.purger!.purge(new Date(cutoff + 30 * DAY));
    expect(Object.values(again).every((n) => n === 0)).toBe(true);
    expect(await stats(statsRange)).toEqual(statsBefore);
  });

  it('two purges at once, in small batches, remove each message once and count it once', async () => {
    const c = await buildTenant(herald, 'Tenant C');
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550126' }, c.adminKey);
    const sent: string[] = [];
    for (let i = 0; i < 9; i++) sent.push(await sendSms({ clientId: client.id, message: `C ${i} `.repeat(i * 30 + 1) }, c.adminKey));
    for (const id of sent) await waitForMessageStatus((m) => getMessage(m, c.adminKey), id, 'SENT');
    const range = { from: dayOf(Date.now() - DAY), to: dayOf(Date.now() + DAY) };
    const cBefore = await stats(range, c.adminKey);
    expect(cBefore.reduce((n, s) => n + s.count, 0)).toBe(9);
    // Everything of A's still stored but its SCHEDULED message goes too.
    const aPurgeable = (await allMessages()).filter((m) => m.status !== 'SCHEDULED').length;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const now = new Date(Date.now() + 30 * DAY);
    const purger = () =>
      new Purger({
        db: herald.services.db,
        queue: herald.queue,
        metrics: createMetrics(),
        log: createLogger('silent'),
        batchSize: 2,
      });
    const [one, two] = await Promise.all([purger().purge(now), purger().purge(now)]);
    expect(one.messages + two.messages).toBe(9 + aPurgeable);
    expect(await allMessages(c.adminKey)).toEqual([]);
    expect(await stats(range, c.adminKey)).toEqual(cBefore);
  }, 60_000);
});

describe('at start', () => {
  it('a dispatching process purges once as it starts', async () => {
    const at = Date.now() - 400 * DAY;
    const id = uuidv7(at);
    await herald.services.db.insert(messages).values({
      id,
      tenantId: uuidOf(A.tenantId),
      recipientId: uuidOf(A.client.id),
      channel: 'EMAIL',
      status: 'SENT',
      body: 'From last year',
      destination: 'clara@example.com',
      createdAt: new Date(at),
    });
    const apiId = toGlobalId('Message', id);
    expect(ok(await herald.gql(MESSAGE, { id: apiId })).message.status).toBe('SENT');
    herald = await herald.restart();
    await waitUntil('the purge at start', () => purgeLines().length > 0);
    expect(purgeLines()[0].purged.messages).toBe(1);
    expect(ok(await herald.gql(MESSAGE, { id: apiId })).message).toBeNull();
    expect(await stats({ from: dayOf(at), to: dayOf(at) })).toEqual([
      { day: dayOf(at), channel: 'EMAIL', status: 'SENT', count: 1, segments: 0 },
    ]);
  }, 60_000);
});
