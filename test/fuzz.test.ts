// Hostile requests, generated (fast-check) and hand-picked: malformed JSON, wrong content
// types, huge and deeply nested queries, NUL bytes and odd Unicode in strings and ids,
// invalid cursors and ids, negative or huge `first`, unknown enum values, mutations over
// GET, missing and odd Authorization headers, odd methods and paths. Each answer is a
// 4xx, or a 2xx GraphQL answer without an internal error; none is a 5xx, none hangs;
// afterwards the server still answers and nothing stored has changed.
import { Buffer } from 'node:buffer';
import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRecipient, RECIPIENT_FIELDS } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';

const REQUEST_TIMEOUT_MS = 15_000;
const MAX_BODY = 2 * 1024 * 1024;

let herald: TestHerald;
let known: Record<string, unknown>;
let knownCount: number;

beforeAll(async () => {
  herald = await startTestHerald({ env: { HERALD_MAX_BODY_BYTES: String(MAX_BODY) } });
  known = await buildRecipient(herald, {
    kind: 'CUSTOMER',
    displayName: 'Known Customer',
    phone: '+14155550177',
    email: 'known@example.com',
    externalRef: 'known-1',
  });
  knownCount = ok(await herald.gql('{ recipients { totalCount } }')).recipients.totalCount;
});
afterAll(() => herald?.stop());

interface Hostile {
  what: string;
  method?: string;
  /** Path and query string; /graphql when absent. */
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Written byte for byte on a socket: headers no HTTP client would send. */
  raw?: boolean;
  /** Send the admin key (default), none (null), or this Authorization value. */
  auth?: string | null;
}

interface Reply {
  status: number;
  contentType: string;
  text: string;
}

async function send(request: Hostile): Promise<Reply> {
  const headers: Record<string, string> = { ...request.headers };
  const auth = request.auth === undefined ? `Bearer ${herald.adminKey}` : request.auth;
  if (auth !== null) headers.authorization = auth;
  if (request.raw) return sendRaw(request, headers);
  const response = await fetch(`${herald.url}${request.path ?? '/graphql'}`, {
    method: request.method ?? 'POST',
    headers,
    body: request.body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text: await response.text() };
}

/** One HTTP/1.1 request on a fresh socket, read until the server closes it. */
function sendRaw(request: Hostile, headers: Record<string, string>): Promise<Reply> {
  const { port } = new URL(herald.url);
  const body = Buffer.from(request.body ?? '', 'utf8');
  const head =
    `${request.method ?? 'POST'} ${request.path ?? '/graphql'} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n` +
    Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('') +
    `Content-Length: ${body.length}\r\n\r\n`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    // Written, not ended: a half-closed socket may be closed before it is answered.
    socket.on('connect', () => socket.write(Buffer.concat([Buffer.from(head, 'utf8'), body])));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (!status) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const [headPart, ...rest] = text.split('\r\n\r\n');
      resolve({
        status: Number(status[1]),
        contentType: /\r\ncontent-type:\s*([^\r\n]*)/i.exec(headPart)?.[1] ?? '',
        text: rest.join('\r\n\r\n'),
      });
    });
  });
}

/** The rules every answer to a hostile request keeps. */
function expectHarmless(request: Hostile, reply: Reply): void {
  const context = `${request.what}: ${reply.status} ${reply.text.slice(0, 300)}`;
  expect(reply.status, context).toBeGreaterThanOrEqual(200);
  expect(reply.status, context).toBeLessThan(500);
  expect(reply.text, context).not.toMatch(/INTERNAL_SERVER_ERROR|Internal error/);
  expect(reply.text, context).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|\.js:\d+|drizzle|pglite|Failed query/i);
  if (reply.status < 300 && reply.contentType.startsWith('application/json')) {
    const body = JSON.parse(reply.text) as { data?: unknown; errors?: unknown[] };
    expect('data' in body || Array.isArray(body.errors), context).toBe(true);
  }
}

const json = (query: string, variables?: unknown) => JSON.stringify({ query, variables });
const graphql = (what: string, query: string, variables?: unknown, extra: Partial<Hostile> = {}): Hostile => ({
  what,
  headers: { 'content-type': 'application/json' },
  body: json(query, variables),
  ...extra,
});

