// GraphQL over WebSocket (graphql-ws) gets the defences of HTTP: the limits judge the
// operation operationName picks, subscriptions are capped per connection and per key,
// connection_init has a deadline, each operation spends the key's request budget, and
// errors are formatted as over HTTP. Seen as a client sees them, through the real server.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { buildApiKey, buildRecipient } from './helpers/factories.js';
import { startTestHerald, type TestHerald } from './helpers/herald.js';

const ENV = {
  HERALD_MAX_QUERY_DEPTH: '6',
  HERALD_WS_CONNECTION_INIT_TIMEOUT_MS: '300',
  HERALD_WS_MAX_SUBSCRIPTIONS_PER_KEY: '15',
};

let herald: TestHerald;
beforeAll(async () => {
  herald = await startTestHerald({ env: ENV });
  const recipient = await buildRecipient(herald, { kind: 'CLIENT', phone: '+14155550142' });
  const sent = await herald.gql('mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } } }', {
    input: { clientId: recipient.id, message: 'Watched' },
  });
  A_MESSAGE = { id: sent.data.sendSms.message.id };
});
afterAll(() => herald?.stop());

interface Frame {
  type: string;
  id?: string;
  payload?: any;
}

/** A graphql-transport-ws connection spoken by hand, so a test sees every frame and the close. */
class Connection {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly socket: WebSocket;
  private waiters: (() => void)[] = [];
  private nextId = 0;

