// Tenant isolation, operation by operation: an ADMIN key of tenant B against everything of
// tenant A (the default tenant). For every Query and Mutation field and the subscription,
// B cannot read, change, send to or subscribe to anything of A: null, NOT_FOUND, empty,
// or no events. The tables below are checked against schema.graphql, so a new field
// without an isolation check here fails this file. At the end, A's objects are exactly
// as they were before B tried.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema, type GraphQLInputObjectType, type GraphQLSchema } from 'graphql';
import { type Client, createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildRecipient, buildTenant, RECIPIENT_FIELDS } from './helpers/factories.js';
import { type GqlResult, ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { waitUntil } from './helpers/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const schema: GraphQLSchema = buildSchema(fs.readFileSync(path.join(root, 'schema.graphql'), 'utf8'));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CHANNELS = ['SMS', 'EMAIL', 'WHATSAPP', 'TWITTER_DM'] as const;
const STATUSES = ['SCHEDULED', 'QUEUED', 'SENDING', 'SENT', 'DELIVERED', 'FAILED', 'CANCELLED'] as const;
// Shared by A's and B's data on purpose: a filter on them must still only see the caller's.
const SHARED_REF = 'isolation-shared-ref';
const ORDER_ID = 'ORD-ISOLATION-1';
const INVOICE_NUMBER = 'INV-ISOLATION-1';

const MESSAGE_FIELDS = `id status category body subject channel attempts destination errorCode errorMessage providerMessageId orderId
  scheduledAt sentAt deliveredAt createdAt updatedAt invoice { number amountDue currency dueDate } recipient { id } gateway { id }
  logs { id outcome reason at }`;
const LOG_FIELDS = 'id at channel outcome reason orderId orderStatus message { id } recipient { id } gateway { id }';
const GATEWAY_FIELDS = 'id name channel provider enabled isDefault maxPerSecond createdAt';

const SEND_SMS = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status } userErrors { field message code } } }`;
const SEND_INVOICE = `mutation($input: SendInvoiceDMInput!) { sendInvoiceDM(input: $input) { message { id status } userErrors { field message code } } }`;
const ORDER = `mutation($input: UpdateOrderStatusInput!) {
  updateOrderStatus(input: $input) { messages { id status } failures { id reason } userErrors { field message code } } }`;
const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { recipient { id } userErrors { field message code } } }`;
const TEMPLATE_FIELDS = 'id name channel version builtIn archived current { version variants { locale body } } versions { version }';
const CREATE_TEMPLATE = `mutation($input: CreateTemplateInput!) { createTemplate(input: $input) { template { id } userErrors { field message code } } }`;
const SEND_NOTIFICATION = `mutation($input: SendNotificationInput!) {
  sendNotification(input: $input) { message { id } userErrors { field message code } } }`;
const A_TEMPLATE_NAME = 'Template of A only';
const ENDPOINT_FIELDS = 'id url description eventTypes enabled disabledReason createdAt updatedAt';
const CREATE_ENDPOINT = `mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { id } secret userErrors { field message code } } }`;
const A_ENDPOINT_URL = 'https://a-only.example.com/herald-events';
const CONSENT_FIELDS = 'defaultTimeZone helpReply stopSuppresses unsubscribeSuppresses quietHours { channel start end categories }';
const CANCEL = `mutation($input: CancelMessageInput!) { cancelMessage(input: $input) { message { id status } userErrors { field message code } } }`;

interface Tenant {
  key: string;
  tenantId: string;
  name: string;
}

let herald: TestHerald;
let A: Tenant & {
  client: { id: string; displayName: string; phone: string };
  staff: { id: string };
  customer: { id: string; displayName: string };
  unreachable: { id: string };
  gatewayIds: string[];
  sent: string;
  failed: string;
  scheduled: string;
  invoice: string;
  orderMessages: string[];
  messageIds: string[];
  logIds: string[];
  recipientIds: string[];
  apiKeyIds: string[];
  /** A's own template and its four built-in ones. */
  templateIds: string[];
  ownTemplate: string;
  webhookEndpointIds: string[];
  /** A test event sent to A's endpoint, and its first delivery attempt. */
  webhookEventId: string;
  webhookDeliveryId: string;
};
let B: Tenant & { client: { id: string }; customer: { id: string }; messageIds: string[]; orderMessages: string[]; invoice: string };
let snapshotBefore: Snapshot;

// ---------------------------------------------------------------------------------------
// Helpers

/** As tenant B, unless another key is given. */
const asB = <T = any>(query: string, variables?: Record<string, unknown>) => herald.gql<T>(query, variables, B.key);
const dataAsB = async (query: string, variables?: Record<string, unknown>) => ok(await asB(query, variables));

async function waitForStatus(key: string, id: string, statuses: string[], timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = ok(await herald.gql('query($id: ID!) { message(id: $id) { status } }', { id }, key)).message?.status;
    if (statuses.includes(status)) return;
    if (Date.now() > deadline) throw new Error(`message ${id} is ${status}, not ${statuses.join('/')}, after ${timeoutMs} ms`);
    await sleep(100);
  }
}

async function sendSms(key: string, input: Record<string, unknown>): Promise<string> {
  const payload = ok(await herald.gql(SEND_SMS, { input }, key)).sendSms;
  expect(payload.userErrors).toEqual([]);
  return payload.message.id;
}

/** The payload of a mutation that B aimed at A's object: nothing, and NOT_FOUND on `field`. */
function expectNotFound(
  payload: { userErrors: { field: string[] | null; message: string; code: string }[] } & Record<string, unknown>,
  field: string[],
) {
  expect(payload.userErrors).toEqual([{ field, message: expect.any(String), code: 'NOT_FOUND' }]);
  for (const [key, value] of Object.entries(payload)) {
    if (key === 'userErrors') continue;
    expect(Array.isArray(value) ? value : value === null ? [] : [value], `payload.${key}`).toEqual([]);
  }
  // The refusal tells B nothing about what it names.
  expect(payload.userErrors[0].message).not.toContain(A.client.displayName);
  expect(payload.userErrors[0].message).not.toContain(A.customer.displayName);
  expect(payload.userErrors[0].message).not.toContain(A.client.phone);
}

function expectForbidden(result: GqlResult, field: string) {
  expect(
    result.errors?.map((e) => e.extensions?.code),
    JSON.stringify(result),
  ).toEqual(['FORBIDDEN']);
  expect(result.data?.[field] ?? null).toBeNull();
}

/** Every id a response holds, anywhere in it. */
function idsIn(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) idsIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'id' && typeof v === 'string') out.add(v);
      else idsIn(v, out);
    }
  }
  return out;
}

/** Every id of A's objects (tenant, recipients, gateways, messages, logs). */
const allOfA = () =>
  new Set([
    A.tenantId,
    ...A.recipientIds,
    ...A.gatewayIds,
    ...A.messageIds,
    ...A.logIds,
    ...A.apiKeyIds,
    ...A.templateIds,
    ...A.webhookEndpointIds,
    A.webhookEventId,
    A.webhookDeliveryId,
  ]);

function expectNothingOfA(value: unknown) {
  const leaked = [...idsIn(value)].filter((id) => allOfA().has(id));
  expect(leaked, JSON.stringify(value).slice(0, 2000)).toEqual([]);
  // Nor A's recipients' data under another id (B may well have a recipient with A's phone).
  const text = JSON.stringify(value);
  for (const name of [
    A.client.displayName,
    A.customer.displayName,
    'Sam Staff of A',
    'Ivan Invalid of A',
    'carla.of.a@example.com',
    'carla_of_a',
    A_TEMPLATE_NAME,
    A_ENDPOINT_URL,
  ]) {
    expect(text).not.toContain(name);
  }
}

