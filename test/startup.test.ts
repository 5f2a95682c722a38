// Herald as an operator runs it: `node dist/main.js` with an environment, on a fresh
// database per test. The compiled JS comes from test/global-setup.ts.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { startTestHerald } from './helpers/herald.js';
import { pause, waitUntil } from './helpers/wait.js';
import { type HeraldProcess, jsonLines, killAll, START_TIMEOUT_MS, spawnHerald as spawnProcess } from './helpers/process.js';

const TEST_TIMEOUT_MS = 240_000;
const KEY_PATTERN = /hrld_[A-Za-z0-9_-]{20,}/g;

const running = new Set<HeraldProcess>();
const databases: TestDatabase[] = [];
const tempDirs: string[] = [];

afterEach(async () => {
  // Whatever happened in the test, no Herald outlives it.
  await killAll(running);
  running.clear();
  await Promise.all(databases.splice(0).map((db) => db.drop().catch(() => undefined)));
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh database: a PGlite directory, or a new PostgreSQL database when DATABASE_URL is set. */
async function freshDatabase(): Promise<Record<string, string>> {
  const db = await createTestDatabase();
  databases.push(db);
  return db.env;
}

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-startup-'));
  tempDirs.push(dir);
  return dir;
}

/** A Herald process that the afterEach kills if the test leaves it running. */
function spawnHerald(env: Record<string, string>): HeraldProcess {
  const p = spawnProcess(env);
  running.add(p);
  return p;
}

async function gql(url: string, key: string, query: string, variables?: Record<string, unknown>) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as { data?: any; errors?: any[] }) };
}

async function viewerName(url: string, key: string): Promise<string | undefined> {
  const result = await gql(url, key, '{ viewer { name } }');
  return result.data?.viewer?.name;
}

const keysIn = (text: string) => [...new Set(text.match(KEY_PATTERN) ?? [])];