  constructor(url: string) {
    this.socket = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
    this.socket.on('message', (data) => {
      this.frames.push(JSON.parse((data as Buffer).toString()));
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) => this.socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(url: string, key: string): Promise<Connection> {
    const connection = new Connection(url);
    await new Promise((resolve, reject) => connection.socket.once('open', resolve).once('error', reject));
    connection.send({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } });
    await connection.frame((f) => f.type === 'connection_ack');
    return connection;
  }

  send(frame: Frame): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** Sends one operation; its id. */
  subscribe(query: string, extra: { operationName?: string; variables?: Record<string, unknown> } = {}): string {
    const id = String((this.nextId += 1));
    this.send({ id, type: 'subscribe', payload: { query, ...extra } });
    return id;
  }

  /** What the server answered first for operation `id`: its next or error frame. */
  answer(id: string): Promise<Frame> {
    return this.frame((f) => f.id === id && (f.type === 'next' || f.type === 'error'));
  }

  complete(id: string): void {
    this.send({ id, type: 'complete' });
  }

  async frame(match: (frame: Frame) => boolean): Promise<Frame> {
    for (;;) {
      const found = this.frames.find(match);
      if (found) return found;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  close(): Promise<unknown> {
    this.socket.close();
    return this.closed;
  }
}

const WATCH = 'subscription($id: ID) { messageStatusChanged(messageId: $id) { id status } }';
const NO_SUCH_MESSAGE = { id: 'msg_00000000000070008000000000000000' };
/** A message of the default tenant to watch: a subscription to it stays open (it is sent its status first). */
let A_MESSAGE: { id: string };
/** 8 fields deep: messages, edges, node, logs, message, logs, message, id. */
const TWO_OPERATIONS = `
  query Shallow { viewer { name } }
  query Deep { messages(first: 1) { edges { node { logs { message { logs { message { id } } } } } } } }`;

/** The error codes of an error frame (an error frame's payload is the list of errors). */
const codesOf = (frame: Frame) =>
  frame.type === 'error' ? (frame.payload as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code) : [];

describe('limits judge the operation operationName picks, as over HTTP', () => {
  it('refuses the deep operation of a two-operation document and runs the shallow one, over WebSocket and HTTP alike', async () => {
    const connection = await Connection.open(herald.url, herald.adminKey);
    const deep = await connection.answer(connection.subscribe(TWO_OPERATIONS, { operationName: 'Deep' }));
    expect(deep.type).toBe('error');
    expect(deep.payload).toEqual([
      { message: 'The operation is 8 fields deep; at most 6 are allowed', extensions: { code: 'QUERY_TOO_DEEP', depth: 8, maxDepth: 6 } },
    ]);
    const shallow = await connection.answer(connection.subscribe(TWO_OPERATIONS, { operationName: 'Shallow' }));
    expect(shallow).toMatchObject({ type: 'next', payload: { data: { viewer: { name: 'default' } } } });
    expect(shallow.payload.errors).toBeUndefined();

    const overHttp = async (operationName: string) => {
      const response = await fetch(`${herald.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${herald.adminKey}` },
        body: JSON.stringify({ query: TWO_OPERATIONS, operationName }),
      });
      return {
        status: response.status,
        body: (await response.json()) as { data?: unknown; errors?: { extensions?: { code?: string } }[] },
      };
    };
    const httpDeep = await overHttp('Deep');
    expect(httpDeep.status).toBe(400);
    expect(httpDeep.body.errors?.[0].extensions?.code).toBe('QUERY_TOO_DEEP');
    expect(await overHttp('Shallow')).toMatchObject({ status: 200, body: { data: { viewer: { name: 'default' } } } });
    await connection.close();
  });

  it('refuses an over-costly subscription before it starts, and a document that does not say which operation to run', async () => {
    // 25 × logs (10) × message × logs (10) × message: 5,501 objects, 6 deep.
    const aliases = Array.from({ length: 25 }, (_, i) => `l${i}: logs { message { logs { message { id } } } }`).join(' ');
    const connection = await Connection.open(herald.url, herald.adminKey);
    const costly = await connection.answer(
      connection.subscribe(`subscription($id: ID) { messageStatusChanged(messageId: $id) { ${aliases} } }`, { variables: NO_SUCH_MESSAGE }),
    );
    expect(codesOf(costly)).toEqual(['QUERY_TOO_COSTLY']);
    expect(costly.payload[0].extensions).toEqual({ code: 'QUERY_TOO_COSTLY', cost: 5501, maxCost: 5000 });

    const unnamed = await connection.answer(connection.subscribe(TWO_OPERATIONS));
    expect(codesOf(unnamed)).toEqual(['OPERATION_RESOLUTION_FAILURE']);
    const misnamed = await connection.answer(connection.subscribe(TWO_OPERATIONS, { operationName: 'Nope' }));
    expect(misnamed.payload[0].message).toBe('The document has no operation named "Nope"');

    // Parse and validation failures say so, as over HTTP.
    expect(codesOf(await connection.answer(connection.subscribe('{ viewer { ')))).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(codesOf(await connection.answer(connection.subscribe('{ viewer { nope } }')))).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const directives = await connection.answer(connection.subscribe(`{ viewer { ${'name @include(if: true) '.repeat(51)}} }`));
    expect(directives.payload).toEqual([
      { message: 'The operation uses more than 50 directives', extensions: { code: 'GRAPHQL_VALIDATION_FAILED', maxDirectives: 50 } },
    ]);
    await connection.close();
  });
});

describe('subscriptions per connection (10) and per key (HERALD_WS_MAX_SUBSCRIPTIONS_PER_KEY)', () => {
  it('refuses the 11th subscription on one connection, keeps the connection, and frees a place when one completes', async () => {
    const key = await buildApiKey(herald, 'READER');
    const connection = await Connection.open(herald.url, key);
    const ids = Array.from({ length: 10 }, () => connection.subscribe(WATCH, { variables: A_MESSAGE }));
    const eleventh = await connection.answer(connection.subscribe(WATCH, { variables: A_MESSAGE }));
    expect(eleventh.payload).toEqual([
      { message: 'This connection already holds 10 subscriptions: complete one first', extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' } },
    ]);
    // None of the ten was ended by it (each was sent the message's status).
    expect(connection.frames.filter((f) => ids.includes(f.id!) && f.type !== 'next')).toEqual([]);

    connection.complete(ids[0]);
    const next = connection.subscribe(WATCH, { variables: A_MESSAGE });
    // A query answers on the same connection, and the new subscription was not refused.
    const viewer = await connection.answer(connection.subscribe('{ viewer { name } }'));
    expect(codesOf(viewer)).toEqual([]);
    expect(connection.frames.some((f) => f.id === next && f.type !== 'next')).toBe(false);
    await connection.close();
  });

  it('refuses a key its 16th subscription across connections; another key is not affected', async () => {
    const key = await buildApiKey(herald, 'READER');
    const first = await Connection.open(herald.url, key);
    const second = await Connection.open(herald.url, key);
    for (let i = 0; i < 10; i++) first.subscribe(WATCH, { variables: A_MESSAGE });
    for (let i = 0; i < 5; i++) second.subscribe(WATCH, { variables: A_MESSAGE });
    const sixteenth = await second.answer(second.subscribe(WATCH, { variables: A_MESSAGE }));
    expect(sixteenth.payload).toEqual([
      {
        message: 'This API key already holds 15 subscriptions across its connections: complete one first',
        extensions: { code: 'TOO_MANY_SUBSCRIPTIONS' },
      },
    ]);

    const other = await Connection.open(herald.url, await buildApiKey(herald, 'READER'));
    const allowed = other.subscribe(WATCH, { variables: A_MESSAGE });
    expect(codesOf(await other.answer(other.subscribe('{ viewer { name } }')))).toEqual([]);
    expect(other.frames.some((f) => f.id === allowed && f.type !== 'next')).toBe(false);

    // Closing a connection gives its places back.
    await first.close();
    const again = second.subscribe(WATCH, { variables: A_MESSAGE });
    expect(codesOf(await second.answer(second.subscribe('{ viewer { name } }')))).toEqual([]);
    expect(second.frames.some((f) => f.id === again && f.type !== 'next')).toBe(false);
    await Promise.all([second.close(), other.close()]);
  });
});

describe('connection_init deadline (HERALD_WS_CONNECTION_INIT_TIMEOUT_MS)', () => {
  it('closes a connection that never sends connection_init with 4408, and keeps one that does', async () => {
    const silent = new Connection(herald.url);
    const started = performance.now();
    const closed = await silent.closed;
    expect(closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);

    const polite = await Connection.open(herald.url, herald.adminKey);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(codesOf(await polite.answer(polite.subscribe('{ viewer { name } }')))).toEqual([]);
    await polite.close();
  });
});

describe('errors are formatted as over HTTP', () => {
  it('answers an unexpected execution error with an opaque id only, and logs it under that id', async () => {
    const connection = await Connection.open(herald.url, herald.adminKey);
    // A fault the code does not expect: the table it reads is gone for a moment.
    await herald.services.db.execute(sql`alter table recipients rename to recipients_away`);
    let answer: Frame;
    try {
      answer = await connection.answer(connection.subscribe('{ recipients(first: 1) { edges { node { id } } } }'));
    } finally {
      await herald.services.db.execute(sql`alter table recipients_away rename to recipients`);
    }
    expect(answer.type).toBe('next');
    const [error] = answer.payload.errors;
    expect(error).toEqual({
      message: expect.stringMatching(/^Internal error [0-9a-f-]{36}$/),
      path: ['recipients'],
      locations: expect.any(Array),
      extensions: { code: 'INTERNAL_SERVER_ERROR', errorId: error.extensions.errorId },
    });
    expect(JSON.stringify(answer)).not.toMatch(/recipients_away|relation|select/i);
    expect(herald.logs.some((line) => line.includes(error.extensions.errorId) && line.includes('recipients'))).toBe(true);
    await connection.close();
  });
});

describe('requests per API key over WebSocket (HERALD_RATE_LIMIT_*)', () => {
  beforeAll(async () => {
    herald = await herald.restart({ ...ENV, HERALD_RATE_LIMIT_PER_SECOND: '1', HERALD_RATE_LIMIT_BURST: '3' });
  });

  it('spends the key’s request budget on the connection and each operation, refuses the rest with RATE_LIMITED; the connection stays', async () => {
    const key = await buildApiKey(herald, 'READER');
    const connection = await Connection.open(herald.url, key);
    const answers: Frame[] = [];
    for (let i = 0; i < 3; i++) answers.push(await connection.answer(connection.subscribe('{ viewer { name } }')));
    expect(answers.slice(0, 2).map(codesOf)).toEqual([[], []]);
    expect(answers[2].payload).toEqual([
      {
        message: expect.stringMatching(/^Too many requests for this API key: try again in [1-3] s$/),
        extensions: { code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) },
      },
    ]);
    await new Promise((resolve) => setTimeout(resolve, answers[2].payload[0].extensions.retryAfterSeconds * 1000 + 100));
    expect(codesOf(await connection.answer(connection.subscribe('{ viewer { name } }')))).toEqual([]);
    await connection.close();
  });
});

describe('shutting down', () => {
  it('closes open WebSocket connections with 1001 instead of waiting for them', async () => {
    const connection = await Connection.open(herald.url, herald.adminKey);
    connection.subscribe(WATCH, { variables: A_MESSAGE });
    await connection.answer(connection.subscribe('{ viewer { name } }'));
    herald = await herald.restart({ ...ENV });
    expect(await connection.closed).toEqual({ code: 1001, reason: 'Going away' });
    expect((await herald.gql('{ viewer { name } }')).data).toEqual({ viewer: { name: 'default' } });
  });
});