/** A connection B asked for: non-A, and its totalCount agrees with its edges (one page). */
async function connectionAsB(query: string, field: string, variables?: Record<string, unknown>) {
  const connection = (await dataAsB(query, variables))[field];
  expectNothingOfA(connection);
  expect(connection.totalCount).toBe(connection.edges.length);
  return connection as { totalCount: number; edges: { node: { id: string } }[] };
}

const MESSAGES = `query($filter: MessageFilter) { messages(first: 100, filter: $filter) { totalCount edges { node { ${MESSAGE_FIELDS} } } } }`;
const LOGS = `query($filter: DeliveryLogFilter) { deliveryLogs(first: 100, filter: $filter) { totalCount edges { node { ${LOG_FIELDS} } } } }`;
const RECIPIENTS = `query($filter: RecipientFilter) { recipients(first: 100, filter: $filter) { totalCount edges { node { ${RECIPIENT_FIELDS} } } } }`;
const nodeIds = (c: { edges: { node: { id: string } }[] }) => c.edges.map((e) => e.node.id).sort();

// ---------------------------------------------------------------------------------------
// A's objects, as A sees them

interface Snapshot {
  viewer: unknown;
  recipients: unknown;
  gateways: unknown;
  channels: unknown;
  messages: unknown;
  logs: unknown;
  apiKeys: unknown;
  templates: unknown;
  webhookEndpoints: unknown;
}

async function snapshotOfA(): Promise<Snapshot> {
  // One query each, to stay well inside the cost budget.
  const read = async (query: string) => Object.values(ok(await herald.gql(query, undefined, A.key)))[0];
  return {
    viewer: await read(`{ viewer { id name defaultLocale retentionDays createdAt ${CONSENT_FIELDS} } }`),
    recipients: await read(`{ recipients(first: 100) { totalCount edges { node { ${RECIPIENT_FIELDS} timeZone } } } }`),
    gateways: await read(`{ gateways { ${GATEWAY_FIELDS} } }`),
    channels: await read('{ channels { channel gateways { id } } }'),
    messages: await read(`{ messages(first: 100) { totalCount edges { node { ${MESSAGE_FIELDS} } } } }`),
    logs: await read(`{ deliveryLogs(first: 100) { totalCount edges { node { ${LOG_FIELDS} } } } }`),
    // lastUsedAt left out: A's own reads move it.
    apiKeys: await read('{ apiKeys { id name role createdAt revokedAt } }'),
    templates: await read(`{ templates(first: 100) { totalCount edges { node { ${TEMPLATE_FIELDS} } } } }`),
    webhookEndpoints: await read(`{ webhookEndpoints { ${ENDPOINT_FIELDS} } }`),
  };
}

beforeAll(async () => {
  herald = await startTestHerald();
  const viewerA = ok(await herald.gql('{ viewer { id name } }')).viewer;
  const client = await buildRecipient(herald, {
    kind: 'CLIENT',
    displayName: 'Alice Isolated',
    phone: '+14155550161',
    externalRef: SHARED_REF,
  });
  const staff = await buildRecipient(herald, { kind: 'STAFF', displayName: 'Sam Staff of A', phone: '+14155550162' });
  const customer = await buildRecipient(herald, {
    kind: 'CUSTOMER',
    displayName: 'Carla Customer of A',
    phone: '+14155550163',
    email: 'carla.of.a@example.com',
    twitterHandle: 'carla_of_a',
  });
  // Twilio's invalid number: the SANDBOX fails the send for good, so A has a FAILED message to retry.
  const unreachable = await buildRecipient(herald, { kind: 'CLIENT', displayName: 'Ivan Invalid of A', phone: '+15005550001' });
  for (const channel of ['SMS', 'EMAIL'] as const) {
    expect(ok(await herald.gql(SUBSCRIBE, { input: { recipientId: customer.id, channel } })).subscribe.userErrors).toEqual([]);
  }

  const sent = await sendSms(herald.adminKey, { clientId: client.id, message: 'A: sent' });
  const failed = await sendSms(herald.adminKey, { clientId: unreachable.id, message: 'A: fails' });
  const scheduled = await sendSms(herald.adminKey, {
    staffId: staff.id,
    message: 'A: tomorrow',
    sendAt: new Date(Date.now() + 86_400_000).toISOString(),
  });
  const order = ok(await herald.gql(ORDER, { input: { customerId: customer.id, orderId: ORDER_ID, status: 'SHIPPED' } })).updateOrderStatus;
  expect(order.userErrors).toEqual([]);
  expect(order.messages).toHaveLength(2);
  const invoice = ok(
    await herald.gql(SEND_INVOICE, {
      input: { customerId: customer.id, invoice: { number: INVOICE_NUMBER, amountDue: '125.40', currency: 'USD', dueDate: '2030-12-01' } },
    }),
  ).sendInvoiceDM;
  expect(invoice.userErrors).toEqual([]);
  const orderMessages = order.messages.map((m: { id: string }) => m.id);
  for (const id of [sent, invoice.message.id, ...orderMessages]) await waitForStatus(herald.adminKey, id, ['SENT']);
  await waitForStatus(herald.adminKey, failed, ['FAILED']);
  await waitForStatus(herald.adminKey, scheduled, ['SCHEDULED']);

  const ownTemplate = ok(
    await herald.gql(CREATE_TEMPLATE, {
      input: { name: A_TEMPLATE_NAME, channel: 'SMS', variants: [{ locale: 'en', body: 'A says {{ word }}' }] },
    }),
  ).createTemplate;
  expect(ownTemplate.userErrors).toEqual([]);
  const endpoint = ok(
    await herald.gql(CREATE_ENDPOINT, { input: { url: A_ENDPOINT_URL, eventTypes: ['MESSAGE_DELIVERED'], description: 'A’s receiver' } }),
  ).createWebhookEndpoint;
  expect(endpoint.userErrors).toEqual([]);

  const b = await buildTenant(herald, 'Tenant B of the isolation test');
  A = {
    key: herald.adminKey,
    tenantId: viewerA.id,
    name: viewerA.name,
    client,
    staff,
    customer,
    unreachable,
    gatewayIds: [],
    sent,
    failed,
    scheduled,
    invoice: invoice.message.id,
    orderMessages,
    messageIds: [],
    logIds: [],
    recipientIds: [],
    apiKeyIds: [],
    templateIds: [],
    ownTemplate: ownTemplate.template.id,
    webhookEndpointIds: [],
    webhookEventId: '',
    webhookDeliveryId: '',
  };
  snapshotBefore = await snapshotOfA();
  const s = snapshotBefore as any;
  A.gatewayIds = s.gateways.map((g: { id: string }) => g.id);
  A.messageIds = s.messages.edges.map((e: any) => e.node.id);
  A.logIds = s.logs.edges.map((e: any) => e.node.id);
  A.recipientIds = s.recipients.edges.map((e: any) => e.node.id);
  A.apiKeyIds = s.apiKeys.map((k: { id: string }) => k.id);
  A.templateIds = s.templates.edges.map((e: any) => e.node.id);
  A.webhookEndpointIds = s.webhookEndpoints.map((e: { id: string }) => e.id);
  expect(A.webhookEndpointIds).toEqual([endpoint.endpoint.id]);
  // An event and a delivery attempt of A's (the attempt fails: the endpoint's host does not resolve here).
  const testEvent = ok(
    await herald.gql(
      `mutation($input: SendTestWebhookEventInput!) { sendTestWebhookEvent(input: $input) { event { id } userErrors { code } } }`,
      { input: { endpointId: endpoint.endpoint.id } },
    ),
  ).sendTestWebhookEvent;
  expect(testEvent.userErrors).toEqual([]);
  A.webhookEventId = testEvent.event.id;
  let attempts: { id: string }[] = [];
  await waitUntil('the test event attempted', async () => {
    attempts = ok(await herald.gql(`{ webhookDeliveries { edges { node { id } } } }`)).webhookDeliveries.edges.map((e: any) => e.node);
    return attempts.length > 0;
  });
  A.webhookDeliveryId = attempts[0].id;
  expect(A.templateIds).toHaveLength(5);
  expect(A.apiKeyIds.length).toBeGreaterThan(0);
  expect(A.messageIds).toHaveLength(6);
  expect(A.logIds.length).toBeGreaterThanOrEqual(5);
  expect(A.recipientIds).toHaveLength(4);
  expect(s.messages.edges.map((e: any) => e.node.status).sort()).toEqual(['FAILED', 'SCHEDULED', 'SENT', 'SENT', 'SENT', 'SENT']);

  // B has data of its own under the same external ref, order id and invoice number, so its
  // filtered lists are not trivially empty.
  const bViewer = ok(await herald.gql('{ viewer { id name } }', undefined, b.adminKey)).viewer;
  const bClient = await buildRecipient(
    herald,
    { kind: 'CLIENT', displayName: 'Bob of B', phone: '+14155550171', externalRef: SHARED_REF },
    b.adminKey,
  );
  const bCustomer = await buildRecipient(
    herald,
    { kind: 'CUSTOMER', displayName: 'Beth of B', phone: '+14155550172', twitterHandle: 'beth_of_b' },
    b.adminKey,
  );
  expect(
    ok(await herald.gql(SUBSCRIBE, { input: { recipientId: bCustomer.id, channel: 'SMS' } }, b.adminKey)).subscribe.userErrors,
  ).toEqual([]);
  const bSent = await sendSms(b.adminKey, { clientId: bClient.id, message: 'B: sent' });
  const bOrder = ok(
    await herald.gql(ORDER, { input: { customerId: bCustomer.id, orderId: ORDER_ID, status: 'SHIPPED' } }, b.adminKey),
  ).updateOrderStatus;
  expect(bOrder.userErrors).toEqual([]);
  const bInvoice = ok(
    await herald.gql(
      SEND_INVOICE,
      {
        input: { customerId: bCustomer.id, invoice: { number: INVOICE_NUMBER, amountDue: '9.99', currency: 'USD', dueDate: '2030-12-01' } },
      },
      b.adminKey,
    ),
  ).sendInvoiceDM;
  expect(bInvoice.userErrors).toEqual([]);
  const bOrderMessages = bOrder.messages.map((m: { id: string }) => m.id);
  for (const id of [bSent, bInvoice.message.id, ...bOrderMessages]) await waitForStatus(b.adminKey, id, ['SENT']);
  B = {
    key: b.adminKey,
    tenantId: bViewer.id,
    name: bViewer.name,
    client: bClient,
    customer: bCustomer,
    messageIds: [bSent, bInvoice.message.id, ...bOrderMessages],
    orderMessages: bOrderMessages,
    invoice: bInvoice.message.id,
  };
}, 120_000);

