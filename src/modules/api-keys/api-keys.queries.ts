import { and, asc, count, eq, gte, isNull, lt, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { apiKeys, tenants } from '../../db/schema/index.js';

export type ApiKeyRow = typeof apiKeys.$inferSelect;
/** A key as the API shows it: everything but the hash. */
export type ApiKeyInfo = Omit<ApiKeyRow, 'keyHash'>;

const infoColumns = {
  id: apiKeys.id,
  tenantId: apiKeys.tenantId,
  name: apiKeys.name,
  role: apiKeys.role,
  createdAt: apiKeys.createdAt,
  lastUsedAt: apiKeys.lastUsedAt,
  revokedAt: apiKeys.revokedAt,
};

export async function insertApiKey(ex: Executor, row: typeof apiKeys.$inferInsert): Promise<void> {
  await ex.insert(apiKeys).values(row).onConflictDoNothing({ target: apiKeys.keyHash });
}

export async function createApiKey(ex: Executor, row: typeof apiKeys.$inferInsert): Promise<ApiKeyInfo> {
  const [created] = await ex.insert(apiKeys).values(row).returning(infoColumns);
  return created;
}

/** The live key with this hash and whether its tenant is the operator's. */
export async function findActiveKey(ex: Executor, keyHash: string) {
  const [row] = await ex
    .select({ id: apiKeys.id, tenantId: apiKeys.tenantId, role: apiKeys.role, isDefaultTenant: tenants.isDefault })
    .from(apiKeys)
    .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
    .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)));
  return row;
}

export async function countApiKeys(ex: Executor): Promise<number> {
  const [row] = await ex.select({ n: count() }).from(apiKeys);
  return row.n;
}

/**
 * A tenant's keys, oldest first. With `unusedForDays`, only the live keys not used for that
 * many days (a key never used counts from its creation).
 */
export function listApiKeys(ex: Executor, tenantId: string, unusedForDays?: number): Promise<ApiKeyInfo[]> {
  const stale = unusedForDays === undefined ? undefined : sql`now() - make_interval(days => ${unusedForDays})`;
  return ex
    .select(infoColumns)
    .from(apiKeys)
    .where(
      and(
        eq(apiKeys.tenantId, tenantId),
        stale ? isNull(apiKeys.revokedAt) : undefined,
        stale ? lt(sql`coalesce(${apiKeys.lastUsedAt}, ${apiKeys.createdAt})`, stale) : undefined,
      ),
    )
    .orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
}

export async function findApiKey(ex: Executor, tenantId: string, id: string): Promise<ApiKeyInfo | undefined> {
  const [row] = await ex
    .select(infoColumns)
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, id)));
  return row;
}

/** Holds the tenant's row until the transaction ends: revocations of one tenant's keys go one at a time. */
export async function lockTenant(ex: Executor, tenantId: string): Promise<void> {
  await ex.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId)).for('update');
}

export async function countLiveAdminKeys(ex: Executor, tenantId: string): Promise<number> {
  const [row] = await ex
    .select({ n: count() })
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.role, 'ADMIN'), isNull(apiKeys.revokedAt)));
  return row.n;
}

export async function markRevoked(ex: Executor, id: string): Promise<ApiKeyInfo> {
  const [row] = await ex
    .update(apiKeys)
    .set({ revokedAt: sql`now()` })
    .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning(infoColumns);
  return row;
}

/** Announces a revocation to every process; delivered when the transaction commits. */
export async function notifyRevoked(ex: Executor, channel: string, id: string): Promise<void> {
  await ex.execute(sql`select pg_notify(${channel}, ${id})`);
}

/** Ids of the keys revoked at or after `since`, for processes that missed the notifications. */
export async function revokedSince(ex: Executor, since: Date): Promise<string[]> {
  const rows = await ex.select({ id: apiKeys.id }).from(apiKeys).where(gte(apiKeys.revokedAt, since));
  return rows.map((r) => r.id);
}

/**
 * Records a use. Skipped in the database too when another process recorded one within
 * `minIntervalSeconds`, so a key used on many processes is still about one write a minute.
 */
export async function touchLastUsed(ex: Executor, id: string, minIntervalSeconds: number): Promise<void> {
  await ex
    .update(apiKeys)
    .set({ lastUsedAt: sql`now()` })
    .where(
      and(
        eq(apiKeys.id, id),
        sql`(${apiKeys.lastUsedAt} is null or ${apiKeys.lastUsedAt} < now() - make_interval(secs => ${minIntervalSeconds}))`,
      ),
    );
}
