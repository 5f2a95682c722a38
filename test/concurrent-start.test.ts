// Starting on an empty database, as an operator does: several processes at the same
// moment (an orchestrator starting every replica of a fresh deploy), and `npm run migrate`
// as a deploy step before them. Real child processes of the built server.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import {
  createPostgresDatabase,
  type HeraldProcess,
  jsonLines,
  killAll,
  MAIN,
  root,
  runToExit,
  spawnHerald as spawnProcess,
} from './helpers/process.js';

const TEST_TIMEOUT_MS = 240_000;
const KEY_PATTERN = /hrld_[A-Za-z0-9_-]{20,}/g;
/** Herald's migrations as drizzle-kit wrote them. */
const MIGRATIONS = (JSON.parse(fs.readFileSync(path.join(root, 'drizzle/meta/_journal.json'), 'utf8')) as { entries: unknown[] }).entries
  .length;

const running = new Set<HeraldProcess>();
const databases: TestDatabase[] = [];

afterEach(async () => {
  await killAll(running);
  running.clear();
  await Promise.all(databases.splice(0).map((db) => db.drop().catch(() => undefined)));
});

function spawnHerald(name: string, env: Record<string, string>, args: string[] = []): HeraldProcess {
  const p = spawnProcess(env, { name, args });
  running.add(p);
  return p;
}

async function viewerName(url: string, key: string): Promise<string | undefined> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: '{ viewer { name } }' }),
  });
  return ((await response.json()) as { data?: { viewer?: { name: string } } }).data?.viewer?.name;
}

/** The "database migrated" line a process logged. */
function migratedLines(stdout: string) {
  return jsonLines(stdout).filter((l) => l.msg === 'database migrated');
}

async function query<T>(databaseUrl: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('processes started together on an empty PostgreSQL database', () => {
  it(
    'all three become ready, with one migration history, one default tenant and the bootstrap key working on each',
    async () => {
      const db = await createPostgresDatabase('three Herald processes started together');
      databases.push(db);
      const bootstrapKey = `boot-${randomBytes(20).toString('hex')}`;
      const env: Record<string, string> = {
        ...db.env,
        HERALD_SECRET_KEY: randomBytes(32).toString('hex'),
        HERALD_BOOTSTRAP_ADMIN_KEY: bootstrapKey,
      };

      // Spawned in the same tick: nothing orders their starts.
      const processes = [
        spawnHerald('api-1', env, ['--role', 'api']),
        spawnHerald('api-2', env, ['--role', 'api']),
        spawnHerald('all', env),
      ];
      const urls = await Promise.all(processes.map((p) => p.ready));

      for (const [i, url] of urls.entries()) {
        const ready = await fetch(`${url}/readyz`);
        expect(ready.status, processes[i].output()).toBe(200);
        expect(await viewerName(url, bootstrapKey), processes[i].output()).toBe('default');
      }
      // One of them applied every migration; the others, let in after it, found none left.
      const applied = processes.map((p) => migratedLines(p.stdout()).map((l) => l.heraldMigrationsApplied)).sort();
      expect(applied).toEqual([[0], [0], [MIGRATIONS]]);

      const url = env.DATABASE_URL;
      const history = await query<{ hash: string; times: number }>(
        url,
        'select hash, count(*)::int as times from drizzle.__drizzle_migrations group by hash',
      );
      expect(history).toHaveLength(MIGRATIONS);
      expect(history.every((m) => m.times === 1)).toBe(true);
      expect(await query(url, 'select name from tenants where is_default')).toEqual([{ name: 'default' }]);
      expect(await query(url, `select count(*)::int as n from tenants`)).toEqual([{ n: 1 }]);
      expect(
        await query(url, `select count(*)::int as n from api_keys where name = 'HERALD_BOOTSTRAP_ADMIN_KEY' and revoked_at is null`),
      ).toEqual([{ n: 1 }]);
      // The default tenant's SANDBOX gateways exist once each.
      const gateways = await query<{ channel: string; n: number }>(
        url,
        `select channel, count(*)::int as n from gateways where provider = 'SANDBOX' group by channel`,
      );
      expect(gateways.length).toBeGreaterThan(0);
      expect(gateways.every((g) => g.n === 1)).toBe(true);

      for (const p of processes) expect(await p.stop()).toEqual({ code: 0, signal: null });
    },
    TEST_TIMEOUT_MS,
  );
});

describe('npm run migrate', () => {
  it(
    "on an empty database applies Herald's and the queue's migrations and exits 0; the start after it has nothing to migrate",
    async () => {
      const db = await createTestDatabase();
      databases.push(db);
      const env: Record<string, string> = { ...db.env, HERALD_SECRET_KEY: randomBytes(32).toString('hex') };

      const migrated = await runToExit('npm', ['run', '--silent', 'migrate'], env);
      expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
      const lines = migratedLines(migrated.stdout);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ heraldMigrationsApplied: MIGRATIONS });
      expect(lines[0].queueSchemaVersion).toBeGreaterThan(0);
      // It only migrates: no server, no key (the first start bootstraps).
      expect(migrated.stdout).not.toMatch(/Herald is ready|Server listening/);
      expect(migrated.stdout.match(KEY_PATTERN)).toBeNull();
      expect(migrated.stderr).not.toMatch(/herald: (migration failed|configuration error)/);

      const herald = spawnHerald('Herald', env);
      const url = await herald.ready;
      expect(migratedLines(herald.stdout())).toEqual([
        expect.objectContaining({ heraldMigrationsApplied: 0, queueSchemaVersion: lines[0].queueSchemaVersion }),
      ]);
      // Not a terminal: the first key is in the data directory's first-admin-key file.
      const keys = [...new Set(fs.readFileSync(path.join(db.dataDir, 'first-admin-key'), 'utf8').match(KEY_PATTERN) ?? [])];
      expect(keys, herald.output()).toHaveLength(1);
      expect(await viewerName(url, keys[0])).toBe('default');
      expect(await herald.stop()).toEqual({ code: 0, signal: null });

      if (env.DATABASE_URL) {
        const history = await query<{ n: number }>(env.DATABASE_URL, 'select count(*)::int as n from drizzle.__drizzle_migrations');
        expect(history).toEqual([{ n: MIGRATIONS }]);
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'against a database it cannot reach exits 1 with one line saying so, the password hidden',
    async () => {
      const db = await createTestDatabase();
      databases.push(db);
      // Port 1: nothing listens there, the connection is refused at once.
      const env = { HERALD_DATA_DIR: db.dataDir, DATABASE_URL: 'postgres://herald:s3cret-pw@127.0.0.1:1/herald' };
      const result = await runToExit(process.execPath, [MAIN, '--role', 'migrate'], env);
      expect(result.code, result.stdout + result.stderr).toBe(1);
      const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(lines).toEqual([
        expect.stringMatching(
          /^herald: migration failed: cannot reach the database at postgres:\/\/herald:\*\*\*@127\.0\.0\.1:1\/herald: .*ECONNREFUSED/,
        ),
      ]);
      expect(result.stdout + result.stderr).not.toContain('s3cret-pw');
      expect(migratedLines(result.stdout)).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );
});
