// Herald rides out a PostgreSQL that refuses connections for 30 s (docs/reliability.md):
// an API, a worker and an all-in-one process on one database, as an operator runs them,
// while the database stops accepting connections and its sessions are ended (as in a
// failover). Meanwhile /healthz stays 200, /readyz is 503 and GraphQL answers a clear
// 503; no process exits; afterwards every message accepted before the outage is sent
// once, and the queue and live status work again. On PostgreSQL (DATABASE_URL, else the
// machine's own).
import { randomBytes } from 'node:crypto';
import { type Client, createClient } from 'graphql-ws';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake } from './fakes/twilio-fake.js';
import type { TestDatabase } from './helpers/database.js';
import { type HeraldProcess, LOCAL_POSTGRES, createPostgresDatabase, isRunning, killAll, spawnHerald } from './helpers/process.js';
import { pause, waitUntil } from './helpers/wait.js';

const OUTAGE_MS = 30_000;
const account = fakeTwilioAccount();
const processes: HeraldProcess[] = [];
const cleanup: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  await killAll(processes);
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
}, 60_000);

async function gql(url: string, key: string, query: string, variables?: Record<string, unknown>) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  return { status: response.status, retryAfter: response.headers.get('retry-after'), text, body: JSON.parse(text) };
}

async function data(url: string, key: string, query: string, variables?: Record<string, unknown>) {
  const answer = await gql(url, key, query, variables);
  if (answer.status !== 200 || answer.body.errors) throw new Error(`GraphQL ${answer.status}: ${answer.text}`);
  return answer.body.data;
}

const status = async (url: string, path: string) => (await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) })).status;