afterAll(async () => {
  await herald?.stop();
});

// ---------------------------------------------------------------------------------------
// The tables: one entry per root field of schema.graphql, each a list of checks.

type Checks = Record<string, [string, () => Promise<void>][]>;

/** The input fields of a filter type, from the schema. */
const filterFields = (name: string) => Object.keys((schema.getType(name) as GraphQLInputObjectType).getFields()).sort();

const MESSAGE_FILTERS: Record<string, () => Record<string, unknown>[]> = {
  recipientId: () => A.recipientIds.map((recipientId) => ({ recipientId })),
  status: () => [{ status: [...STATUSES] }, ...STATUSES.map((s) => ({ status: [s] }))],
  channel: () => [{ channel: [...CHANNELS] }, ...CHANNELS.map((c) => ({ channel: [c] }))],
  orderId: () => [{ orderId: ORDER_ID }],
  invoiceNumber: () => [{ invoiceNumber: INVOICE_NUMBER }],
  createdAfter: () => [{ createdAfter: '2000-01-01T00:00:00Z' }],
  createdBefore: () => [{ createdBefore: '2999-01-01T00:00:00Z' }],
};

const LOG_FILTERS: Record<string, () => Record<string, unknown>[]> = {
  recipientId: () => A.recipientIds.map((recipientId) => ({ recipientId })),
  messageId: () => A.messageIds.map((messageId) => ({ messageId })),
  orderId: () => [{ orderId: ORDER_ID }],
  outcome: () => [{ outcome: 'SUCCESS' }, { outcome: 'FAILURE' }],
  channel: () => CHANNELS.map((channel) => ({ channel })),
};

const RECIPIENT_FILTERS: Record<string, () => Record<string, unknown>[]> = {
  externalRef: () => [{ externalRef: SHARED_REF }],
  kind: () => ['CLIENT', 'STAFF', 'CUSTOMER'].map((kind) => ({ kind })),
};

const SUPPRESSION_ADD = `mutation($input: AddSuppressionInput!) { addSuppression(input: $input) {
  suppression { id channel destination source categories recipient { id } } userErrors { field message code } } }`;
const SUPPRESSIONS = `query($filter: SuppressionFilter) { suppressions(first: 100, filter: $filter) {
  totalCount edges { node { id channel destination source categories recipient { id } } } } }`;
/** A's own entry (listing it again is the same entry): a number no check of A's sends to. */
const A_SUPPRESSED_PHONE = '+14155550177';
async function aSuppression(): Promise<{ id: string; categories: string[] }> {
  const payload = ok(
    await herald.gql(SUPPRESSION_ADD, { input: { channel: 'SMS', destination: A_SUPPRESSED_PHONE, categories: ['MARKETING'] } }, A.key),
  ).addSuppression;
  expect(payload.userErrors).toEqual([]);
  return payload.suppression;
}

