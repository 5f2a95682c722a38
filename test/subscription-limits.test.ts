import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestHerald, type TestHerald } from './helpers/herald.js';

let herald: TestHerald;
beforeAll(async () => {
  herald = await startTestHerald({ env: { HERALD_MAX_QUERY_DEPTH: '6' } });
});
afterAll(() => herald?.stop());

/** The first thing a subscription yields: an error, or the first event. */
function firstOutcome(query: string): Promise<{ error?: unknown; data?: unknown }> {
  const client = createClient({
    url: `${herald.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${herald.adminKey}` },
    retryAttempts: 0,
  });
  return new Promise((resolve) => {
    client.subscribe(
      { query, variables: { id: 'msg_00000000000070008000000000000000' } },
      {
        next: (value) => resolve({ data: value }),
        error: (error) => resolve({ error }),
        complete: () => resolve({}),
      },
    );
  }).finally(() => client.dispose()) as Promise<{ error?: unknown; data?: unknown }>;
}

describe('subscriptions obey the same query limits as HTTP', () => {
  it('refuses a subscription deeper than HERALD_MAX_QUERY_DEPTH before it starts', async () => {
    const deep = `subscription($id: ID) { messageStatusChanged(messageId: $id) {
      logs { message { logs { message { logs { message { id } } } } } } } }`;
    const outcome = await firstOutcome(deep);
    expect(JSON.stringify(outcome.error)).toContain('QUERY_TOO_DEEP');
  });

  it('refuses a NUL character in a subscription variable', async () => {
    const client = createClient({
      url: `${herald.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${herald.adminKey}` },
      retryAttempts: 0,
    });
    const outcome = await new Promise<{ error?: unknown }>((resolve) => {
      client.subscribe(
        { query: 'subscription($id: ID) { messageStatusChanged(messageId: $id) { id } }', variables: { id: 'msg_\u0000' } },
        { next: () => resolve({}), error: (error) => resolve({ error }), complete: () => resolve({}) },
      );
    });
    await client.dispose();
    expect(JSON.stringify(outcome.error)).toContain('BAD_USER_INPUT');
  });
});
