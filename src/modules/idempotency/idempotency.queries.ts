import { and, eq, lt } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { idempotencyKeys } from '../../db/schema/index.js';

export type IdempotencyKeyRow = typeof idempotencyKeys.$inferSelect;
export type NewIdempotencyKeyRow = typeof idempotencyKeys.$inferInsert;

/** One key of one operation of one tenant: the table's primary key. */
export interface KeyRef {
  tenantId: string;
  operation: string;
  key: string;
}

const byRef = (ref: KeyRef) =>
  and(eq(idempotencyKeys.tenantId, ref.tenantId), eq(idempotencyKeys.operation, ref.operation), eq(idempotencyKeys.key, ref.key));

/** Frees the key if it was taken before `takenBefore` (its window is over), so it can be taken afresh. */
export async function releaseExpiredKey(ex: Executor, ref: KeyRef, takenBefore: Date): Promise<void> {
  await ex.delete(idempotencyKeys).where(and(byRef(ref), lt(idempotencyKeys.createdAt, takenBefore)));
}

/**
 * Takes the key for this call: false when another call has it. A call holding it in a
 * transaction not yet finished makes this wait for that transaction (the primary key's
 * insert lock), so the answer is the holder's committed row or, after a rollback, ours.
 */
export async function takeKey(ex: Executor, row: NewIdempotencyKeyRow): Promise<boolean> {
  const taken = await ex.insert(idempotencyKeys).values(row).onConflictDoNothing().returning({ key: idempotencyKeys.key });
  return taken.length > 0;
}

export async function findKey(ex: Executor, ref: KeyRef): Promise<IdempotencyKeyRow | undefined> {
  const [row] = await ex.select().from(idempotencyKeys).where(byRef(ref));
  return row;
}
