// The one place that says which status may follow which. Every status change goes
// through a guarded UPDATE built from this table, so a late receipt or a slow worker
// can never move a message backwards (a late `sent` never overwrites DELIVERED).
import type { MessageStatusValue } from '../../db/schema/index.js';

export const ALLOWED_FROM: Readonly<Record<MessageStatusValue, readonly MessageStatusValue[]>> = {
  SCHEDULED: [],
  // Back to the queue only to try again: after a temporary failure, or retryMessage.
  QUEUED: ['SENDING', 'FAILED'],
  // A crashed worker's SENDING message is not claimed again: the sweep sends it again
  // through QUEUED (dispatch/sweeper.ts).
  SENDING: ['SCHEDULED', 'QUEUED'],
  SENT: ['SENDING'],
  // A receipt may overtake the worker's own SENT write.
  DELIVERED: ['SENDING', 'SENT'],
  FAILED: ['SENDING', 'SENT'],
  CANCELLED: ['SCHEDULED', 'QUEUED'],
};

/** The states `to` may be reached from, optionally narrowed by the caller. */
export function allowedFrom(to: MessageStatusValue, only?: readonly MessageStatusValue[]): MessageStatusValue[] {
  const allowed = ALLOWED_FROM[to];
  return only ? allowed.filter((s) => only.includes(s)) : [...allowed];
}
