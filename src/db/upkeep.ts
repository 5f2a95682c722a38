// PGlite (the embedded default) runs PostgreSQL as a single backend: it reports
// `autovacuum = on` but no autovacuum worker ever runs, and its statistics views count no
// dead rows. Every status change leaves a dead row in messages and in pg-boss's job
// table (status is indexed, so no update is HOT), so a long-running `npm start` would
// bloat and plan from no statistics, as the soak measured on a PostgreSQL with autovacuum
// off (docs/scaling.md). Herald does the vacuum's work itself there, on a timer.
import type { Logger } from 'pino';
import type { DatabaseHandle } from './client.js';

/** The tables every message rewrites; pgboss.job is partitioned per queue (VACUUM covers the partitions). */
export const VACUUMED_TABLES = ['messages', 'delivery_logs', 'pgboss.job'] as const;

export interface Upkeep {
  /** Stops the timer and waits for a vacuum under way (PGlite must not close under it). */
  stop(): Promise<void>;
}

/**
 * VACUUM (ANALYZE) of VACUUMED_TABLES every `intervalMs` on PGlite (0: never). PGlite runs
 * one statement at a time, so requests wait while it runs: on an already vacuumed table
 * it skips the pages nothing changed.
 */
export function startUpkeep(handle: DatabaseHandle, log: Logger, intervalMs: number): Upkeep {
  const pglite = handle.pglite;
  if (!pglite || intervalMs <= 0) return { stop: async () => {} };
  let running: Promise<void> | undefined;
  const vacuum = async () => {
    const started = performance.now();
    try {
      await pglite.exec(`vacuum (analyze) ${VACUUMED_TABLES.join(', ')}`);
      const ms = Math.round(performance.now() - started);
      log[ms > 1_000 ? 'info' : 'debug']({ ms, tables: VACUUMED_TABLES }, 'PGlite vacuumed');
    } catch (err) {
      log.warn({ err: { message: (err as Error).message } }, 'PGlite vacuum failed; tried again at the next interval');
    }
  };
  const timer = setInterval(() => {
    if (!running) running = vacuum().finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
