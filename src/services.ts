// The service layer, built once per process and shared by resolvers, HTTP routes and workers.
import type { Database } from './db/client.js';
import type { SecretBox } from './lib/secret-box.js';
import type { Metrics } from './metrics.js';
import type { StatusHub } from './realtime/status-hub.js';
import { MessagesService, type Outbox } from './modules/messages/messages.service.js';
import { OrdersService } from './modules/orders/orders.service.js';
import { BillingService } from './modules/billing/billing.service.js';
import { ApiKeysService } from './modules/api-keys/api-keys.service.js';
import { GatewaysService } from './modules/gateways/gateways.service.js';
import { RecipientsService } from './modules/recipients/recipients.service.js';
import { SubscriptionsService } from './modules/subscriptions/subscriptions.service.js';
import { TenantsService } from './modules/tenants/tenants.service.js';

export function createServices(db: Database, secrets: SecretBox, outbox: Outbox, metrics: Metrics, statusHub: StatusHub) {
  const apiKeys = new ApiKeysService(db);
  const messages = new MessagesService(db, outbox, metrics);
  return {
    db,
    statusHub,
    apiKeys,
    tenants: new TenantsService(db, apiKeys),
    gateways: new GatewaysService(db, secrets),
    recipients: new RecipientsService(db),
    subscriptions: new SubscriptionsService(db),
    messages,
    orders: new OrdersService(db, outbox, metrics),
    billing: new BillingService(db, messages, outbox, metrics),
  };
}

export type Services = ReturnType<typeof createServices>;