async function admin(sql: string, values: unknown[] = []): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL ?? LOCAL_POSTGRES });
  await client.connect();
  try {
    await client.query(sql, values);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL refuses connections for 30 s', () => {
  it('api, worker and all ride it out: /healthz 200, /readyz 503 and GraphQL 503 meanwhile, no process exits, every message accepted before is sent once, queue and live status work after', async () => {
    const fake: TwilioFake = await startTwilioFake({ accounts: [account] });
    cleanup.push(() => fake.close());
    // Twilio answers late: sends are in flight, and a backlog waits, when the database goes.
    fake.delayMs = 1_000;
    const database: TestDatabase = await createPostgresDatabase('an API, a worker and an all-in-one process');
    cleanup.push(() => database.drop());
    const name = new URL(database.env.DATABASE_URL).pathname.slice(1);
    const key = `test-admin-${randomBytes(16).toString('hex')}`;
    const env = {
      ...database.env,
      HERALD_BOOTSTRAP_ADMIN_KEY: key,
      HERALD_SECRET_KEY: randomBytes(32).toString('hex'),
      TWILIO_ACCOUNT_SID: account.accountSid,
      TWILIO_AUTH_TOKEN: account.authToken,
      TWILIO_SMS_FROM: '+15005550006',
      TWILIO_API_BASE_URL: fake.url,
      HERALD_SEND_TIMEOUT_MS: '3000',
      HERALD_RETRY_BASE_MS: '200',
      HERALD_RETRY_MAX_DELAY_MS: '2000',
    };
    const start = (role: string) => {
      const p = spawnHerald(env, { name: role, args: ['--role', role] });
      processes.push(p);
      return p;
    };
    const all = start('all');
    const allUrl = await all.ready;
    const api = start('api');
    const worker = start('worker');
    const [apiUrl, workerUrl] = await Promise.all([api.ready, worker.ready]);
    const output = () => [all, api, worker].map((p) => p.output()).join('');

    const clientId = (
      await data(apiUrl, key, 'mutation($i: CreateRecipientInput!) { createRecipient(input: $i) { recipient { id } } }', {
        i: { kind: 'CLIENT', displayName: 'Outage client', phone: '+14155550142' },
      })
    ).createRecipient.recipient.id;
    const send = (url: string, body: string) =>
      gql(url, key, 'mutation($i: SendSmsInput!) { sendSms(input: $i) { message { id } userErrors { code } } }', {
        i: { clientId, message: body },
      });

    const run = randomBytes(3).toString('hex');
    const before = Array.from({ length: 40 }, (_, i) => `before ${run} #${i}`);
    for (const [i, body] of before.entries()) {
      const answer = await send(i % 2 ? apiUrl : allUrl, body);
      expect(answer.status, answer.text).toBe(200);
    }
    await waitUntil('sends in flight at Twilio', () => fake.requests.length >= 4, 20_000);

    // Down: no new connection, every session ended.
    await admin(`alter database ${name} allow_connections false`);
    await admin('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
    const downAt = Date.now();
    let refusedSends = 0;
    try {
      while (Date.now() - downAt < OUTAGE_MS) {
        for (const url of [allUrl, apiUrl, workerUrl]) {
          expect(await status(url, '/healthz'), `/healthz of ${url}`).toBe(200);
        }
        if (Date.now() - downAt > 2_000) {
          for (const url of [allUrl, apiUrl, workerUrl]) expect(await status(url, '/readyz'), `/readyz of ${url}`).toBe(503);
          for (const url of [allUrl, apiUrl]) {
            const answer = await send(url, `during ${run}`);
            expect(answer.status, answer.text).toBe(503);
            expect(answer.retryAfter).toBe('5');
            expect(answer.body.errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
            expect(answer.text).not.toMatch(/insert|select|stack|pg-boss|ECONN/i);
            refusedSends++;
          }
        }
        await pause(1_000);
      }
    } finally {
      await admin(`alter database ${name} allow_connections true`);
    }
    expect(refusedSends).toBeGreaterThan(10);
    expect(
      [all, api, worker].filter((p) => !isRunning(p)).map((p) => p.name),
      output(),
    ).toEqual([]);

    await waitUntil(
      'every process to be ready again',
      async () => (await Promise.all([allUrl, apiUrl, workerUrl].map((u) => status(u, '/readyz')))).every((s) => s === 200),
      60_000,
    );
    const pg2 = new pg.Client({ connectionString: database.env.DATABASE_URL });
    await pg2.connect();
    cleanup.push(() => pg2.end());
    const statuses = async () => (await pg2.query<{ body: string; status: string }>('select body, status from messages')).rows;
    let rows: { body: string; status: string }[] = [];
    await waitUntil(
      () =>
        `every message accepted before the outage to be SENT; not yet: ${JSON.stringify(rows.filter((r) => r.status !== 'SENT'))}${output()}`,
      async () => {
        rows = await statuses();
        return before.every((b) => rows.find((r) => r.body === b)?.status === 'SENT');
      },
      90_000,
      500,
    );
    // Once each at Twilio: nothing accepted before was sent twice, nothing tried during the outage was stored.
    const perBody = new Map<string, number>();
    for (const r of fake.requests) perBody.set(r.form.Body, (perBody.get(r.form.Body) ?? 0) + 1);
    expect(before.filter((b) => perBody.get(b) !== 1).map((b) => `${b}: ${perBody.get(b) ?? 0}`)).toEqual([]);
    expect((await statuses()).filter((r) => r.body.startsWith('during'))).toEqual([]);

    // After: the queue sends new messages, and live status reaches a subscriber of the API process.
    fake.delayMs = 0;
    const events: { id: string; status: string }[] = [];
    const ws: Client = createClient({
      url: `${apiUrl.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${key}` },
      retryAttempts: 0,
    });
    cleanup.push(async () => ws.dispose());
    ws.subscribe<{ messageStatusChanged: { id: string; status: string } }>(
      { query: 'subscription($r: ID) { messageStatusChanged(recipientId: $r) { id status } }', variables: { r: clientId } },
      { next: (r) => r.data && events.push(r.data.messageStatusChanged), error: () => undefined, complete: () => undefined },
    );
    const after: string[] = [];
    await waitUntil(
      () => `a SENT event for a message sent after the outage; events ${JSON.stringify(events)}${output()}`,
      async () => {
        const answer = await send(apiUrl, `after ${run} #${after.length}`);
        expect(answer.status, answer.text).toBe(200);
        after.push(answer.body.data.sendSms.message.id);
        await pause(1_000);
        return events.some((e) => e.status === 'SENT' && after.includes(e.id));
      },
      30_000,
      0,
    );
    expect(
      [all, api, worker].filter((p) => !isRunning(p)).map((p) => p.name),
      output(),
    ).toEqual([]);
  }, 240_000);
});
