// Starts a real Herald (HTTP server, database, migrations, bootstrap) in this process
// and talks to it over HTTP, as a client would.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config.js';
import { type Role, type RunningHerald, startHerald } from '../../src/herald.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface GqlResult<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: Record<string, any>; path?: string[] }[];
}

export interface TestHerald extends RunningHerald {
  adminKey: string;
  database: TestDatabase;
  /** Every log line the server wrote, for checks that nothing secret was logged. */
  logs: string[];
  gql<T = any>(query: string, variables?: Record<string, unknown>, key?: string | null): Promise<GqlResult<T>>;
  /** Stops the server, keeping the database, and starts it again on the same data. */
  restart(env?: Record<string, string>): Promise<TestHerald>;
  stop(): Promise<void>;
}

/** `role: 'api'` starts no worker: what it accepts stays QUEUED. */
export async function startTestHerald(
  options: { env?: Record<string, string>; database?: TestDatabase; role?: Role } = {},
): Promise<TestHerald> {
  const database = options.database ?? (await createTestDatabase());
  const adminKey = `test-admin-${randomBytes(16).toString('hex')}`;
  const secretKey = randomBytes(32).toString('hex');
  return boot(database, adminKey, { HERALD_SECRET_KEY: secretKey, ...options.env }, options.role);
}

async function boot(database: TestDatabase, adminKey: string, env: Record<string, string>, role: Role = 'all'): Promise<TestHerald> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(chunk.toString());
      done();
    },
  });
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    HERALD_BOOTSTRAP_ADMIN_KEY: adminKey,
    LOG_LEVEL: 'debug',
    // Tests scrape a gauge right after changing what it counts: no 10 s cache unless asked for.
    HERALD_METRICS_GAUGE_SECONDS: '0',
    ...database.env,
    ...env,
  });
  const herald = await startHerald(config, createLogger(config.logLevel, sink), role);

  const gql = async (query: string, variables?: Record<string, unknown>, key: string | null = adminKey): Promise<GqlResult> => {
    const response = await fetch(`${herald.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as Omit<GqlResult, 'status'>;
    return { status: response.status, ...body };
  };

  return {
    ...herald,
    adminKey,
    database,
    logs,
    gql,
    async restart(next = env) {
      await herald.close();
      return boot(database, adminKey, next, role);
    },
    async stop() {
      await herald.close();
      await database.drop();
    },
  };
}

/** The data of a successful mutation, failing the test with the errors otherwise. */
export function ok<T>(result: GqlResult<T>): T {
  if (result.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data as T;
}

/** Retries fast enough for a test to watch a message fail `maxAttempts` times. */
export function fastRetryEnv(maxAttempts: number): Record<string, string> {
  return { HERALD_RETRY_BASE_MS: '50', HERALD_RETRY_MAX_DELAY_MS: '200', HERALD_RETRY_MAX_ATTEMPTS: String(maxAttempts) };
}
