// One drizzle database over either PostgreSQL (pg pool) or embedded PGlite, chosen by
// DATABASE_URL. Everything above this file sees the same `Database` type.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import type { Logger } from 'pino';
import * as schema from './schema/index.js';

export type Schema = typeof schema;
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
export type Transaction = PgTransaction<PgQueryResultHKT, Schema>;
/** What a query function takes: the database or a transaction, so it composes either way. */
export type Executor = Database | Transaction;

/**
 * A hot statement built and prepared (by name) once per database: drizzle's builder costs
 * more than PostgreSQL takes to run a statement that every send runs.
 */
export function preparedOnce<T>(build: (db: Database) => T): (db: Database) => T {
  const built = new WeakMap<Database, T>();
  return (db) => {
    let statement = built.get(db);
    if (statement === undefined) built.set(db, (statement = build(db)));
    return statement;
  };
}

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');

/**
 * The session advisory lock that processes starting together take in turn to migrate and
 * bootstrap ("herald:m" in ASCII). Fixed, so every Herald version waits on the same one.
 */
export const MIGRATION_LOCK_KEY = '7522544515348183661';

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  pool?: pg.Pool;
  pglite?: PGlite;
  /**
   * `work` holding Herald's migration lock. On PostgreSQL that is a session advisory lock
   * (MIGRATION_LOCK_KEY) on a connection of its own, so processes started together on an
   * empty database migrate and bootstrap one after another; a holder that dies releases it
   * with its connection. `migrateHerald` applies Herald's pending migrations on that
   * connection, with no statement timeout, and says how many it applied. PGlite serves
   * one process, so there `work` just runs.
   */
  migrating<R>(work: (migrateHerald: () => Promise<number>) => Promise<R>): Promise<R>;
  ping(): Promise<boolean>;
  /**
   * A hot statement by name: on PostgreSQL prepared once per connection (parsed and
   * planned once, not per call); PGlite runs it as is. Raw rows, pg's type parsing.
   */
  prepared<T>(name: string, text: string, values: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

/**
 * Connections in Herald's own pool, in every role: a worker's sends hold none while their
 * provider answers (their statements go out in batches), so it does not follow
 * HERALD_WORKER_CONCURRENCY.
 */
const POOL_SIZE = 20;

export interface DatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  /**
   * PostgreSQL cancels a statement of Herald's pool running longer than this (SQLSTATE
   * 57014), so one slow query cannot hold a connection for ever; 0 or unset: none.
   */
  statementTimeoutMs?: number;
}

export async function openDatabase(options: DatabaseOptions, log: Logger): Promise<DatabaseHandle> {
  if (options.databaseUrl) {
    const databaseUrl = options.databaseUrl;
    const pool = new pg.Pool({
      connectionString: databaseUrl,
      max: POOL_SIZE,
      connectionTimeoutMillis: 5_000,
      statement_timeout: options.statementTimeoutMs || undefined,
    });
    // An idle client losing its server must not crash the process; the pool replaces it.
    pool.on('error', (err) => log.warn({ err: { message: err.message } }, 'database connection lost'));
    // The pool listens for errors on idle clients only. A client checked out for a
    // transaction, between two statements, would emit an unhandled 'error' when the
    // server goes away (restart, admin shutdown) and end the process: the next statement
    // fails instead, and the pool drops the broken client when it is released.
    pool.on('connect', (client) =>
      client.on('error', (err) => log.debug({ err: { message: err.message } }, 'database connection lost while in use')),
    );
    const db = drizzlePg(pool, { schema }) as unknown as Database;
    return {
      db,
      kind: 'postgres',
      pool,
      async migrating(work) {
        const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
        // Seen by the next statement instead of ending the process.
        client.on('error', (err) => log.debug({ err: { message: err.message } }, 'migration connection lost'));
        try {
          await client.connect();
        } catch (err) {
          await client.end().catch(() => undefined);
          throw new Error(`cannot reach the database at ${redactUrl(databaseUrl)}: ${(err as Error).message}`, { cause: err });
        }
        try {
          // Waiting for another process's migration, or a migration rewriting a big table,
          // is not a slow query: no statement timeout on this connection.
          await client.query('set statement_timeout = 0');
          await client.query('select pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
          return await work(async () => {
            const before = await appliedMigrations(client);
            await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS_DIR });
            return (await appliedMigrations(client)) - before;
          });
        } finally {
          // Ending the session releases the lock.
          await client.end().catch(() => undefined);
        }
      },
      ping: () => ping(db),
      prepared: async <T>(name: string, text: string, values: unknown[]) => (await pool.query({ name, text, values })).rows as T[],
      close: () => pool.end(),
    };
  }

  const dir = path.join(options.dataDir, 'pglite');
  fs.mkdirSync(dir, { recursive: true });
  const releaseLock = lockDataDir(options.dataDir);
  const pglite = await PGlite.create(dir);
  const db = drizzlePglite(pglite, { schema }) as unknown as Database;
  return {
    db,
    kind: 'pglite',
    pglite,
    migrating: (work) =>
      work(async () => {
        const before = await appliedMigrations(pglite);
        await migratePglite(drizzlePglite(pglite, { schema }), { migrationsFolder: MIGRATIONS_DIR });
        return (await appliedMigrations(pglite)) - before;
      }),
    ping: () => ping(db),
    prepared: async <T>(_name: string, text: string, values: unknown[]) => (await pglite.query<T>(text, values)).rows,
    close: async () => {
      await pglite.close();
      releaseLock();
    },
  };
}

/** Rows in drizzle's migration history (0 before the first migration created it). */
async function appliedMigrations(db: { query(text: string): Promise<{ rows: unknown[] }> }): Promise<number> {
  const [{ present }] = (await db.query(`select to_regclass('drizzle.__drizzle_migrations') is not null as present`)).rows as {
    present: boolean;
  }[];
  if (!present) return 0;
  return ((await db.query('select count(*)::int as applied from drizzle.__drizzle_migrations')).rows as { applied: number }[])[0].applied;
}

const redactUrl = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

async function ping(db: Database): Promise<boolean> {
  try {
    await db.execute(sql`select 1`);
    return true;
  } catch {
    return false;
  }
}

// PGlite is one process's database: a second process on the same files would corrupt
// them, so it is refused with a clear message instead.
function lockDataDir(dataDir: string): () => void {
  const lockFile = path.join(dataDir, 'herald.pid');
  try {
    const holder = Number(fs.readFileSync(lockFile, 'utf8'));
    if (holder && holder !== process.pid && processAlive(holder)) {
      throw new Error(
        `HERALD_DATA_DIR ${dataDir} is in use by process ${holder}; the embedded database serves one process (set DATABASE_URL to share PostgreSQL)`,
      );
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.writeFileSync(lockFile, String(process.pid));
  return () => {
    try {
      if (fs.readFileSync(lockFile, 'utf8') === String(process.pid)) fs.unlinkSync(lockFile);
    } catch {
      // already gone
    }
  };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
