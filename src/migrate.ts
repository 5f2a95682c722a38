// Migrating Herald's database: its own tables (drizzle), then pg-boss's schema and the
// dispatch queue, one process at a time. Every start runs it before serving, with the
// bootstrap inside the same turn; `npm run migrate` runs it alone, for operators who
// migrate as a deploy step.
import type { Logger } from 'pino';
import type { DatabaseHandle } from './db/client.js';
import { migrateQueue } from './dispatch/queue.js';

/**
 * Applies what is pending under Herald's migration lock, then runs `then` (the bootstrap)
 * before letting the next process in: processes started together on an empty database
 * wait their turn instead of creating the same tables at once, and the last one finds
 * nothing left to do.
 */
export async function migrate<R>(handle: DatabaseHandle, databaseUrl: string | undefined, log: Logger, then: () => Promise<R>): Promise<R> {
  return handle.migrating(async (migrateHerald) => {
    const heraldMigrationsApplied = await migrateHerald();
    const queueSchemaVersion = await migrateQueue(handle, log, databaseUrl);
    log.info({ heraldMigrationsApplied, queueSchemaVersion }, 'database migrated');
    return then();
  });
}
