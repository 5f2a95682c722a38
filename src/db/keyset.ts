// Keyset paging on a UUIDv7 id, both ways, on the same index: forward walks it down from
// the cursor, backward walks it up, so neither needs a Sort or an OFFSET at any depth.
import { type AnyColumn, asc, desc, gt, gte, lt, lte, type SQL } from 'drizzle-orm';
import type { PageRequest } from '../domain/paging.js';

/** The range, order and limit of a page (scan order, `limit + 1` rows: see Pageable). */
export function keyset(id: AnyColumn, page: PageRequest): { range: SQL | undefined; order: SQL; limit: number } {
  const backward = page.direction === 'backward';
  const [older, newer] = page.cursorIncluded ? [lte, gte] : [lt, gt];
  const range = page.cursorId === undefined ? undefined : backward ? newer(id, page.cursorId) : older(id, page.cursorId);
  return { range, order: backward ? asc(id) : desc(id), limit: page.limit + 1 };
}
