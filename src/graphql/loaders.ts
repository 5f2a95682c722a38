// Per-request batch loaders: a page of N objects costs one query per nested field,
// not N. Every loader is scoped to the caller's tenant.
import DataLoader from 'dataloader';
import type { Database } from '../db/client.js';
import * as gatewaysQ from '../modules/gateways/gateways.queries.js';
import * as subscriptionsQ from '../modules/subscriptions/subscriptions.queries.js';

export function createLoaders(db: Database, tenantId: string | null) {
  const scoped = <K, V>(batch: (tenantId: string, keys: readonly K[]) => Promise<V[]>) =>
    new DataLoader<K, V>(async (keys) => (tenantId ? batch(tenantId, keys) : keys.map(() => undefined as V)));

  return {
    gatewayById: scoped<string, gatewaysQ.GatewayRow | undefined>(async (tenant, ids) => {
      const rows = await gatewaysQ.gatewaysByIds(db, tenant, ids);
      const byId = new Map(rows.map((r) => [r.id, r]));
      return ids.map((id) => byId.get(id));
    }),
    subscriptionsByRecipient: scoped<string, subscriptionsQ.SubscriptionRow[]>(async (tenant, ids) => {
      const rows = await subscriptionsQ.subscriptionsOf(db, tenant, ids);
      return ids.map((id) => rows.filter((r) => r.recipientId === id));
    }),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
