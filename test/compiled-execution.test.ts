// Operations a client sends again are executed by graphql-jit (src/graphql/executor.ts):
// the first execution of a document runs on graphql-js, the later ones compiled. A client
// must not be able to tell: every answer here, data, errors, codes and HTTP status, is the
// same on the first execution, on the compiled ones, and with HERALD_GRAPHQL_JIT=false.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CompileOutcome, compiledExecution } from '../src/graphql/executor.js';
import { buildHeraldSchema } from '../src/graphql/schema.js';
import { buildApiKey, buildRecipient, buildTenant } from './helpers/factories.js';
import { type GqlResult, ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { waitForMessageStatus } from './helpers/wait.js';
import { scrapeMetric } from './helpers/metrics.js';

const BASE_ENV = { HERALD_SECRET_KEY: randomBytes(32).toString('hex') };

let herald: TestHerald;
beforeAll(async () => {
  herald = await startTestHerald({ env: BASE_ENV });
}, 120_000);
afterAll(() => herald?.stop());

const MESSAGE = `query($id: ID!, $withLogs: Boolean!) {
  message(id: $id) {
    id status channel destination body attempts errorCode errorMessage
    recipient { id kind displayName }
    gateway { id name provider }
    logs @include(if: $withLogs) { outcome reason }
  }
}`;

const compiledCount = (outcome: CompileOutcome) => scrapeMetric(herald.url, 'herald_graphql_compiled_operations_total', { outcome });

describe('compiled execution', () => {
  it('answers every operation the same on its first execution (graphql-js), when compiled, and with HERALD_GRAPHQL_JIT=false', async () => {
    const { adminKey } = await buildTenant(herald);
    const reader = await buildApiKey(herald, 'READER', adminKey);
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550142', displayName: 'Ada Jit' }, adminKey);
    const sent = ok(
      await herald.gql(`mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } userErrors { code } } }`, { input: { clientId: client.id, message: 'compiled or not' } }, adminKey),
    );
    const messageId: string = sent.sendSms.message.id;
    const POLL = `query($id: ID!) { message(id: $id) { status errorCode errorMessage logs { outcome reason } } }`;
    await waitForMessageStatus(async (id) => ok(await herald.gql(POLL, { id }, adminKey)).message, messageId, ['SENT', 'DELIVERED']);

    // [query, variables, key]: data through interfaces, fragments, aliases, @include and
    // nested loaders; userErrors; an authorization error raised in a resolver; variables
    // refused (wrong type, unknown field, missing) and a null where a non-null was asked.
    const operations: [string, Record<string, unknown> | undefined, string][] = [
      [MESSAGE, { id: messageId, withLogs: true }, adminKey],
      [MESSAGE, { id: messageId, withLogs: false }, reader],
      [`query($id: ID!) { node(id: $id) { __typename id ... on Message { status recipient { displayName } } ... on Recipient { phone } } }`, { id: messageId }, reader],
      [`query($id: ID!) { a: node(id: $id) { id } b: recipient(id: $id) { id } }`, { id: client.id }, reader],
      [`{ viewer { name } channels { channel } recipients(first: 5) { totalCount edges { node { id displayName subscriptions { channel } } } } }`, undefined, reader],
      [`query($f: MessageFilter) { messages(first: 10, filter: $f) { totalCount edges { node { id status } } pageInfo { hasNextPage } } }`, { f: { status: ['SENT', 'DELIVERED'] } }, reader],
      [`mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } userErrors { field message code } } }`, { input: { clientId: 'UmVjaXBpZW50Om5vbmU=', message: 'x' } }, adminKey],
      [`mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } userErrors { code } } }`, { input: { kind: 'CLIENT', displayName: 'Not allowed' } }, reader],
      [`query($first: Int) { messages(first: $first) { totalCount } }`, { first: 'ten' }, reader],
      [`query($f: MessageFilter) { messages(first: 1, filter: $f) { totalCount } }`, { f: { colour: 'blue' } }, reader],
      [`query($id: ID!) { message(id: $id) { id } }`, {}, reader],
      [`query($id: ID!) { message(id: $id) { id } }`, { id: null }, reader],
    ];
    const answer = async ([query, variables, key]: (typeof operations)[number]) => {
      const { status, data, errors } = await herald.gql(query, variables, key);
      return { status, data, errors } as GqlResult;
    };

    const compiledBefore = await compiledCount('compiled');
    const first = [];
    for (const op of operations) first.push(await answer(op));
    for (let round = 0; round < 2; round++) {
      for (const [i, op] of operations.entries()) expect(await answer(op), op[0]).toEqual(first[i]);
    }
    // The answers were worth comparing: data where there should be data, refusals where not.
    expect(first[0].data.message).toMatchObject({ id: messageId, recipient: { displayName: 'Ada Jit' }, logs: expect.arrayContaining([expect.objectContaining({ outcome: 'SUCCESS' })]) });
    expect(first[1].data.message).not.toHaveProperty('logs');
    expect(first[2].data.node).toMatchObject({ __typename: 'Message', id: messageId, recipient: { displayName: 'Ada Jit' } });
    expect(first[3].data).toEqual({ a: { id: client.id }, b: { id: client.id } });
    expect(first[6].data.sendSms.userErrors[0].code).toBe('NOT_FOUND');
    expect(first[7].errors?.[0].extensions?.code).toBe('FORBIDDEN');
    for (const refused of first.slice(8)) {
      expect(refused.status).toBe(400);
      expect(refused.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    }
    expect(first[8].errors?.[0].message).toMatch(/Variable "\$first" got an invalid value; Int cannot represent/);
    expect(first[9].errors?.[0].message).toMatch(/colour/);
    expect(first[10].errors?.[0].message).toMatch(/Variable "\$id" of required type "ID!" was not provided/);
    // Each distinct operation (none of them sent before) compiled exactly once, on its second execution.
    const distinct = new Set(operations.map(([q]) => q)).size;
    expect((await compiledCount('compiled')) - compiledBefore).toBe(distinct);
    expect(await compiledCount('refused')).toBe(0);
    expect(await compiledCount('failed')).toBe(0);

    // An operation name the document does not have: the same 400 every time.
    const unknownName = async () => {
      const response = await fetch(`${herald.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${reader}` },
        body: JSON.stringify({ query: 'query A { viewer { name } } query B { channels { channel } }', operationName: 'Nope' }),
      });
      return { status: response.status, body: await response.json() };
    };
    for (let i = 0; i < 3; i++) {
      expect(await unknownName()).toEqual({ status: 400, body: { errors: [expect.objectContaining({ message: 'Unknown operation named "Nope".' })] } });
    }

    // graphql-js alone, on the same data: the same answers, and nothing compiled.
    herald = await herald.restart({ ...BASE_ENV, HERALD_GRAPHQL_JIT: 'false' });
    for (let round = 0; round < 2; round++) {
      for (const [i, op] of operations.entries()) expect(await answer(op), op[0]).toEqual(first[i]);
    }
    expect(await compiledCount('compiled')).toBe(0);
    herald = await herald.restart(BASE_ENV);
  }, 120_000);
});

