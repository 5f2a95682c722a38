// Process entry: read config and role, start Herald, stop it cleanly on a signal; or,
// with `--role migrate` (`npm run migrate`), migrate the database and exit.
import './production-mode.js';
import 'reflect-metadata';
import type { Logger } from 'pino';
import { type Config, ConfigError, loadConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { type Role, startHerald } from './herald.js';
import { createLogger } from './logger.js';
import { migrate } from './migrate.js';

function parseRole(argv: string[]): Role | 'migrate' {
  const i = argv.indexOf('--role');
  const value = i >= 0 ? argv[i + 1] : (argv.find((a) => a.startsWith('--role='))?.slice(7) ?? 'all');
  if (value === 'all' || value === 'api' || value === 'worker' || value === 'migrate') return value;
  throw new ConfigError([`--role must be api, worker, all or migrate, got "${value}"`]);
}

let role: Role | 'migrate' = 'all';

async function main(): Promise<void> {
  const startedAt = performance.now();
  let config;
  try {
    config = loadConfig();
    role = parseRole(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const problem of err.problems) console.error(`herald: configuration error: ${problem}`);
      process.exit(1);
    }
    throw err;
  }

  const log = createLogger(config.logLevel);
  if (role === 'migrate') return migrateAndExit(config, log);
  const herald = await startHerald(config, log, role);
  const base = config.port === 0 ? herald.url : config.publicUrl;
  if (herald.firstKey) printFirstKey(herald.firstKey, base);
  log.info(
    { role, database: herald.handle.kind, graphiql: `${base}/graphiql`, startupMs: Math.round(performance.now() - startedAt) },
    `Herald is ready: GraphiQL at ${base}/graphiql`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took longer than 25 s; exiting');
      process.exit(1);
    }, 25_000);
    force.unref();
    try {
      await herald.close();
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

/**
 * Herald's and the queue's migrations, then exit 0. The bootstrap (default tenant, its
 * gateways and keys) is left to the first process that starts: it is data, not schema,
 * and the first ADMIN key is shown by the process that serves it.
 */
async function migrateAndExit(config: Config, log: Logger): Promise<void> {
  const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, log);
  try {
    await migrate(handle, config.databaseUrl, log, async () => undefined);
  } finally {
    await handle.close();
  }
  process.exit(0);
}

// Printed once, on the console, not through the logger: keys never go to log storage.
function printFirstKey(key: string, base: string): void {
  const lines = [
    '',
    '  Herald created the first ADMIN API key for the default tenant.',
    '  It is shown this once; store it now:',
    '',
    `    ${key}`,
    '',
    `  Try it:  curl -s ${base}/graphql -H 'content-type: application/json' \\`,
    `             -H 'authorization: Bearer ${key}' -d '{"query":"{ viewer { id name } }"}'`,
    `  GraphiQL: ${base}/graphiql (put {"Authorization": "Bearer <key>"} in its Headers tab)`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

main().catch((err) => {
  console.error(`herald: ${role === 'migrate' ? 'migration failed' : 'failed to start'}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