// ---------------------------------------------------------------------------------------
// Generators

const oddText = fc.oneof(
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff',
    'x\ud83dy',
    '\u202egnp.exe',
    '\ufeff',
    'Ⓗⓔⓡⓐⓛⓓ 𝕳𝖊𝖗𝖆𝖑𝖉 🦄👩🏽‍🚀',
    'e\u0301'.repeat(200),
    '\u200b\u200c\u200d',
    '﷽',
    "' OR 1=1 --",
    '"; drop table recipients; --',
    '${jndi:ldap://127.0.0.1/a}',
    '<script>alert(1)</script>',
    '../../../../etc/passwd',
    '%00%ff',
    '\\',
    '\r\n\t',
    '',
    ' ',
  ),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'binary-ascii', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
);

const oddId = fc.oneof(
  oddText,
  fc.constantFrom(
    'rcp_',
    'rcp_zz',
    'rcp_0000000000000000000000000000000000',
    'msg_00000000000000000000000000000000',
    'tnt_' + 'f'.repeat(32),
    'gw_-1',
    'null',
    '0',
    '-1',
  ),
  oddText.map((t) => `rcp_${t}`),
);

const oddCursor = fc.oneof(
  oddText,
  oddText.map((t) => Buffer.from(`c1:${t}`, 'utf8').toString('base64url')),
  fc.uuid().map((u) => Buffer.from(`c0:${u}`).toString('base64url')),
  fc.constantFrom('====', 'YQ', Buffer.from('c1:').toString('base64'), 'Yz', '\u0000'),
);

const oddFirst = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: -1 }),
  fc.integer({ min: 101, max: 2 ** 31 - 1 }),
  fc.constantFrom(2 ** 31, 2 ** 53, -(2 ** 53), 1e300, 1.5, -0.5, Number.MAX_SAFE_INTEGER),
  fc.constantFrom('10', '', 'NaN', true, [], {}, [100]),
);

