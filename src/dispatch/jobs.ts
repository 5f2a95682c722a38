// What the dispatch queue carries.

export const DISPATCH_QUEUE = 'herald-dispatch';

export interface DispatchJob {
  messageId: string;
  /** 1-based attempt within the current round (a retryMessage starts a new round). */
  attempt: number;
  /** A send slot already reserved under the gateway's rate cap (ISO time). */
  slotAt?: string;
  /** Times this message waited out a provider rate limit (bounded, not counted as attempts). */
  rateLimited?: number;
  /** Gateways this round of attempts failed on and moved away from at once (failover). */
  avoid?: string[];
}

/**
 * A bulk write's job: the worker gives each message its own DispatchJob, whose job id is
 * the message's id. Run again after a crash, it adds nothing (pg-boss inserts jobs with
 * on conflict do nothing), so no message waiting out a retry is tried early.
 */
export interface FanOutJob {
  messageIds: string[];
}
