// Faults on real PostgreSQL: a provider outage, and the database restarted under load.
// Both run on a PRIVATE PostgreSQL cluster this file creates with initdb and pg_ctl on
// its own port and socket directory, and removes afterwards: the machine's shared server
// (and DATABASE_URL) is never touched, because the second test stops and starts its
// cluster. Needs the PostgreSQL server binaries (/usr/lib/postgresql/*/bin).
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Client, createClient } from 'graphql-ws';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fakeTwilioAccount, startTwilioFake, type TwilioFake } from './fakes/twilio-fake.js';
import { ok, startTestHerald, type TestHerald } from './helpers/herald.js';
import type { TestDatabase } from './helpers/database.js';
import { type HeraldProcess, killAll, spawnHerald as spawnProcess } from './helpers/process.js';
import { pause as sleep, waitUntil } from './helpers/wait.js';

const run = promisify(execFile);
const SMS_FROM = '+15005550006';
const PHONE = '+14155550142';

// ---------------------------------------------------------------------------------------
// A private PostgreSQL cluster

/** The newest PostgreSQL server binaries installed, or an error saying what is missing. */
function postgresBin(): string {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base)
    ? fs
        .readdirSync(base)
        .filter((v) => fs.existsSync(path.join(base, v, 'bin', 'pg_ctl')) && fs.existsSync(path.join(base, v, 'bin', 'initdb')))
        .sort((x, y) => Number(y) - Number(x))
    : [];
  if (versions.length === 0)
    throw new Error(`these tests start their own PostgreSQL cluster and need initdb and pg_ctl under ${base}/*/bin`);
  return path.join(base, versions[0], 'bin');
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