/** Queries that only read: any answer is fine as long as it is not an internal error. */
const readingRequest: fc.Arbitrary<Hostile> = fc.oneof(
  oddId.map((id) =>
    graphql('odd id', 'query($id: ID!) { recipient(id: $id) { id } message(id: $id) { id } node(id: $id) { id } }', { id }),
  ),
  oddText.map((s) =>
    graphql(
      'odd filter string',
      'query($s: String) { recipients(filter: { externalRef: $s }) { totalCount } messages(filter: { orderId: $s, invoiceNumber: $s }) { totalCount } deliveryLogs(filter: { orderId: $s }) { totalCount } }',
      { s },
    ),
  ),
  oddId.map((id) =>
    graphql(
      'odd id in a filter',
      'query($id: ID) { messages(filter: { recipientId: $id }) { totalCount } deliveryLogs(filter: { recipientId: $id, messageId: $id }) { totalCount } }',
      { id },
    ),
  ),
  oddCursor.map((after) =>
    graphql(
      'invalid cursor',
      'query($after: String) { recipients(after: $after) { edges { cursor } } messages(after: $after) { totalCount } deliveryLogs(after: $after) { totalCount } }',
      { after },
    ),
  ),
  oddFirst.map((first) => graphql('odd first (variable)', 'query($first: Int) { recipients(first: $first) { totalCount } }', { first })),
  fc
    .constantFrom('-1', '101', '2147483648', '99999999999999999999', '1.5', '"10"', 'null', 'true')
    .map((first) => graphql('odd first (literal)', `{ messages(first: ${first}) { totalCount } }`)),
  oddText.map((kind) =>
    graphql('unknown enum value (variable)', 'query($k: RecipientKind) { recipients(filter: { kind: $k }) { totalCount } }', { k: kind }),
  ),
  fc
    .constantFrom('ROBOT', 'client', '"CLIENT"', '0', 'null', 'CLIENT_', '__proto__')
    .map((kind) =>
      graphql('unknown enum value (literal)', `{ recipients(filter: { kind: ${kind} }) { totalCount } gateways(channel: FAX) { id } }`),
    ),
  fc
    .array(fc.constantFrom('FAX', 'SMS', 'PIGEON', ''), { maxLength: 5 })
    .map((channel) =>
      graphql('unknown enum in a list', 'query($c: [Channel!]) { messages(filter: { channel: $c }) { totalCount } }', { c: channel }),
    ),
  fc
    .integer({ min: 13, max: 3000 })
    .map((n) => graphql(`${n}-deep query`, `{ messages { edges { node { ${'logs { message { '.repeat(n)} id ${'} } '.repeat(n)} } } } }`)),
  // Written as text: JSON.stringify itself would overflow the stack on the deepest.
  fc.integer({ min: 10, max: 100_000 }).map((n) => ({
    what: `variables nested ${n} deep`,
    headers: { 'content-type': 'application/json' },
    body: `{"query":"query($f: RecipientFilter) { recipients(filter: $f) { totalCount } }","variables":{"f":${'{"kind":'.repeat(n)}1${'}'.repeat(n)}}}`,
  })),
  fc.integer({ min: 10, max: 100_000 }).map((n) => ({
    what: `variables with lists nested ${n} deep`,
    headers: { 'content-type': 'application/json' },
    body: `{"query":"query($c: [Channel!]) { messages(filter: { channel: $c }) { totalCount } }","variables":{"c":${'['.repeat(n)}"SMS"${']'.repeat(n)}}}`,
  })),
  fc.integer({ min: 10, max: 50_000 }).map((n) => ({
    what: `list literal nested ${n} deep`,
    headers: { 'content-type': 'application/json' },
    body: json(`{ messages(filter: { channel: ${'['.repeat(n)}SMS${']'.repeat(n)} }) { totalCount } }`),
  })),
  fc
    .integer({ min: 31, max: 2000 })
    .map((n) => graphql(`${n} aliases`, `{ ${Array.from({ length: n }, (_, i) => `a${i}: viewer { id }`).join(' ')} }`)),
  fc.integer({ min: 2001, max: 100_000 }).map((n) => graphql(`${n} tokens`, `{ viewer { ${'id '.repeat(n)}} }`)),
  fc.integer({ min: 100_000, max: MAX_BODY - 1000 }).map((n) =>
    graphql(`${n}-character string variable`, 'query($s: String) { recipients(filter: { externalRef: $s }) { totalCount } }', {
      s: 'x'.repeat(n),
    }),
  ),
  fc
    .integer({ min: 3_000, max: 100_000 })
    .map((n) => graphql(`${n}-character string literal`, `{ recipients(filter: { externalRef: "${'y'.repeat(n)}" }) { totalCount } }`)),
);

