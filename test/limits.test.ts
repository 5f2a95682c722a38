// GraphQL abuse limits (depth, cost, aliases, tokens, batching, page size, introspection)
// and rate limits (requests per API key, sends per tenant), seen through the HTTP API.
// Every refusal but a spent send budget comes before any resolver runs; none creates anything.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { getIntrospectionQuery, type GraphQLSchema, Kind, type OperationDefinitionNode, parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_TOTAL_COUNT } from '../src/graphql/connection.js';
import { TOTAL_COUNT_COST, measureOperation } from '../src/graphql/limits.js';
import { buildHeraldSchema } from '../src/graphql/schema.js';
import { buildApiKey, buildRecipient, buildTenant } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';

const SECRET_KEY = randomBytes(32).toString('hex');
const BASE_ENV = { HERALD_SECRET_KEY: SECRET_KEY };

let herald: TestHerald;
beforeAll(async () => {
  herald = await startTestHerald({ env: BASE_ENV });
});
afterAll(() => herald?.stop());

interface Answer {
  status: number;
  headers: Headers;
  body: { data?: any; errors?: { message: string; extensions?: Record<string, any> }[]; [key: string]: unknown };
}

/** A raw POST /graphql; `key` null sends no Authorization header. */
async function post(payload: unknown, key: string | null = herald.adminKey): Promise<Answer> {
  const response = await fetch(`${herald.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
  return { status: response.status, headers: response.headers, body: JSON.parse(await response.text()) };
}

function expectRefused(answer: Answer, status: number, code: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
  expect(answer.body.data).toBeUndefined();
  expect(answer.body.errors).toHaveLength(1);
  expect(answer.body.errors![0].extensions?.code).toBe(code);
  expect(answer.body.errors![0].extensions).not.toHaveProperty('http');
  expect(answer.body.errors![0].message).not.toMatch(/Internal error/);
}

/** Database calls made while `run` runs (the admin key is warm in the auth cache by then). */
async function databaseCallsDuring(run: () => Promise<void>): Promise<number> {
  const db = herald.services.db;
  const spies = [
    vi.spyOn(db, 'select'),
    vi.spyOn(db, 'execute'),
    vi.spyOn(db, 'insert'),
    vi.spyOn(db, 'transaction'),
    vi.spyOn(db, 'update'),
  ];
  try {
    await run();
    return spies.reduce((n, spy) => n + spy.mock.calls.length, 0);
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

const recipientCount = async (key?: string) =>
  ok(await herald.gql('{ recipients { totalCount } }', undefined, key)).recipients.totalCount as number;

const NORMAL_QUERY = `{ messages(first: 100) { edges { node { recipient { subscriptions { gateway { name } } } logs { reason } } } } }`;
/** Message → logs → message → logs …: each level a list of its own. */
const nestedLogs = (levels: number, leaf = 'id') => {
  let inner = leaf;
  for (let i = 0; i < levels; i++) inner = `logs { message { ${inner} } }`;
  return inner;
};

describe('measuring an operation', () => {
  let schema: GraphQLSchema;
  beforeAll(async () => {
    schema = await buildHeraldSchema();
  });

  const measure = (query: string, variables?: Record<string, unknown>) => {
    const document = parse(query);
    const operation = document.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
    return measureOperation(schema, document, operation, variables);
  };

  it('counts fields on the longest path as depth, objects as cost, scalars free', () => {
    expect(measure('{ viewer { name } }')).toEqual({ depth: 2, cost: 1, aliases: 0 });
    expect(measure('{ a: viewer { name } b: viewer { id } }')).toEqual({ depth: 2, cost: 2, aliases: 2 });
  });

  it('multiplies a connection’s items by first, other lists by an estimate of 10', () => {
    // messages 1 + 100 edges × (edge 1 + node 1 + recipient 1 + 10 subscriptions × 2 + 10 logs × 1)
    expect(measure(NORMAL_QUERY)).toEqual({ depth: 7, cost: 1 + 100 * (1 + 1 + 21 + 10), aliases: 0 });
    expect(measure('{ messages(first: 10) { edges { node { id } } } }').cost).toBe(1 + 10 * 2);
    // No first: the default page size (20); from a variable or its default, as sent.
    expect(measure('{ messages { edges { node { id } } } }').cost).toBe(1 + 20 * 2);
    expect(measure('query($n: Int) { messages(first: $n) { edges { node { id } } } }', { n: 50 }).cost).toBe(1 + 50 * 2);
    expect(measure('query($n: Int = 5) { messages(first: $n) { edges { node { id } } } }').cost).toBe(1 + 5 * 2);
    // A page size the connection refuses counts as the largest it accepts.
    expect(measure('{ messages(first: 100000) { edges { node { id } } } }').cost).toBe(1 + 100 * 2);
  });

  it('counts each totalCount selected at a fixed cost', () => {
    expect(TOTAL_COUNT_COST).toBe(200);
    expect(measure('{ recipients { totalCount } }').cost).toBe(1 + 200);
    expect(measure('{ recipients { totalCount totalCountIsLowerBound edges { node { id } } } a: messages { totalCount } }').cost).toBe(
      1 + 200 + 20 * 2 + 1 + 200,
    );
  });

  it('counts through fragments and inline fragments', () => {
    const viaFragments = measure(`query { messages(first: 100) { ...Page } }
      fragment Page on MessageConnection { edges { node { ... on Message { ...M } } } }
      fragment M on Message { recipient { subscriptions { gateway { name } } } logs { reason } }`);
    expect(viaFragments).toEqual(measure(NORMAL_QUERY));
  });

  it('measures fragments spread into fragments in linear time, however large the result', () => {
    let fragments = 'fragment F0 on Recipient { id }';
    for (let i = 1; i <= 40; i++) fragments += ` fragment F${i} on Recipient { ...F${i - 1} ...F${i - 1} }`;
    const started = performance.now();
    const measured = measure(`{ recipients { edges { node { ...F40 } } } } ${fragments}`);
    expect(performance.now() - started).toBeLessThan(500);
    expect(measured.depth).toBe(4);
  });

  it('leaves the introspection query GraphiQL sends to graphql-js’s own introspection limit', () => {
    for (const query of [
      getIntrospectionQuery(),
      getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true, specifiedByUrl: true }),
    ]) {
      expect(measure(query)).toMatchObject({ depth: 0, cost: 0, aliases: 0 });
    }
  });
});

describe('query depth (HERALD_MAX_QUERY_DEPTH, default 12)', () => {
  it('refuses a 13-deep query with 400 QUERY_TOO_DEEP before any resolver runs', async () => {
    ok(await herald.gql('{ viewer { id } }')); // warm the key
    let answer!: Answer;
    const calls = await databaseCallsDuring(async () => {
      // messages edges node (3) + 4 × logs message (8) + logs id (2) = 13
      answer = await post({ query: `{ messages(first: 1) { edges { node { ${nestedLogs(4, 'logs { id }')} } } } }` });
    });
    expectRefused(answer, 400, 'QUERY_TOO_DEEP');
    expect(answer.body.errors![0].extensions).toMatchObject({ depth: 13, maxDepth: 12 });
    expect(answer.body.errors![0].message).toMatch(/13 fields deep; at most 12/);
    expect(calls).toBe(0);
  });

  it('refuses a deep query however it is spelled: through fragments, and without an API key', async () => {
    const query = `{ messages(first: 1) { edges { node { ...Deep } } } } fragment Deep on Message { ${nestedLogs(5)} }`;
    expectRefused(await post({ query }), 400, 'QUERY_TOO_DEEP');
    expectRefused(await post({ query }, null), 400, 'QUERY_TOO_DEEP');
  });

  it('answers a normal nested query', async () => {
    const answer = await post({ query: NORMAL_QUERY });
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    expect(answer.body.data.messages.edges).toEqual(expect.any(Array));
  });
});

describe('query cost (HERALD_MAX_QUERY_COST, default 5000)', () => {
  it('answers messages(first: 100) with recipients, subscriptions, gateways and logs (cost 3,401)', async () => {
    const answer = await post({ query: NORMAL_QUERY.replace('{ messages', '{ viewer { name } messages') });
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
  });

  it('refuses nested lists under a full page with 400 QUERY_TOO_COSTLY before any resolver runs', async () => {
    ok(await herald.gql('{ viewer { id } }'));
    let answer!: Answer;
    const calls = await databaseCallsDuring(async () => {
      answer = await post({ query: `{ messages(first: 100) { edges { node { ${nestedLogs(2)} } } } }` });
    });
    expectRefused(answer, 400, 'QUERY_TOO_COSTLY');
    expect(answer.body.errors![0].extensions).toMatchObject({ cost: expect.any(Number), maxCost: 5000 });
    expect(answer.body.errors![0].extensions!.cost).toBeGreaterThan(5000);
    expect(calls).toBe(0);
  });

  it('counts first sent as a variable', async () => {
    const query = `query($n: Int) { messages(first: $n) { edges { node { ${nestedLogs(2)} } } } }`;
    expect((await post({ query, variables: { n: 1 } })).status).toBe(200);
    expectRefused(await post({ query, variables: { n: 100 } }), 400, 'QUERY_TOO_COSTLY');
  });

  it('adds up every root field: several full pages together go over', async () => {
    const page = (alias: string) => `${alias}: recipients(first: 100) { edges { node { subscriptions { gateway { name } } } } }`;
    expect((await post({ query: `{ ${page('a')} }` })).status).toBe(200);
    expectRefused(await post({ query: `{ ${page('a')} ${page('b')} ${page('c')} }` }), 400, 'QUERY_TOO_COSTLY');
  });

  it('refuses 30 totalCounts in one request with 400 QUERY_TOO_COSTLY before any count runs; answers 20', async () => {
    const counts = (n: number) =>
      Array.from({ length: n }, (_, i) => `c${i}: deliveryLogs(filter: { channel: SMS }) { totalCount }`).join(' ');
    ok(await herald.gql('{ viewer { id } }'));
    let answer!: Answer;
    const calls = await databaseCallsDuring(async () => {
      answer = await post({ query: `{ ${counts(30)} }` });
    });
    expectRefused(answer, 400, 'QUERY_TOO_COSTLY');
    expect(answer.body.errors![0].extensions).toMatchObject({ cost: 30 * 201, maxCost: 5000 });
    expect(calls).toBe(0);
    const twenty = await post({ query: `{ ${counts(20)} }` });
    expect(twenty.status).toBe(200);
    expect(Object.keys(twenty.body.data)).toHaveLength(20);
  });

  it(`answers a count beyond ${MAX_TOTAL_COUNT} as ${MAX_TOTAL_COUNT} with totalCountIsLowerBound, and an exact count below it`, async () => {
    const { tenant, adminKey } = await buildTenant(herald);
    await buildRecipient(herald, { kind: 'STAFF', displayName: 'One of two' }, adminKey);
    await buildRecipient(herald, { kind: 'STAFF', displayName: 'Two of two' }, adminKey);
    // Many rows at once, straight into the table: the API creates one recipient per call.
    await herald.services.db.execute(sql`
      insert into recipients (id, tenant_id, kind, display_name)
      select gen_random_uuid(), t.id, 'CLIENT', 'Bulk ' || n from tenants t, generate_series(1, ${MAX_TOTAL_COUNT}) n where t.name = ${tenant.name}`);
    const counts = ok(
      await herald.gql(
        `{ all: recipients(first: 1) { totalCount totalCountIsLowerBound } staff: recipients(filter: { kind: STAFF }) { totalCount totalCountIsLowerBound } }`,
        undefined,
        adminKey,
      ),
    );
    expect(counts).toEqual({
      all: { totalCount: MAX_TOTAL_COUNT, totalCountIsLowerBound: true },
      staff: { totalCount: 2, totalCountIsLowerBound: false },
    });
  });

  it('refuses a costly mutation before it changes anything', async () => {
    const before = await recipientCount();
    const answer = await post({
      query: `mutation { createRecipient(input: { kind: CLIENT, displayName: "Costly" }) { recipient { id } } messages: cancelMessage(input: { id: "x" }) { message { ${nestedLogs(4)} } } }`,
    });
    expectRefused(answer, 400, 'QUERY_TOO_COSTLY');
    expect(await recipientCount()).toBe(before);
  });
});

describe('aliases (HERALD_MAX_ALIASES, default 30)', () => {
  const aliased = (n: number, field: (i: number) => string) => Array.from({ length: n }, (_, i) => `a${i}: ${field(i)}`).join(' ');

  it('answers 30 aliases', async () => {
    const answer = await post({ query: `{ ${aliased(30, () => 'viewer { name }')} }` });
    expect(answer.status).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    expect(Object.keys(answer.body.data)).toHaveLength(30);
  });

  it('refuses 31 aliased mutations with 400 TOO_MANY_ALIASES, creating nothing', async () => {
    const before = await recipientCount();
    const query = `mutation { ${aliased(31, (i) => `createRecipient(input: { kind: CLIENT, displayName: "Alias ${i}" }) { recipient { id } }`)} }`;
    const answer = await post({ query });
    expectRefused(answer, 400, 'TOO_MANY_ALIASES');
    expect(answer.body.errors![0].extensions).toMatchObject({ aliases: 31, maxAliases: 30 });
    expect(await recipientCount()).toBe(before);
  });

  it('counts aliases inside fragments too', async () => {
    const query = `{ viewer { ...A } } fragment A on Tenant { ${aliased(31, () => 'name')} }`;
    expectRefused(await post({ query }), 400, 'TOO_MANY_ALIASES');
  });
});

describe('tokens (HERALD_MAX_QUERY_TOKENS, default 2000)', () => {
  it('refuses a document over 2,000 tokens with 400 GRAPHQL_PARSE_FAILED', async () => {
    // Each "name" is one token: 2,100 of them, no aliases, cost 1.
    const answer = await post({ query: `{ viewer { ${'name '.repeat(2100)}} }` });
    expectRefused(answer, 400, 'GRAPHQL_PARSE_FAILED');
    expect(answer.body.errors![0].message).toMatch(/more th(?:an|at) 2000 tokens/);
  });

  it('refuses thousands of directives on one field (directive overloading)', async () => {
    const answer = await post({ query: `{ viewer { name ${'@include(if: true) '.repeat(500)}} }` });
    expectRefused(answer, 400, 'GRAPHQL_PARSE_FAILED');
  });

  it('accepts notifyBillingCycle of 10,000 invoices sent as variables, which are not tokens', async () => {
    const customer = await buildRecipient(herald, { kind: 'CUSTOMER', displayName: 'No handle yet' });
    const invoices = Array.from({ length: 10_000 }, (_, i) => ({
      customerId: customer.id,
      invoice: { number: `INV-${i}`, amountDue: '10.00', currency: 'USD', dueDate: '2026-12-01' },
    }));
    const answer = await post({
      query: `mutation($input: NotifyBillingCycleInput!) { notifyBillingCycle(input: $input) { queued rejected userErrors { code } } }`,
      variables: { input: { cycleId: 'cycle-tokens', invoices } },
    });
    expect(answer.status, JSON.stringify(answer.body.errors)).toBe(200);
    expect(answer.body.errors).toBeUndefined();
    // The customer has no X handle, so each invoice is refused as a delivery log: all 10,000 were read.
    expect(answer.body.data.notifyBillingCycle).toEqual({ queued: 0, rejected: 10_000, userErrors: [] });
  }, 120_000);
});

describe('batching, page size, introspection', () => {
  it('refuses a batch (a JSON array) with 400, running none of it', async () => {
    const before = await recipientCount();
    const create = { query: 'mutation { createRecipient(input: { kind: CLIENT, displayName: "Batched" }) { recipient { id } } }' };
    const answer = await post([create, create]);
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toMatch(/batching/i);
    expect(await recipientCount()).toBe(before);
  });

  it.each([101, -1, 1_000_000])('refuses first: %i with BAD_USER_INPUT and no data', async (first) => {
    const answer = await post({ query: 'query($first: Int) { recipients(first: $first) { totalCount } }', variables: { first } });
    expect(answer.status).toBeLessThan(500);
    expect(answer.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(answer.body.data?.recipients ?? null).toBeNull();
  });

  it('serves the full introspection query, with and without a key (GraphiQL)', async () => {
    for (const key of [herald.adminKey, null]) {
      const answer = await post({ query: getIntrospectionQuery({ descriptions: true, inputValueDeprecation: true }) }, key);
      expect(answer.status).toBe(200);
      expect(answer.body.errors).toBeUndefined();
      expect(answer.body.data.__schema.queryType.name).toBe('Query');
    }
  });

  it('refuses recursive introspection (graphql-js MaxIntrospectionDepthRule)', async () => {
    const answer = await post(
      { query: '{ __schema { types { fields { type { fields { type { fields { type { name } } } } } } } } }' },
      null,
    );
    expectRefused(answer, 400, 'GRAPHQL_VALIDATION_FAILED');
  });
});

// Send budgets are spent by the sending services (test/send-budgets.test.ts): the refusal
// comes from the resolver, so `data` holds its null field.
describe('sends per tenant per minute (HERALD_MAX_SENDS_PER_TENANT_PER_MINUTE, the old name of HERALD_SEND_BUDGET_PER_MINUTE)', () => {
  const expectOverBudget = (answer: Answer) => {
    expect(answer.status, JSON.stringify(answer.body)).toBe(429);
    expect(answer.body.errors).toHaveLength(1);
    expect(answer.body.errors![0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(answer.body.errors![0].extensions).not.toHaveProperty('http');
    expect(Object.values(answer.body.data ?? {}).every((v) => v === null)).toBe(true);
  };
  const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } userErrors { code } } }`;
  const NOTIFY = `mutation($input: NotifyBillingCycleInput!) { notifyBillingCycle(input: $input) { queued rejected userErrors { code } } }`;
  // Messages created (the worker adds delivery logs meanwhile, so those are not compared).
  const messageCount = async (key: string) =>
    ok(await herald.gql('{ messages { totalCount } }', undefined, key)).messages.totalCount as number;

  beforeAll(async () => {
    herald = await herald.restart({ ...BASE_ENV, HERALD_MAX_SENDS_PER_TENANT_PER_MINUTE: '5' });
  });

  it('lets a tenant make 5 sends, answers the 6th with 429 RATE_LIMITED and Retry-After, and sends nothing for it', async () => {
    const { adminKey } = await buildTenant(herald);
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550142' }, adminKey);
    for (let i = 0; i < 5; i++) {
      const answer = await post({ query: SEND, variables: { input: { clientId: client.id, message: `Hello ${i}` } } }, adminKey);
      expect(answer.status).toBe(200);
      expect(answer.body.data.sendSms.userErrors).toEqual([]);
    }
    const before = await messageCount(adminKey);
    const answer = await post({ query: SEND, variables: { input: { clientId: client.id, message: 'One too many' } } }, adminKey);
    expectOverBudget(answer);
    const retryAfter = Number(answer.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(answer.body.errors![0].extensions!.retryAfterSeconds).toBe(retryAfter);
    expect(await messageCount(adminKey)).toBe(before);

    // Reading is not sending, and another tenant has a budget of its own.
    expect((await post({ query: '{ viewer { id } }' }, adminKey)).status).toBe(200);
    const other = await buildTenant(herald);
    const otherClient = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550143' }, other.adminKey);
    const allowed = await post({ query: SEND, variables: { input: { clientId: otherClient.id, message: 'Hi' } } }, other.adminKey);
    expect(allowed.status).toBe(200);
    expect(allowed.body.data.sendSms.userErrors).toEqual([]);
  });

  it('counts aliased sends in one operation, and notifyBillingCycle by its invoices', async () => {
    const { adminKey } = await buildTenant(herald);
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550144' }, adminKey);
    const customer = await buildRecipient(herald, { kind: 'CUSTOMER', twitterHandle: 'limits_customer' }, adminKey);
    const invoices = (n: number) =>
      Array.from({ length: n }, (_, i) => ({
        customerId: customer.id,
        invoice: { number: `N-${i}`, amountDue: '1.00', currency: 'USD', dueDate: '2026-12-01' },
      }));

    // A cycle bigger than the whole budget can never pass: it says to split it.
    const tooBig = await post({ query: NOTIFY, variables: { input: { cycleId: 'c1', invoices: invoices(6) } } }, adminKey);
    expectOverBudget(tooBig);
    expect(tooBig.body.errors![0].message).toMatch(/6 sends.*split/);

    const three = await post({ query: NOTIFY, variables: { input: { cycleId: 'c1', invoices: invoices(3) } } }, adminKey);
    expect(three.status).toBe(200);
    expect(three.body.data.notifyBillingCycle.queued).toBe(3);

    const twoSends = `mutation($a: SendSmsInput!, $b: SendSmsInput!) { a: sendSms(input: $a) { userErrors { code } } b: sendSms(input: $b) { userErrors { code } } }`;
    const input = { clientId: client.id, message: 'x' };
    expect((await post({ query: twoSends, variables: { a: input, b: input } }, adminKey)).status).toBe(200);
    // 5 spent: one more is refused.
    expectOverBudget(await post({ query: SEND, variables: { input } }, adminKey));
  });
});

describe('requests per API key (HERALD_RATE_LIMIT_PER_SECOND / HERALD_RATE_LIMIT_BURST)', () => {
  describe('over HTTP, at 1 per second with a burst of 3 (3 requests per 3 s window)', () => {
    let reader: string;
    beforeAll(async () => {
      reader = await buildApiKey(herald, 'READER');
      herald = await herald.restart({ ...BASE_ENV, HERALD_RATE_LIMIT_PER_SECOND: '1', HERALD_RATE_LIMIT_BURST: '3' });
    });

    const query = (key: string | null, method: 'GET' | 'POST' = 'POST') =>
      fetch(method === 'GET' ? `${herald.url}/graphql?query={viewer{id}}` : `${herald.url}/graphql`, {
        method,
        headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: method === 'GET' ? undefined : JSON.stringify({ query: '{ viewer { id } }' }),
      });

    it('lets a key make its 3, answers more with 429, Retry-After and a GraphQL error body; other keys are not affected', async () => {
      // GET and POST are the same endpoint and the same budget.
      const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => query(herald.adminKey, i % 2 ? 'GET' : 'POST')));
      expect(responses.filter((r) => r.status === 200)).toHaveLength(3);
      const refused = responses.filter((r) => r.status !== 200);
      expect(refused).toHaveLength(5);
      let retryAfter = 0;
      for (const response of refused) {
        expect(response.status).toBe(429);
        retryAfter = Number(response.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(3);
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        expect(await response.json()).toEqual({
          errors: [
            {
              message: `Too many requests: try again in ${retryAfter} s`,
              extensions: { code: 'RATE_LIMITED', retryAfterSeconds: retryAfter },
            },
          ],
        });
      }
      expect((await query(reader)).status).toBe(200);
      // Health and metrics are not limited.
      expect((await fetch(`${herald.url}/healthz`)).status).toBe(200);

      // Served again once Retry-After has passed.
      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 100));
      expect((await query(herald.adminKey)).status).toBe(200);
    });

    it('spends the address’s budget on requests without a key and on unknown keys, then refuses that address', async () => {
      const statuses: number[] = [(await query(`hrld_guess${randomBytes(8).toString('hex')}`)).status];
      while (statuses.length < 20 && statuses.at(-1) !== 429) statuses.push((await query(null)).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      // Key guesses from this address now wait too, whatever key they name.
      const guess = await post({ query: '{ viewer { id } }' }, `hrld_guess${randomBytes(8).toString('hex')}`);
      expectRefused(guess, 429, 'RATE_LIMITED');
      // A valid key from the same address has its own budget (test/edge-limits.test.ts).
      expect((await query(reader)).status).toBe(200);
    });
  });
});

describe('introspection off (HERALD_INTROSPECTION=false)', () => {
  beforeAll(async () => {
    herald = await herald.restart({ ...BASE_ENV, HERALD_INTROSPECTION: 'false' });
  });

  it('refuses __schema and __type with 400 GRAPHQL_VALIDATION_FAILED, keeps __typename and queries', async () => {
    for (const key of [herald.adminKey, null]) {
      expectRefused(await post({ query: '{ __schema { queryType { name } } }' }, key), 400, 'GRAPHQL_VALIDATION_FAILED');
      expectRefused(await post({ query: '{ __type(name: "Query") { name } }' }, key), 400, 'GRAPHQL_VALIDATION_FAILED');
    }
    const answer = await post({ query: '{ __typename viewer { __typename name } }' });
    expect(answer.status).toBe(200);
    expect(answer.body.data).toEqual({ __typename: 'Query', viewer: { __typename: 'Tenant', name: 'default' } });
  });
});
