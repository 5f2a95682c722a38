// Herald as an operator runs it: `node dist/main.js` with an environment, in a child
// process. The compiled JS comes from test/global-setup.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from './database.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MAIN = path.join(root, 'dist', 'main.js');
export const START_TIMEOUT_MS = 90_000;
export const LOCAL_POSTGRES = 'postgres://postgres@127.0.0.1:5432/postgres';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export interface HeraldProcess {
  name: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The tail of stdout and stderr, labelled with the process name, for failure messages. */
  output(): string;
  /** Resolves with the base URL once the process logged its GraphiQL URL; rejects if it exits first. */
  ready: Promise<string>;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<Exit>;
  /** Sends SIGTERM and waits for the process to end. */
  stop(): Promise<Exit>;
}

export interface SpawnOptions {
  /** Names the process in failure messages ("Herald" when not given). */
  name?: string;
  args?: string[];
}

/** The process gets only what it is given: nothing leaks in from the test runner's environment. */
export function spawnHerald(env: Record<string, string>, options: SpawnOptions = {}): HeraldProcess {
  const name = options.name ?? 'Herald';
  const child = spawn(process.execPath, [MAIN, ...(options.args ?? [])], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? os.tmpdir(),
      TMPDIR: os.tmpdir(),
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const output = () => `\n--- ${name} stdout ---\n${out.slice(-8000)}\n--- ${name} stderr ---\n${err.slice(-6000)}`;
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not become ready in ${START_TIMEOUT_MS} ms${output()}`)),
      START_TIMEOUT_MS,
    );
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const url = readyUrl(out);
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready${output()}`));
    });
  });
  ready.catch(() => undefined); // observed by the tests that wait for it
  child.stderr.on('data', (chunk: string) => {
    err += chunk;
  });
  return {
    name,
    child,
    stdout: () => out,
    stderr: () => err,
    output,
    ready,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

export const isRunning = (p: HeraldProcess) => p.child.exitCode === null && p.child.signalCode === null;

/** SIGKILLs whichever of the processes still run and waits until all have ended. */
export async function killAll(processes: Iterable<HeraldProcess>): Promise<void> {
  await Promise.all(
    [...processes].map(async (p) => {
      if (isRunning(p)) p.child.kill('SIGKILL');
      await p.exited;
    }),
  );
}

/** The base URL from the JSON log line carrying "graphiql":"http://127.0.0.1:<port>/graphiql". */
export function readyUrl(stdout: string): string | undefined {
  for (const line of jsonLines(stdout)) {
    const match = typeof line.graphiql === 'string' ? /^(http:\/\/127\.0\.0\.1:(\d+))\/graphiql$/.exec(line.graphiql) : null;
    if (match && Number(match[2]) > 0) return match[1];
  }
  return undefined;
}

/** The JSON log lines in a process's output. */
export function jsonLines(text: string): Record<string, any>[] {
  const lines: Record<string, any>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line));
    } catch {
      // a partial line still being written
    }
  }
  return lines;
}

const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

/**
 * A fresh PostgreSQL database for the tests that run several processes on one database
 * (PGlite belongs to one process). DATABASE_URL when set, else the machine's PostgreSQL;
 * without either the test fails saying so. `what` completes "this test runs … on one database".
 */
export async function createPostgresDatabase(what: string): Promise<TestDatabase> {
  const base = process.env.DATABASE_URL ?? LOCAL_POSTGRES;
  const admin = new pg.Client({ connectionString: base, connectionTimeoutMillis: 5_000 });
  try {
    await admin.connect();
  } catch (err) {
    await admin.end().catch(() => undefined);
    throw new Error(
      `this test runs ${what} on one database and needs PostgreSQL: set DATABASE_URL or run PostgreSQL at ${LOCAL_POSTGRES} ` +
        `(connecting to ${redact(base)} failed: ${(err as Error).message})`,
      { cause: err },
    );
  }
  await admin.end();
  return createTestDatabase(base);
}

export interface Finished extends Exit {
  stdout: string;
  stderr: string;
}

/**
 * A command run to its end with only the given environment (as spawnHerald gives it), from
 * the project root: `npm run migrate`, or `node dist/main.js --role migrate`.
 */
export function runToExit(command: string, args: string[], env: Record<string, string>, timeoutMs = START_TIMEOUT_MS): Promise<Finished> {
  const child = spawn(command, args, {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? os.tmpdir(),
      TMPDIR: os.tmpdir(),
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${command} ${args.join(' ')} did not finish in ${timeoutMs} ms\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`),
      );
    }, timeoutMs);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