/** Mutations that must be refused (invalid input, unknown ids, NUL bytes): none may change anything. */
const refusedMutation: fc.Arbitrary<Hostile> = fc.oneof(
  fc.tuple(oddText, oddText).map(([name, ref]) =>
    graphql(
      'createRecipient with a NUL byte',
      'mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } userErrors { code } } }',
      {
        input: { kind: 'CLIENT', displayName: `${name}\u0000`, externalRef: ref },
      },
    ),
  ),
  fc.tuple(oddText, oddText).map(([name, phone]) =>
    graphql(
      'createRecipient with an invalid phone',
      'mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } userErrors { code } } }',
      {
        input: { kind: 'STAFF', displayName: name, phone: `not a phone ${phone}` },
      },
    ),
  ),
  oddText.map((kind) =>
    graphql(
      'createRecipient with an unknown kind',
      'mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } } }',
      { input: { kind, displayName: 'Enum' } },
    ),
  ),
  fc.tuple(oddText, oddText).map(([name, email]) =>
    graphql(
      'updateRecipient with an invalid phone',
      'mutation($input: UpdateRecipientInput!) { updateRecipient(input: $input) { recipient { id } userErrors { code } } }',
      {
        input: { id: known.id, displayName: name, email, phone: '12' },
      },
    ),
  ),
  fc.tuple(oddId, oddText).map(([id, name]) =>
    graphql(
      'updateRecipient of an unknown id',
      'mutation($input: UpdateRecipientInput!) { updateRecipient(input: $input) { recipient { id } userErrors { code } } }',
      {
        input: { id, displayName: name },
      },
    ),
  ),
  fc.tuple(oddId, oddText).map(([id, message]) =>
    graphql(
      'sendSms to an unknown client',
      'mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } userErrors { code } } }',
      {
        input: { clientId: id, message },
      },
    ),
  ),
  oddId.map((id) =>
    graphql(
      'cancelMessage of an odd id',
      'mutation($id: ID!) { cancelMessage(input: { id: $id }) { message { id } userErrors { code } } retryMessage(input: { id: $id }) { message { id } userErrors { code } } }',
      { id },
    ),
  ),
  fc.tuple(oddId, oddText).map(([customerId, orderId]) =>
    graphql(
      'updateOrderStatus for an odd customer',
      'mutation($input: UpdateOrderStatusInput!) { updateOrderStatus(input: $input) { messages { id } userErrors { code } } }',
      {
        input: { customerId, orderId, status: 'SHIPPED' },
      },
    ),
  ),
  fc.tuple(oddId, oddText).map(([recipientId, gatewayId]) =>
    graphql(
      'subscribe with odd ids',
      'mutation($input: SubscribeInput!) { subscribe(input: $input) { recipient { id } userErrors { code } } }',
      {
        input: { recipientId, channel: 'SMS', gatewayId },
      },
    ),
  ),
  fc.constantFrom('PIGEON', 'sms', '').map((channel) =>
    graphql('subscribe on an unknown channel', 'mutation($input: SubscribeInput!) { subscribe(input: $input) { recipient { id } } }', {
      input: { recipientId: known.id, channel },
    }),
  ),
  fc
    .constantFrom(
      'createRecipient(input: { kind: CLIENT, displayName: "Via GET" }) { recipient { id } }',
      'unsubscribe(input: { recipientId: "x", channel: SMS }) { userErrors { code } }',
    )
    .map((field) => ({ what: 'mutation over GET', method: 'GET', path: `/graphql?query=${encodeURIComponent(`mutation { ${field} }`)}` })),
  fc
    .constantFrom(
      '',
      'a',
      'Bearer',
      'Bearer ',
      'Basic YTpi',
      'Token abc',
      'bearer  ',
      `Bearer hrld_${'A'.repeat(43)}`,
      'Bearer x'.repeat(500),
      'Bearer a b',
    )
    .map((authorization) =>
      graphql(
        'odd Authorization header',
        'mutation { createRecipient(input: { kind: CLIENT, displayName: "No key" }) { recipient { id } } }',
        undefined,
        { auth: authorization },
      ),
    ),
  fc.constant(
    graphql(
      'no Authorization header',
      'mutation { createRecipient(input: { kind: CLIENT, displayName: "Anonymous" }) { recipient { id } } }',
      undefined,
      { auth: null },
    ),
  ),
);

