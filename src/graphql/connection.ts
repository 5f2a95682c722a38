// Relay connections with opaque keyset cursors, paged both ways. Every paginated table uses
// UUIDv7 ids, so lists read newest first: forward (first/after) is `id < cursor ORDER BY id
// DESC`, backward (last/before) `id > cursor ORDER BY id ASC` reversed; both an index range
// scan at any depth, never an OFFSET (db/keyset.ts).
import { ArgsType, type ClassType, Field, Int, ObjectType } from 'type-graphql';
import type { Pageable, PageRequest } from '../domain/paging.js';
import { PageInfo } from './common.types.js';
import { badUserInput } from './errors.js';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/**
 * totalCount counts at most this many rows and answers "at least this many" beyond it
 * (totalCountIsLowerBound): a count reads every matching index entry, so an unbounded one
 * over a tenant's whole history would cost a full scan per field selected.
 */
export const MAX_TOTAL_COUNT = 10_000;

const ONE_WAY = 'page forward with first/after or backward with last/before, not both';

/** The paging arguments of every connection, described once. */
@ArgsType()
export class PagingArgs {
  @Field(() => Int, {
    nullable: true,
    description: `Page forward: up to this many items, newest first. 0 to ${MAX_PAGE_SIZE}; default ${DEFAULT_PAGE_SIZE}, also when no paging argument is given. Not with last or before.`,
  })
  first?: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Page forward: items older than this cursor (an endCursor or edge cursor this connection gave). Not with last or before.',
  })
  after?: string | null;

  @Field(() => Int, {
    nullable: true,
    description: `Page backward: up to this many items just newer than before (without before, the oldest), still listed newest first. 0 to ${MAX_PAGE_SIZE}; default ${DEFAULT_PAGE_SIZE} when only before is given. Not with first or after.`,
  })
  last?: number | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Page backward: items newer than this cursor (a startCursor or edge cursor this connection gave). Not with first or after.',
  })
  before?: string | null;
}

/** A page of one connection: its cursors name the connection's node type. */
export interface ConnectionPage extends PageRequest {
  nodeType: string;
}

/** A cursor names its connection's node type, so one connection's cursor is refused by another. */
export function encodeCursor(nodeType: string, uuid: string): string {
  return Buffer.from(`c2:${nodeType}:${uuid}`, 'utf8').toString('base64url');
}

// c1 cursors (no node type) were given out before cursors named their connection; they are
// still read, by any connection, so that a client paging through an upgrade is not refused.
function decodeCursor(cursor: string, arg: 'after' | 'before', nodeType: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^c(?:1|2:(\w+)):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(decoded);
  if (!match || (match[1] !== undefined && match[1] !== nodeType)) {
    throw badUserInput(`${arg} is not a cursor this connection gave out`, [arg]);
  }
  return match[2];
}

/**
 * The page of a connection of `nodeType` nodes the arguments ask for; BAD_USER_INPUT naming
 * the argument when they ask for none.
 */
export function pageRequest({ first, after, last, before }: PagingArgs, nodeType: string): ConnectionPage {
  const given = (value: unknown) => value !== null && value !== undefined;
  if (given(first) && given(last)) throw badUserInput(`first and last cannot be combined: ${ONE_WAY}`, ['last']);
  const forwardArg = given(first) ? 'first' : given(after) ? 'after' : undefined;
  const backwardArg = given(last) ? 'last' : given(before) ? 'before' : undefined;
  if (forwardArg && backwardArg) throw badUserInput(`${forwardArg} and ${backwardArg} cannot be combined: ${ONE_WAY}`, [backwardArg]);
  const direction = backwardArg ? 'backward' : 'forward';
  const [sizeArg, size, cursorArg, cursor] = backwardArg
    ? (['last', last, 'before', before] as const)
    : (['first', first, 'after', after] as const);
  const limit = size ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_PAGE_SIZE) {
    throw badUserInput(`${sizeArg} must be between 0 and ${MAX_PAGE_SIZE}, got ${size}`, [sizeArg]);
  }
  return cursor === null || cursor === undefined
    ? { limit, direction, nodeType }
    : { limit, direction, nodeType, cursorId: decodeCursor(cursor, cursorArg, nodeType) };
}

export interface ConnectionShape<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: {
    startCursor: string | null;
    endCursor: string | null;
    readonly hasNextPage: boolean | Promise<boolean>;
    readonly hasPreviousPage: boolean | Promise<boolean>;
  };
  readonly totalCount: Promise<number>;
  readonly totalCountIsLowerBound: Promise<boolean>;
}

/**
 * One page of `list` as a connection, edges newest first whichever way it was read. The
 * side the page was read towards is known from the extra row. The side behind the cursor
 * is asked of the database (one row, the same index, the cursor's own row included) only
 * when the client selects it; without a cursor the page starts at the list's end, so
 * nothing is behind it. totalCount is a getter too, so its COUNT runs only when selected,
 * and `count(atMost)` stops after atMost rows: MAX_TOTAL_COUNT + 1 tells "more than the bound".
 */
export async function toConnection<Row extends { id: string }, T>(
  list: Pageable<Row>,
  page: ConnectionPage,
  toNode: (row: Row) => T,
): Promise<ConnectionShape<T>> {
  const rows = await list.rows(page);
  const beyondPage = rows.length > page.limit;
  const scanned = rows.slice(0, page.limit);
  const backward = page.direction === 'backward';
  let behind: Promise<boolean> | undefined;
  const behindCursor = () =>
    (behind ??=
      page.cursorId === undefined
        ? Promise.resolve(false)
        : list
            .rows({ limit: 0, direction: backward ? 'forward' : 'backward', cursorId: page.cursorId, cursorIncluded: true })
            .then((found) => found.length > 0));
  const edges = (backward ? scanned.reverse() : scanned).map((row) => ({ cursor: encodeCursor(page.nodeType, row.id), node: toNode(row) }));
  let counted: Promise<number> | undefined;
  const counting = () => (counted ??= list.count(MAX_TOTAL_COUNT + 1));
  return {
    edges,
    pageInfo: {
      startCursor: edges.length > 0 ? edges[0].cursor : null,
      endCursor: edges.length > 0 ? edges[edges.length - 1].cursor : null,
      get hasNextPage() {
        return backward ? behindCursor() : beyondPage;
      },
      get hasPreviousPage() {
        return backward ? beyondPage : behindCursor();
      },
    },
    get totalCount() {
      return counting().then((n) => Math.min(n, MAX_TOTAL_COUNT));
    },
    get totalCountIsLowerBound() {
      return counting().then((n) => n > MAX_TOTAL_COUNT);
    },
  };
}

/** The Edge and Connection object types for a node type, named as the contract names them. */
export function ConnectionType<T extends object>(name: string, nodeType: ClassType<T>) {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field()
    cursor!: string;

    @Field(() => nodeType)
    node!: T;
  }

  @ObjectType(`${name}Connection`)
  class Connection {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;

    @Field(() => Int, {
      description: `Items matching, counted up to ${MAX_TOTAL_COUNT}: beyond that, ${MAX_TOTAL_COUNT} and totalCountIsLowerBound`,
    })
    totalCount!: number;

    @Field({ description: `True when there are more than totalCount items (the count stops at ${MAX_TOTAL_COUNT})` })
    totalCountIsLowerBound!: boolean;
  }
  return Connection;
}
