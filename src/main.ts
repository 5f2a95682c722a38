// Process entry: read config and role, start Herald, stop it cleanly on a signal; or,
// with `--role migrate` (`npm run migrate`), migrate the database and exit; or, with
// `--role rotate-secrets` (`npm run rotate-secrets`), seal every gateway's credentials
// again under the current HERALD_SECRET_KEY and exit.
import './production-mode.js';
import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { type Config, ConfigError, loadConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { type Role, startHerald } from './herald.js';
import { createLogger } from './logger.js';
import { migrate } from './migrate.js';
import { SecretBox, loadOrCreateSecretKey } from './lib/secret-box.js';
import { GatewaysService } from './modules/gateways/gateways.service.js';
import { RoutingService } from './modules/routing/routing.service.js';
import { WebhookEndpointsService } from './modules/webhooks/webhook-endpoints.service.js';
import { rehashSuppressions } from './modules/suppressions/suppressions.service.js';
import { DestinationKeys } from './lib/destination-keys.js';

type Command = 'migrate' | 'rotate-secrets';

function parseRole(argv: string[]): Role | Command {
  const i = argv.indexOf('--role');
  const value = i >= 0 ? argv[i + 1] : (argv.find((a) => a.startsWith('--role='))?.slice(7) ?? 'all');
  if (value === 'all' || value === 'api' || value === 'worker' || value === 'migrate' || value === 'rotate-secrets') return value;
  throw new ConfigError([`--role must be api, worker, all, migrate or rotate-secrets, got "${value}"`]);
}

let role: Role | Command = 'all';

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
  if (role === 'rotate-secrets') return rotateSecretsAndExit(config, log);
  const herald = await startHerald(config, log, role);
  const base = config.port === 0 ? herald.url : config.publicUrl;
  if (herald.firstKey) showFirstKey(herald.firstKey, base, config.dataDir, log);
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

/**
 * Seals every gateway's credentials and every webhook endpoint's signing secrets under
 * HERALD_SECRET_KEY, bound to their row, and hashes suppressed addresses again under it; run with the old key in HERALD_SECRET_KEY_PREVIOUS,
 * then drop it. Exits 1 if any did not open, since dropping the old key would then lose them.
 */
async function rotateSecretsAndExit(config: Config, log: Logger): Promise<void> {
  const { key, generated } = loadOrCreateSecretKey(config.secretKey, config.dataDir);
  if (generated) log.warn({ file: generated }, 'HERALD_SECRET_KEY is not set: re-sealing under the key kept in the data directory');
  const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, log);
  let unreadable: number;
  try {
    const secrets = new SecretBox(key, config.previousSecretKeys);
    const gateways = await new GatewaysService(handle.db, secrets, new RoutingService(handle.db)).resealAll(log);
    // The URL policy plays no part in re-sealing.
    const webhookEndpoints = await new WebhookEndpointsService(handle.db, secrets, { allowPrivate: false }).resealAll(log);
    const suppressions = await rehashSuppressions(handle.db, new DestinationKeys(key, config.previousSecretKeys));
    if (suppressions.hashOnly > 0) {
      log.warn(
        { suppressions },
        `${suppressions.hashOnly} suppression entries keep only a hash (their address was erased): each matches only while the key it was made under is HERALD_SECRET_KEY or in HERALD_SECRET_KEY_PREVIOUS`,
      );
    }
    const counts = {
      resealed: gateways.resealed + webhookEndpoints.resealed,
      current: gateways.current + webhookEndpoints.current,
      unreadable: gateways.unreadable + webhookEndpoints.unreadable,
      gateways,
      webhookEndpoints,
      suppressions,
    };
    unreadable = counts.unreadable;
    if (unreadable > 0) {
      log.error(
        counts,
        `${unreadable} sealed value(s) do not open (${gateways.unreadable} gateway credentials, ${webhookEndpoints.unreadable} webhook secrets): keep HERALD_SECRET_KEY_PREVIOUS until they are replaced (updateGateway, rotateWebhookSecret)`,
      );
    } else {
      log.info(
        counts,
        `gateway credentials and webhook secrets sealed under the current HERALD_SECRET_KEY (${counts.resealed} re-sealed, ${counts.current} already were): HERALD_SECRET_KEY_PREVIOUS can be dropped`,
      );
    }
  } finally {
    await handle.close();
  }
  process.exit(unreadable > 0 ? 1 : 0);
}

/**
 * The first ADMIN key goes to a person, never to log storage: on a terminal it is printed;
 * otherwise (a service manager, a container whose output is collected) it is written to a
 * file only its owner can read, and one log line says where.
 */
function showFirstKey(key: string, base: string, dataDir: string, log: Logger): void {
  if (process.stdout.isTTY) return printFirstKey(key, base);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, 'first-admin-key');
  const fd = fs.openSync(file, 'w', 0o600);
  try {
    fs.fchmodSync(fd, 0o600); // a file left by an earlier start keeps its mode otherwise
    fs.writeSync(fd, `${key}\n`);
  } finally {
    fs.closeSync(fd);
  }
  log.warn(
    { file },
    `created the first ADMIN key of the default tenant; it is in ${file} (readable by this user only): store it, then delete the file`,
  );
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
  const what = role === 'migrate' ? 'migration failed' : role === 'rotate-secrets' ? 'rotating secrets failed' : 'failed to start';
  console.error(`herald: ${what}: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