const malformedBody: fc.Arbitrary<Hostile> = fc.oneof(
  fc
    .string({ unit: 'binary', maxLength: 300 })
    .map((body) => ({ what: 'random body as JSON', headers: { 'content-type': 'application/json' }, body })),
  fc.nat({ max: 60 }).map((cut) => ({
    what: 'truncated JSON',
    headers: { 'content-type': 'application/json' },
    body: '{"query":"{ viewer { name } }","variables":{"a":[1,2,{"b":null}]}}'.slice(0, cut),
  })),
  fc
    .constantFrom(
      '{',
      '[',
      '[]',
      'null',
      '"x"',
      '123',
      '{}',
      '{"query": 1}',
      '{"query": null}',
      '{"query": {}}',
      '{"query": ["{ viewer { id } }"]}',
      '{"query": ""}',
      '{"query": "{ viewer { id } }", "variables": "x"}',
      '{"query": "{ viewer { id } }", "variables": [1]}',
      '{"query": "{ viewer { id } }", "operationName": {}}',
      '{"query": "query A { viewer { id } } query B { viewer { name } }"}',
      '{"query": "query A { viewer { id } }", "operationName": "Nope"}',
      '{"query": "{ viewer { id } }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "abc"}}}',
      '{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0000000000000000000000000000000000000000000000000000000000000000"}}}',
      '{"__proto__": {"polluted": 1}, "query": "{ viewer { id } }"}',
      '{"query": "{ viewer { id } }", "query": "mutation { x }"}',
      '\ufeff{"query": "{ viewer { id } }"}',
      '{"query": "{ viewer { id } }"}\u0000',
      '{"query": "{ viewer { name \\u0000 } }"}',
      '{"query": "subscription { messageStatusChanged(messageId: \\"x\\") { id } }"}',
      `[${Array.from({ length: 50 }, () => '{"query": "{ viewer { id } }"}').join(',')}]`,
      '{"query":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}',
    )
    .map((body) => ({ what: `malformed body ${body.slice(0, 40)}`, headers: { 'content-type': 'application/json' }, body })),
  fc
    .tuple(
      fc.constantFrom(
        'text/plain',
        'application/xml',
        'multipart/form-data; boundary=x',
        'application/x-www-form-urlencoded',
        'application/graphql',
        'application/json; charset=latin1',
        'application/json; charset=utf-16',
        'application/octet-stream',
        '*/*',
        'application/json, text/plain',
        'application/jsonx',
        'text/html; charset=utf-8',
      ),
      fc.constantFrom(json('{ viewer { id } }'), '{ viewer { id } }', 'query=%7Bviewer%7Bid%7D%7D', '<q>{ viewer { id } }</q>'),
    )
    .map(([type, body]) => ({ what: `content type ${type}`, headers: { 'content-type': type }, body })),
  fc.constant<Hostile>({ what: 'no content type', body: json('{ viewer { id } }') }),
  fc.constant<Hostile>({
    what: `body over the ${MAX_BODY}-byte limit`,
    headers: { 'content-type': 'application/json' },
    body: json(`{ viewer { id } } #${'z'.repeat(MAX_BODY)}`),
  }),
);

/** Requests only a hand-written client sends: raw header bytes, odd methods and paths. */
const oddHttp: fc.Arbitrary<Hostile> = fc.oneof(
  fc
    .constantFrom(
      'Bearer \u00ff\u00fe',
      'Bearer ключ',
      'Bearer 🔑',
      'Bearer a\tb',
      `Bearer ${'k'.repeat(20_000)}`,
      'Bearer \u0001',
      'Bearer\u0000x',
    )
    .map((authorization) => ({
      what: `raw Authorization ${JSON.stringify(authorization.slice(0, 20))}`,
      raw: true,
      auth: authorization,
      headers: { 'content-type': 'application/json' },
      body: json('{ viewer { id } }'),
    })),
  fc.constant<Hostile>({
    what: 'two Authorization headers',
    raw: true,
    headers: { 'content-type': 'application/json', Authorization: 'Bearer second' },
    body: json('{ viewer { id } }'),
  }),
  fc.constantFrom('PUT', 'DELETE', 'PATCH', 'PROPFIND', 'TRACE', 'HEAD').map((method) => ({
    what: `${method} /graphql`,
    method,
    raw: true,
    body: json('{ viewer { id } }'),
    headers: { 'content-type': 'application/json' },
  })),
  fc
    .constantFrom(
      '/graphql/',
      '/GRAPHQL',
      '/graphql/../graphql',
      '/%00',
      '/graphql%00',
      '/graphql?query=%',
      '/graphql?query=%7B%20viewer%20%7B%20id%20%7D%20%7D&variables=%7B',
      '/graphql?query[]=1&query[]=2',
      `/graphql?query=${'%7B'.repeat(3000)}`,
      '/graphiql/assets/../../package.json',
      '/graphiql/assets/%2e%2e/%2e%2e/package.json',
      '/webhooks/twilio/status',
      '//graphql',
      '/graphql#x',
    )
    .map((path) => ({ what: `GET ${path.slice(0, 40)}`, method: 'GET', path, raw: true })),
);

