// Sends orphaned by a worker that stopped between its claim and its record: messages
// SENDING for longer than any live send can take. Both reads use the partial index
// messages_sending_updated, so they cost a look at the SENDING rows only.
import { and, asc, count, eq, lt, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { messages } from '../../db/schema/index.js';
import type { MessageRow, NewMessageRow } from './messages.queries.js';

const olderThan = (ms: number) => lt(messages.updatedAt, sql`now() - make_interval(secs => ${ms / 1000})`);
const sendingOlderThan = (ms: number) => and(eq(messages.status, 'SENDING'), olderThan(ms));

/** The oldest SENDING messages whose last change is more than `ms` ago. */
export function overdueSending(ex: Executor, ms: number, limit: number): Promise<MessageRow[]> {
  return ex.select().from(messages).where(sendingOlderThan(ms)).orderBy(asc(messages.updatedAt)).limit(limit);
}

export async function countOverdueSending(ex: Executor, ms: number): Promise<number> {
  const [row] = await ex.select({ n: count() }).from(messages).where(sendingOlderThan(ms));
  return row.n;
}

/**
 * Ends an orphaned send (QUEUED to send again, or FAILED) if it is still SENDING and
 * still overdue: a message another worker claimed since it was read is left alone.
 */
export async function endOverdueSend(
  ex: Executor,
  id: string,
  ms: number,
  set: Partial<NewMessageRow> & { status: 'QUEUED' | 'FAILED' },
): Promise<MessageRow | undefined> {
  const [row] = await ex
    .update(messages)
    .set({ ...set, updatedAt: new Date() })
    .where(and(eq(messages.id, id), sendingOlderThan(ms)))
    .returning();
  return row;
}
