// Per-request batch loaders: a page of N objects costs one query per nested field,
// not N. Every loader is scoped to the caller's tenant.
import DataLoader from 'dataloader';
import type { Database } from '../db/client.js';
import * as fallbackQ from '../modules/fallback/fallback.queries.js';
import * as gatewaysQ from '../modules/gateways/gateways.queries.js';
import * as messagesQ from '../modules/messages/messages.queries.js';
import * as recipientsQ from '../modules/recipients/recipients.queries.js';
import * as subscriptionsQ from '../modules/subscriptions/subscriptions.queries.js';
import * as templatesQ from '../modules/templates/templates.queries.js';
import * as routingQ from '../modules/routing/routing.queries.js';
import * as endpointsQ from '../modules/webhooks/webhook-endpoints.queries.js';
import * as webhookEventsQ from '../modules/webhooks/webhook-events.queries.js';

export function createLoaders(db: Database, tenantId: string | null) {
  const scoped = <K, V>(batch: (tenantId: string, keys: readonly K[]) => Promise<V[]>) =>
    new DataLoader<K, V>(async (keys) => (tenantId ? batch(tenantId, keys) : keys.map(() => undefined as V)));
  const byId = <Row extends { id: string }>(load: (tenantId: string, ids: readonly string[]) => Promise<Row[]>) =>
    scoped<string, Row | undefined>(async (tenant, ids) => {
      const rows = new Map((await load(tenant, ids)).map((r) => [r.id, r]));
      return ids.map((id) => rows.get(id));
    });
  const groupedBy = <Row>(load: (tenantId: string, ids: readonly string[]) => Promise<Row[]>, key: (row: Row) => string | null) =>
    scoped<string, Row[]>(async (tenant, ids) => {
      const rows = await load(tenant, ids);
      return ids.map((id) => rows.filter((r) => key(r) === id));
    });

  return {
    gatewayById: byId((tenant, ids) => gatewaysQ.gatewaysByIds(db, tenant, ids)),
    recipientById: byId((tenant, ids) => recipientsQ.recipientsByIds(db, tenant, ids)),
    messageById: byId((tenant, ids) => messagesQ.messagesByIds(db, tenant, ids)),
    subscriptionsByRecipient: groupedBy(
      (tenant, ids) => subscriptionsQ.subscriptionsOf(db, tenant, ids),
      (r) => r.recipientId,
    ),
    templateById: byId((tenant, ids) => templatesQ.templatesByIds(db, tenant, ids)),
    // Ids come from the tenant's own templates (templateById, the template queries).
    versionsByTemplate: groupedBy(
      (_tenant, ids) => templatesQ.versionsOf(db, ids),
      (r) => r.templateId,
    ),
    webhookEndpointById: byId((tenant, ids) => endpointsQ.endpointsByIds(db, tenant, ids)),
    webhookEventById: byId((tenant, ids) => webhookEventsQ.eventsByIds(db, tenant, ids)),
    // Ids come from the tenant's own gateways (gatewayById, the gateway queries).
    healthByGateway: new DataLoader<string, routingQ.HealthRecord | undefined>(async (ids) => {
      const rows = new Map((await routingQ.healthOf(db, ids)).map((r) => [r.gatewayId, r]));
      return ids.map((id) => rows.get(id));
    }),
    fallbacksByMessage: groupedBy(
      (tenant, ids) => fallbackQ.fallbacksOf(db, tenant, ids),
      (r) => r.fallbackOf,
    ),
    logsByMessage: groupedBy(
      (tenant, ids) => messagesQ.logsOfMessages(db, tenant, ids),
      (r) => r.messageId,
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
