import { and, count, eq, isNull } from 'drizzle-orm';
import type { Executor } from '../../db/client.js';
import { apiKeys, tenants } from '../../db/schema/index.js';

export type ApiKeyRow = typeof apiKeys.$inferSelect;

export async function insertApiKey(ex: Executor, row: typeof apiKeys.$inferInsert): Promise<void> {
  await ex.insert(apiKeys).values(row).onConflictDoNothing({ target: apiKeys.keyHash });
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
