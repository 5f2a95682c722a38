import { and, arrayContains, count, eq, getTableColumns, gt, inArray, isNotNull, isNull, or, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { keyset } from '../../db/keyset.js';
import { type ChannelValue, type MessageCategoryValue, type SuppressionSourceValue, suppressions } from '../../db/schema/index.js';
import type { PageRequest } from '../../domain/paging.js';

export type SuppressionRow = typeof suppressions.$inferSelect;
export type NewSuppressionRow = typeof suppressions.$inferInsert;

export interface SuppressionQuery {
  channel?: ChannelValue;
  recipientId?: string;
  source?: SuppressionSourceValue;
}

/**
 * Lists the destination, or widens its entry: categories merged, the recipient and the
 * plain destination filled in if the entry lacks them; source, reason and time stay the
 * first listing's. The row when something changed (inserted says which), else undefined.
 */
export async function upsertSuppression(
  ex: Executor,
  row: NewSuppressionRow,
): Promise<{ row: SuppressionRow; inserted: boolean } | undefined> {
  const merged = sql`array(select distinct c from unnest(${suppressions.categories} || excluded.categories) c order by c)`;
  const [written] = await ex
    .insert(suppressions)
    .values(row)
    .onConflictDoUpdate({
      target: [suppressions.tenantId, suppressions.channel, suppressions.destinationHash],
      set: {
        categories: merged,
        recipientId: sql`coalesce(${suppressions.recipientId}, excluded.recipient_id)`,
        destination: sql`coalesce(${suppressions.destination}, excluded.destination)`,
      },
      setWhere: sql`not (${suppressions.categories} @> excluded.categories)
        or (${suppressions.recipientId} is null and excluded.recipient_id is not null)
        or (${suppressions.destination} is null and excluded.destination is not null)`,
    })
    .returning({ ...getTableColumns(suppressions), inserted: sql<boolean>`xmax = 0` });
  if (!written) return undefined;
  const { inserted, ...stored } = written;
  return { row: stored, inserted };
}

export async function findSuppression(ex: Executor, tenantId: string, id: string): Promise<SuppressionRow | undefined> {
  const [row] = await ex
    .select()
    .from(suppressions)
    .where(and(eq(suppressions.tenantId, tenantId), eq(suppressions.id, id)));
  return row;
}

/** The entry of a destination (by any of its hashes), if listed. */
export async function findByHash(
  ex: Executor,
  tenantId: string,
  channel: ChannelValue,
  hashes: readonly string[],
): Promise<SuppressionRow | undefined> {
  const [row] = await ex
    .select()
    .from(suppressions)
    .where(and(eq(suppressions.tenantId, tenantId), eq(suppressions.channel, channel), inArray(suppressions.destinationHash, [...hashes])))
    .limit(1);
  return row;
}

/**
 * Which of these (channel, hash) pairs are listed for `category`: per channel, one array
 * parameter probed against the unique index. Answers the pairs found, as "channel:hash".
 */
export async function suppressedAmong(
  ex: Executor,
  tenantId: string,
  pairs: readonly { channel: ChannelValue; hash: string }[],
  category: MessageCategoryValue,
): Promise<Set<string>> {
  if (pairs.length === 0) return new Set();
  const byChannel = new Map<ChannelValue, string[]>();
  for (const p of pairs) {
    const hashes = byChannel.get(p.channel);
    if (hashes) hashes.push(p.hash);
    else byChannel.set(p.channel, [p.hash]);
  }
  const rows = await ex
    .select({ channel: suppressions.channel, hash: suppressions.destinationHash })
    .from(suppressions)
    .where(
      and(
        eq(suppressions.tenantId, tenantId),
        or(
          ...[...byChannel].map(([channel, hashes]) =>
            and(eq(suppressions.channel, channel), sql`${suppressions.destinationHash} = any(${sql.param(hashes)}::text[])`),
          ),
        ),
        arrayContains(suppressions.categories, [category]),
      ),
    );
  return new Set(rows.map((r) => `${r.channel}:${r.hash}`));
}

export async function deleteSuppression(ex: Executor, tenantId: string, id: string): Promise<SuppressionRow | undefined> {
  const [row] = await ex
    .delete(suppressions)
    .where(and(eq(suppressions.tenantId, tenantId), eq(suppressions.id, id)))
    .returning();
  return row;
}

/** Removes the entries of a destination (by any of its hashes) that came from `source`. */
export function deleteBySource(
  ex: Executor,
  tenantId: string,
  channel: ChannelValue,
  hashes: readonly string[],
  source: SuppressionSourceValue,
): Promise<SuppressionRow[]> {
  return ex
    .delete(suppressions)
    .where(
      and(
        eq(suppressions.tenantId, tenantId),
        eq(suppressions.channel, channel),
        inArray(suppressions.destinationHash, [...hashes]),
        eq(suppressions.source, source),
      ),
    )
    .returning();
}

/**
 * Erasure: the entries of the recipient, or of any of its addresses, keep their hash (so
 * the address stays stopped) and lose the plain destination and the link to the person.
 * Returns how many changed.
 */
export async function forgetPerson(
  ex: Executor,
  tenantId: string,
  recipientId: string,
  addresses: readonly { channel: ChannelValue; hashes: string[] }[],
): Promise<number> {
  const byAddress = addresses.map((a) => and(eq(suppressions.channel, a.channel), inArray(suppressions.destinationHash, a.hashes)));
  const changed = await ex
    .update(suppressions)
    .set({ destination: null, recipientId: null })
    .where(
      and(
        eq(suppressions.tenantId, tenantId),
        or(eq(suppressions.recipientId, recipientId), ...byAddress),
        or(isNotNull(suppressions.destination), isNotNull(suppressions.recipientId)),
      ),
    )
    .returning({ id: suppressions.id });
  return changed.length;
}

function suppressionFilter(tenantId: string, f: SuppressionQuery) {
  return and(
    eq(suppressions.tenantId, tenantId),
    f.channel ? eq(suppressions.channel, f.channel) : undefined,
    f.recipientId ? eq(suppressions.recipientId, f.recipientId) : undefined,
    f.source ? eq(suppressions.source, f.source) : undefined,
  );
}

export function pageSuppressions(ex: Executor, tenantId: string, filter: SuppressionQuery, page: PageRequest): Promise<SuppressionRow[]> {
  const { range, order, limit } = keyset(suppressions.id, page);
  return ex
    .select()
    .from(suppressions)
    .where(and(suppressionFilter(tenantId, filter), range))
    .orderBy(order)
    .limit(limit);
}

export async function countSuppressions(ex: Executor, tenantId: string, filter: SuppressionQuery, atMost: number): Promise<number> {
  const matching = ex
    .select({ one: sql`1` })
    .from(suppressions)
    .where(suppressionFilter(tenantId, filter))
    .limit(atMost)
    .as('matching');
  const [row] = await ex.select({ n: count() }).from(matching);
  return row.n;
}

/** Entries that still hold their address, by id after `afterId`: the ones a key rotation can hash again. */
export function entriesWithAddress(
  ex: Executor,
  afterId: string | undefined,
  limit: number,
): Promise<Pick<SuppressionRow, 'id' | 'tenantId' | 'channel' | 'destination' | 'destinationHash'>[]> {
  return ex
    .select({
      id: suppressions.id,
      tenantId: suppressions.tenantId,
      channel: suppressions.channel,
      destination: suppressions.destination,
      destinationHash: suppressions.destinationHash,
    })
    .from(suppressions)
    .where(and(isNotNull(suppressions.destination), afterId ? gt(suppressions.id, afterId) : undefined))
    .orderBy(suppressions.id)
    .limit(limit);
}

/**
 * The entry's hash replaced by `to`; when its tenant and channel already have an entry
 * under `to` (the address listed again since the key changed), that one takes this one's
 * categories and this one goes. Whether the entry was found under `from`.
 */
export async function replaceHash(ex: Executor, id: string, from: string, to: string): Promise<boolean> {
  const result = await ex.execute(sql`
    with old as (select id, tenant_id, channel, categories from suppressions where id = ${id} and destination_hash = ${from}),
    merged as (
      update suppressions o
         set categories = (select array_agg(distinct c order by c) from unnest(o.categories || old.categories) c)
        from old
       where o.tenant_id = old.tenant_id and o.channel = old.channel and o.destination_hash = ${to} and o.id <> old.id
      returning o.id),
    gone as (delete from suppressions s using old where s.id = old.id and exists (select 1 from merged) returning s.id),
    moved as (
      update suppressions s set destination_hash = ${to} from old
       where s.id = old.id and not exists (select 1 from merged)
      returning s.id)
    select (select count(*) from gone) + (select count(*) from moved) as changed`);
  const [row] = (result as { rows: { changed: number | string }[] }).rows;
  return Number(row.changed) > 0;
}

/** Entries that keep only their hash (their address was erased). */
export async function countHashOnly(ex: Executor): Promise<number> {
  const [row] = await ex.select({ n: count() }).from(suppressions).where(isNull(suppressions.destination));
  return row.n;
}