describe('documents kept on graphql-js', () => {
  it('never compiles a string literal carrying graphql-jit’s in-band date marker (it would be code run on the server), written plainly, with escapes or as a block string', async () => {
    const { adminKey } = await buildTenant(herald);
    const marker = '__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d';
    const probe = 'heraldJitProbe';
    const code = `1)+(globalThis.${probe}=1)+(1`;
    const documents = [
      `{ messages(first: 1, after: ${JSON.stringify(marker + code)}) { totalCount } }`,
      `{ messages(first: 2, after: "\\u005F${marker.slice(1)}${code}") { totalCount } }`,
      `{ recipients(first: 1, filter: { externalRef: """${marker}${code}""" }) { totalCount } }`,
    ];
    const refusedBefore = await compiledCount('refused');
    for (const query of documents) {
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await herald.gql(query, undefined, adminKey));
      expect(answers[0].status, JSON.stringify(answers[0])).toBe(200);
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[2]).toEqual(answers[0]);
    }
    expect((globalThis as Record<string, unknown>)[probe]).toBeUndefined();
    expect((await compiledCount('refused')) - refusedBefore).toBe(documents.length);
    expect(herald.logs.filter((l) => l.includes('GraphQL operation kept on graphql-js') && l.includes('a string literal carries a graphql-jit marker'))).toHaveLength(documents.length);
  });

  it('keeps a DateTime variable’s default a date (graphql-jit would pass its JSON string): the filter answers the same every time', async () => {
    const { adminKey } = await buildTenant(herald);
    const client = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550143' }, adminKey);
    ok(await herald.gql(`mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } } }`, { input: { clientId: client.id, message: 'dated' } }, adminKey));
    const query = `query($since: DateTime = "2020-01-01T00:00:00Z", $until: DateTime = "2020-01-02T00:00:00Z") {
      all: messages(filter: { createdAfter: $since }) { totalCount }
      none: messages(filter: { createdAfter: $since, createdBefore: $until }) { totalCount }
    }`;
    for (let i = 0; i < 3; i++) expect(ok(await herald.gql(query, undefined, adminKey))).toEqual({ all: { totalCount: 1 }, none: { totalCount: 0 } });
  });
});

describe('the compiled executor refuses what it cannot run', () => {
  it('a schema whose abstract type resolves asynchronously is refused at start, naming the type', async () => {
    const schema = await buildHeraldSchema();
    const node = schema.getType('Node') as { resolveType?: unknown };
    const sync = node.resolveType;
    node.resolveType = async (value: { __typename?: string }) => value.__typename;
    try {
      expect(() => compiledExecution(schema)).toThrow(/Node\.resolveType is async/);
    } finally {
      node.resolveType = sync;
    }
    expect(() => compiledExecution(schema)).not.toThrow();
  });
});