const QUERIES: Checks = {
  suppressions: [
    [
      'lists none of A’s entries, under every filter',
      async () => {
        const entry = await aSuppression();
        const filters = [
          undefined,
          ...CHANNELS.map((channel) => ({ channel })),
          { source: 'API' },
          ...A.recipientIds.map((recipientId) => ({ recipientId })),
        ];
        for (const filter of filters) {
          const connection = await connectionAsB(SUPPRESSIONS, 'suppressions', { filter });
          expect(nodeIds(connection)).not.toContain(entry.id);
        }
        expect((await dataAsB('query($id: ID!) { node(id: $id) { id } }', { id: entry.id })).node).toBeNull();
      },
    ],
  ],
  stats: [
    [
      'counts B’s messages only, on every channel',
      async () => {
        const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
        const input = { from: day(Date.now() - 86_400_000), to: day(Date.now() + 86_400_000) };
        const query = `query($input: StatsInput!) { stats(input: $input) { day channel status count segments } }`;
        const bTotal = (await dataAsB('{ messages { totalCount } }')).messages.totalCount as number;
        const stats = (await dataAsB(query, { input })).stats as { status: string; count: number }[];
        expect(stats.reduce((n, s) => n + s.count, 0)).toBe(bTotal);
        // A has FAILED and SCHEDULED messages; B has none.
        expect(stats.map((s) => s.status).filter((s) => s !== 'SENT')).toEqual([]);
        for (const channel of CHANNELS) {
          const ofChannel = (await dataAsB(query, { input: { ...input, channel } })).stats as { channel: string }[];
          expect(ofChannel.every((s) => s.channel === channel)).toBe(true);
        }
      },
    ],
  ],
  webhookDeliveries: [
    [
      'lists none of A’s attempts, under every filter',
      async () => {
        const query = `query($filter: WebhookDeliveryFilter) { webhookDeliveries(first: 100, filter: $filter) {
          totalCount edges { node { id endpoint { id } event { id payload } } } } }`;
        for (const filter of [
          undefined,
          { endpointId: A.webhookEndpointIds[0] },
          { eventId: A.webhookEventId },
          { messageId: A.messageIds[0] },
          { outcome: 'FAILED' },
        ]) {
          const { webhookDeliveries } = await dataAsB(query, { filter });
          expect(webhookDeliveries.totalCount).toBe(0);
          expectNothingOfA(webhookDeliveries);
        }
      },
    ],
  ],
  webhookEndpoints: [
    [
      'lists B’s endpoints only',
      async () => {
        const { webhookEndpoints } = await dataAsB(`{ webhookEndpoints { ${ENDPOINT_FIELDS} } }`);
        expectNothingOfA(webhookEndpoints);
      },
    ],
  ],
  template: [
    [
      'is null for A’s own template and each of A’s built-in ones, at any version',
      async () => {
        for (const id of A.templateIds) {
          expect((await dataAsB(`query($id: ID!) { template(id: $id) { ${TEMPLATE_FIELDS} } }`, { id })).template, id).toBeNull();
          expect((await dataAsB(`query($id: ID!) { template(id: $id, version: 1) { id } }`, { id })).template, id).toBeNull();
        }
      },
    ],
  ],
  templates: [
    [
      'lists B’s four built-in templates only, under every filter',
      async () => {
        const query = `query($filter: TemplateFilter) { templates(first: 100, filter: $filter) { totalCount edges { node { ${TEMPLATE_FIELDS} } } } }`;
        expect((await connectionAsB(query, 'templates')).totalCount).toBe(4);
        for (const filter of [{ channel: 'SMS' }, { archived: false }, { name: 'of A' }, { name: 'Order' }]) {
          await connectionAsB(query, 'templates', { filter });
        }
      },
    ],
  ],
  previewTemplate: [
    [
      'NOT_FOUND for A’s templates, telling nothing of them',
      async () => {
        const query = `query($input: PreviewTemplateInput!) { previewTemplate(input: $input) { preview { body } userErrors { field message code } } }`;
        for (const templateId of A.templateIds) {
          const payload = (await dataAsB(query, { input: { templateId, personalisation: { word: 'hi' } } })).previewTemplate;
          expectNotFound(payload, ['input', 'templateId']);
          expect(payload.userErrors[0].message).not.toContain(A_TEMPLATE_NAME);
        }
      },
    ],
  ],
  viewer: [
    [
      "is B's tenant, never A's",
      async () => {
        expect((await dataAsB('{ viewer { id name } }')).viewer).toEqual({ id: B.tenantId, name: B.name });
        expect(B.tenantId).not.toBe(A.tenantId);
      },
    ],
  ],
  node: [
    [
      'is null for every id of A (tenant, recipients, gateways, messages, delivery logs)',
      async () => {
        const ids = [...allOfA()];
        expect(ids.length).toBeGreaterThanOrEqual(20);
        for (const id of ids) {
          const data = await dataAsB(`query($id: ID!) { node(id: $id) { id __typename } }`, { id });
          expect(data.node, id).toBeNull();
        }
        // While A's own key finds each of them.
        for (const id of ids)
          expect(ok(await herald.gql(`query($id: ID!) { node(id: $id) { id } }`, { id }, A.key)).node, id).toEqual({ id });
      },
    ],
  ],
  message: [
    [
      'is null for every message of A, in every status',
      async () => {
        for (const id of A.messageIds)
          expect((await dataAsB(`query($id: ID!) { message(id: $id) { ${MESSAGE_FIELDS} } }`, { id })).message, id).toBeNull();
      },
    ],
  ],
  messages: [
    [
      'lists only B’s messages without a filter',
      async () => {
        const all = await connectionAsB(MESSAGES, 'messages');
        expect(nodeIds(all)).toEqual([...B.messageIds].sort());
      },
    ],
    [
      'finds nothing of A with any filter (every MessageFilter field)',
      async () => {
        expect(Object.keys(MESSAGE_FILTERS).sort(), 'MessageFilter fields without an isolation check').toEqual(
          filterFields('MessageFilter'),
        );
        for (const [field, cases] of Object.entries(MESSAGE_FILTERS)) {
          for (const filter of cases()) {
            const found = await connectionAsB(MESSAGES, 'messages', { filter });
            if (field === 'recipientId') expect(found.totalCount, JSON.stringify(filter)).toBe(0);
          }
        }
        // The shared order id and invoice number find B's own messages only.
        expect(nodeIds(await connectionAsB(MESSAGES, 'messages', { filter: { orderId: ORDER_ID } }))).toEqual([...B.orderMessages].sort());
        expect(nodeIds(await connectionAsB(MESSAGES, 'messages', { filter: { invoiceNumber: INVOICE_NUMBER } }))).toEqual([B.invoice]);
      },
    ],
  ],
  deliveryLogs: [
    [
      'lists only B’s logs without a filter',
      async () => {
        const all = await connectionAsB(LOGS, 'deliveryLogs');
        expect(all.totalCount).toBeGreaterThan(0);
      },
    ],
    [
      'finds nothing of A with any filter (every DeliveryLogFilter field)',
      async () => {
        expect(Object.keys(LOG_FILTERS).sort(), 'DeliveryLogFilter fields without an isolation check').toEqual(
          filterFields('DeliveryLogFilter'),
        );
        for (const [field, cases] of Object.entries(LOG_FILTERS)) {
          for (const filter of cases()) {
            const found = await connectionAsB(LOGS, 'deliveryLogs', { filter });
            if (field === 'recipientId' || field === 'messageId') expect(found.totalCount, JSON.stringify(filter)).toBe(0);
          }
        }
        const byOrder = await connectionAsB(LOGS, 'deliveryLogs', { filter: { orderId: ORDER_ID } });
        expect(byOrder.totalCount).toBeGreaterThan(0);
      },
    ],
  ],
  recipient: [
    [
      'is null for every recipient of A',
      async () => {
        for (const id of A.recipientIds)
          expect((await dataAsB(`query($id: ID!) { recipient(id: $id) { ${RECIPIENT_FIELDS} } }`, { id })).recipient, id).toBeNull();
      },
    ],
  ],
  recipients: [
    [
      'lists only B’s recipients, with any filter (every RecipientFilter field)',
      async () => {
        const all = await connectionAsB(RECIPIENTS, 'recipients');
        expect(nodeIds(all)).toEqual(expect.arrayContaining([B.client.id, B.customer.id]));
        expect(Object.keys(RECIPIENT_FILTERS).sort(), 'RecipientFilter fields without an isolation check').toEqual(
          filterFields('RecipientFilter'),
        );
        for (const cases of Object.values(RECIPIENT_FILTERS))
          for (const filter of cases()) await connectionAsB(RECIPIENTS, 'recipients', { filter });
        expect(nodeIds(await connectionAsB(RECIPIENTS, 'recipients', { filter: { externalRef: SHARED_REF } }))).toEqual([B.client.id]);
      },
    ],
  ],
  channels: [
    [
      'shows only B’s gateways on every channel',
      async () => {
        const { channels } = await dataAsB(`{ channels { channel gateways { ${GATEWAY_FIELDS} } } }`);
        expect(channels.map((c: { channel: string }) => c.channel).sort()).toEqual([...CHANNELS].sort());
        expectNothingOfA(channels);
        expect(channels.every((c: { gateways: unknown[] }) => c.gateways.length > 0)).toBe(true);
      },
    ],
  ],
  apiKeys: [
    [
      'lists only B’s keys, stale ones included',
      async () => {
        for (const unusedForDays of [undefined, 1]) {
          const { apiKeys } = await dataAsB('query($d: Int) { apiKeys(unusedForDays: $d) { id name role } }', { d: unusedForDays });
          expectNothingOfA(apiKeys);
          if (unusedForDays === undefined) expect(apiKeys.length).toBeGreaterThan(0);
        }
      },
    ],
  ],
  gateways: [
    [
      'lists only B’s gateways, for every channel and for none',
      async () => {
        for (const channel of [undefined, ...CHANNELS]) {
          const { gateways } = await dataAsB(`query($channel: Channel) { gateways(channel: $channel) { ${GATEWAY_FIELDS} } }`, { channel });
          expect(gateways.length).toBeGreaterThan(0);
          expectNothingOfA(gateways);
        }
      },
    ],
  ],
};

