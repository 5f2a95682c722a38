// Send budgets (modules/budgets): sends per minute and per day, and international SMS /
// WhatsApp per day, per tenant, counted in PostgreSQL and spent by the sending services,
// so HTTP, WebSocket and every API process draw on one budget.
import 'reflect-metadata';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApiKey, buildRecipient, buildTenant } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { createPostgresDatabase } from './helpers/process.js';

const PER_MINUTE = 4;
const ENV = { HERALD_SEND_BUDGET_PER_MINUTE: String(PER_MINUTE), HERALD_HOME_COUNTRIES: 'US,CA', HERALD_INTERNATIONAL_SENDS_PER_DAY: '1' };
const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } userErrors { code message } } }`;
const BUDGET = `{ viewer { sendBudget { perMinute perDay internationalPerDay homeCountries usedThisMinute usedToday internationalUsedToday minuteResetsAt } } }`;
const SET_BUDGET = `mutation($input: SetSendBudgetInput!) { setSendBudget(input: $input) {
  tenant { id } sendBudget { perMinute perDay internationalPerDay homeCountries } userErrors { field code message } } }`;

let herald: TestHerald;
beforeAll(async () => {
  // PostgreSQL (DATABASE_URL, else the machine's own): the last test shares the budget
  // between two processes on one database, which PGlite cannot serve.
  herald = await startTestHerald({ env: ENV, database: await createPostgresDatabase('send budgets across API processes') });
});
afterAll(() => herald?.stop());

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: { message: string; extensions?: Record<string, any> }[] };
}

async function post(url: string, key: string, query: string, variables?: Record<string, unknown>): Promise<Answer> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as Answer['body'] };
}

const sms = (clientId: string, message = 'Your table is ready', url = herald.url, key?: string, extra: Record<string, unknown> = {}) =>
  post(url, key!, SEND, { input: { clientId, message, ...extra } });

function expectSent(answer: Answer): string {
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  expect(answer.body.errors).toBeUndefined();
  expect(answer.body.data.sendSms.userErrors).toEqual([]);
  return answer.body.data.sendSms.message.id;
}

function expectRateLimited(answer: Answer, budget: RegExp): number {
  expect(answer.status, JSON.stringify(answer.body)).toBe(429);
  expect(answer.body.errors).toHaveLength(1);
  const [error] = answer.body.errors!;
  expect(error.extensions?.code).toBe('RATE_LIMITED');
  expect(error.extensions).not.toHaveProperty('http');
  expect(error.message).toMatch(budget);
  const retryAfter = Number(answer.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(error.extensions?.retryAfterSeconds).toBe(retryAfter);
  return retryAfter;
}

const messageCount = async (key: string) =>
  ok(await herald.gql('{ messages { totalCount } }', undefined, key)).messages.totalCount as number;
const budgetOf = async (key: string) => ok(await herald.gql(BUDGET, undefined, key)).viewer.sendBudget;

/** A tenant with a SENDER key (what a leaked key would be) and a US client. */
async function tenantWithClient(phone = '+14155550142') {
  const { tenant, adminKey } = await buildTenant(herald);
  const senderKey = await buildApiKey(herald, 'SENDER', adminKey);
  const client = await buildRecipient(herald, { kind: 'CLIENT', phone }, adminKey);
  return { tenant, adminKey, senderKey, clientId: client.id as string };
}

describe('sends per minute', () => {
  it('lets a tenant send its budget, then answers 429 RATE_LIMITED with Retry-After, says which budget and when it resets, and stores nothing', async () => {
    const { adminKey, senderKey, clientId } = await tenantWithClient();
    for (let i = 0; i < PER_MINUTE; i++) expectSent(await sms(clientId, `Hello ${i}`, herald.url, senderKey));
    const before = await messageCount(adminKey);

    const refused = await sms(clientId, 'One too many', herald.url, senderKey);
    const retryAfter = expectRateLimited(refused, /budget of 4 sends per minute is spent.*resets at \d{4}-\d\d-\d\dT/);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.body.data).toBeNull();
    expect(await messageCount(adminKey)).toBe(before);

    const budget = await budgetOf(adminKey);
    expect(budget).toMatchObject({ perMinute: PER_MINUTE, perDay: 50_000, usedThisMinute: PER_MINUTE, usedToday: PER_MINUTE });
    expect(new Date(budget.minuteResetsAt).getTime()).toBeGreaterThan(Date.now());

    // Another tenant has a budget of its own.
    const other = await tenantWithClient('+14155550143');
    expectSent(await sms(other.clientId, 'Hi', herald.url, other.senderKey));
  });

  it('counts a mutation over WebSocket (graphql-ws) against the same budget, and refuses it there with RATE_LIMITED', async () => {
    const { senderKey, clientId } = await tenantWithClient('+14155550144');
    const ws = createClient({
      url: `${herald.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${senderKey}` },
      retryAttempts: 0,
    });
    const overSocket = (message: string) =>
      new Promise<{ data?: any; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }>((resolve, reject) => {
        let result: { data?: any; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] } = {};
        ws.subscribe(
          { query: SEND, variables: { input: { clientId, message } } },
          {
            next: (value) => (result = value as typeof result),
            error: (err) => (Array.isArray(err) ? resolve({ errors: err }) : reject(err as Error)),
            complete: () => resolve(result),
          },
        );
      });
    try {
      for (let i = 0; i < PER_MINUTE - 1; i++) expectSent(await sms(clientId, `Over HTTP ${i}`, herald.url, senderKey));
      const sent = await overSocket('Over the socket');
      expect(sent.errors).toBeUndefined();
      expect(sent.data.sendSms.userErrors).toEqual([]);

      // The budget is spent: the socket is refused as HTTP would be, and so is HTTP.
      const refused = await overSocket('One too many');
      expect(refused.errors).toHaveLength(1);
      expect(refused.errors![0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
      expect(refused.errors![0].extensions!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(refused.errors![0].message).toMatch(/sends per minute/);
      expect(refused.data?.sendSms ?? null).toBeNull();
      expectRateLimited(await sms(clientId, 'And over HTTP', herald.url, senderKey), /sends per minute/);
    } finally {
      await ws.dispose();
    }
  });

  it('lets exactly the budget through when a tenant’s sends arrive at once', async () => {
    const { adminKey, senderKey, clientId } = await tenantWithClient('+14155550149');
    const answers = await Promise.all(Array.from({ length: PER_MINUTE + 6 }, (_, i) => sms(clientId, `Burst ${i}`, herald.url, senderKey)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(PER_MINUTE);
    for (const refused of answers.filter((a) => a.status !== 200)) expectRateLimited(refused, /sends per minute/);
    expect(await messageCount(adminKey)).toBe(PER_MINUTE);
  });

  it('does not charge an idempotent replay again', async () => {
    const { adminKey, senderKey, clientId } = await tenantWithClient('+14155550145');
    const first = expectSent(await sms(clientId, 'Once', herald.url, senderKey, { idempotencyKey: 'k-1' }));
    expect(expectSent(await sms(clientId, 'Once', herald.url, senderKey, { idempotencyKey: 'k-1' }))).toBe(first);
    expect((await budgetOf(adminKey)).usedThisMinute).toBe(1);
  });

  it('charges notifyBillingCycle the invoices it queues, and refuses a cycle bigger than the budget, telling to split it', async () => {
    const { adminKey } = await buildTenant(herald);
    const customer = await buildRecipient(herald, { kind: 'CUSTOMER', twitterHandle: 'budget_customer' }, adminKey);
    const NOTIFY = `mutation($input: NotifyBillingCycleInput!) { notifyBillingCycle(input: $input) { queued rejected userErrors { code } } }`;
    const invoices = (numbers: string[], customerId = customer.id) =>
      numbers.map((number) => ({ customerId, invoice: { number, amountDue: '1.00', currency: 'USD', dueDate: '2026-12-01' } }));

    const tooBig = await post(herald.url, adminKey, NOTIFY, { input: { cycleId: 'c1', invoices: invoices(['1', '2', '3', '4', '5']) } });
    expectRateLimited(tooBig, /asks for 5 sends, more than the 4 sends per minute.*split/);
    expect(await messageCount(adminKey)).toBe(0);

    // Two queued, one rejected (no such customer): two are counted.
    const cycle = await post(herald.url, adminKey, NOTIFY, {
      input: { cycleId: 'c1', invoices: [...invoices(['1', '2']), ...invoices(['3'], 'rcp_nobody')] },
    });
    expect(cycle.body.data.notifyBillingCycle).toMatchObject({ queued: 2, rejected: 1 });
    expect((await budgetOf(adminKey)).usedThisMinute).toBe(2);
  });
});

describe('international sends', () => {
  it('counts SMS to numbers outside the home countries against the international allowance, while home numbers still pass', async () => {
    const { adminKey, senderKey, clientId } = await tenantWithClient('+14155550146');
    const uk = await buildRecipient(herald, { kind: 'CLIENT', phone: '+447400123456' }, adminKey);
    const france = await buildRecipient(herald, { kind: 'CLIENT', phone: '+33612345678' }, adminKey);
    const canada = await buildRecipient(herald, { kind: 'CLIENT', phone: '+16135550123' }, adminKey);

    expectSent(await sms(uk.id, 'Hello', herald.url, senderKey));
    const before = await messageCount(adminKey);
    const refused = await sms(france.id, 'Hello', herald.url, senderKey);
    const retryAfter = expectRateLimited(refused, /budget of 1 international SMS and WhatsApp sends per day is spent/);
    expect(retryAfter).toBeGreaterThan(60);
    expect(retryAfter).toBeLessThanOrEqual(86_400);
    expect(await messageCount(adminKey)).toBe(before);

    expectSent(await sms(clientId, 'Home', herald.url, senderKey));
    expectSent(await sms(canada.id, 'Home too', herald.url, senderKey));
    expect(await budgetOf(adminKey)).toMatchObject({
      homeCountries: ['US', 'CA'],
      internationalPerDay: 1,
      internationalUsedToday: 1,
      usedThisMinute: 3,
    });
  });
  it('counts each message updateOrderStatus queues, and WhatsApp to a foreign number as international', async () => {
    const { adminKey } = await buildTenant(herald);
    const customer = await buildRecipient(herald, { kind: 'CUSTOMER', phone: '+14155550150', whatsapp: '+33612345670' }, adminKey);
    const SUBSCRIBE = `mutation($input: SubscribeInput!) { subscribe(input: $input) { userErrors { code } } }`;
    for (const channel of ['SMS', 'WHATSAPP']) ok(await herald.gql(SUBSCRIBE, { input: { recipientId: customer.id, channel } }, adminKey));
    const UPDATE = `mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) { messages { channel } userErrors { code } } }`;
    const update = (orderId: string) =>
      post(herald.url, adminKey, UPDATE, { input: { customerId: customer.id, orderId, status: 'shipped' } });

    const first = await update('o-1');
    expect(first.body.data.updateOrderStatus.messages).toHaveLength(2);
    expect(await budgetOf(adminKey)).toMatchObject({ usedThisMinute: 2, internationalUsedToday: 1 });
    // The international allowance (1) is spent: the whole update is refused, its SMS too.
    expectRateLimited(await update('o-2'), /international/);
    expect(await messageCount(adminKey)).toBe(2);
  });
});

describe('setSendBudget', () => {
  it('lets the operator set a tenant’s budgets, which then apply, and refuses anyone else', async () => {
    const { tenant, adminKey, senderKey, clientId } = await tenantWithClient('+14155550147');
    const france = await buildRecipient(herald, { kind: 'CLIENT', phone: '+33612345679' }, adminKey);

    // The tenant's own ADMIN key is not the operator.
    const denied = await post(herald.url, adminKey, SET_BUDGET, { input: { tenantId: tenant.id, perMinute: 1_000 } });
    expect(denied.body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(denied.body.data?.setSendBudget ?? null).toBeNull();
    expect((await budgetOf(adminKey)).perMinute).toBe(PER_MINUTE);

    const set = ok(await herald.gql(SET_BUDGET, { input: { tenantId: tenant.id, perMinute: 2, homeCountries: ['fr', 'US'] } }));
    expect(set.setSendBudget).toEqual({
      tenant: { id: tenant.id },
      sendBudget: { perMinute: 2, perDay: 50_000, internationalPerDay: 1, homeCountries: ['FR', 'US'] },
      userErrors: [],
    });
    expectSent(await sms(france.id, 'Bonjour', herald.url, senderKey));
    expectSent(await sms(clientId, 'Hello', herald.url, senderKey));
    expectRateLimited(await sms(clientId, 'Third', herald.url, senderKey), /budget of 2 sends per minute/);
    expect((await budgetOf(adminKey)).internationalUsedToday).toBe(0);

    // null returns a budget to the environment's default; 0 turns it off.
    const reset = ok(await herald.gql(SET_BUDGET, { input: { tenantId: tenant.id, perMinute: null, internationalPerDay: 0 } }));
    expect(reset.setSendBudget.sendBudget).toMatchObject({ perMinute: PER_MINUTE, internationalPerDay: 0, homeCountries: ['FR', 'US'] });
    expectSent(await sms(clientId, 'Again', herald.url, senderKey));
  });

  it('answers bad settings and unknown tenants with userErrors', async () => {
    const { tenant } = await buildTenant(herald);
    const bad = ok(await herald.gql(SET_BUDGET, { input: { tenantId: tenant.id, perMinute: -1, homeCountries: ['XX'] } }));
    expect(bad.setSendBudget.userErrors.map((e: { field: string[] }) => e.field.join('.'))).toEqual(['input.perMinute']);
    const country = ok(await herald.gql(SET_BUDGET, { input: { tenantId: tenant.id, homeCountries: ['XX'] } }));
    expect(country.setSendBudget.userErrors).toMatchObject([{ field: ['input', 'homeCountries'], code: 'INVALID_INPUT' }]);
    const missing = ok(await herald.gql(SET_BUDGET, { input: { tenantId: 'ten_nobody', perMinute: 5 } }));
    expect(missing.setSendBudget.userErrors).toMatchObject([{ field: ['input', 'tenantId'], code: 'NOT_FOUND' }]);
  });
});

describe('across API processes', () => {
  it('shares one budget between two API processes on one database', async () => {
    const { adminKey, senderKey, clientId } = await tenantWithClient('+14155550148');
    const second = await startTestHerald({ database: herald.database, role: 'api', env: ENV });
    try {
      // Both processes send at once: exactly the budget passes, whichever process took it.
      const answers = await Promise.all(
        Array.from({ length: PER_MINUTE + 3 }, (_, i) => sms(clientId, `Race ${i}`, i % 2 ? second.url : herald.url, senderKey)),
      );
      const sent = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status === 429);
      expect(sent).toHaveLength(PER_MINUTE);
      expect(refused).toHaveLength(3);
      for (const answer of refused) expect(answer.body.errors![0].extensions!.code).toBe('RATE_LIMITED');
      expect(await messageCount(adminKey)).toBe(PER_MINUTE);
      expectRateLimited(await sms(clientId, 'Later', second.url, senderKey), /sends per minute/);
    } finally {
      await second.close();
    }
  });
});
