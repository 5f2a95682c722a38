// The accept stage's framework floor (scripts/bench.mjs): a minimal server on Herald's own
// stack (scripts/bench/floor-server.mjs) in a child process of its own, like Herald's, and
// the rounds that alternate load between it and Herald so drift in the machine's speed
// falls on both alike.
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { numEnv } from './lib.mjs';

const SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'floor-server.mjs');
export const FLOOR_TABLE = 'bench_floor_messages';

/** BENCH_FLOOR_ROUNDS (2): rounds per side; each round is BENCH_SECONDS / rounds long. */
export function floorSettings() {
  return { rounds: numEnv('BENCH_FLOOR_ROUNDS', 2) };
}

/**
 * The floor's server on `url`, writing into FLOOR_TABLE: a copy of `likeTable` (columns
 * and indexes), created here. Resolves { child, port } once it listens; the child is in
 * `children`, its output in `logStream`.
 */
export async function startFloor({ url, likeTable, children, logStream }) {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`create table ${FLOOR_TABLE} (like ${likeTable} including all)`);
  await client.end();
  const child = fork(SERVER, [], {
    env: { ...process.env, FLOOR_DATABASE_URL: url, FLOOR_TABLE },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.stdout.on('data', (chunk) => logStream.write(`[floor ${child.pid}] ${chunk}`));
  child.stderr.on('data', (chunk) => {
    logStream.write(`[floor ${child.pid} stderr] ${chunk}`);
    process.stderr.write(`[floor] ${chunk}`);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the framework floor server did not listen in 60 s')), 60_000);
    child.once('message', ({ port }) => {
      clearTimeout(timer);
      resolve({ child, port });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the framework floor server exited with ${code} before it listened`));
    });
  });
}

/**
 * Rounds of runLoad results as one: rate over the summed measured time, errors and CPU
 * summed, p50 and p99 of the worst round (the rounds keep no latencies to pool).
 */
export function combineRounds(rounds) {
  const done = rounds.reduce((sum, r) => sum + r.done, 0);
  const seconds = rounds.reduce((sum, r) => sum + r.seconds, 0);
  const cpu = rounds.every((r) => r.cpuMs)
    ? { node: rounds.reduce((sum, r) => sum + r.cpuMs.node, 0), postgres: rounds.reduce((sum, r) => sum + r.cpuMs.postgres, 0) }
    : undefined;
  return {
    rate: done / seconds,
    done,
    seconds,
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    errorSamples: rounds.flatMap((r) => r.errorSamples).slice(0, 3),
    p50: Math.max(...rounds.map((r) => r.p50)),
    p99: Math.max(...rounds.map((r) => r.p99)),
    rates: rounds.map((r) => r.rate),
    cpuMs: cpu,
  };
}