describe('first start and restart', () => {
  it(
    'writes a generated ADMIN key once to a 0600 file when stdout is not a terminal, keeps it and the data across a SIGTERM restart',
    async () => {
      const dataDir = tempDir();
      const env = { ...(await freshDatabase()), HERALD_DATA_DIR: dataDir };
      const keyFile = path.join(dataDir, 'first-admin-key');

      const first = spawnHerald(env);
      const url = await first.ready;
      const readyLine = jsonLines(first.stdout()).find((l) => l.graphiql);
      expect(readyLine).toMatchObject({ role: 'all', database: process.env.DATABASE_URL ? 'postgres' : 'pglite' });
      // Output collected by a pipe may end up in log storage: the key is in a file only its
      // owner reads, and one log line says where.
      const key = fs.readFileSync(keyFile, 'utf8').trim();
      expect(key).toMatch(/^hrld_[A-Za-z0-9_-]{20,}$/);
      expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
      const pointers = jsonLines(first.stdout()).filter((l) => l.file === keyFile);
      expect(pointers, first.stdout()).toHaveLength(1);
      expect(pointers[0].msg).toContain(keyFile);
      expect(keysIn(first.stdout() + first.stderr()), first.stdout()).toEqual([]);

      expect(await viewerName(url, key)).toBe('default');
      const created = await gql(
        url,
        key,
        'mutation($input: CreateRecipientInput!) { createRecipient(input: $input) { recipient { id displayName } userErrors { code } } }',
        { input: { kind: 'STAFF', displayName: 'Survives restart', email: 'survivor@example.com' } },
      );
      expect(created.errors).toBeUndefined();
      expect(created.data.createRecipient.userErrors).toEqual([]);
      const recipientId: string = created.data.createRecipient.recipient.id;

      expect(await first.stop()).toEqual({ code: 0, signal: null });
      expect(jsonLines(first.stdout()).map((l) => l.msg)).toContain('stopped');

      fs.rmSync(keyFile);
      const second = spawnHerald(env);
      const url2 = await second.ready;
      expect(keysIn(second.stdout()), second.stdout()).toEqual([]);
      expect(second.stdout()).not.toMatch(/created the first ADMIN/);
      expect(fs.existsSync(keyFile)).toBe(false);
      expect(await viewerName(url2, key)).toBe('default');
      const fetched = await gql(url2, key, 'query($id: ID!) { recipient(id: $id) { id displayName email } }', { id: recipientId });
      expect(fetched.data).toEqual({ recipient: { id: recipientId, displayName: 'Survives restart', email: 'survivor@example.com' } });

      expect(await second.stop()).toEqual({ code: 0, signal: null });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'vacuums messages, delivery_logs and the job table itself on PGlite (which runs no autovacuum), every HERALD_PGLITE_VACUUM_SECONDS; never on PostgreSQL',
    async () => {
      const herald = await startTestHerald({ env: { HERALD_PGLITE_VACUUM_SECONDS: '1' } });
      try {
        const lastVacuums = async () =>
          (
            await herald.handle.prepared<{ relname: string; last_vacuum: Date | null; last_analyze: Date | null }>(
              'test_last_vacuum',
              `select relname, last_vacuum, last_analyze from pg_stat_user_tables where (schemaname, relname) in (('public', 'messages'), ('public', 'delivery_logs'), ('pgboss', 'job_common'))`,
              [],
            )
          ).sort((a, b) => a.relname.localeCompare(b.relname));
        if (herald.handle.kind === 'pglite') {
          await waitUntil(
            'a vacuum of every rewritten table',
            async () => (await lastVacuums()).filter((t) => t.last_vacuum && t.last_analyze).length === 3,
            20_000,
          );
          const first = await lastVacuums();
          await waitUntil(
            'a second round',
            async () => (await lastVacuums())[0].last_vacuum!.getTime() > first[0].last_vacuum!.getTime(),
            20_000,
          );
        } else {
          await pause(2_500);
          expect((await lastVacuums()).map((t) => t.last_vacuum)).toEqual([null, null, null]);
        }
        expect(await lastVacuums()).toHaveLength(3);
      } finally {
        await herald.stop();
      }
    },
    TEST_TIMEOUT_MS,
  );
});

describe('HERALD_BOOTSTRAP_ADMIN_KEY', () => {
  it(
    'makes exactly that key work, prints no generated key, and is idempotent across starts',
    async () => {
      const env = await freshDatabase();
      const bootstrapKey = `boot-${randomBytes(20).toString('hex')}`;
      expect(bootstrapKey.length).toBeGreaterThanOrEqual(32);

      for (let start = 1; start <= 2; start++) {
        const herald = spawnHerald({ ...env, HERALD_BOOTSTRAP_ADMIN_KEY: bootstrapKey });
        const url = await herald.ready;
        expect(keysIn(herald.stdout()), `start ${start}: ${herald.stdout()}`).toEqual([]);
        expect(herald.stdout()).not.toMatch(/created the first ADMIN/);
        expect(herald.stdout() + herald.stderr()).not.toContain(bootstrapKey);
        expect(await viewerName(url, bootstrapKey)).toBe('default');
        // Only that exact secret: a near miss is refused.
        const wrong = await gql(url, `${bootstrapKey}x`, '{ viewer { name } }');
        expect(wrong.data?.viewer).toBeFalsy();
        expect(wrong.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
        expect(await herald.stop()).toEqual({ code: 0, signal: null });
      }
    },
    TEST_TIMEOUT_MS,
  );
});

describe('configuration errors', () => {
  it.each([
    ['TWILIO_ACCOUNT_SID without TWILIO_AUTH_TOKEN', { TWILIO_ACCOUNT_SID: `AC${'0123456789abcdef'.repeat(2)}` }, 'TWILIO_AUTH_TOKEN'],
    [
      'TWILIO_ACCOUNT_SID and TWILIO_SMS_FROM without TWILIO_AUTH_TOKEN',
      { TWILIO_ACCOUNT_SID: `AC${'0123456789abcdef'.repeat(2)}`, TWILIO_SMS_FROM: '+15005550006' },
      'TWILIO_AUTH_TOKEN',
    ],
    ['PORT=abc', { PORT: 'abc' }, 'PORT'],
    ['DATABASE_URL=not-a-url', { DATABASE_URL: 'not-a-url' }, 'DATABASE_URL'],
    ['TWILIO_API_BASE_URL=ftp://x', { TWILIO_API_BASE_URL: 'ftp://x' }, 'TWILIO_API_BASE_URL'],
    ['HERALD_STATEMENT_TIMEOUT_MS=5s', { HERALD_STATEMENT_TIMEOUT_MS: '5s' }, 'HERALD_STATEMENT_TIMEOUT_MS'],
  ])(
    '%s stops the start with exit code 1 and a line naming the variable',
    async (_name, bad, variable) => {
      const herald = spawnHerald({ HERALD_DATA_DIR: tempDir(), ...bad });
      const { code } = await herald.exited;
      const stdout = herald.stdout();
      const stderr = herald.stderr();
      expect(code, `stdout:\n${stdout}\nstderr:\n${stderr}`).toBe(1);
      const lines = stderr.split('\n').filter((l) => l.trim() !== '');
      expect(lines, stderr).toHaveLength(1);
      expect(lines.some((l) => l.includes(variable))).toBe(true);
      // Clear lines, not a stack trace.
      for (const line of lines) expect(line).toMatch(/^herald: configuration error: /);
      // It never got as far as listening.
      expect(stdout).not.toMatch(/Server listening|Herald is ready|graphiql/);
      await expect(herald.ready).rejects.toThrow(/exited/);
    },
    TEST_TIMEOUT_MS,
  );
});

describe('readiness', () => {
  it(
    '/readyz answers 200 (and /healthz 200) once Herald is ready, and only 200 or 503 before',
    async () => {
      const env = await freshDatabase();
      const herald = spawnHerald(env);

      // From the moment the port is known (Fastify logs it before migrating), poll readiness.
      const seen: number[] = [];
      let listenUrl: string | undefined;
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (!listenUrl && Date.now() < deadline && herald.child.exitCode === null) {
        const line = jsonLines(herald.stdout()).find(
          (l) => typeof l.msg === 'string' && /^Server listening at http:\/\/127\.0\.0\.1:\d+$/.test(l.msg),
        );
        if (line) listenUrl = line.msg.replace('Server listening at ', '');
        else await new Promise((r) => setTimeout(r, 20));
      }
      expect(listenUrl, herald.stdout() + herald.stderr()).toBeDefined();
      for (;;) {
        const response = await fetch(`${listenUrl}/readyz`);
        seen.push(response.status);
        const body = await response.json();
        if (response.status === 200) {
          expect(body).toEqual({ status: 'ready' });
          break;
        }
        expect(response.status).toBe(503);
        expect(body).toEqual({ status: 'not ready' });
        expect(Date.now()).toBeLessThan(deadline);
        await new Promise((r) => setTimeout(r, 50));
      }

      const url = await herald.ready;
      expect(url).toBe(listenUrl);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(ready.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await ready.json()).toEqual({ status: 'ready' });
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(await herald.stop()).toEqual({ code: 0, signal: null });
    },
    TEST_TIMEOUT_MS,
  );
});

describe('autovacuum', () => {
  it(
    'warns the operator at start exactly when PostgreSQL has autovacuum off (PGlite: never)',
    async () => {
      const herald = await startTestHerald();
      try {
        const warnings = herald.logs.filter((line) => line.includes('autovacuum off'));
        const setting =
          herald.handle.kind === 'postgres'
            ? (await herald.handle.prepared<{ autovacuum: string }>('test_autovacuum', 'show autovacuum', []))[0].autovacuum
            : null;
        expect(warnings).toHaveLength(setting === 'off' ? 1 : 0);
        if (setting === 'off') expect(JSON.parse(warnings[0])).toMatchObject({ level: 40, autovacuum: 'off' });
      } finally {
        await herald.stop();
      }
    },
    TEST_TIMEOUT_MS,
  );
});
