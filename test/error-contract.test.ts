// The error contract of docs/errors.md, walked through the real server: every top-level
// code provoked for real with its HTTP status and media type, the WebSocket close codes,
// the cache headers, and the document itself checked against the codes the code declares.
import 'reflect-metadata';
import { sql } from 'drizzle-orm';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ERROR_CODES } from '../src/graphql/errors.js';
import { CLOSE_REASONS, CloseCode } from '../src/http/subscriptions.js';
import { buildApiKey, buildRecipient } from './helpers/factories.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { createPostgresDatabase } from './helpers/process.js';

const GRAPHQL_RESPONSE = 'application/graphql-response+json';
const JSON_TYPE = 'application/json';
const ENV = {
  HERALD_MAX_QUERY_DEPTH: '6',
  HERALD_MAX_ALIASES: '3',
  HERALD_MAX_QUERY_COST: '500',
  HERALD_STATEMENT_TIMEOUT_MS: '300',
  HERALD_WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: '1',
};

let herald: TestHerald;
let reader: string;
let sender: string;
beforeAll(async () => {
  herald = await startTestHerald({ database: await createPostgresDatabase('error contract'), role: 'api', env: ENV });
  reader = await buildApiKey(herald, 'READER');
  sender = await buildApiKey(herald, 'SENDER');
});
afterAll(() => herald?.stop());

interface Answer {
  status: number;
  type: string;
  headers: Headers;
  body: any;
}

/** A POST (or GET) to /graphql as a client sends it, with the Accept header it chooses. */
async function call(
  request: { query?: string; variables?: Record<string, unknown>; operationName?: string; extensions?: unknown } | unknown[],
  options: { key?: string | null; accept?: string; method?: 'GET' | 'POST' } = {},
): Promise<Answer> {
  const key = options.key === undefined ? herald.adminKey : options.key;
  const headers: Record<string, string> = {
    ...(key ? { authorization: `Bearer ${key}` } : {}),
    accept: options.accept ?? GRAPHQL_RESPONSE,
  };
  let response: Response;
  if (options.method === 'GET') {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(request)) params.set(name, typeof value === 'string' ? value : JSON.stringify(value));
    response = await fetch(`${herald.url}/graphql?${params.toString()}`, { headers: { ...headers, 'apollo-require-preflight': 'true' } });
  } else {
    response = await fetch(`${herald.url}/graphql`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(request),
    });
  }
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type') ?? '', headers: response.headers, body: JSON.parse(text) };
}

/** A refusal: the status, the media type asked for, the code, and no data (or data: null). */
function expectRefused(answer: Answer, status: number, code: string, type = GRAPHQL_RESPONSE) {
  expect({ status: answer.status, code: answer.body.errors?.[0]?.extensions?.code }, JSON.stringify(answer.body)).toEqual({ status, code });
  expect(answer.type.startsWith(type)).toBe(true);
  expect(answer.body.data ?? null).toBeNull();
}

const SEND_SMS = 'mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } userErrors { code field message } } }';
const ADD_GATEWAY = 'mutation($input: AddChannelGatewayInput!) { addChannelGateway(input: $input) { userErrors { code } } }';
const MESSAGES = 'query($first: Int, $after: String) { messages(first: $first, after: $after) { edges { node { id } } } }';

