// Exactly once through database faults (docs/reliability.md): once Twilio has accepted a
// message, a database that refuses connections or a SENT update that fails never makes
// Herald send it again; and a send orphaned by a dead worker is found by the sweep. The
// faults are real: the test database stops accepting connections (ALTER DATABASE …
// ALLOW_CONNECTIONS false and its sessions terminated), a trigger refuses the SENT update,
// a row is left SENDING as a killed worker leaves it. PostgreSQL only: PGlite is one
// process's embedded database, which cannot be taken away from under it.
import pg from 'pg';
import { MAX_SEND_TIMEOUT_MS } from '../src/config.js';
import { longestSendMs } from '../src/dispatch/dispatcher.js';
import { DISPATCH_QUEUE } from '../src/dispatch/queue.js';
import { fromGlobalId } from '../src/lib/ids.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake } from './fakes/twilio-fake.js';
import { buildRecipient } from './helpers/factories.js';
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

async function start(env: Record<string, string> = {}): Promise<TestHerald> {
  const herald = await startTestHerald({ env: { ...twilioEnv(), ...env } });
  heralds.push(herald);
  return herald;
}

/** A connection to the server's maintenance database, to act on the test database from outside. */
async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
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

describe.runIf(process.env.DATABASE_URL)('a database fault after the provider accepted', () => {
  it(
    'the database refuses connections while Twilio holds the send: /graphql answers 503 meanwhile, and after it is back the message is SENT with one request to Twilio',
    async () => {
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
        await waitUntil('the worker to keep the outcome', () => herald.logs.some((l) => l.includes('could not record the provider outcome')), 15_000);

        // Meanwhile: a clear 503, no SQL, no stack, for a query and a mutation, each run
        // often enough to be compiled (HERALD_GRAPHQL_JIT); the process is alive and says
        // it is not ready.
        for (let run = 0; run < 3; run++) {
          for (const [query, variables] of [
            [GET, { id }],
            [SEND, { input: { clientId, message: 'during the outage' } }],
          ] as const) {
            const during = await fetch(`${herald.url}/graphql`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${herald.adminKey}` },
              body: JSON.stringify({ query, variables }),
            });
            const text = await during.text();
            expect(during.status, text).toBe(503);
            expect(during.headers.get('retry-after')).toBe('5');
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
    },
    90_000,
  );

  it(
    'a trigger refuses the SENT update three times: the worker writes it on a later try, and Twilio received the message once',
    async () => {
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
      expect(await onDatabase(herald, async (c) => (await c.query("select last_value from refused_sent")).rows[0].last_value)).toBe('4');
    },
    60_000,
  );
});

describe('the queue and live sends', () => {
  it('a dispatch job outlives the longest send the largest HERALD_SEND_TIMEOUT_MS allows (an X handle lookup then the DM)', async () => {
    const herald = await start();
    const queue = await herald.queue!.getQueue(DISPATCH_QUEUE);
    expect(queue!.expireInSeconds! * 1000).toBeGreaterThan(longestSendMs(MAX_SEND_TIMEOUT_MS));
    // An older database's queue, made with a shorter expiry, gets it at the next start.
    await herald.queue!.updateQueue(DISPATCH_QUEUE, { expireInSeconds: 120 });
    const again = await herald.restart();
    heralds.splice(heralds.indexOf(herald), 1, again);
    expect((await again.queue!.getQueue(DISPATCH_QUEUE))!.expireInSeconds).toBe(queue!.expireInSeconds);
  });
});

describe.runIf(process.env.DATABASE_URL)('orphaned sends', () => {
  /** Leaves a message as a worker killed after its claim leaves it: SENDING, last changed long ago. */
  async function orphan(herald: TestHerald, id: string, attempts: number): Promise<void> {
    const uuid = fromGlobalId(id)!.uuid;
    await onDatabase(herald, (c) =>
      c.query("update messages set status = 'SENDING', attempts = $2, updated_at = now() - interval '1 hour' where id = $1", [uuid, attempts]),
    );
  }

  it(
    'a message left SENDING is counted as overdue, then taken over by the sweep and sent again, with a log saying the outcome was unknown',
    async () => {
      // An API-only Herald: no worker, no sweep; what it accepts stays QUEUED until orphaned by hand.
      const api = await startTestHerald({ env: { ...twilioEnv(), HERALD_SEND_TIMEOUT_MS: '1000' }, role: 'api' });
      heralds.push(api);
      const body = `orphaned ${Date.now()}`;
      const id = await sendOne(api, body);
      await orphan(api, id, 1);
      expect(await metric(api.url, 'herald_sending_overdue')).toBe(1);

      const worker = await startTestHerald({ env: { ...twilioEnv(), HERALD_SEND_TIMEOUT_MS: '1000' }, database: api.database, role: 'worker' });
      heralds.push(worker);
      const message = await waitForMessageStatus(getMessage(api), id, ['SENT', 'FAILED'], { timeoutMs: 45_000 });
      expect(message.status).toBe('SENT');
      expect(message.attempts).toBe(2);
      expect(message.logs.map((l: { outcome: string }) => l.outcome)).toEqual(['FAILURE', 'SUCCESS']);
      expect(message.logs[0].reason).toMatch(/^outcome unknown after a worker failure: attempt 1 was in flight when its worker stopped; sending again/);
      expect(requestsFor(body)).toBe(1);
      expect(await metric(worker.url, 'herald_orphaned_sends_total', { outcome: 'sent_again' })).toBe(1);
      expect(await metric(api.url, 'herald_sending_overdue')).toBe(0);
    },
    90_000,
  );

  it(
    'an orphaned send with no attempts left ends FAILED "outcome unknown after a worker failure", and is not sent',
    async () => {
      const env = { ...twilioEnv(), HERALD_SEND_TIMEOUT_MS: '1000', HERALD_RETRY_MAX_ATTEMPTS: '2' };
      const api = await startTestHerald({ env, role: 'api' });
      heralds.push(api);
      const body = `orphaned, attempts spent ${Date.now()}`;
      const id = await sendOne(api, body);
      await orphan(api, id, 2);

      const worker = await startTestHerald({ env, database: api.database, role: 'worker' });
      heralds.push(worker);
      const message = await waitForMessageStatus(getMessage(api), id, ['FAILED', 'SENT'], { timeoutMs: 45_000 });
      expect(message.status).toBe('FAILED');
      expect(message.errorCode).toBe('OUTCOME_UNKNOWN');
      expect(message.errorMessage).toBe('outcome unknown after a worker failure');
      expect(message.logs).toEqual([{ outcome: 'FAILURE', reason: expect.stringMatching(/^outcome unknown after a worker failure: attempt 2 .* no attempts are left$/) }]);
      expect(requestsFor(body)).toBe(0);
      expect(await metric(worker.url, 'herald_orphaned_sends_total', { outcome: 'failed' })).toBe(1);
    },
    90_000,
  );
});
