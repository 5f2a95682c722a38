// A task run every `intervalMs`, never two at once: a run that outlasts the interval
// delays the next instead of piling up beside it. A failed run is logged; the next tries again.
import type { Logger } from 'pino';

export interface Repeating {
  /** Stops the timer and waits for a run under way. */
  stop(): Promise<void>;
}

export function every(
  intervalMs: number,
  task: () => Promise<unknown>,
  log: Logger,
  failure: string,
  options: { atStart?: boolean } = {},
): Repeating {
  let running: Promise<unknown> | undefined;
  const run = () => {
    running ??= task()
      .catch((err: Error) => log.warn({ err: { message: err.message } }, failure))
      .finally(() => (running = undefined));
  };
  if (options.atStart) run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
