/**
 * One page of a list that reads newest first, as a keyset range on the id (UUIDv7, so id
 * order is creation order). Forward (`first`/`after`): the `limit` rows just older than
 * `cursorId`, from the newest when there is none. Backward (`last`/`before`): the `limit`
 * rows just newer than `cursorId`, from the oldest when there is none.
 */
export interface PageRequest {
  limit: number;
  direction: 'forward' | 'backward';
  cursorId?: string;
  /** The cursor's own row counts too (toConnection's look behind a page); not for clients. */
  cursorIncluded?: boolean;
}

/**
 * A list a connection pages through. `rows` answers in scan order (forward newest first,
 * backward oldest first) with up to `limit + 1` rows: the extra one only says there is
 * more beyond the page. `count` stops after `atMost` rows.
 */
export interface Pageable<Row> {
  rows(page: PageRequest): Promise<Row[]>;
  count(atMost: number): Promise<number>;
}
