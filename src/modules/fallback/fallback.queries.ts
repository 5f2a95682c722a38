import { and, eq, gt, inArray, isNotNull, lte, or, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { messages } from '../../db/schema/index.js';
import type { MessageRow } from '../messages/messages.queries.js';
import { REPORTS_DELIVERY } from './fallback.js';

const REPORTING = (Object.keys(REPORTS_DELIVERY) as (keyof typeof REPORTS_DELIVERY)[]).filter((c) => REPORTS_DELIVERY[c]);
const SILENT = (Object.keys(REPORTS_DELIVERY) as (keyof typeof REPORTS_DELIVERY)[]).filter((c) => !REPORTS_DELIVERY[c]);

/**
 * Messages whose fallback is due at `now`: FAILED, or SENT on a channel that reports
 * delivery and not DELIVERED within their window. Both read the partial index of pending
 * fallbacks only. Unlocked: each is taken with `lockPending` when written.
 */
export function findDue(ex: Executor, now: Date, limit: number, afterId?: string): Promise<MessageRow[]> {
  return ex
    .select()
    .from(messages)
    .where(
      and(
        isNotNull(messages.fallback),
        afterId ? gt(messages.id, afterId) : undefined,
        or(
          eq(messages.status, 'FAILED'),
          and(
            eq(messages.status, 'SENT'),
            inArray(messages.channel, REPORTING),
            isNotNull(messages.fallbackAfterSeconds),
            lte(messages.sentAt, sql`${now.toISOString()}::timestamptz - ${messages.fallbackAfterSeconds} * interval '1 second'`),
          ),
        ),
      ),
    )
    .orderBy(messages.id)
    .limit(limit);
}

/** The message, locked for the caller's transaction, if its fallback is still pending and no other check holds it. */
export async function lockPending(tx: Executor, id: string): Promise<MessageRow | undefined> {
  const [row] = await tx
    .select()
    .from(messages)
    .where(and(eq(messages.id, id), isNotNull(messages.fallback)))
    .for('update', { skipLocked: true });
  return row;
}

/**
 * Settles the pending fallbacks no longer needed: DELIVERED, CANCELLED, and SENT on a
 * channel that never reports more. Returns how many.
 */
export async function settleUnneeded(ex: Executor): Promise<number> {
  const settled = await ex
    .update(messages)
    .set({ fallback: null })
    .where(
      and(
        isNotNull(messages.fallback),
        or(inArray(messages.status, ['DELIVERED', 'CANCELLED']), and(eq(messages.status, 'SENT'), inArray(messages.channel, SILENT))),
      ),
    )
    .returning({ id: messages.id });
  return settled.length;
}

/** The fallback is decided (written, or none could be): the message leaves the pending index. */
export async function settle(ex: Executor, id: string): Promise<void> {
  await ex.update(messages).set({ fallback: null }).where(eq(messages.id, id));
}

/** The messages sent as fallbacks of these, oldest first. */
export function fallbacksOf(ex: Executor, tenantId: string, ids: readonly string[]): Promise<MessageRow[]> {
  return ex
    .select()
    .from(messages)
    .where(and(eq(messages.tenantId, tenantId), inArray(messages.fallbackOf, [...ids])))
    .orderBy(messages.id);
}