const INVOICE = { number: 'INV-B-TRIES', amountDue: '1.00', currency: 'USD', dueDate: '2030-01-01' };

const TEMPLATE_MUTATIONS = ['updateTemplate', 'archiveTemplate', 'resetTemplate', 'setTemplateFallback'] as const;

const ENDPOINT_MUTATIONS = {
  updateWebhookEndpoint: { url: 'https://b.example.com/stolen', eventTypes: ['MESSAGE_SENT'], description: 'B', enabled: false },
  deleteWebhookEndpoint: {},
  rotateWebhookSecret: {},
} as const;

const MUTATIONS: Checks = {
  addSuppression: [
    [
      'NOT_FOUND for A’s recipients; the same number listed by B is B’s own entry, A’s unchanged',
      async () => {
        const entry = await aSuppression();
        for (const recipientId of A.recipientIds) {
          expectNotFound((await dataAsB(SUPPRESSION_ADD, { input: { channel: 'SMS', recipientId } })).addSuppression, [
            'input',
            'recipientId',
          ]);
        }
        const own = (await dataAsB(SUPPRESSION_ADD, { input: { channel: 'SMS', destination: A_SUPPRESSED_PHONE } })).addSuppression;
        expect(own).toMatchObject({ suppression: { source: 'API', categories: ['TRANSACTIONAL', 'MARKETING'] }, userErrors: [] });
        expect(own.suppression.id).not.toBe(entry.id);
        expect((await aSuppression()).categories).toEqual(['MARKETING']);
        await dataAsB(`mutation($input: RemoveSuppressionInput!) { removeSuppression(input: $input) { removedId } }`, {
          input: { id: own.suppression.id },
        });
      },
    ],
  ],
  removeSuppression: [
    [
      'NOT_FOUND for A’s entry, which stays',
      async () => {
        const entry = await aSuppression();
        const payload = (
          await dataAsB(
            `mutation($input: RemoveSuppressionInput!) { removeSuppression(input: $input) { removedId userErrors { field message code } } }`,
            {
              input: { id: entry.id },
            },
          )
        ).removeSuppression;
        expect(payload.removedId).toBeNull();
        expectNotFound({ userErrors: payload.userErrors }, ['input', 'id']);
        const aList = ok(await herald.gql(SUPPRESSIONS, { filter: { channel: 'SMS' } }, A.key)).suppressions;
        expect(nodeIds(aList)).toContain(entry.id);
      },
    ],
  ],
  setChannelRouting: [
    [
      'NOT_FOUND for A’s gateways, changing neither tenant’s routing',
      async () => {
        const query = `mutation($input: SetChannelRoutingInput!) { setChannelRouting(input: $input) {
          channel { channel routes { gateway { id } } } userErrors { field message code } } }`;
        for (const gatewayId of A.gatewayIds) {
          const payload = (await dataAsB(query, { input: { channel: 'SMS', strategy: 'PRIORITY', routes: [{ gatewayId, priority: 1 }] } }))
            .setChannelRouting;
          expectNotFound(payload, ['input', 'routes', '0', 'gatewayId']);
        }
        const smsOf = async (key: string) =>
          (ok(await herald.gql('{ channels { channel routes { gateway { id } } } }', undefined, key)).channels as any[]).find(
            (c) => c.channel === 'SMS',
          ).routes;
        expectNothingOfA(await smsOf(B.key));
        for (const route of await smsOf(A.key)) expect(A.gatewayIds).toContain(route.gateway.id);
      },
    ],
  ],
  redeliverWebhookEvent: [
    [
      'NOT_FOUND for A’s event, with or without A’s endpoint named',
      async () => {
        const query = `mutation($input: RedeliverWebhookEventInput!) { redeliverWebhookEvent(input: $input) { event { id } userErrors { field message code } } }`;
        for (const endpointId of [undefined, A.webhookEndpointIds[0]]) {
          const payload = (await dataAsB(query, { input: { eventId: A.webhookEventId, endpointId } })).redeliverWebhookEvent;
          expectNotFound(payload, ['input', 'eventId']);
        }
      },
    ],
  ],
  sendTestWebhookEvent: [
    [
      'NOT_FOUND for A’s endpoint',
      async () => {
        const query = `mutation($input: SendTestWebhookEventInput!) { sendTestWebhookEvent(input: $input) { event { id } userErrors { field message code } } }`;
        for (const endpointId of A.webhookEndpointIds) {
          expectNotFound((await dataAsB(query, { input: { endpointId } })).sendTestWebhookEvent, ['input', 'endpointId']);
        }
      },
    ],
  ],
  createWebhookEndpoint: [
    [
      'creates B’s endpoint, which A cannot see, even at A’s URL',
      async () => {
        const made = (await dataAsB(CREATE_ENDPOINT, { input: { url: A_ENDPOINT_URL, eventTypes: ['MESSAGE_SENT'] } }))
          .createWebhookEndpoint;
        expect(made.userErrors).toEqual([]);
        const aSees = ok(await herald.gql('{ webhookEndpoints { id } }', undefined, A.key)).webhookEndpoints;
        expect(aSees).toEqual(A.webhookEndpointIds.map((id) => ({ id })));
        expect(ok(await herald.gql(`query($id: ID!) { node(id: $id) { id } }`, { id: made.endpoint.id }, A.key)).node).toBeNull();
      },
    ],
  ],
  ...Object.fromEntries(
    Object.entries(ENDPOINT_MUTATIONS).map(([field, change]) => [
      field,
      [
        [
          'NOT_FOUND for A’s endpoint, changing nothing',
          async () => {
            const type = `${field[0].toUpperCase()}${field.slice(1)}Input`;
            const selection =
              field === 'deleteWebhookEndpoint'
                ? 'deletedId'
                : field === 'rotateWebhookSecret'
                  ? 'endpoint { id } secret'
                  : 'endpoint { id }';
            const query = `mutation($input: ${type}!) { ${field}(input: $input) { ${selection} userErrors { field message code } } }`;
            for (const id of A.webhookEndpointIds)
              expectNotFound((await dataAsB(query, { input: { id, ...change } }))[field], ['input', 'id']);
          },
        ],
      ],
    ]),
  ),
  setDefaultLocale: [
    [
      'sets B’s own default locale only: A’s stays as it was',
      async () => {
        const payload = (
          await dataAsB(
            `mutation($input: SetDefaultLocaleInput!) { setDefaultLocale(input: $input) { tenant { id defaultLocale } userErrors { code } } }`,
            { input: { locale: 'de' } },
          )
        ).setDefaultLocale;
        expect(payload).toEqual({ tenant: { id: B.tenantId, defaultLocale: 'de' }, userErrors: [] });
        expect(ok(await herald.gql('{ viewer { defaultLocale } }', undefined, A.key)).viewer.defaultLocale).toBe('en');
        // Back to B's own as it was, for the checks after this one.
        await dataAsB(`mutation { setDefaultLocale(input: { locale: "en" }) { userErrors { code } } }`);
      },
    ],
  ],
  updateConsentSettings: [
    [
      'changes B’s own settings only: A’s stay as they were',
      async () => {
        const aBefore = ok(await herald.gql(`{ viewer { ${CONSENT_FIELDS} } }`, undefined, A.key)).viewer;
        const input = { defaultTimeZone: 'Asia/Tokyo', helpReply: 'B: reply STOP to stop', stopSuppresses: ['MARKETING'] };
        const payload = (
          await dataAsB(
            `mutation($input: UpdateConsentSettingsInput!) { updateConsentSettings(input: $input) {
              tenant { id defaultTimeZone helpReply stopSuppresses } userErrors { code } } }`,
            { input },
          )
        ).updateConsentSettings;
        expect(payload).toEqual({ tenant: { id: B.tenantId, ...input }, userErrors: [] });
        expect(ok(await herald.gql(`{ viewer { ${CONSENT_FIELDS} } }`, undefined, A.key)).viewer).toEqual(aBefore);
      },
    ],
  ],
  setQuietHours: [
    [
      'sets B’s own quiet hours only: A has none',
      async () => {
        const payload = (
          await dataAsB(
            `mutation($input: SetQuietHoursInput!) { setQuietHours(input: $input) {
              tenant { id quietHours { channel start end categories } } userErrors { code } } }`,
            { input: { channel: 'SMS', start: '00:00', end: '23:59', categories: ['TRANSACTIONAL', 'MARKETING'] } },
          )
        ).setQuietHours;
        expect(payload).toEqual({
          tenant: {
            id: B.tenantId,
            quietHours: [{ channel: 'SMS', start: '00:00', end: '23:59', categories: ['TRANSACTIONAL', 'MARKETING'] }],
          },
          userErrors: [],
        });
        expect(ok(await herald.gql('{ viewer { quietHours { channel } } }', undefined, A.key)).viewer.quietHours).toEqual([]);
        // Back to none, for the sends of B's the checks after this one wait on.
        await dataAsB(`mutation { setQuietHours(input: { channel: SMS }) { userErrors { code } } }`);
      },
    ],
  ],
  createTemplate: [
    [
      'creates B’s template, which A cannot see',
      async () => {
        const made = (
          await dataAsB(CREATE_TEMPLATE, { input: { name: 'B’s own', channel: 'SMS', variants: [{ locale: 'en', body: 'B' }] } })
        ).createTemplate;
        expect(made.userErrors).toEqual([]);
        expect(ok(await herald.gql(`query($id: ID!) { template(id: $id) { id } }`, { id: made.template.id }, A.key)).template).toBeNull();
      },
    ],
  ],
  ...Object.fromEntries(
    TEMPLATE_MUTATIONS.map((field) => [
      field,
      [
        [
          'NOT_FOUND for A’s own and built-in templates, changing nothing',
          async () => {
            const type = `${field[0].toUpperCase()}${field.slice(1)}Input`;
            const query = `mutation($input: ${type}!) { ${field}(input: $input) { template { id } userErrors { field message code } } }`;
            for (const id of A.templateIds) {
              const input =
                field === 'updateTemplate'
                  ? { id, name: 'B renamed it' }
                  : field === 'setTemplateFallback'
                    ? { id, fallback: ['EMAIL'] }
                    : { id };
              expectNotFound((await dataAsB(query, { input }))[field], ['input', 'id']);
            }
          },
        ],
      ],
    ]),
  ),
  sendNotification: [
    [
      'NOT_FOUND for A’s recipients on every channel, and for A’s template with B’s recipient',
      async () => {
        for (const recipientId of A.recipientIds) {
          for (const channel of CHANNELS) {
            const input = { recipientId, channel, body: 'B sends to A', ...(channel === 'EMAIL' ? { subject: 'B' } : {}) };
            expectNotFound((await dataAsB(SEND_NOTIFICATION, { input })).sendNotification, ['input', 'recipientId']);
          }
        }
        const input = { recipientId: B.client.id, channel: 'SMS', templateId: A.ownTemplate, personalisation: { word: 'x' } };
        expectNotFound((await dataAsB(SEND_NOTIFICATION, { input })).sendNotification, ['input', 'templateId']);
      },
    ],
  ],
  sendNotifications: [
    [
      'refuses each item aimed at A’s recipients or template with NOT_FOUND, queuing nothing',
      async () => {
        const query = `mutation($input: SendNotificationsInput!) { sendNotifications(input: $input) {
          queued rejected results { index message { id } userErrors { field message code } } userErrors { code } } }`;
        const items = [
          ...A.recipientIds.map((recipientId) => ({ recipientId, channel: 'SMS', body: 'B sends to A' })),
          { recipientId: B.client.id, channel: 'SMS', templateId: A.ownTemplate, personalisation: { word: 'x' } },
        ];
        const payload = (await dataAsB(query, { input: { items } })).sendNotifications;
        expect(payload).toMatchObject({ queued: 0, rejected: items.length, userErrors: [] });
        payload.results.forEach((result: any, index: number) => {
          const field = index < A.recipientIds.length ? 'recipientId' : 'templateId';
          expect(result).toEqual({
            index,
            message: null,
            userErrors: [{ field: ['input', 'items', String(index), field], message: expect.any(String), code: 'NOT_FOUND' }],
          });
        });
        expectNothingOfA(payload);
      },
    ],
  ],
  createRecipient: [
    [
      'creates in B only, even with A’s phone',
      async () => {
        const created = await buildRecipient(
          herald,
          { kind: 'CLIENT', displayName: 'B copies A', phone: A.client.phone, externalRef: 'b-copy-of-a' },
          B.key,
        );
        expect(ok(await herald.gql(`query($id: ID!) { recipient(id: $id) { id } }`, { id: created.id }, A.key)).recipient).toBeNull();
        expect(ok(await herald.gql(`query($id: ID!) { recipient(id: $id) { id } }`, { id: created.id }, B.key)).recipient).toEqual({
          id: created.id,
        });
      },
    ],
  ],
  updateRecipient: [
    [
      'NOT_FOUND for every recipient of A',
      async () => {
        for (const id of A.recipientIds) {
          const payload = (
            await dataAsB(
              `mutation($input: UpdateRecipientInput!) { updateRecipient(input: $input) { recipient { ${RECIPIENT_FIELDS} } userErrors { field message code } } }`,
              {
                input: {
                  id,
                  displayName: 'Hijacked',
                  phone: '+14155550199',
                  email: 'hijack@example.com',
                  whatsapp: '+14155550199',
                  twitterHandle: 'hijacker',
                  timeZone: 'Asia/Tokyo',
                },
              },
            )
          ).updateRecipient;
          expectNotFound(payload, ['input', 'id']);
        }
      },
    ],
  ],
  eraseRecipient: [
    [
      'NOT_FOUND for every recipient of A, erasing nothing',
      async () => {
        const query = `mutation($input: EraseRecipientInput!) { eraseRecipient(input: $input) { erasedId messagesErased userErrors { field message code } } }`;
        for (const id of A.recipientIds) {
          const { erasedId, messagesErased, ...rest } = (await dataAsB(query, { input: { id } })).eraseRecipient;
          expect({ erasedId, messagesErased }).toEqual({ erasedId: null, messagesErased: 0 });
          expectNotFound(rest, ['input', 'id']);
        }
      },
    ],
  ],
  sendSms: [
    [
      'NOT_FOUND for A’s client (clientId) and A’s staff (staffId), now or scheduled',
      async () => {
        const tries = [
          [{ clientId: A.client.id }, ['input', 'clientId']],
          [{ clientId: A.unreachable.id }, ['input', 'clientId']],
          [{ staffId: A.staff.id }, ['input', 'staffId']],
          [{ clientId: A.client.id, sendAt: new Date(Date.now() + 3_600_000).toISOString() }, ['input', 'clientId']],
          [{ clientId: A.client.id, idempotencyKey: 'b-tries-a' }, ['input', 'clientId']],
        ] as const;
        for (const [target, field] of tries) {
          expectNotFound((await dataAsB(SEND_SMS, { input: { ...target, message: 'B sends to A' } })).sendSms, [...field]);
        }
      },
    ],
  ],
  sendInvoiceDM: [
    [
      'NOT_FOUND for A’s customer',
      async () => {
        const payload = (
          await dataAsB(SEND_INVOICE, { input: { customerId: A.customer.id, invoice: INVOICE, idempotencyKey: 'b-invoice' } })
        ).sendInvoiceDM;
        expectNotFound(payload, ['input', 'customerId']);
      },
    ],
  ],
  notifyBillingCycle: [
    [
      'queues nothing for A’s customer: rejected as unknown, logged in B without naming A’s recipient',
      async () => {
        const payload = (
          await dataAsB(
            `mutation($input: NotifyBillingCycleInput!) { notifyBillingCycle(input: $input) { cycleId queued rejected userErrors { field message code } } }`,
            { input: { cycleId: 'cycle-b-tries-a', invoices: [{ customerId: A.customer.id, invoice: INVOICE }] } },
          )
        ).notifyBillingCycle;
        expect(payload).toEqual({ cycleId: 'cycle-b-tries-a', queued: 0, rejected: 1, userErrors: [] });
        const logs = await connectionAsB(LOGS, 'deliveryLogs', { filter: { outcome: 'FAILURE', channel: 'TWITTER_DM' } });
        const rejection = logs.edges.map((e: any) => e.node).find((l: any) => l.reason?.includes('cycle-b-tries-a'));
        expect(rejection).toMatchObject({ outcome: 'FAILURE', recipient: null, message: null });
      },
    ],
  ],
  updateOrderStatus: [
    [
      'NOT_FOUND for A’s customer, with no messages and no failures',
      async () => {
        const payload = (
          await dataAsB(ORDER, { input: { customerId: A.customer.id, orderId: ORDER_ID, status: 'CANCELLED', note: 'B was here' } })
        ).updateOrderStatus;
        expectNotFound(payload, ['input', 'customerId']);
      },
    ],
  ],
  addChannelGateway: [
    [
      'adds to B only',
      async () => {
        const added = (
          await dataAsB(
            `mutation($input: AddChannelGatewayInput!) { addChannelGateway(input: $input) { gateway { id } userErrors { field message code } } }`,
            {
              input: { channel: 'SMS', provider: 'SANDBOX', name: 'b-extra', makeDefault: true },
            },
          )
        ).addChannelGateway;
        expect(added.userErrors).toEqual([]);
        const aGateways = ok(await herald.gql('{ gateways { id } }', undefined, A.key)).gateways.map((g: { id: string }) => g.id);
        expect(aGateways).not.toContain(added.gateway.id);
        expect(aGateways.sort()).toEqual([...A.gatewayIds].sort());
      },
    ],
  ],
  updateGateway: [
    [
      'NOT_FOUND for every gateway of A (disable, make default, rate cap)',
      async () => {
        for (const id of A.gatewayIds) {
          for (const change of [
            { enabled: false },
            { makeDefault: true },
            { maxPerSecond: 0.01 },
            { enabled: true, makeDefault: true, maxPerSecond: 0 },
          ]) {
            const payload = (
              await dataAsB(
                `mutation($input: UpdateGatewayInput!) { updateGateway(input: $input) { gateway { ${GATEWAY_FIELDS} } userErrors { field message code } } }`,
                {
                  input: { id, ...change },
                },
              )
            ).updateGateway;
            expectNotFound(payload, ['input', 'id']);
          }
        }
      },
    ],
  ],
  subscribe: [
    [
      'NOT_FOUND for A’s recipients on every channel, and for B’s recipient through A’s gateway',
      async () => {
        for (const recipientId of A.recipientIds) {
          for (const channel of CHANNELS)
            expectNotFound((await dataAsB(SUBSCRIBE, { input: { recipientId, channel } })).subscribe, ['input', 'recipientId']);
        }
        const aGateways = ok(await herald.gql(`{ gateways { id channel } }`, undefined, A.key)).gateways as {
          id: string;
          channel: string;
        }[];
        for (const gateway of aGateways) {
          const payload = (
            await dataAsB(SUBSCRIBE, { input: { recipientId: B.customer.id, channel: gateway.channel, gatewayId: gateway.id } })
          ).subscribe;
          expectNotFound(payload, ['input', 'gatewayId']);
        }
        const own = (
          await dataAsB(`query($id: ID!) { recipient(id: $id) { subscriptions { channel gateway { id } } } }`, { id: B.customer.id })
        ).recipient;
        expectNothingOfA(own);
      },
    ],
  ],
  unsubscribe: [
    [
      'NOT_FOUND for A’s recipients on every channel',
      async () => {
        for (const recipientId of A.recipientIds) {
          for (const channel of CHANNELS) {
            const payload = (
              await dataAsB(
                `mutation($input: UnsubscribeInput!) { unsubscribe(input: $input) { recipient { id } userErrors { field message code } } }`,
                {
                  input: { recipientId, channel },
                },
              )
            ).unsubscribe;
            expectNotFound(payload, ['input', 'recipientId']);
          }
        }
      },
    ],
  ],
  cancelMessage: [
    [
      'NOT_FOUND for every message of A, the SCHEDULED one included (never INVALID_STATE, which would tell its state)',
      async () => {
        for (const id of A.messageIds) expectNotFound((await dataAsB(CANCEL, { input: { id } })).cancelMessage, ['input', 'id']);
      },
    ],
  ],
  retryMessage: [
    [
      'NOT_FOUND for every message of A, the FAILED one included',
      async () => {
        for (const id of A.messageIds) {
          const payload = (
            await dataAsB(
              `mutation($input: RetryMessageInput!) { retryMessage(input: $input) { message { id status } userErrors { field message code } } }`,
              { input: { id } },
            )
          ).retryMessage;
          expectNotFound(payload, ['input', 'id']);
        }
      },
    ],
  ],
  createApiKey: [
    [
      'makes a key of B that sees nothing of A',
      async () => {
        const created = (
          await dataAsB(`mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { key userErrors { code } } }`, {
            input: { name: 'b admin 2', role: 'ADMIN' },
          })
        ).createApiKey;
        expect(created.userErrors).toEqual([]);
        expect(ok(await herald.gql('{ viewer { id } }', undefined, created.key)).viewer).toEqual({ id: B.tenantId });
        for (const id of [A.tenantId, A.client.id, A.sent, A.gatewayIds[0]]) {
          expect(ok(await herald.gql(`query($id: ID!) { node(id: $id) { id } }`, { id }, created.key)).node).toBeNull();
        }
      },
    ],
  ],
  revokeApiKey: [
    [
      'NOT_FOUND for every key of A, and A’s keys keep working',
      async () => {
        for (const id of A.apiKeyIds) {
          const payload = (
            await dataAsB(
              `mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } userErrors { field message code } } }`,
              { input: { id } },
            )
          ).revokeApiKey;
          expectNotFound(payload, ['input', 'id']);
        }
        expect(ok(await herald.gql('{ viewer { id } }', undefined, A.key)).viewer).toEqual({ id: A.tenantId });
      },
    ],
  ],
  createTenant: [
    [
      'is the operator’s (A, the default tenant) alone: B gets FORBIDDEN',
      async () => {
        expectForbidden(
          await asB(`mutation { createTenant(input: { name: "B's own" }) { tenant { id } adminKey userErrors { code } } }`),
          'createTenant',
        );
      },
    ],
  ],
  setRetention: [
    [
      'NOT_FOUND for A’s tenant (B is no operator), while B sets its own',
      async () => {
        const query = `mutation($input: SetRetentionInput!) { setRetention(input: $input) { tenant { id retentionDays } userErrors { field message code } } }`;
        expectNotFound((await dataAsB(query, { input: { tenantId: A.tenantId, days: 1 } })).setRetention, ['input', 'tenantId']);
        const own = (await dataAsB(query, { input: { tenantId: B.tenantId, days: 45 } })).setRetention;
        expect(own).toEqual({ tenant: { id: B.tenantId, retentionDays: 45 }, userErrors: [] });
      },
    ],
  ],
  setSendBudget: [
    [
      'is the operator’s alone: B gets FORBIDDEN for A’s budget and for its own',
      async () => {
        for (const tenantId of [A.tenantId, B.tenantId]) {
          const query = `mutation($input: SetSendBudgetInput!) { setSendBudget(input: $input) { sendBudget { perMinute } userErrors { code } } }`;
          expectForbidden(await asB(query, { input: { tenantId, perMinute: 1_000_000 } }), 'setSendBudget');
        }
      },
    ],
  ],
};