describe('hostile requests', () => {
  it('answers ≥ 200 generated hostile requests with a 4xx or a clean GraphQL answer, never a 5xx or a hang', async () => {
    const seen: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.oneof(readingRequest, refusedMutation, malformedBody, oddHttp), async (request) => {
        seen.push(request.what);
        expectHarmless(request, await send(request));
      }),
      { numRuns: Number(process.env.HERALD_FUZZ_RUNS ?? 200), endOnFailure: true },
    );
    expect(seen.length).toBeGreaterThanOrEqual(200);
  }, 300_000);

  it.each<Hostile>([
    graphql(
      'NUL byte in a valid createRecipient (PostgreSQL text cannot hold it)',
      'mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } } }',
      {
        input: { kind: 'CLIENT', displayName: 'nul\u0000byte' },
      },
    ),
    graphql(
      'NUL byte as a GraphQL escape in the document',
      'mutation { createRecipient(input: { kind: CLIENT, displayName: "nul\\u0000byte" }) { recipient { id } } }',
    ),
    graphql('NUL byte in a filter', 'query($s: String) { recipients(filter: { externalRef: $s }) { totalCount } }', { s: 'x\u0000' }),
    // validator.js's isEmail runs encodeURI, which throws on an unpaired surrogate.
    graphql(
      'an unpaired surrogate in an e-mail',
      'mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } userErrors { code } } }',
      {
        input: { kind: 'CLIENT', displayName: 'Surrogate', email: 'x\ud83dy@example.com' },
      },
    ),
    graphql(
      'an unpaired surrogate in a variable name key',
      'query($s: String) { recipients(filter: { externalRef: $s }) { totalCount } }',
      { s: 'ok', ['\udfff']: 1 },
    ),
  ])('refuses $what with 400 BAD_USER_INPUT', async (request) => {
    const reply = await send(request);
    expectHarmless(request, reply);
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text).errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it.each([
    ['a hash that does not match the query', { version: 1, sha256Hash: 'abc' }, 400, 'BAD_REQUEST'],
    ['an unsupported version', { version: 2, sha256Hash: 'abc' }, 400, 'BAD_REQUEST'],
  ])('answers a persisted query with %s as a client mistake', async (_what, persistedQuery, status, code) => {
    const request = {
      what: 'persisted query',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ viewer { id } }', extensions: { persistedQuery } }),
    };
    const reply = await send(request);
    expectHarmless(request, reply);
    expect(reply.status).toBe(status);
    expect(JSON.parse(reply.text).errors[0].extensions.code).toBe(code);
  });

  it('refuses a subscription over HTTP with 400 BAD_REQUEST (subscriptions are WebSocket only)', async () => {
    const request = graphql('subscription over HTTP', 'subscription { messageStatusChanged(messageId: "x") { id } }');
    const reply = await send(request);
    expectHarmless(request, reply);
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text).errors[0]).toMatchObject({
      message: expect.stringMatching(/WebSocket/),
      extensions: { code: 'BAD_REQUEST' },
    });
  });

  it('answers a body over the limit with 413 and a mutation over GET with 405', async () => {
    expect(
      (
        await send({
          what: 'big',
          headers: { 'content-type': 'application/json' },
          body: json(`{ viewer { id } } #${'z'.repeat(MAX_BODY)}`),
        })
      ).status,
    ).toBe(413);
    const get = await send({
      what: 'GET mutation',
      method: 'GET',
      path: `/graphql?query=${encodeURIComponent('mutation { createRecipient(input: { kind: CLIENT, displayName: "G" }) { recipient { id } } }')}`,
    });
    expect(get.status).toBe(405);
  });

  it('still answers a normal query, and nothing stored has changed', async () => {
    expect((await fetch(`${herald.url}/readyz`)).status).toBe(200);
    const after = ok(
      await herald.gql(`query($id: ID!) { recipients { totalCount } recipient(id: $id) { ${RECIPIENT_FIELDS} } }`, { id: known.id }),
    );
    expect(after.recipients.totalCount).toBe(knownCount);
    expect(after.recipient).toEqual(known);
    expect(ok(await herald.gql('{ messages { totalCount } }')).messages.totalCount).toBe(0);
  });
});
