// Exactly once through database faults (docs/reliability.md): once Twilio has accepted a
// message, a database that refuses connections or a SENT update that fails never makes
// Herald send it again; and a send orphaned by a dead worker is found by the sweep. The
// faults are real: the test database stops accepting connections (ALTER DATABASE …
// ALLOW_CONNECTIONS false and its sessions terminated), a trigger refuses the SENT update,
// a row is left SENDING as a killed worker leaves it. On PostgreSQL (DATABASE_URL, else
// the machine's own): PGlite is one process's embedded database, which cannot be taken
// away from under it, nor shared by a second process.
import pg from 'pg';
import { MAX_SEND_TIMEOUT_MS } from '../src/config.js';
import { longestSendMs } from '../src/dispatch/dispatcher.js';
import { DISPATCH_QUEUE } from '../src/dispatch/jobs.js';
import { fromGlobalId } from '../src/lib/ids.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake } from './fakes/twilio-fake.js';
import { randomBytes } from 'node:crypto';
import { buildRecipient } from './helpers/factories.js';
import type { TestDatabase } from './helpers/database.js';
import { createPostgresDatabase, LOCAL_POSTGRES, killAll, spawnHerald, type HeraldProcess } from './helpers/process.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import { scrapeMetric as metric } from './helpers/metrics.js';
import { pause, waitForMessageStatus, waitUntil } from './helpers/wait.js';

const SMS_FROM = '+15005550006';
const account = fakeTwilioAccount();
const MESSAGE_FIELDS = 'id status attempts providerMessageId sentAt errorCode errorMessage channel logs { outcome reason }';
const SEND = `mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status } userErrors { code message } } }`;
const GET = `query($id: ID!) { message(id: $id) { ${MESSAGE_FIELDS} } }`;

let fake: TwilioFake;
const heralds: TestHerald[] = [];

beforeAll(async () => {
  fake = await startTwilioFake({ accounts: [account] });
});
afterEach(async () => {
  for (const herald of heralds.splice(0)) await herald.stop().catch(() => undefined);
  fake.reset();
});
afterAll(async () => {
  await fake?.close();
});

const twilioEnv = () => ({
  TWILIO_ACCOUNT_SID: account.accountSid,
  TWILIO_AUTH_TOKEN: account.authToken,
  TWILIO_SMS_FROM: SMS_FROM,
  TWILIO_API_BASE_URL: fake.url,
});

const POSTGRES = process.env.DATABASE_URL ?? LOCAL_POSTGRES;

async function start(env: Record<string, string> = {}, role?: 'api' | 'worker', database?: TestDatabase): Promise<TestHerald> {
  database ??= await createPostgresDatabase('a database fault under a running Herald');
  const herald = await startTestHerald({ env: { ...twilioEnv(), ...env }, database, role });
  heralds.push(herald);
  return herald;
}