// ---------------------------------------------------------------------------------------

describe('the isolation tables cover schema.graphql', () => {
  it('has checks for every Query field', () => {
    expect(Object.keys(QUERIES).sort()).toEqual(Object.keys(schema.getQueryType()!.getFields()).sort());
  });
  it('has checks for every Mutation field', () => {
    expect(Object.keys(MUTATIONS).sort()).toEqual(Object.keys(schema.getMutationType()!.getFields()).sort());
  });
  it('has checks for every Subscription field', () => {
    expect(Object.keys(schema.getSubscriptionType()!.getFields())).toEqual(['messageStatusChanged']);
  });
});

describe('queries as tenant B', () => {
  for (const [field, checks] of Object.entries(QUERIES)) {
    for (const [label, check] of checks) it(`${field}: ${label}`, check, 60_000);
  }
});

describe('mutations as tenant B', () => {
  for (const [field, checks] of Object.entries(MUTATIONS)) {
    for (const [label, check] of checks) it(`${field}: ${label}`, check, 60_000);
  }
});

describe('afterwards', () => {
  it('A’s recipients, gateways, channels, messages and delivery logs are exactly as before', async () => {
    const after = await snapshotOfA();
    expect(after).toEqual(snapshotBefore);
  });
});

// ---------------------------------------------------------------------------------------

