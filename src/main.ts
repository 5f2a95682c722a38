// Process entry: read config, open the database, migrate, bootstrap, serve.
import 'reflect-metadata';
import type { FastifyInstance } from 'fastify';
import { bootstrap } from './bootstrap.js';
import { ConfigError, loadConfig } from './config.js';
import { openDatabase } from './db/client.js';
import { buildHeraldSchema } from './graphql/schema.js';
import { createHttpApp } from './http/app.js';
import { SecretBox, loadOrCreateSecretKey } from './lib/secret-box.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { createServices } from './services.js';

type Role = 'all' | 'api' | 'worker';

function parseRole(argv: string[]): Role {
  const i = argv.indexOf('--role');
  const value = i >= 0 ? argv[i + 1] : (argv.find((a) => a.startsWith('--role='))?.slice(7) ?? 'all');
  if (value === 'all' || value === 'api' || value === 'worker') return value;
  throw new ConfigError([`--role must be api, worker or all, got "${value}"`]);
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  let config;
  let role: Role;
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
  const { key, generated } = loadOrCreateSecretKey(config.secretKey, config.dataDir);
  if (generated) {
    log.warn(
      { file: generated },
      'HERALD_SECRET_KEY is not set: gateway credentials are encrypted with a key kept in the data directory; set HERALD_SECRET_KEY (64 hex characters) in production and on every process that shares the database',
    );
  }

  const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, log);
  const services = createServices(handle.db, new SecretBox(key));
  const metrics = createMetrics();
  let started = false;

  let app: FastifyInstance | undefined;
  if (role !== 'worker' || true) {
    // A worker serves /healthz and /readyz too, so an orchestrator can watch it.
    app = await createHttpApp({
      config,
      log,
      services,
      schema: await buildHeraldSchema(),
      metrics,
      isStarted: () => started,
      ping: handle.ping,
    });
    await app.listen({ host: config.host, port: config.port });
  }

  await handle.migrate();
  const { firstKey } = await bootstrap(handle.db, services, config, log);
  started = true;

  const address = app?.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const base = config.publicUrl.replace(`:${config.port}`, `:${port}`);
  if (firstKey) printFirstKey(firstKey, base);
  log.info(
    { role, database: handle.kind, graphiql: `${base}/graphiql`, startupMs: Math.round(performance.now() - startedAt) },
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
      await app?.close();
      await handle.close();
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
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
  console.error(`herald: failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