/** A connection to the server's maintenance database, to act on the test database from outside. */
async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A client on the test database itself. */
async function onDatabase<T>(herald: TestHerald, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: herald.database.env.DATABASE_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const databaseName = (herald: TestHerald) => new URL(herald.database.env.DATABASE_URL).pathname.slice(1);

/** The database refuses new connections and its sessions are ended, as in a failover. */
async function takeDatabaseAway(herald: TestHerald): Promise<void> {
  const name = databaseName(herald);
  await admin(async (c) => {
    await c.query(`alter database ${name} allow_connections false`);
    await c.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
  });
}

async function bringDatabaseBack(herald: TestHerald): Promise<void> {
  await admin((c) => c.query(`alter database ${databaseName(herald)} allow_connections true`));
}

const getMessage = (herald: TestHerald) => async (id: string) => ok(await herald.gql(GET, { id })).message;

async function sendOne(herald: TestHerald, body: string, clientId?: string): Promise<string> {
  clientId ??= (await buildRecipient(herald, { phone: '+14155550142' })).id;
  const sent = ok(await herald.gql(SEND, { input: { clientId, message: body } })).sendSms;
  expect(sent.userErrors).toEqual([]);
  return sent.message.id;
}

const requestsFor = (body: string) => fake.requests.filter((r) => r.form.Body === body).length;

describe('a database fault after the provider accepted', () => {
  it('the database refuses connections while Twilio holds the send: /graphql answers SERVICE_UNAVAILABLE meanwhile, and after it is back the message is SENT with one request to Twilio', async () => {
    const herald = await start();
    const hold = fake.holdNext();
    const body = `held through an outage ${Date.now()}`;
    const clientId = (await buildRecipient(herald, { phone: '+14155550142' })).id;
    const id = await sendOne(herald, body, clientId);
    await hold.accepted;

    await takeDatabaseAway(herald);
    try {
      hold.release();
      // The worker has Twilio's answer and cannot write it.
      await waitUntil(
        'the worker to keep the outcome',
        () => herald.logs.some((l) => l.includes('could not record the provider outcome')),
        15_000,
      );

      // Meanwhile: a clear SERVICE_UNAVAILABLE, no SQL, no stack, for a query and a mutation,
      // each run several times over; the process is alive and says it is not ready. The
      // mutation's payload is non-null, so its response has data: null, a 503 with
      // Retry-After; the query's field is nullable, so its response has data ({ message:
      // null }), which GraphQL-over-HTTP makes a 200 (docs/errors.md).
      for (let run = 0; run < 3; run++) {
        for (const [query, variables, status] of [
          [GET, { id }, 200],
          [SEND, { input: { clientId, message: 'during the outage' } }, 503],
        ] as const) {
          const during = await fetch(`${herald.url}/graphql`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${herald.adminKey}` },
            body: JSON.stringify({ query, variables }),
          });
          const text = await during.text();
          expect(during.status, text).toBe(status);
          if (status === 503) expect(during.headers.get('retry-after')).toBe('5');
          const answer = JSON.parse(text);
          expect(answer.errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
          expect(answer.errors[0].message).toMatch(/database is unavailable/);
          expect(text).not.toMatch(/select|messages|pg|stack|connect/i);
        }
      }
      expect((await fetch(`${herald.url}/readyz`)).status).toBe(503);
      expect((await fetch(`${herald.url}/healthz`)).status).toBe(200);
      await pause(3_000);
    } finally {
      await bringDatabaseBack(herald);
    }

    const message = await waitForMessageStatus(getMessage(herald), id, ['SENT', 'FAILED'], { timeoutMs: 30_000 });
    expect(message.status).toBe('SENT');
    expect(message.providerMessageId).toBe(fake.messages.find((m) => m.body === body)?.sid);
    expect(message.attempts).toBe(1);
    expect(message.logs.map((l: { outcome: string }) => l.outcome)).toEqual(['SUCCESS']);
    expect(requestsFor(body)).toBe(1);
    expect(herald.logs.some((l) => l.includes('provider outcome recorded after the database came back'))).toBe(true);
    // It stays that way: nothing sends it again later (a job expiry, a sweep).
    await pause(2_000);
    expect(requestsFor(body)).toBe(1);
    expect((await fetch(`${herald.url}/readyz`)).status).toBe(200);
  }, 90_000);

  it('a trigger refuses the SENT update three times: the worker writes it on a later try, and Twilio received the message once', async () => {
    const herald = await start();
    await onDatabase(herald, async (c) => {
      await c.query('create sequence refused_sent');
      await c.query(`create function refuse_sent() returns trigger language plpgsql as $$
          begin
            if new.status = 'SENT' and nextval('refused_sent') <= 3 then raise exception 'injected: SENT refused'; end if;
            return new;
          end $$`);
      await c.query('create trigger refuse_sent before update on messages for each row execute function refuse_sent()');
    });
    const body = `sent despite a refusing trigger ${Date.now()}`;
    const id = await sendOne(herald, body);
    const message = await waitForMessageStatus(getMessage(herald), id, ['SENT', 'FAILED'], { timeoutMs: 30_000 });
    expect(message.status).toBe('SENT');
    expect(message.attempts).toBe(1);
    expect(message.logs.map((l: { outcome: string }) => l.outcome)).toEqual(['SUCCESS']);
    expect(requestsFor(body)).toBe(1);
    const refusals = herald.logs.filter((l) => l.includes('could not record the provider outcome'));
    expect(refusals).toHaveLength(1); // the first failure is logged, then every tenth
    expect(refusals[0]).toContain('injected: SENT refused');
    expect(await onDatabase(herald, async (c) => (await c.query('select last_value from refused_sent')).rows[0].last_value)).toBe('4');
  }, 60_000);
});

describe('the queue and live sends', () => {
  it('a dispatch job outlives the longest send the largest HERALD_SEND_TIMEOUT_MS allows (an X handle lookup then the DM)', async () => {
    const herald = await start();
    const queue = await herald.queue.getQueue(DISPATCH_QUEUE);
    expect(queue!.expireInSeconds! * 1000).toBeGreaterThan(longestSendMs(MAX_SEND_TIMEOUT_MS));
    // An older database's queue, made with a shorter expiry, gets it at the next start.
    await herald.queue.updateQueue(DISPATCH_QUEUE, { expireInSeconds: 120 });
    const again = await herald.restart();
    heralds.splice(heralds.indexOf(herald), 1, again);
    expect((await again.queue.getQueue(DISPATCH_QUEUE))!.expireInSeconds).toBe(queue!.expireInSeconds);
  });
});

describe('orphaned sends', () => {
  /** Leaves a message as a worker killed after its claim leaves it: SENDING, last changed long ago. */
  async function orphan(herald: TestHerald, id: string, attempts: number): Promise<void> {
    const uuid = fromGlobalId(id)!.uuid;
    await onDatabase(herald, async (c) => {
      await c.query("update messages set status = 'SENDING', attempts = $2 where id = $1", [uuid, attempts]);
      // The database stamps updated_at on every update: an hour passes with its triggers off.
      await c.query('begin');
      await c.query('set local session_replication_role = replica');
      await c.query("update messages set updated_at = now() - interval '1 hour' where id = $1", [uuid]);
      await c.query('commit');
    });
  }

  it('a message left SENDING is counted as overdue, then taken over by the sweep and sent again, with a log saying the outcome was unknown', async () => {
    // An API-only Herald: no worker, no sweep; what it accepts stays QUEUED until orphaned by hand.
    const api = await start({ HERALD_SEND_TIMEOUT_MS: '1000' }, 'api');
    const body = `orphaned ${Date.now()}`;
    const id = await sendOne(api, body);
    await orphan(api, id, 1);
    expect(await metric(api.url, 'herald_sending_overdue')).toBe(1);

    const worker = await start({ HERALD_SEND_TIMEOUT_MS: '1000' }, 'worker', api.database);
    const message = await waitForMessageStatus(getMessage(api), id, ['SENT', 'FAILED'], { timeoutMs: 45_000 });
    expect(message.status).toBe('SENT');
    expect(message.attempts).toBe(2);
    expect(message.logs.map((l: { outcome: string }) => l.outcome)).toEqual(['FAILURE', 'SUCCESS']);
    expect(message.logs[0].reason).toMatch(
      /^outcome unknown after a worker failure: attempt 1 was in flight when its worker stopped; sending again/,
    );
    expect(requestsFor(body)).toBe(1);
    expect(await metric(worker.url, 'herald_orphaned_sends_total', { outcome: 'sent_again' })).toBe(1);
    expect(await metric(api.url, 'herald_sending_overdue')).toBe(0);
  }, 90_000);

  it('an orphaned send with no attempts left ends FAILED "outcome unknown after a worker failure", and is not sent', async () => {
    const env = { HERALD_SEND_TIMEOUT_MS: '1000', HERALD_RETRY_MAX_ATTEMPTS: '2' };
    const api = await start(env, 'api');
    const body = `orphaned, attempts spent ${Date.now()}`;
    const id = await sendOne(api, body);
    await orphan(api, id, 2);

    const worker = await start(env, 'worker', api.database);
    const message = await waitForMessageStatus(getMessage(api), id, ['FAILED', 'SENT'], { timeoutMs: 45_000 });
    expect(message.status).toBe('FAILED');
    expect(message.errorCode).toBe('OUTCOME_UNKNOWN');
    expect(message.errorMessage).toBe('outcome unknown after a worker failure');
    expect(message.logs).toEqual([
      { outcome: 'FAILURE', reason: expect.stringMatching(/^outcome unknown after a worker failure: attempt 2 .* no attempts are left$/) },
    ]);
    expect(requestsFor(body)).toBe(0);
    expect(await metric(worker.url, 'herald_orphaned_sends_total', { outcome: 'failed' })).toBe(1);
  }, 90_000);
});

describe('a worker killed between its claim and its send', () => {
  const processes: HeraldProcess[] = [];
  afterAll(async () => {
    await killAll(processes);
  });

  it('kill -9 while one send is at Twilio and another waits for its send slot: after a restart both are sent, the waiting one once, the one in flight a second time, each with "outcome unknown" in its logs', async () => {
    const database = await createPostgresDatabase('a killed worker and its successor');
    const key = `test-admin-${randomBytes(16).toString('hex')}`;
    const env = {
      ...database.env,
      ...twilioEnv(),
      HERALD_BOOTSTRAP_ADMIN_KEY: key,
      HERALD_SECRET_KEY: randomBytes(32).toString('hex'),
    };
    const gql = async (url: string, query: string, variables?: Record<string, unknown>) => {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data: any; errors?: unknown };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    // The first process waits for Twilio as long as by default (10 s), so the held send
    // is still in flight at the kill; the second takes over after 2 × 1 s + 12 s.
    const first = spawnHerald(env, { name: 'first' });
    processes.push(first);
    const url = await first.ready;
    // One send a second through the Twilio gateway: of two messages claimed together, the
    // second waits in the worker, claimed (SENDING), for its slot.
    const gateway = (await gql(url, '{ gateways(channel: SMS) { id provider isDefault } }')).gateways.find(
      (g: { provider: string; isDefault: boolean }) => g.provider === 'TWILIO' && g.isDefault,
    );
    await gql(url, 'mutation($i: UpdateGatewayInput!) { updateGateway(input: $i) { userErrors { code } } }', {
      i: { id: gateway.id, maxPerSecond: 1 },
    });
    const clientId = (
      await gql(url, 'mutation($i: CreateRecipientInput!) { createRecipient(input: $i) { recipient { id } } }', {
        i: { kind: 'CLIENT', displayName: 'Killed', phone: '+14155550142' },
      })
    ).createRecipient.recipient.id;

    const hold = fake.holdNext();
    const run = randomBytes(3).toString('hex');
    const bodies = [0, 1].map((i) => `between claim and send ${run} #${i}`);
    const ids: string[] = [];
    // Due at the same moment, so the worker fetches and claims both in one batch.
    const sendAt = new Date(Date.now() + 3_000).toISOString();
    for (const body of bodies) ids.push((await gql(url, SEND, { input: { clientId, message: body, sendAt } })).sendSms.message.id);
    const inFlight = (await hold.accepted).body;
    const waiting = bodies.find((b) => b !== inFlight)!;
    const db = new pg.Client({ connectionString: database.env.DATABASE_URL });
    await db.connect();
    try {
      let statuses: unknown[] = [];
      await waitUntil(
        () => `both claimed (SENDING): ${JSON.stringify(statuses)}`,
        async () => {
          statuses = (await db.query('select body, status, updated_at from messages order by id')).rows;
          return statuses.every((r) => (r as { status: string }).status === 'SENDING');
        },
        10_000,
      );
      first.child.kill('SIGKILL');
      await first.exited;
      // At the kill, Twilio had one message (unanswered) and nothing of the other.
      expect([inFlight, waiting].map(requestsFor)).toEqual([1, 0]);

      const second = spawnHerald({ ...env, HERALD_SEND_TIMEOUT_MS: '1000' }, { name: 'second' });
      processes.push(second);
      const url2 = await second.ready;
      await waitUntil(
        () => `every message SENT${second.output()}`,
        async () => (await db.query("select count(*)::int as n from messages where status = 'SENT'")).rows[0].n === 2,
        60_000,
        250,
      );
      // The one that never reached Twilio was sent once; the one in flight twice.
      expect([inFlight, waiting].map(requestsFor)).toEqual([2, 1]);
      for (const id of ids) {
        const message = (await gql(url2, GET, { id })).message;
        expect(message.status).toBe('SENT');
        expect(message.attempts).toBe(2);
        expect(message.logs.map((l: { outcome: string }) => l.outcome)).toEqual(['FAILURE', 'SUCCESS']);
        expect(message.logs[0].reason).toMatch(
          /^outcome unknown after a worker failure: attempt 1 was in flight when its worker stopped; sending again/,
        );
      }
      expect(await metric(url2, 'herald_orphaned_sends_total', { outcome: 'sent_again' })).toBe(2);
    } finally {
      await db.end();
      hold.release();
      await killAll(processes);
      await database.drop();
    }
  }, 120_000);
});