describe('HTTP statuses of top-level errors (application/graphql-response+json and application/json alike)', () => {
  it.each([GRAPHQL_RESPONSE, JSON_TYPE])('answers each refusal with its status, accepting %s', async (accept) => {
    const cases: [string, Promise<Answer>, number, string][] = [
      ['no key', call({ query: '{ viewer { id } }' }, { key: null, accept }), 401, 'UNAUTHENTICATED'],
      [
        'an unknown key',
        call({ query: '{ viewer { id } }' }, { key: `hrld_${randomBytes(32).toString('base64url')}`, accept }),
        401,
        'UNAUTHENTICATED',
      ],
      ['a READER sending', call({ query: SEND_SMS, variables: { input: { message: 'hi' } } }, { key: reader, accept }), 403, 'FORBIDDEN'],
      [
        'a SENDER adding a gateway',
        call(
          { query: ADD_GATEWAY, variables: { input: { channel: 'SMS', provider: 'SANDBOX', name: 'Refused' } } },
          { key: sender, accept },
        ),
        403,
        'FORBIDDEN',
      ],
      ['a READER listing keys', call({ query: '{ viewer { name } apiKeys { id } }' }, { key: reader, accept }), 403, 'FORBIDDEN'],
      ['a bad cursor', call({ query: MESSAGES, variables: { after: 'x' } }, { accept }), 400, 'BAD_USER_INPUT'],
      ['first: 1000', call({ query: MESSAGES, variables: { first: 1000 } }, { accept }), 400, 'BAD_USER_INPUT'],
      ['a variable of the wrong type', call({ query: MESSAGES, variables: { first: 'ten' } }, { accept }), 400, 'BAD_USER_INPUT'],
      ['a syntax error', call({ query: '{ viewer { id }' }, { accept }), 400, 'GRAPHQL_PARSE_FAILED'],
      ['an unknown field', call({ query: '{ viewer { nope } }' }, { accept }), 400, 'GRAPHQL_VALIDATION_FAILED'],
      [
        'a subscription over HTTP',
        call({ query: 'subscription { messageStatusChanged(messageId: "x") { id } }' }, { accept }),
        400,
        'BAD_REQUEST',
      ],
      [
        'two operations and no operationName',
        call({ query: 'query A { viewer { id } } query B { viewer { name } }' }, { accept }),
        400,
        'OPERATION_RESOLUTION_FAILURE',
      ],
      [
        'a deep query',
        call({ query: '{ messages { edges { node { recipient { subscriptions { gateway { id } } } } } } }' }, { accept }),
        400,
        'QUERY_TOO_DEEP',
      ],
      [
        'a costly query',
        call({ query: '{ messages(first: 100) { edges { node { logs { id } } } } }' }, { accept }),
        400,
        'QUERY_TOO_COSTLY',
      ],
      [
        'many aliases',
        call({ query: '{ a: viewer { id } b: viewer { id } c: viewer { id } d: viewer { id } }' }, { accept }),
        400,
        'TOO_MANY_ALIASES',
      ],
    ];
    for (const [what, answer, status, code] of cases) {
      const got = await answer;
      expect([what, got.status, got.body.errors?.[0]?.extensions?.code], JSON.stringify(got.body)).toEqual([what, status, code]);
      expectRefused(got, status, code, accept);
      expect(ERROR_CODES[code as keyof typeof ERROR_CODES]).toBe(status);
    }
  });

  it('answers 405 BAD_REQUEST to a mutation over GET, and 400 BAD_REQUEST to a batch (batching is off)', async () => {
    const overGet = await call({ query: 'mutation { createApiKey(input: { name: "x", role: READER }) { key } }' }, { method: 'GET' });
    expectRefused(overGet, 405, 'BAD_REQUEST');
    const batch = await call([{ query: '{ viewer { id } }' }, { query: '{ viewer { name } }' }]);
    expectRefused(batch, 400, 'BAD_REQUEST');
    expect(batch.body.errors[0].message).toMatch(/batching/i);
  });

  it('answers an unknown persisted query with 200 PERSISTED_QUERY_NOT_FOUND (Apollo Client then sends the query)', async () => {
    const hash = randomBytes(32).toString('hex');
    const answer = await call({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    expect(answer.status).toBe(200);
    expect(answer.body.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    expect(answer.type.startsWith(GRAPHQL_RESPONSE)).toBe(true);
  });

  it('answers 200 whenever data is non-null: a payload with userErrors, a partial answer', async () => {
    const refused = await call({ query: SEND_SMS, variables: { input: { message: 'no one to send to' } } }, { key: sender });
    expect(refused.status).toBe(200);
    expect(refused.body.data.sendSms.userErrors.length).toBeGreaterThan(0);

    const recipient = await buildRecipient(herald, { kind: 'STAFF', displayName: 'Partial' });
    await herald.services.db.execute(sql`alter table recipients rename to recipients_away`);
    let partial: Answer;
    try {
      partial = await call({ query: 'query($id: ID!) { viewer { name } recipient(id: $id) { id } }', variables: { id: recipient.id } });
    } finally {
      await herald.services.db.execute(sql`alter table recipients_away rename to recipients`);
    }
    expect(partial.status).toBe(200);
    expect(partial.body.data).toEqual({ viewer: { name: 'default' }, recipient: null });
    expect(partial.body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
  });

  it('answers an unexpected error with data: null with 500 INTERNAL_SERVER_ERROR and an id', async () => {
    await herald.services.db.execute(sql`alter table recipients rename to recipients_away`);
    let answer: Answer;
    try {
      answer = await call({ query: '{ recipients(first: 1) { edges { node { id } } } }' });
    } finally {
      await herald.services.db.execute(sql`alter table recipients_away rename to recipients`);
    }
    expectRefused(answer, 500, 'INTERNAL_SERVER_ERROR');
    expect(answer.body.errors[0].message).toMatch(/^Internal error [0-9a-f-]{36}$/);
  });

  it('answers a database that cannot answer in time with 503 SERVICE_UNAVAILABLE and Retry-After', async () => {
    const blocker = new pg.Client({ connectionString: herald.database.env.DATABASE_URL });
    await blocker.connect();
    let answer: Answer;
    try {
      await blocker.query('begin');
      await blocker.query('lock table recipients in access exclusive mode');
      answer = await call({ query: '{ recipients(first: 1) { edges { node { id } } } }' });
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
    expectRefused(answer, 503, 'SERVICE_UNAVAILABLE');
    expect(answer.headers.get('retry-after')).toBe('5');
  });

  it('answers the media type Accept asks for, application/json without one', async () => {
    const query = { query: '{ viewer { id } }' };
    expect((await call(query, { accept: GRAPHQL_RESPONSE })).type).toMatch(/^application\/graphql-response\+json/);
    expect((await call(query, { accept: JSON_TYPE })).type).toMatch(/^application\/json/);
    expect((await call(query, { accept: `${GRAPHQL_RESPONSE}, ${JSON_TYPE};q=0.9` })).type).toMatch(/^application\/graphql-response\+json/);
    const none = await fetch(`${herald.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${herald.adminKey}` },
      body: JSON.stringify(query),
    });
    expect(none.headers.get('content-type')).toMatch(/^application\/json/);
  });
});

describe('cache headers', () => {
  it('marks GET and POST answers private, no-store, varying with Authorization', async () => {
    for (const method of ['GET', 'POST'] as const) {
      for (const key of [herald.adminKey, null]) {
        const answer = await call({ query: '{ viewer { id } }' }, { method, key });
        expect([method, answer.headers.get('cache-control')]).toEqual([method, 'private, no-store']);
        expect(answer.headers.get('vary')).toMatch(/\bAuthorization\b/);
      }
    }
    // Apollo's own persisted-query header is replaced too.
    const apq = await call(
      { extensions: { persistedQuery: { version: 1, sha256Hash: randomBytes(32).toString('hex') } } },
      { method: 'GET' },
    );
    expect(apq.headers.get('cache-control')).toBe('private, no-store');
  });
});

/** How a graphql-transport-ws connection ends after connection_init with these params. */
async function closeAfterInit(url: string, payload: Record<string, unknown> | undefined): Promise<{ code: number; reason: string }> {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  socket.send(JSON.stringify({ type: 'connection_init', ...(payload ? { payload } : {}) }));
  return closed;
}

describe('WebSocket close codes', () => {
  it('closes a connection without a key with 4401, and one with a bad or unknown key with 4403, each with its reason', async () => {
    const missing = { code: CloseCode.MissingKey, reason: CLOSE_REASONS.missingKey };
    expect(await closeAfterInit(herald.url, undefined)).toEqual(missing);
    expect(await closeAfterInit(herald.url, { authorization: '' })).toEqual(missing);
    expect(await closeAfterInit(herald.url, { authorization: 'Bearer two words' })).toEqual({
      code: 4403,
      reason: CLOSE_REASONS.malformedKey,
    });
    expect(await closeAfterInit(herald.url, { authorization: `Bearer hrld_${randomBytes(32).toString('base64url')}` })).toEqual({
      code: 4403,
      reason: CLOSE_REASONS.invalidKey,
    });
    expect(missing.code).toBe(4401);
    for (const reason of Object.values(CLOSE_REASONS)) {
      expect(Buffer.byteLength(typeof reason === 'string' ? reason : reason(86_400))).toBeLessThanOrEqual(123);
    }
  });

  it('closes a connection whose key is revoked with 4403 and says so', async () => {
    const created = ok(
      await herald.gql('mutation { createApiKey(input: { name: "doomed", role: READER }) { key apiKey { id } userErrors { code } } }'),
    ).createApiKey;
    const socket = new WebSocket(`${herald.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    const acked = new Promise<void>((resolve) =>
      socket.on('message', (data) => JSON.parse((data as Buffer).toString()).type === 'connection_ack' && resolve()),
    );
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${created.key}` } }));
    await acked;
    const revoked = await herald.gql('mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { userErrors { code } } }', {
      input: { id: created.apiKey.id },
    });
    expect(ok(revoked).revokeApiKey.userErrors).toEqual([]);
    expect(await closed).toEqual({ code: 4403, reason: CLOSE_REASONS.revokedKey });
  });

  it('answers an operation over the subscription cap with TOO_MANY_SUBSCRIPTIONS (WebSocket only)', async () => {
    const socket = new WebSocket(`${herald.url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    const frames: any[] = [];
    let wake = () => {};
    socket.on('message', (data) => {
      frames.push(JSON.parse((data as Buffer).toString()));
      wake();
    });
    const frame = async (match: (f: any) => boolean) => {
      for (;;) {
        const found = frames.find(match);
        if (found) return found;
        await new Promise<void>((resolve) => (wake = resolve));
      }
    };
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${herald.adminKey}` } }));
    await frame((f) => f.type === 'connection_ack');
    const recipient = await buildRecipient(herald, { kind: 'STAFF', displayName: 'Watched' });
    const watch = { query: 'subscription($id: ID) { messageStatusChanged(recipientId: $id) { id } }', variables: { id: recipient.id } };
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: watch }));
    socket.send(JSON.stringify({ id: '2', type: 'subscribe', payload: watch }));
    const refused = await frame((f) => f.id === '2' && f.type === 'error');
    expect(refused.payload[0].extensions.code).toBe('TOO_MANY_SUBSCRIPTIONS');
    expect(ERROR_CODES.TOO_MANY_SUBSCRIPTIONS).toBeNull();
    socket.close();
  });
});

