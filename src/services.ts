// The service layer, built once per process and shared by resolvers, HTTP routes and workers.
import type { Database, DatabaseHandle } from './db/client.js';
import type { SecretBox } from './lib/secret-box.js';
import type { Metrics } from './metrics.js';
import type { StatusHub } from './realtime/status-hub.js';
import type { Logger } from 'pino';
import { ReceiptsService } from './modules/receipts/receipts.service.js';

export interface ServiceOptions {
  log: Logger;
  sendgridWebhookPublicKey?: string;
}
import { MessagesService, type Outbox } from './modules/messages/messages.service.js';
import { OrdersService } from './modules/orders/orders.service.js';
import { BillingService } from './modules/billing/billing.service.js';
import { ApiKeysService } from './modules/api-keys/api-keys.service.js';
import { GatewaysService } from './modules/gateways/gateways.service.js';
import { RecipientsService } from './modules/recipients/recipients.service.js';
import { SubscriptionsService } from './modules/subscriptions/subscriptions.service.js';
import { TenantsService } from './modules/tenants/tenants.service.js';

export function createServices(db: Database, prepared: DatabaseHandle['prepared'], secrets: SecretBox, outbox: Outbox, metrics: Metrics, statusHub: StatusHub, options: ServiceOptions) {
  const apiKeys = new ApiKeysService(db, options.log);
  // Revocations arrive on the status hub's LISTEN connection (API processes start it).
  apiKeys.follow(statusHub.listener);
  const gateways = new GatewaysService(db, secrets);
  const messages = new MessagesService(db, prepared, outbox, metrics);
  return {
    db,
    statusHub,
    apiKeys,
    tenants: new TenantsService(db, apiKeys),
    gateways,
    receipts: new ReceiptsService(db, gateways, metrics, options.log, options.sendgridWebhookPublicKey),
    recipients: new RecipientsService(db),
    subscriptions: new SubscriptionsService(db),
    messages,
    orders: new OrdersService(db, prepared, outbox, metrics),
    billing: new BillingService(messages, outbox, metrics),
  };
}

export type Services = ReturnType<typeof createServices>;
