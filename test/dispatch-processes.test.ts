// Dispatch across real processes: `node dist/main.js` killed mid-send, stopped with SIGTERM
// mid-send, split into API and worker roles, and run as two workers on one PostgreSQL, all
// against a Twilio fake in this test process (TWILIO_API_BASE_URL). The compiled JS comes
// from test/global-setup.ts.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake, type TwilioFakeRequest } from './fakes/twilio-fake.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import {
  createPostgresDatabase,
  type HeraldProcess,
  isRunning,
  jsonLines,
  killAll,
  spawnHerald as spawnProcess,
} from './helpers/process.js';
import { pause as sleep, waitUntil } from './helpers/wait.js';
import { scrapeMetric } from './helpers/metrics.js';

const TEST_TIMEOUT_MS = 180_000;
const SMS_FROM = '+15005550006';

const running = new Set<HeraldProcess>();
const fakes: TwilioFake[] = [];
const databases: TestDatabase[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  // Whatever happened in the test, no Herald outlives it.
  await killAll(running);
  running.clear();
  await Promise.all(fakes.splice(0).map((f) => f.close().catch(() => undefined)));
  await Promise.all(databases.splice(0).map((db) => db.drop().catch(() => undefined)));
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// Databases

/** The suite's database: a PGlite directory, or a new PostgreSQL database when DATABASE_URL is set. */
async function suiteDatabase(): Promise<Record<string, string>> {
  const db = await createTestDatabase();
  databases.push(db);
  return db.env;
}

/** A fresh PostgreSQL database for the tests that run several processes on one database. */
async function postgresDatabase(): Promise<Record<string, string>> {
  const db = await createPostgresDatabase('several Herald processes');
  databases.push(db);
  return db.env;
}

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-dispatch-'));
  tempDirs.push(dir);
  return dir;
}

/** A Herald process that the afterEach kills if the test leaves it running. */
function spawnHerald(name: string, env: Record<string, string>, args: string[] = []): HeraldProcess {
  const p = spawnProcess(env, { name, args });
  running.add(p);
  return p;
}

// ---------------------------------------------------------------------------------------
// Twilio fake and Herald's environment

interface Setup {
  fake: TwilioFake;
  env: Record<string, string>;
  adminKey: string;
  /** When the fake received each request (ms since epoch). */
  receivedAt: WeakMap<TwilioFakeRequest, number>;
}

async function setup(databaseEnv: Record<string, string>, delayMs: number, extraEnv: Record<string, string> = {}): Promise<Setup> {
  const account = fakeTwilioAccount();
  const fake = await startTwilioFake({ accounts: [account], delayMs });
  fakes.push(fake);
  // The fake appends each request as it arrives and answers delayMs later; note the arrival time.
  const receivedAt = new WeakMap<TwilioFakeRequest, number>();
  const push = fake.requests.push.bind(fake.requests);
  fake.requests.push = (...items: TwilioFakeRequest[]) => {
    const now = Date.now();
    for (const item of items) receivedAt.set(item, now);
    return push(...items);
  };
  const adminKey = `test-admin-${randomBytes(16).toString('hex')}`;
  const env = {
    ...databaseEnv,
    HERALD_BOOTSTRAP_ADMIN_KEY: adminKey,
    // Every process sharing the database must read the gateway credentials with the same key.
    HERALD_SECRET_KEY: randomBytes(32).toString('hex'),
    TWILIO_ACCOUNT_SID: account.accountSid,
    TWILIO_AUTH_TOKEN: account.authToken,
    TWILIO_SMS_FROM: SMS_FROM,
    TWILIO_API_BASE_URL: fake.url,
    ...extraEnv,
  };
  return { fake, env, adminKey, receivedAt };
}

// ---------------------------------------------------------------------------------------
// GraphQL