describe('subscription as tenant B', () => {
  const clients: Client[] = [];
  afterAll(async () => {
    for (const client of clients) await client.dispose();
  });

  interface Sub {
    events: { id: string; status: string }[];
    errors: unknown[];
  }

  function wsClient(key: string): Client {
    const client = createClient({
      url: `${herald.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${key}` },
      retryAttempts: 0,
    });
    clients.push(client);
    return client;
  }

  function subscribe(client: Client, variables: { messageId?: string; recipientId?: string }): Sub {
    const sub: Sub = { events: [], errors: [] };
    client.subscribe<{ messageStatusChanged: { id: string; status: string } }>(
      {
        query:
          'subscription($messageId: ID, $recipientId: ID) { messageStatusChanged(messageId: $messageId, recipientId: $recipientId) { id status body recipient { id displayName phone } } }',
        variables,
      },
      {
        next: (result) => {
          if (result.errors?.length) sub.errors.push(...result.errors);
          if (result.data?.messageStatusChanged) sub.events.push(result.data.messageStatusChanged);
        },
        error: (err) => sub.errors.push(err),
        complete: () => undefined,
      },
    );
    return sub;
  }

  /** Sends to `clientId` until `watcher` has seen one of those messages SENT: the watcher (and every subscription made before it on its connection) is live. */
  async function sendUntilSeen(key: string, clientId: string, watcher: Sub, tag: string): Promise<string[]> {
    const ids: string[] = [];
    const deadline = Date.now() + 30_000;
    for (;;) {
      ids.push(await sendSms(key, { clientId, message: `${tag} ${ids.length}` }));
      const until = Date.now() + 2_000;
      while (Date.now() < until) {
        if (watcher.events.some((e) => e.status === 'SENT' && ids.includes(e.id))) return ids;
        await sleep(50);
      }
      if (Date.now() > deadline) throw new Error(`no SENT event for ${tag} in 30 s: ${JSON.stringify(watcher)}`);
    }
  }

  it('messageStatusChanged by A’s messageId or A’s recipientId is refused to B, and gives B no events while A’s messages change', async () => {
    // A message of A that will change while B listens: scheduled now, cancelled by A later.
    const toCancel = await sendSms(A.key, {
      clientId: A.client.id,
      message: 'A: to be cancelled',
      sendAt: new Date(Date.now() + 86_400_000).toISOString(),
    });

    // B's snoopers first, then B's own watcher on the same connection: once it is live, so are they.
    const bClient = wsClient(B.key);
    const snoopers = [
      subscribe(bClient, { messageId: toCancel }),
      subscribe(bClient, { messageId: A.sent }),
      subscribe(bClient, { messageId: A.failed }),
      ...A.recipientIds.map((recipientId) => subscribe(bClient, { recipientId })),
      subscribe(bClient, { messageId: toCancel, recipientId: A.client.id }),
    ];
    const bWatcher = subscribe(bClient, { recipientId: B.client.id });
    await sendUntilSeen(B.key, B.client.id, bWatcher, 'B probe');

    // A's own watchers, live the same way.
    const aClient = wsClient(A.key);
    const aByMessage = subscribe(aClient, { messageId: toCancel });
    const aByRecipient = subscribe(aClient, { recipientId: A.client.id });
    // A changes: new sends to its client (QUEUED → SENDING → SENT), a cancel, a retry that fails again.
    const aSent = await sendUntilSeen(A.key, A.client.id, aByRecipient, 'A while B listens');
    const cancelled = ok(await herald.gql(CANCEL, { input: { id: toCancel } }, A.key)).cancelMessage;
    expect(cancelled.userErrors).toEqual([]);
    const retried = ok(
      await herald.gql(
        `mutation($input: RetryMessageInput!) { retryMessage(input: $input) { userErrors { code } } }`,
        { input: { id: A.failed } },
        A.key,
      ),
    ).retryMessage;
    expect(retried.userErrors).toEqual([]);
    await waitForStatus(A.key, A.failed, ['FAILED']);
    const deadline = Date.now() + 20_000;
    while (!aByMessage.events.some((e) => e.status === 'CANCELLED')) {
      if (Date.now() > deadline) throw new Error(`A's own watcher saw no CANCELLED: ${JSON.stringify(aByMessage)}`);
      await sleep(50);
    }
    expect(aByRecipient.events.filter((e) => aSent.includes(e.id)).length).toBeGreaterThan(0);

    // One more probe of B's after all of A's changes: whatever B was going to get, it has got.
    await sendUntilSeen(B.key, B.client.id, bWatcher, 'B final probe');
    // Refused when subscribing, as an id that names nothing of B's: nothing says A's exists.
    for (const snooper of snoopers) {
      expect(snooper.events).toEqual([]);
      expect(snooper.errors.flat().map((e) => (e as { extensions?: { code?: string } }).extensions?.code)).toEqual(['BAD_USER_INPUT']);
    }
    expectNothingOfA(bWatcher.events);
    expect(bWatcher.errors).toEqual([]);
  }, 120_000);
});
