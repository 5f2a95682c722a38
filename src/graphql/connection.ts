// Relay connections with opaque keyset cursors. Every paginated table uses UUIDv7 ids,
// so "after cursor, newest first" is `id < cursor ORDER BY id DESC`: an index range
// scan at any depth, never an OFFSET.
import { type ClassType, Field, Int, ObjectType } from 'type-graphql';
import type { PageRequest } from '../domain/paging.js';
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

export function encodeCursor(uuid: string): string {
  return Buffer.from(`c1:${uuid}`, 'utf8').toString('base64url');
}

export function pageRequest(first: number | null | undefined, after: string | null | undefined): PageRequest {
  const limit = first ?? DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 0 || limit > MAX_PAGE_SIZE) {
    throw badUserInput(`first must be between 0 and ${MAX_PAGE_SIZE}, got ${first}`, ['first']);
  }
  if (after === null || after === undefined) return { limit };
  const decoded = Buffer.from(after, 'base64url').toString('utf8');
  const match = /^c1:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(decoded);
  if (!match) throw badUserInput('after is not a cursor this API gave out', ['after']);
  return { limit, afterId: match[1] };
}

export interface ConnectionShape<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
  readonly totalCount: Promise<number>;
  readonly totalCountIsLowerBound: Promise<boolean>;
}

/**
 * Builds a connection from `limit + 1` rows (the extra row only says there is a next
 * page). totalCount is a getter, so its COUNT runs only when a client selects it, and
 * `count(atMost)` stops after atMost rows: MAX_TOTAL_COUNT + 1 tells "more than the bound".
 */
export function toConnection<Row extends { id: string }, T>(
  rows: Row[],
  page: PageRequest,
  toNode: (row: Row) => T,
  count: (atMost: number) => Promise<number>,
): ConnectionShape<T> {
  const hasNextPage = rows.length > page.limit;
  const edges = rows.slice(0, page.limit).map((row) => ({ cursor: encodeCursor(row.id), node: toNode(row) }));
  let counted: Promise<number> | undefined;
  const counting = () => (counted ??= count(MAX_TOTAL_COUNT + 1));
  return {
    edges,
    pageInfo: { hasNextPage, endCursor: edges.length > 0 ? edges[edges.length - 1].cursor : null },
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
