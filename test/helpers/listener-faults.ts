// Faults for the processes' LISTEN connections (src/realtime/listener.ts), injected for
// real on PostgreSQL: the database stops taking new connections and the listeners'
// backends are terminated. Connections already open (the pools, this helper's own) go on.
import pg from 'pg';
import { LISTENER_APPLICATION_NAME } from '../../src/realtime/listener.js';

export interface ListenersCutOff {
  /** A connection to the test database opened before the cut, for changes made meanwhile. */
  db: pg.Client;
  /** Lets connections in again (the listeners reconnect) and closes `db`. */
  restore(): Promise<void>;
}

/** `databaseUrl`: the test database (a TestDatabase's DATABASE_URL). */
export async function cutOffListeners(databaseUrl: string): Promise<ListenersCutOff> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const maintenance = new URL(databaseUrl);
  maintenance.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: maintenance.toString() });
  const db = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  await db.connect();
  // ALLOW_CONNECTIONS false holds for superusers too, so the listeners cannot come back.
  await admin.query(`alter database ${pg.escapeIdentifier(name)} allow_connections false`);
  await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and datname = $2', [
    LISTENER_APPLICATION_NAME,
    name,
  ]);
  let restored = false;
  return {
    db,
    async restore() {
      if (restored) return;
      restored = true;
      await admin.query(`alter database ${pg.escapeIdentifier(name)} allow_connections true`);
      await admin.end();
      await db.end();
    },
  };
}