async function gql(url: string, key: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (response.status !== 200 || body.errors?.length) throw new Error(`GraphQL ${response.status}: ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

async function createClient(url: string, key: string, phone = '+14155550123'): Promise<string> {
  const data = await gql(
    url,
    key,
    'mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } userErrors { field code message } } }',
    { input: { kind: 'CLIENT', displayName: 'Dispatch test client', phone } },
  );
  expect(data.createRecipient.userErrors).toEqual([]);
  return data.createRecipient.recipient.id;
}

async function sendSms(url: string, key: string, clientId: string, message: string): Promise<string> {
  const data = await gql(
    url,
    key,
    'mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status } userErrors { field code message } } }',
    { input: { clientId, message } },
  );
  expect(data.sendSms.userErrors).toEqual([]);
  expect(data.sendSms.message.status).toBe('QUEUED');
  return data.sendSms.message.id;
}

/** Sends every body, `parallel` requests at a time; returns body → message id. */
async function sendAll(url: string, key: string, clientId: string, bodies: string[], parallel = 8): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, bodies.length) }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++];
        ids.set(body, await sendSms(url, key, clientId, body));
      }
    }),
  );
  return ids;
}

interface MessageState {
  id: string;
  body: string;
  status: string;
  attempts: number;
  errorCode: string | null;
  errorMessage: string | null;
  providerMessageId: string | null;
}

/** Every message of the tenant, following the cursors. */
async function allMessages(url: string, key: string): Promise<MessageState[]> {
  const out: MessageState[] = [];
  let after: string | null = null;
  for (;;) {
    const data = await gql(
      url,
      key,
      'query($after: String) { messages(first: 100, after: $after) { edges { node { id body status attempts errorCode errorMessage providerMessageId } } pageInfo { hasNextPage endCursor } } }',
      { after },
    );
    out.push(...data.messages.edges.map((e: { node: MessageState }) => e.node));
    if (!data.messages.pageInfo.hasNextPage) return out;
    after = data.messages.pageInfo.endCursor;
  }
}

const FINAL = new Set(['SENT', 'FAILED']);

/**
 * Polls until every message is SENT or FAILED; returns the final states and when the last
 * SENDING message left SENDING (ms since epoch, by this poll's resolution).
 */
async function waitUntilSettled(
  url: string,
  key: string,
  expected: number,
  timeoutMs: number,
  context: () => string,
): Promise<{ messages: MessageState[]; lastSendingSeenAt: number | undefined }> {
  const deadline = Date.now() + timeoutMs;
  let lastSendingSeenAt: number | undefined;
  let messages: MessageState[];
  for (;;) {
    messages = await allMessages(url, key);
    const now = Date.now();
    if (messages.some((m) => m.status === 'SENDING')) lastSendingSeenAt = now;
    if (messages.length === expected && messages.every((m) => FINAL.has(m.status))) return { messages, lastSendingSeenAt };
    if (now > deadline) {
      const counts = countBy(messages.map((m) => m.status));
      throw new Error(
        `messages did not all end SENT or FAILED within ${timeoutMs} ms: ${JSON.stringify(counts)} of ${messages.length}${context()}`,
      );
    }
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------
// Small things

const waitFor = (what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 20) =>
  waitUntil(what, condition, timeoutMs, intervalMs);

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

/** How many Messages requests the fake received per body. */
const requestsPerBody = (fake: TwilioFake) => countBy(fake.requests.map((r) => r.form.Body ?? ''));

const bodiesFor = (tag: string, n: number) => {
  const run = randomBytes(4).toString('hex');
  return Array.from({ length: n }, (_, i) => `${tag} ${run} #${String(i + 1).padStart(3, '0')}`);
};

const outputOf = (...processes: HeraldProcess[]) =>
  processes
    .map((p) => `\n--- ${p.name} stdout ---\n${p.stdout().slice(-4000)}\n--- ${p.name} stderr ---\n${p.stderr().slice(-4000)}`)
    .join('');

// ---------------------------------------------------------------------------------------

describe('crash safety', () => {
  it(
    'kill -9 mid-send, restart on the same database: every message ends SENT or FAILED, duplicates only for sends in flight at the kill',
    async () => {
      const delayMs = 1_500;
      const { fake, env, adminKey, receivedAt } = await setup(await suiteDatabase(), delayMs);
      const bodies = bodiesFor('crash', 20);

      const first = spawnHerald('first', env);
      const url = await first.ready;
      const clientId = await createClient(url, adminKey);
      const ids = await sendAll(url, adminKey, clientId, bodies);
      expect(ids.size).toBe(20);

      // Sends are in flight: the fake holds each request delayMs before answering.
      await waitFor('the fake to receive requests', () => fake.requests.length >= 3, 60_000);
      const killedAt = Date.now();
      first.child.kill('SIGKILL');
      expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' });

      // Bodies the fake had received but not answered when the process died (answered means
      // delayMs after arrival; a request that arrives with a slower answer only widens this).
      const requestsAtKill = fake.requests.slice();
      const inFlightAtKill = new Set(requestsAtKill.filter((r) => killedAt - receivedAt.get(r)! < delayMs).map((r) => r.form.Body));
      const answeredAtKill = new Set(requestsAtKill.filter((r) => killedAt - receivedAt.get(r)! >= delayMs).map((r) => r.form.Body));
      expect(inFlightAtKill.size, 'sends in flight at the kill').toBeGreaterThan(0);

      const restartedAt = Date.now();
      const second = spawnHerald('second', env);
      const url2 = await second.ready;
      const readyAt = Date.now();
      const { messages, lastSendingSeenAt } = await waitUntilSettled(url2, adminKey, 20, 120_000, () => outputOf(first, second));
      const settledAt = Date.now();

      // Nothing stayed SENDING for more than about a minute and a half after the restart.
      const sendingUntil = (lastSendingSeenAt ?? restartedAt) - restartedAt;
      expect(sendingUntil).toBeLessThan(90_000);

      const byBody = new Map(messages.map((m) => [m.body, m]));
      expect([...byBody.keys()].sort()).toEqual([...bodies].sort());
      for (const m of messages) {
        expect(m.id).toBe(ids.get(m.body));
        if (m.status === 'FAILED') expect(m.errorMessage, `FAILED without a reason: ${JSON.stringify(m)}`).toBeTruthy();
        else expect(m.status).toBe('SENT');
      }

      const perBody = requestsPerBody(fake);
      for (const body of bodies) expect(perBody[body] ?? 0, `requests for "${body}"`).toBeGreaterThanOrEqual(1);
      const duplicated = bodies.filter((b) => (perBody[b] ?? 0) > 1);
      for (const body of duplicated) {
        expect(inFlightAtKill.has(body), `"${body}" was sent ${perBody[body]} times but was not in flight at the kill`).toBe(true);
      }
      // A SENT message carries the sid of a request the fake accepted for that very body.
      const sidBody = new Map(fake.messages.map((m) => [m.sid, m.body]));
      for (const m of messages.filter((x) => x.status === 'SENT')) expect(sidBody.get(m.providerMessageId!)).toBe(m.body);

      console.log(
        `[crash safety] ${requestsAtKill.length} requests at kill (${inFlightAtKill.size} in flight, ${answeredAtKill.size} answered); ` +
          `restart ready after ${readyAt - restartedAt} ms; SENDING last seen ${lastSendingSeenAt ? `${lastSendingSeenAt - restartedAt} ms` : 'never'} after restart; ` +
          `all settled ${settledAt - restartedAt} ms after restart; statuses ${JSON.stringify(countBy(messages.map((m) => m.status)))}; ` +
          `duplicates ${duplicated.length}`,
      );
    },
    TEST_TIMEOUT_MS,
  );
});

describe('graceful shutdown', () => {
  it(
    'SIGTERM mid-send: exits 0 within 20 s after finishing the sends in flight, which are SENT and never sent again',
    async () => {
      const delayMs = 1_500;
      // 4 at a time: some sends are in flight at SIGTERM while others wait in the queue.
      const { fake, env, adminKey, receivedAt } = await setup(await suiteDatabase(), delayMs, { HERALD_WORKER_CONCURRENCY: '4' });
      const bodies = bodiesFor('sigterm', 6);

      const first = spawnHerald('first', env);
      const url = await first.ready;
      const clientId = await createClient(url, adminKey);
      await sendAll(url, adminKey, clientId, bodies);

      await waitFor('the fake to receive requests', () => fake.requests.length >= 2, 60_000);
      const termAt = Date.now();
      first.child.kill('SIGTERM');
      const exit = await Promise.race([first.exited, sleep(30_000).then(() => 'still running' as const)]);
      const exitMs = Date.now() - termAt;
      expect(exit, outputOf(first)).toEqual({ code: 0, signal: null });
      expect(exitMs, outputOf(first)).toBeLessThan(20_000);
      const logged = jsonLines(first.stdout()).map((l) => l.msg);
      expect(logged).toContain('shutting down');
      expect(logged).toContain('stopped');

      // It stopped taking jobs: every slot was busy at SIGTERM, and no new send started while it
      // finished them (a request arriving within 500 ms of the signal was already on its way).
      const exitedAt = termAt + exitMs;
      const startedWhileStopping = fake.requests.filter((r) => receivedAt.get(r)! > termAt + 500 && receivedAt.get(r)! <= exitedAt);
      expect(startedWhileStopping.map((r) => r.form.Body)).toEqual([]);

      const inFlightAtTerm = new Set(fake.requests.filter((r) => termAt - receivedAt.get(r)! < delayMs).map((r) => r.form.Body));
      expect(inFlightAtTerm.size).toBeGreaterThan(0);
      const requestsBeforeRestart = fake.requests.length;

      const second = spawnHerald('second', env);
      const url2 = await second.ready;
      // Straight after the restart, before it could have sent anything itself (the fake
      // answers 1.5 s late): the sends in flight at SIGTERM were completed and recorded.
      const early = await allMessages(url2, adminKey);
      for (const body of inFlightAtTerm) {
        const m = early.find((x) => x.body === body);
        expect(m?.status, `message "${body}" in flight at SIGTERM`).toBe('SENT');
        expect(m?.providerMessageId).toBeTruthy();
      }

      // The rest are sent by the second process, each exactly once.
      const { messages } = await waitUntilSettled(url2, adminKey, bodies.length, 120_000, () => outputOf(first, second));
      expect(messages.map((m) => m.status)).toEqual(bodies.map(() => 'SENT'));
      const perBody = requestsPerBody(fake);
      for (const body of bodies) expect(perBody[body], `requests for "${body}"`).toBe(1);

      console.log(
        `[graceful shutdown] ${inFlightAtTerm.size} in flight at SIGTERM, exit 0 after ${exitMs} ms; ` +
          `${requestsBeforeRestart} requests by the first process, ${fake.requests.length - requestsBeforeRestart} by the second`,
      );
      // Clean up the second process the same way.
      second.child.kill('SIGTERM');
      expect(await second.exited).toEqual({ code: 0, signal: null });
    },
    TEST_TIMEOUT_MS,
  );
});

describe('roles', () => {
  it(
    '--role api never dispatches; a --role worker on the same PostgreSQL sends what it queued and serves /healthz but not /graphql',
    async () => {
      const { fake, env, adminKey } = await setup(await postgresDatabase(), 0);
      const bodies = bodiesFor('roles', 5);

      const api = spawnHerald('api', env, ['--role', 'api']);
      const apiUrl = await api.ready;
      expect(jsonLines(api.stdout()).find((l) => l.graphiql)).toMatchObject({ role: 'api', database: 'postgres' });
      const clientId = await createClient(apiUrl, adminKey);
      const ids = await sendAll(apiUrl, adminKey, clientId, bodies);

      // An API process has no worker: give it several of pg-boss's 1 s polls, and nothing moves.
      await sleep(4_000);
      const queued = await allMessages(apiUrl, adminKey);
      expect(queued.map((m) => m.status)).toEqual(bodies.map(() => 'QUEUED'));
      expect(fake.requests).toHaveLength(0);

      const worker = spawnHerald('worker', env, ['--role', 'worker']);
      const workerUrl = await worker.ready;
      expect(jsonLines(worker.stdout()).find((l) => l.graphiql)).toMatchObject({ role: 'worker', database: 'postgres' });
      expect((await fetch(`${workerUrl}/healthz`)).status).toBe(200);
      const graphql = await fetch(`${workerUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
        body: JSON.stringify({ query: '{ viewer { name } }' }),
      });
      expect(graphql.status).toBe(404);

      const { messages } = await waitUntilSettled(apiUrl, adminKey, bodies.length, 120_000, () => outputOf(api, worker));
      expect(messages.map((m) => m.status)).toEqual(bodies.map(() => 'SENT'));
      for (const m of messages) expect(m.id).toBe(ids.get(m.body));
      const perBody = requestsPerBody(fake);
      for (const body of bodies) expect(perBody[body], `requests for "${body}"`).toBe(1);
      expect(fake.requests.every((r) => r.form.From === SMS_FROM && r.form.To === '+14155550123')).toBe(true);
      // The worker did the sending.
      expect(await scrapeMetric(workerUrl, 'herald_messages_total', { status: 'SENT' })).toBe(bodies.length);
      expect(await scrapeMetric(apiUrl, 'herald_messages_total', { status: 'SENT' })).toBe(0);
      expect(isRunning(api) && isRunning(worker)).toBe(true);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    '--role nope exits 1 with a line naming --role',
    async () => {
      const herald = spawnHerald('nope', { HERALD_DATA_DIR: tempDir() }, ['--role', 'nope']);
      const { code } = await herald.exited;
      expect(code, outputOf(herald)).toBe(1);
      const lines = herald
        .stderr()
        .split('\n')
        .filter((l) => l.trim() !== '');
      expect(lines, herald.stderr()).toHaveLength(1);
      expect(lines[0]).toMatch(/^herald: configuration error: .*--role/);
      expect(lines[0]).toContain('nope');
      expect(herald.stdout()).not.toMatch(/Herald is ready|graphiql/);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('two workers and one API on one PostgreSQL', () => {
  const SENDS = 500;
  it(
    'sends 500 messages, each exactly once, with both workers taking part',
    async () => {
      const { fake, env, adminKey } = await setup(await postgresDatabase(), 20, { HERALD_WORKER_CONCURRENCY: '4' });
      const bodies = bodiesFor('pair', SENDS);

      // The API first (it migrates and bootstraps), then the two workers.
      const api = spawnHerald('api', env, ['--role', 'api']);
      const apiUrl = await api.ready;
      const workers = [spawnHerald('worker-1', env, ['--role', 'worker']), spawnHerald('worker-2', env, ['--role', 'worker'])];
      const workerUrls = await Promise.all(workers.map((w) => w.ready));

      const clientId = await createClient(apiUrl, adminKey);
      const started = Date.now();
      const ids = await sendAll(apiUrl, adminKey, clientId, bodies);
      expect(ids.size).toBe(SENDS);

      const { messages } = await waitUntilSettled(apiUrl, adminKey, SENDS, 150_000, () => outputOf(api, ...workers));
      const elapsed = Date.now() - started;
      expect(countBy(messages.map((m) => m.status))).toEqual({ SENT: SENDS });
      expect(new Set(messages.map((m) => m.id))).toEqual(new Set(ids.values()));

      const perBody = requestsPerBody(fake);
      const notOnce = bodies.filter((b) => perBody[b] !== 1).map((b) => `${b}: ${perBody[b] ?? 0}`);
      expect(notOnce).toEqual([]);
      expect(fake.requests).toHaveLength(SENDS);

      const sentBy = await Promise.all(workerUrls.map((u) => scrapeMetric(u, 'herald_messages_total', { status: 'SENT' })));
      expect(sentBy[0] + sentBy[1]).toBe(SENDS);
      expect(sentBy[0], `worker-1 sent ${sentBy[0]}, worker-2 sent ${sentBy[1]}`).toBeGreaterThan(0);
      expect(sentBy[1], `worker-1 sent ${sentBy[0]}, worker-2 sent ${sentBy[1]}`).toBeGreaterThan(0);
      expect(workers.every(isRunning) && isRunning(api)).toBe(true);
      console.log(`[two workers] ${SENDS} messages sent in ${elapsed} ms; worker-1 ${sentBy[0]}, worker-2 ${sentBy[1]}`);
    },
    TEST_TIMEOUT_MS,
  );
});