class PrivateCluster {
  readonly bin = postgresBin();
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-faults-pg-'));
  readonly data = path.join(this.dir, 'data');
  readonly log = path.join(this.dir, 'postgres.log');
  port = 0;
  private created = false;

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  urlOf(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** PostgreSQL refuses to run as root: as root, every command runs as the postgres user. */
  private async pg(tool: string, args: string[]): Promise<string> {
    const command = path.join(this.bin, tool);
    const asRoot = process.getuid?.() === 0;
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
    try {
      const { stdout } = await run(file, argv, { cwd: this.dir, timeout: 120_000 });
      return stdout;
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}\n${this.tail()}`, {
        cause: err,
      });
    }
  }

  async create(): Promise<void> {
    if (process.getuid?.() === 0) {
      const { stdout } = await run('id', ['-u', 'postgres']);
      const { stdout: gid } = await run('id', ['-g', 'postgres']);
      fs.chownSync(this.dir, Number(stdout.trim()), Number(gid.trim()));
    }
    await this.pg('initdb', ['-D', this.data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    this.created = true;
    this.port = await freePort();
    await this.start();
  }

  /** Starts the cluster and waits until it accepts connections. */
  async start(): Promise<void> {
    // Durability as in production (fsync stays on): the test is about committed rows
    // surviving a restart. Only the port, socket directory and address are its own.
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c max_connections=100`;
    await this.pg('pg_ctl', ['-D', this.data, '-o', options, '-l', this.log, '-w', '-t', '60', 'start']);
  }

  /** Fast shutdown: every session is terminated, in-flight transactions roll back. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await this.pg('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '60', 'stop']);
  }

  async createDatabase(name: string): Promise<string> {
    const admin = new pg.Client({ connectionString: this.url });
    await admin.connect();
    try {
      await admin.query(`create database ${name}`);
    } finally {
      await admin.end();
    }
    return this.urlOf(name);
  }

  tail(): string {
    try {
      return `--- postgres log ---\n${fs.readFileSync(this.log, 'utf8').slice(-3000)}`;
    } catch {
      return '';
    }
  }

  /** destroy() for an exit handler, where nothing asynchronous runs any more. */
  destroySync(): void {
    if (!fs.existsSync(this.dir)) return;
    if (fs.existsSync(path.join(this.data, 'postmaster.pid'))) {
      const args = ['-D', this.data, '-m', 'immediate', '-w', 'stop'];
      const command = path.join(this.bin, 'pg_ctl');
      if (process.getuid?.() === 0) spawnSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'ignore', timeout: 30_000 });
      else spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 });
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Stops the cluster if it runs and deletes its directory; never throws. */
  async destroy(): Promise<void> {
    if (this.created && fs.existsSync(path.join(this.data, 'postmaster.pid'))) {
      await this.stop('immediate').catch(() => undefined);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

let cluster: PrivateCluster;
beforeAll(async () => {
  cluster = new PrivateCluster();
  // Should this worker die before afterAll (a timeout, a signal), its cluster still goes.
  process.once('exit', () => cluster.destroySync());
  await cluster.create();
}, 180_000);
afterAll(async () => {
  await cluster?.destroy();
}, 120_000);

// ---------------------------------------------------------------------------------------
// Small things

const waitFor = (what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 100) =>
  waitUntil(what, condition, timeoutMs, intervalMs);

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

const bodiesFor = (tag: string, n: number) => {
  const runId = randomBytes(4).toString('hex');
  return Array.from({ length: n }, (_, i) => `${tag} ${runId} #${String(i + 1).padStart(4, '0')}`);
};

/** An API message id (msg_<32 hex>) as the database uuid. */
const uuidOf = (id: string) => {
  const h = id.replace(/^msg_/, '');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
};

async function twilioSetup(): Promise<{ fake: TwilioFake; env: Record<string, string> }> {
  const account = fakeTwilioAccount();
  const fake = await startTwilioFake({ accounts: [account] });
  fakes.push(fake);
  return {
    fake,
    env: {
      TWILIO_ACCOUNT_SID: account.accountSid,
      TWILIO_AUTH_TOKEN: account.authToken,
      TWILIO_SMS_FROM: SMS_FROM,
      TWILIO_API_BASE_URL: fake.url,
    },
  };
}

const fakes: TwilioFake[] = [];
const heralds: TestHerald[] = [];
const processes: HeraldProcess[] = [];
const wsClients: Client[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  for (const client of wsClients.splice(0)) await client.dispose();
  await killAll(processes.splice(0));
  for (const herald of heralds.splice(0)) await herald.stop().catch(() => undefined);
  await Promise.all(fakes.splice(0).map((f) => f.close().catch(() => undefined)));
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-faults-'));
  tempDirs.push(dir);
  return dir;
}

/** A fresh database in the private cluster, as the test helpers' TestDatabase. */
async function clusterDatabase(): Promise<TestDatabase> {
  const name = `herald_faults_${randomBytes(6).toString('hex')}`;
  const url = await cluster.createDatabase(name);
  const dataDir = tempDir();
  return {
    env: { HERALD_DATA_DIR: dataDir, DATABASE_URL: url },
    dataDir,
    async drop() {
      const admin = new pg.Client({ connectionString: cluster.url });
      await admin.connect();
      await admin.query(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

// ---------------------------------------------------------------------------------------

describe('provider outage', () => {
  it('Twilio answers 503 to everything for 10 s, then comes back: every message sent meanwhile ends SENT, each accepted by Twilio exactly once', async () => {
    const { fake, env } = await twilioSetup();
    const herald = await startTestHerald({
      database: await clusterDatabase(),
      env: { ...env, HERALD_RETRY_BASE_MS: '200', HERALD_RETRY_MAX_DELAY_MS: '2000', LOG_LEVEL: 'info' },
    });
    heralds.push(herald);
    const recipient = ok(
      await herald.gql(
        'mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } userErrors { code } } }',
        { input: { kind: 'CLIENT', displayName: 'Outage client', phone: PHONE } },
      ),
    ).createRecipient.recipient;

    // Down: every Messages request gets 503 Service Unavailable (Twilio's 20503).
    fake.failNext(1_000_000, { status: 503, code: 20503, message: 'Service Unavailable' });
    const downAt = Date.now();
    const bodies = bodiesFor('outage', 20);
    const ids = new Map<string, string>();
    // Spread over the first half of the outage: early sends retry many times, late ones few.
    for (const body of bodies) {
      const sent = ok(
        await herald.gql(
          'mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status } userErrors { code message } } }',
          {
            input: { clientId: recipient.id, message: body },
          },
        ),
      ).sendSms;
      expect(sent.userErrors).toEqual([]);
      expect(sent.message.status).toBe('QUEUED');
      ids.set(body, sent.message.id);
      await sleep(200);
    }
    await sleep(Math.max(0, downAt + 10_000 - Date.now()));

    // Back up. What it answered while down: 503 to every send, and accepted nothing.
    const duringOutage = fake.requests.slice();
    expect(fake.messages).toEqual([]);
    fake.reset();
    const upAt = Date.now();
    expect(new Set(duringOutage.map((r) => r.form.Body))).toEqual(new Set(bodies));
    expect(duringOutage.length, 'each message was tried more than once during the outage').toBeGreaterThan(2 * bodies.length);

    const messagesQuery = `query($after: String) { messages(first: 100, after: $after) {
        edges { node { id body status attempts providerMessageId errorCode logs { outcome reason } } } pageInfo { hasNextPage endCursor } } }`;
    let messages: any[] = [];
    await waitFor(
      'every message to end SENT or FAILED',
      async () => {
        messages = ok(await herald.gql(messagesQuery)).messages.edges.map((e: any) => e.node);
        return messages.length === bodies.length && messages.every((m) => m.status === 'SENT' || m.status === 'FAILED');
      },
      30_000,
      250,
    );
    const settledMs = Date.now() - upAt;

    expect(countBy(messages.map((m) => m.status))).toEqual({ SENT: bodies.length });
    const sidBody = new Map(fake.messages.map((m) => [m.sid, m.body]));
    for (const m of messages) {
      expect(m.id).toBe(ids.get(m.body));
      expect(sidBody.get(m.providerMessageId), `providerMessageId of "${m.body}"`).toBe(m.body);
      expect(m.attempts, `attempts of "${m.body}"`).toBeGreaterThanOrEqual(2);
      const outcomes = m.logs.map((l: any) => l.outcome);
      expect(outcomes.at(-1)).toBe('SUCCESS');
      expect(outcomes.filter((o: string) => o === 'SUCCESS')).toHaveLength(1);
      expect(outcomes.length).toBe(m.attempts);
      for (const log of m.logs.filter((l: any) => l.outcome === 'FAILURE')) expect(log.reason).toMatch(/503|unavailable/i);
    }
    // Exactly once each at Twilio, and nothing more than the 20 after the outage.
    expect(countBy(fake.messages.map((m) => m.body))).toEqual(Object.fromEntries(bodies.map((b) => [b, 1])));
    expect(fake.requests).toHaveLength(bodies.length);
    // The policy in use waits at most 2 s (+20 % jitter) between attempts.
    expect(settledMs).toBeLessThan(20_000);
    console.log(
      `[provider outage] ${bodies.length} messages, ${duringOutage.length} requests answered 503 in 10 s; ` +
        `all SENT ${settledMs} ms after Twilio came back; attempts ${JSON.stringify(countBy(messages.map((m) => String(m.attempts))))}`,
    );
  }, 120_000);
});

// ---------------------------------------------------------------------------------------

interface Attempt {
  body: string;
  startedAt: number;
  endedAt: number;
  outcome: 'accepted' | 'refused' | 'timeout' | 'unclear';
  /** HTTP status, when one came. */
  status?: number;
  id?: string;
  detail?: string;
}

const CLIENT_TIMEOUT_MS = 15_000;

/** One sendSms with a bounded wait, classified: accepted (an id, no errors), refused (a clear error), timeout, unclear. */
async function trySend(url: string, key: string, clientId: string, body: string): Promise<Attempt> {
  const startedAt = Date.now();
  const done = (a: Omit<Attempt, 'body' | 'startedAt' | 'endedAt'>): Attempt => ({ body, startedAt, endedAt: Date.now(), ...a });
  let response: Response;
  try {
    response = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({
        query: 'mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id status } userErrors { code message } } }',
        variables: { input: { clientId, message: body } },
      }),
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
  } catch (err) {
    const e = err as Error;
    return done({
      outcome: e.name === 'TimeoutError' || e.name === 'AbortError' ? 'timeout' : 'unclear',
      detail: `${e.name}: ${e.message}`,
    });
  }
  let text = '';
  try {
    text = await response.text();
    const json = JSON.parse(text) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] };
    const id = json.data?.sendSms?.message?.id;
    if (response.status === 200 && id && !json.errors?.length && json.data.sendSms.userErrors.length === 0) {
      return done({ outcome: 'accepted', status: 200, id });
    }
    const clear = response.status === 503 || (json.errors?.length ?? 0) > 0;
    return done({ outcome: clear ? 'refused' : 'unclear', status: response.status, detail: text.slice(0, 300) });
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return done({ outcome: 'timeout', status: response.status });
    // A 503 without a JSON body still says "not now" clearly.
    return done({ outcome: response.status === 503 ? 'refused' : 'unclear', status: response.status, detail: text.slice(0, 300) });
  }
}

/** A Herald process that the afterEach kills if the test leaves it running. */
function spawnHerald(env: Record<string, string>): HeraldProcess {
  const herald = spawnProcess(env);
  processes.push(herald);
  return herald;
}

async function gql(url: string, key: string, query: string, variables?: Record<string, unknown>): Promise<any> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
  });
  const body = (await response.json()) as { data?: any; errors?: unknown[] };
  if (response.status !== 200 || body.errors?.length) throw new Error(`GraphQL ${response.status}: ${JSON.stringify(body.errors ?? body)}`);
  return body.data;
}

describe('PostgreSQL restarted under load', () => {
  it('a fast restart of the database mid-load: /readyz 503 while it is down and 200 after, the same process recovers, every accepted sendSms ends SENT once, requests meanwhile get a 503', async () => {
    const { fake, env: twilioEnv } = await twilioSetup();
    // Twilio answers 300 ms late: sends are in flight, and a backlog waits, when the database goes.
    fake.delayMs = 300;
    const name = `herald_faults_${randomBytes(6).toString('hex')}`;
    const databaseUrl = await cluster.createDatabase(name);
    const adminKey = `test-admin-${randomBytes(16).toString('hex')}`;
    const herald = spawnHerald({
      ...twilioEnv,
      DATABASE_URL: databaseUrl,
      HERALD_DATA_DIR: tempDir(),
      HERALD_BOOTSTRAP_ADMIN_KEY: adminKey,
      HERALD_SECRET_KEY: randomBytes(32).toString('hex'),
      HERALD_RETRY_BASE_MS: '200',
      HERALD_RETRY_MAX_DELAY_MS: '2000',
    });
    const url = await herald.ready;
    const pid = herald.child.pid;
    const clientId = (
      await gql(
        url,
        adminKey,
        'mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } userErrors { code } } }',
        {
          input: { kind: 'CLIENT', displayName: 'Restart client', phone: PHONE },
        },
      )
    ).createRecipient.recipient.id as string;

    // /readyz, polled throughout with a bounded wait.
    const readiness: { at: number; status: number | 'timeout' | 'error' }[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const at = Date.now();
        try {
          const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(10_000) });
          await response.arrayBuffer();
          readiness.push({ at, status: response.status });
        } catch (err) {
          readiness.push({ at, status: (err as Error).name === 'TimeoutError' ? 'timeout' : 'error' });
        }
        await sleep(200);
      }
    })();

    // Load: three senders, each sending one message after another.
    const attempts: Attempt[] = [];
    const bodies = bodiesFor('restart', 100_000)[Symbol.iterator]();
    let loading = true;
    const senders = Array.from({ length: 3 }, async () => {
      while (loading) {
        attempts.push(await trySend(url, adminKey, clientId, bodies.next().value!));
        await sleep(30);
      }
    });
    const accepted = () => attempts.filter((a) => a.outcome === 'accepted');

    await waitFor('sends accepted before the restart', () => accepted().length >= 30, 60_000);
    expect(readiness.some((r) => r.status === 200)).toBe(true);

    // Restart: fast shutdown (sessions terminated, open transactions rolled back), 3 s down, start.
    const stoppingAt = Date.now();
    await cluster.stop('fast');
    const downAt = Date.now();
    await sleep(3_000);
    const startingAt = Date.now();
    await cluster.start();
    const upAt = Date.now();

    await waitFor('/readyz to answer 200 again', () => readiness.some((r) => r.at > upAt && r.status === 200), 60_000).catch((err) => {
      const after = countBy(readiness.filter((r) => r.at > upAt).map((r) => String(r.status)));
      throw new Error(`${(err as Error).message}: /readyz answers since the start ${JSON.stringify(after)}${herald.output()}`);
    });
    const readyAgainAt = readiness.find((r) => r.at > upAt && r.status === 200)!.at;
    await waitFor('sends accepted after the restart', () => accepted().filter((a) => a.startedAt > readyAgainAt).length >= 30, 60_000);
    loading = false;
    await Promise.all(senders);
    polling = false;
    await poller;

    // The same process all along.
    expect(herald.child.exitCode, herald.output()).toBeNull();
    expect(herald.child.pid).toBe(pid);

    // /readyz: 503 while the database was down, never a hang.
    const whileDown = readiness.filter((r) => r.at >= downAt && r.at + 1_000 < startingAt);
    expect(whileDown.length).toBeGreaterThan(0);
    expect(new Set(whileDown.map((r) => r.status))).toEqual(new Set([503]));
    expect(readiness.filter((r) => r.status === 'timeout' || r.status === 'error')).toEqual([]);

    // Every request got an answer in time, and each answer was clear.
    expect(attempts.filter((a) => a.outcome === 'timeout' || a.outcome === 'unclear')).toEqual([]);
    const duringOutage = attempts.filter((a) => a.startedAt >= downAt && a.endedAt < startingAt);
    expect(duringOutage.length, 'requests made while the database was down').toBeGreaterThan(0);
    expect(duringOutage.filter((a) => a.outcome !== 'refused')).toEqual([]);
    // Refused clearly: HTTP 503, SERVICE_UNAVAILABLE, come back in a few seconds.
    expect(
      attempts
        .filter((a) => a.outcome === 'refused' && (a.status !== 503 || !a.detail?.includes('"SERVICE_UNAVAILABLE"')))
        .map((a) => `${a.status} ${a.detail}`),
    ).toEqual([]);
    expect(Math.max(...duringOutage.map((a) => a.endedAt - a.startedAt))).toBeLessThan(CLIENT_TIMEOUT_MS);

    // No accepted message lost: each ends SENT, with Twilio having accepted its body.
    const acceptedIds = new Map(accepted().map((a) => [uuidOf(a.id!), a]));
    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    let rows: { id: string; body: string; status: string }[] = [];
    try {
      await waitFor(
        'every accepted message to end SENT or FAILED',
        async () => {
          rows = (await db.query('select id, body, status from messages')).rows;
          const byId = new Map(rows.map((r) => [r.id, r]));
          return [...acceptedIds.keys()].every((id) => ['SENT', 'FAILED'].includes(byId.get(id)?.status ?? ''));
        },
        150_000,
        500,
      ).catch((err) => {
        const byId = new Map(rows.map((r) => [r.id, r]));
        const counts = countBy([...acceptedIds.keys()].map((id) => byId.get(id)?.status ?? 'MISSING'));
        throw new Error(`${(err as Error).message}: accepted messages by status ${JSON.stringify(counts)}${herald.output()}`);
      });
    } finally {
      await db.end();
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    const notSent = [...acceptedIds.entries()]
      .filter(([id]) => byId.get(id)?.status !== 'SENT')
      .map(([id, a]) => `${a.body}: ${byId.get(id)?.status ?? 'MISSING'}`);
    expect(notSent).toEqual([]);
    const sentBodies = countBy(fake.messages.map((m) => m.body));
    // Once each: a send in flight when the database went away is recorded when it is back, never sent again.
    const duplicated = accepted().filter((a) => sentBodies[a.body] !== 1);
    expect(duplicated.map((a) => `${a.body}: ${sentBodies[a.body] ?? 0}`)).toEqual([]);
    // The API reads them back too (not just the database).
    const last = accepted().at(-1)!;
    expect((await gql(url, adminKey, 'query($id: ID!) { message(id: $id) { status } }', { id: last.id })).message.status).toBe('SENT');

    // Status events flow again: the LISTEN connection came back with the database.
    const watched = (
      await gql(url, adminKey, 'mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id } } }', {
        input: { kind: 'CLIENT', displayName: 'Watched after restart', phone: '+14155550143' },
      })
    ).createRecipient.recipient.id as string;
    const events: { id: string; status: string }[] = [];
    const errors: unknown[] = [];
    const client = createClient({
      url: `${url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${adminKey}` },
      retryAttempts: 0,
    });
    wsClients.push(client);
    client.subscribe<{ messageStatusChanged: { id: string; status: string } }>(
      { query: 'subscription($r: ID) { messageStatusChanged(recipientId: $r) { id status } }', variables: { r: watched } },
      {
        next: (r) => (r.data ? events.push(r.data.messageStatusChanged) : errors.push(r.errors)),
        error: (e) => errors.push(e),
        complete: () => undefined,
      },
    );
    // The subscription becomes live a moment after subscribe(): send until an event arrives.
    const watchedIds: string[] = [];
    await waitFor(
      'a status event after the restart',
      async () => {
        if (events.some((e) => e.status === 'SENT' && watchedIds.includes(e.id))) return true;
        const sent = await gql(url, adminKey, 'mutation($input: SendSmsInput!) { sendSms(input: $input) { message { id } } }', {
          input: { clientId: watched, message: `watched ${watchedIds.length}` },
        });
        watchedIds.push(sent.sendSms.message.id);
        await sleep(1_500);
        return events.some((e) => e.status === 'SENT' && watchedIds.includes(e.id));
      },
      30_000,
      0,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}; events ${JSON.stringify(events)}, errors ${JSON.stringify(errors)}${herald.output()}`);
    });
    expect(errors).toEqual([]);

    const extra = rows.filter((r) => !acceptedIds.has(r.id));
    const refusedCodes = countBy(
      attempts
        .filter((a) => a.outcome === 'refused')
        .map((a) => `${a.status} ${/"code":"([A-Z_]+)"/.exec(a.detail ?? '')?.[1] ?? ''}`.trim()),
    );
    console.log(
      `[postgres restart] stop took ${downAt - stoppingAt} ms, down ${startingAt - downAt} ms, start took ${upAt - startingAt} ms, ` +
        `/readyz 200 again ${readyAgainAt - upAt} ms after start; ${attempts.length} sendSms: ${accepted().length} accepted, ` +
        `${attempts.length - accepted().length} refused (HTTP status and code: ${JSON.stringify(refusedCodes)}), ${duringOutage.length} while down; ` +
        `stored but not acknowledged: ${extra.length}; Twilio duplicates: ${duplicated.length}`,
    );
  }, 360_000);
});
