// One Herald process: database, migrations, bootstrap, HTTP. main.ts runs it from the
// environment; the tests run the very same thing in-process.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { bootstrap } from './bootstrap.js';
import type { Config } from './config.js';
import { type DatabaseHandle, openDatabase } from './db/client.js';
import { buildHeraldSchema } from './graphql/schema.js';
import { createHttpApp } from './http/app.js';
import { SecretBox, loadOrCreateSecretKey } from './lib/secret-box.js';
import { createMetrics } from './metrics.js';
import { type Services, createServices } from './services.js';

export type Role = 'all' | 'api' | 'worker';

export interface RunningHerald {
  app: FastifyInstance;
  handle: DatabaseHandle;
  services: Services;
  /** Base URL the server answers on (the real port when PORT=0). */
  url: string;
  /** The first ADMIN key, when this start created it. */
  firstKey?: string;
  close(): Promise<void>;
}

export async function startHerald(config: Config, log: Logger, role: Role = 'all'): Promise<RunningHerald> {
  const { key, generated } = loadOrCreateSecretKey(config.secretKey, config.dataDir);
  if (generated) {
    log.warn(
      { file: generated },
      'HERALD_SECRET_KEY is not set: gateway credentials are encrypted with a key kept in the data directory; set HERALD_SECRET_KEY (64 hex characters) in production and on every process that shares the database',
    );
  }
  const handle = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir }, log);
  const services = createServices(handle.db, new SecretBox(key));
  let started = false;

  // Every role serves HTTP: a worker answers /healthz and /readyz for its orchestrator.
  // The server listens before migrating, so /readyz can say 503 meanwhile.
  const app = await createHttpApp({
    config,
    log,
    services,
    schema: await buildHeraldSchema(),
    metrics: createMetrics(),
    isStarted: () => started,
    ping: handle.ping,
  });
  try {
    await app.listen({ host: config.host, port: config.port });
    await handle.migrate();
    const { firstKey } = await bootstrap(handle.db, services, config, log);
    started = true;
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    return {
      app,
      handle,
      services,
      url,
      firstKey,
      async close() {
        await app.close();
        await handle.close();
      },
    };
  } catch (err) {
    await app.close().catch(() => undefined);
    await handle.close().catch(() => undefined);
    throw err;
  }
}
