// Every status change leaves a dead row in messages and in pg-boss's job table (status is
// indexed, so no update is HOT): without vacuuming they pile up and the planner works from
// no statistics: with autovacuum off, dead rows fill both tables within minutes and the
// worker's send rate falls by the minute (docs/scaling.md). On PostgreSQL that is autovacuum's work, and Herald says
// once at start when it is off. PGlite (the embedded default) runs PostgreSQL as a single
// backend: it reports `autovacuum = on` but no autovacuum worker ever runs, and its
// statistics views count no dead rows, so there Herald does the vacuum's work on a timer.
import type { Logger } from 'pino';
import { every } from '../lib/every.js';
import type { DatabaseHandle } from './client.js';

/** The tables every message rewrites; pgboss.job is partitioned per queue (VACUUM covers the partitions). */
export const VACUUMED_TABLES = ['messages', 'delivery_logs', 'pgboss.job'] as const;

export interface Upkeep {
  /** Stops the timer and waits for a vacuum under way (PGlite must not close under it). */
  stop(): Promise<void>;
}

const NOTHING_TO_STOP: Upkeep = { stop: async () => {} };

/**
 * On PostgreSQL, a warning when the server has autovacuum off. On PGlite, VACUUM (ANALYZE)
 * of VACUUMED_TABLES every `intervalMs` (0: never); PGlite runs one statement at a time,
 * so requests wait while it runs: on an already vacuumed table it skips the pages nothing
 * changed.
 */
export async function startUpkeep(handle: DatabaseHandle, log: Logger, intervalMs: number): Promise<Upkeep> {
  if (handle.pool) {
    await warnIfNoAutovacuum(handle.pool, log);
    return NOTHING_TO_STOP;
  }
  const pglite = handle.pglite;
  if (!pglite || intervalMs <= 0) return NOTHING_TO_STOP;
  return every(
    intervalMs,
    async () => {
      const started = performance.now();
      await pglite.exec(`vacuum (analyze) ${VACUUMED_TABLES.join(', ')}`);
      const ms = Math.round(performance.now() - started);
      log[ms > 1_000 ? 'info' : 'debug']({ ms, tables: VACUUMED_TABLES }, 'PGlite vacuumed');
    },
    log,
    'PGlite vacuum failed; tried again at the next interval',
  );
}

async function warnIfNoAutovacuum(pool: NonNullable<DatabaseHandle['pool']>, log: Logger): Promise<void> {
  // Once per start: a plain query, not one of the named hot statements.
  const [row] = (await pool.query<{ autovacuum: string }>('show autovacuum')).rows;
  if (row?.autovacuum !== 'on') {
    log.warn(
      { autovacuum: row?.autovacuum },
      'PostgreSQL has autovacuum off: messages and the job table will bloat with every status change; turn autovacuum on, or VACUUM ANALYZE messages, delivery_logs and the pgboss schema regularly',
    );
  }
}