describe('request rate (HERALD_RATE_LIMIT_*)', () => {
  beforeAll(async () => {
    herald = await herald.restart({ ...ENV, HERALD_RATE_LIMIT_PER_SECOND: '1', HERALD_RATE_LIMIT_BURST: '2' });
  });

  it('answers a request over the budget with 429 RATE_LIMITED and Retry-After, in the media type asked for', async () => {
    const key = await buildApiKey(herald, 'READER');
    const answers = [];
    for (let i = 0; i < 3; i++)
      answers.push(await call({ query: '{ viewer { id } }' }, { key, accept: i === 2 ? GRAPHQL_RESPONSE : JSON_TYPE }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
    expectRefused(answers[2], 429, 'RATE_LIMITED');
    expect(Number(answers[2].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(answers[2].body.errors[0].extensions.retryAfterSeconds).toBeGreaterThanOrEqual(1);
  });

  it('closes a WebSocket connection over the budget with 4429 and when to come back', async () => {
    const guess = () => closeAfterInit(herald.url, { authorization: `Bearer hrld_${randomBytes(32).toString('base64url')}` });
    const closes = [await guess(), await guess(), await guess()];
    expect(closes.slice(0, 2).map((c) => c.code)).toEqual([4403, 4403]);
    expect(closes[2].code).toBe(CloseCode.RateLimited);
    expect(closes[2].reason).toMatch(/^Too many requests: try again in [1-2] s$/);
  });
});

describe('docs/errors.md', () => {
  const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
  /** The codes in the first column of the tables under a `## heading`, with the second column. */
  const tableOf = (heading: string): Map<string, string> => {
    const section = doc.split(/^## /m).find((s) => s.startsWith(heading));
    expect(section, heading).toBeDefined();
    const rows = [...section!.matchAll(/^\| `([A-Z_]+)` \| ([^|]+?) \|/gm)];
    return new Map(rows.map((row) => [row[1], row[2].trim()]));
  };

  it('lists every top-level code the server declares, with its HTTP status, and no other', () => {
    const documented = tableOf('Top-level errors');
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, status] of Object.entries(ERROR_CODES)) {
      expect([code, documented.get(code)!.split(/\s/)[0]]).toEqual([code, status === null ? '—' : String(status)]);
    }
  });

  it('lists every value of the schema’s UserErrorCode enum, and no other', async () => {
    const type = ok(await herald.gql('{ __type(name: "UserErrorCode") { enumValues { name } } }')).__type as {
      enumValues: { name: string }[];
    };
    expect([...tableOf('userErrors').keys()].sort()).toEqual(type.enumValues.map((v) => v.name).sort());
  });

  it('lists the WebSocket close codes the server uses', () => {
    const section = doc.split(/^## /m).find((s) => s.startsWith('WebSocket'))!;
    for (const code of [...Object.values(CloseCode), 4408]) expect(section).toContain(`| ${code} |`);
  });
});
