// The service layer, built once per process and shared by resolvers, HTTP routes and workers.
import type { Database } from './db/client.js';
import type { SecretBox } from './lib/secret-box.js';
import { ApiKeysService } from './modules/api-keys/api-keys.service.js';
import { GatewaysService } from './modules/gateways/gateways.service.js';
import { RecipientsService } from './modules/recipients/recipients.service.js';
import { SubscriptionsService } from './modules/subscriptions/subscriptions.service.js';
import { TenantsService } from './modules/tenants/tenants.service.js';

export function createServices(db: Database, secrets: SecretBox) {
  const apiKeys = new ApiKeysService(db);
  return {
    db,
    apiKeys,
    tenants: new TenantsService(db, apiKeys),
    gateways: new GatewaysService(db, secrets),
    recipients: new RecipientsService(db),
    subscriptions: new SubscriptionsService(db),
  };
}

export type Services = ReturnType<typeof createServices>;
