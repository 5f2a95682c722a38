// Waiting without fixed sleeps: poll until a condition holds, and fail with what was
// awaited (and the last state seen) when it does not within the timeout.

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true; fails with `what` (a string, or a function for details known only then) otherwise. */
export async function waitUntil(
  what: string | (() => string),
  check: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await pause(intervalMs);
  }
}

/** What a failure message reports of a message: the fields every test's `message(id)` query selects. */
export interface PolledMessage {
  status: string;
  channel?: string | null;
  attempts?: number;
  errorCode: string | null;
  errorMessage: string | null;
  logs: { outcome: string; reason: string | null }[];
}

/**
 * Polls `getMessage(id, key)` until the message's status is one of `statuses`; fails with
 * the last state seen (channel, status, attempts, error and delivery logs) otherwise.
 */
export async function waitForMessageStatus<M extends PolledMessage>(
  getMessage: (id: string, key?: string) => Promise<M>,
  id: string,
  statuses: string | string[],
  options: { timeoutMs?: number; key?: string } = {},
): Promise<M> {
  const wanted = Array.isArray(statuses) ? statuses : [statuses];
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await getMessage(id, options.key);
    if (wanted.includes(last.status)) return last;
    if (Date.now() > deadline) {
      const channel = last.channel ? ` (${last.channel})` : '';
      const attempts = last.attempts === undefined ? '' : ` after ${last.attempts} attempt(s)`;
      throw new Error(
        `message ${id}${channel} did not reach ${wanted.join(' or ')} within ${timeoutMs} ms; last seen ${last.status}${attempts}` +
          ` (errorCode ${last.errorCode}, errorMessage ${JSON.stringify(last.errorMessage)}, logs ${JSON.stringify(last.logs.map((l) => [l.outcome, l.reason]))})`,
      );
    }
    await pause(50);
  }
}
